"""Capacity and efficiency: throughput, latency at growing sizes, bytes and files per entity, start-up."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Tuple

from probe_common import (BATCH, FILTER, ORDER_BY, TIMESTAMP, Row, _g, _guarded, _measured, _metric, _new_experiment,
                          _param, _row, _search, _timed)
from probe_helpers import _spawn
from probe_store import Store


def probe_capacity(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    """Throughput, latency at growing sizes, bytes and files per entity, client start-up."""
    rows: List[Row] = []
    reps = scale["reps"]
    steps: List[Tuple[str, Callable[[], List[Row]]]] = [
        ("startup", lambda: _startup(store, scale)),
        ("create_run", lambda: _create_runs(client, scale)),
        ("log_metric", lambda: _log_metric(client, scale)),
        ("log_batch", lambda: _log_batch(client, reps)),
        ("search_runs", lambda: _search_growth(store, client, scale)),
        ("get_metric_history", lambda: _history_growth(store, client, scale)),
        ("disk", lambda: _disk(store, client, scale)),
    ]
    for name, step in steps:
        rows.extend(_guarded(name, step))
    return rows


def _startup(store: Store, scale: Dict[str, Any]) -> List[Row]:
    answers = [_spawn("startup", {"uri": store.uri}) for _ in range(scale["startups"])]
    return [
        _measured("startup", "import mlflow", [a["import"] for a in answers], "s"),
        _measured("startup", "first call (get_experiment_by_name)", [a["first_call"] for a in answers], "s",
                  "client construction and the store's first query, in a fresh process"),
        _measured("startup", "process wall time", [a["wall"] for a in answers], "s",
                  "interpreter start to answer, including the two above"),
    ]


def _create_runs(client: Any, scale: Dict[str, Any]) -> List[Row]:
    exp = _new_experiment(client, "create")
    count = scale["per_point"]
    samples = [count / _timed(lambda: [client.create_run(exp) for _ in range(count)]) for _ in range(scale["reps"])]
    return [_measured("create_run", "runs created per second", samples, "runs/s", "%d runs per repetition" % count)]


def _log_metric(client: Any, scale: Dict[str, Any]) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "log-metric")).info.run_id
    count = scale["per_point"]
    samples = []
    for rep in range(scale["reps"]):
        samples.append(_timed(lambda: [client.log_metric(run_id, "m", 0.5, timestamp=TIMESTAMP + i,
                                                         step=rep * count + i) for i in range(count)]) / count)
    return [_measured("log_metric", "seconds per point", samples, "s", "%d calls per repetition, one key" % count)]


def _log_batch(client: Any, reps: int) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "log-batch")).info.run_id
    samples = []
    for rep in range(reps):
        metrics = [_metric("k%d" % j, float(j), TIMESTAMP, rep) for j in range(BATCH)]
        samples.append(_timed(lambda: client.log_batch(run_id, metrics=metrics)))
    return [_measured("log_batch", "seconds per batch of 1,000 metrics", samples, "s", "1,000 keys, one step each"),
            _measured("log_batch", "metrics per second", [BATCH / s for s in samples], "metrics/s")]


def _search_growth(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    exp = _new_experiment(client, "search")
    rows: List[Row] = []
    made = 0
    fill: List[float] = []
    for size in scale["runs"]:
        start = time.perf_counter()
        while made < size:
            run_id = client.create_run(exp).info.run_id
            client.log_batch(run_id, metrics=[_metric("m", (made * 37 % 100) / 100.0, TIMESTAMP, 0)],
                             params=[_param("p", "x" if made % 2 else "y")])
            made += 1
        if made:
            fill.append((time.perf_counter() - start))
        found: List[int] = []

        def once() -> None:
            found.append(len(_search(client, exp)))
        samples = [_timed(once) for _ in range(scale["reps"])]
        rows.append(_measured("search_runs", "latency at %d runs" % size, samples, "s",
                              "filter %r, order by %s, max_results 100; %d runs returned" % (FILTER, ORDER_BY[0], found[0]),
                              size=size))
    rows.append(_row("search_runs", "runs filled (create_run + log_batch each)", _g(made / sum(fill)), "runs/s",
                     made, "", "measured", "one pass, no repetitions"))
    return rows


def _history_growth(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    for size in scale["points"]:
        run_id = client.create_run(_new_experiment(client, "history")).info.run_id
        for first in range(0, size, BATCH):
            client.log_batch(run_id, metrics=[_metric("h", float(i), TIMESTAMP + i, i)
                                              for i in range(first, min(size, first + BATCH))])
        got: List[int] = []

        def once() -> None:
            got.append(len(client.get_metric_history(run_id, "h")))
        samples = [_timed(once) for _ in range(scale["reps"])]
        rows.append(_measured("get_metric_history", "latency at %d points" % size, samples, "s",
                              "one key; %d points returned" % got[0], size=size))
    return rows


def _disk(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    rows = _bytes_and_files(store, client, scale, allocated=False)
    if store.scheme == "file":
        rows += [dict(r, parameter=r["parameter"].replace("bytes", "allocated bytes"),
                      detail="st_blocks x 512 of the files: what the file system gives them")
                 for r in _bytes_and_files(store, client, scale, allocated=True) if r["unit"] == "B"]
    return rows


def _bytes_and_files(store: Store, client: Any, scale: Dict[str, Any], allocated: bool) -> List[Row]:
    rows: List[Row] = []
    count = scale["params"]
    exp = _new_experiment(client, "disk")
    before = store.bytes_used(allocated)
    files_before = store.files_used() if store.scheme == "file" else 0
    run_ids = [client.create_run(exp).info.run_id for _ in range(count)]
    after_runs = store.bytes_used(allocated)
    rows.append(_row("disk", "bytes per run", _g((after_runs - before) / count), "B", count, "", "measured",
                     "a run with the tags the client sets, no data"))
    if store.scheme == "file":
        rows.append(_row("disk", "files per run", _g((store.files_used() - files_before) / count), "files", count,
                         "", "measured", "meta.yaml and one file per tag"))
    run_id = run_ids[0]
    files_mid = store.files_used() if store.scheme == "file" else 0
    for first in range(0, count, 100):  # MAX_PARAMS_TAGS_PER_BATCH
        client.log_batch(run_id, params=[_param("param_%05d" % i, "v%05d" % i) for i in range(first, first + 100)])
    after_params = store.bytes_used(allocated)
    rows.append(_row("disk", "bytes per param", _g((after_params - after_runs) / count), "B", count, "", "measured",
                     "key param_NNNNN, value vNNNNN"))
    if store.scheme == "file":
        rows.append(_row("disk", "files per param", _g((store.files_used() - files_mid) / count), "files", count,
                         "", "measured"))
    points = scale["points"][-1]
    for first in range(0, points, BATCH):
        client.log_batch(run_id, metrics=[_metric("d", i * 0.001, TIMESTAMP + i, i)
                                          for i in range(first, min(points, first + BATCH))])
    rows.append(_row("disk", "bytes per metric point", _g((store.bytes_used(allocated) - after_params) / points), "B", points,
                     "", "measured", "one key, values i/1000, steps 0..n-1"))
    if store.scheme == "sqlite":
        rows[-1]["detail"] += "; SQLite grows by pages and never shrinks"
    if store.scheme == "mysql":
        for row in rows:  # InnoDB allocates 16 KiB pages, then 1 MiB extents: steps, not bytes
            row["detail"] += "; InnoDB's pages after ANALYZE TABLE: coarse at small counts"
    return rows
