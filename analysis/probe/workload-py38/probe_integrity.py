"""Integrity: re-logged params, repeated points, concurrent writers, a killed client, half-written files."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Dict, List

from probe_common import (BATCH, TIMESTAMP, Row, _all_runs, _client, _guarded, _message, _metric, _new_experiment,
                          _row, _Warned)
from probe_helpers import _Helper
from probe_store import Store


def probe_integrity(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    for name, step in (("param re-logged", lambda: _relog(store, client)),
                       ("metric point repeated", lambda: _repeat_point(client)),
                       ("concurrent writers, one run", lambda: _concurrent_run(store, client, scale)),
                       ("concurrent writers, one experiment", lambda: _concurrent_experiment(store, client, scale)),
                       ("client killed mid-log_batch", lambda: _killed_batch(store, client)),
                       ("half-written file", lambda: _torn_files(store, client))):
        rows.extend(_guarded(name, step))
    return rows


def _relog(store: Store, client: Any) -> List[Row]:
    rows: List[Row] = []
    run_id = client.create_run(_new_experiment(client, "relog")).info.run_id
    for label, first, second in (("another value", "1", "2"), ("the same value", "1", "1")):
        key = "relog_" + label.split()[-2]
        client.log_param(run_id, key, first)
        try:
            client.log_param(run_id, key, second)
            error = ""
        except Exception as err:
            error = _message(err)
        stored = _client(store.uri).get_run(run_id).data.params.get(key)
        if error:
            outcome = "rejected"
        elif stored == second and first != second:
            outcome = "overwritten"
        else:
            outcome = "accepted" if first == second else "ignored"
        rows.append(_row("param re-logged", label, stored, "", 1, "", outcome,
                         "logged %r then %r; stored %r%s" % (first, second, stored, ("; " + error) if error else "")))
    return rows


def _repeat_point(client: Any) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "repeat")).info.run_id
    for _ in range(2):
        client.log_metric(run_id, "r", 0.5, timestamp=TIMESTAMP, step=3)
    history = client.get_metric_history(run_id, "r")
    outcome = "kept" if len(history) == 2 else "dropped" if len(history) == 1 else "changed"
    rows = [_row("metric point repeated", "same key, value, timestamp and step twice", len(history), "points", 2, "",
                 outcome, "history holds %d points" % len(history))]
    run_id = client.create_run(_new_experiment(client, "repeat-batch")).info.run_id
    try:
        client.log_batch(run_id, metrics=[_metric("r", 0.5, TIMESTAMP, 3)] * 2)
        history = client.get_metric_history(run_id, "r")
        outcome = "kept" if len(history) == 2 else "dropped" if len(history) == 1 else "changed"
        rows.append(_row("metric point repeated", "twice in one log_batch", len(history), "points", 2, "", outcome,
                         "history holds %d points" % len(history)))
    except Exception as err:
        rows.append(_row("metric point repeated", "twice in one log_batch", "", "points", 2, "", "rejected",
                         _message(err)))
    return rows


def _gather(kind: str, store: Store, common: Dict[str, Any], workers: int, count: int) -> List[str]:
    """Run ``workers`` helpers at once (all start at the same instant); their errors."""
    helpers = [_Helper(kind, store, dict(common, uri=store.uri, index=index, count=count)) for index in range(workers)]
    errors: List[str] = []
    ready = []
    for helper in helpers:  # every helper has made its client
        try:
            helper.receive()
            ready.append(helper)
        except RuntimeError as err:
            errors.append("process died: " + str(err)[:200])
    for helper in ready:
        helper.send("go")
    for helper in ready:
        try:
            errors.extend(helper.answer()["errors"])
        except RuntimeError as err:
            errors.append("process died: " + str(err)[:200])
    return errors


def _first_kinds(errors: List[str]) -> str:
    kinds: Dict[str, int] = {}
    for e in errors:
        kinds[e[:160]] = kinds.get(e[:160], 0) + 1
    return "; ".join("%dx %s" % (n, e) for e, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:3])


def _concurrent_run(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    workers, count = scale["workers"], scale["per_worker"]
    run_id = client.create_run(_new_experiment(client, "concurrent-run")).info.run_id
    errors = _gather("log-points", store, {"run_id": run_id}, workers, count)
    history = _client(store.uri).get_metric_history(run_id, "c")
    expected = workers * count
    steps = [m.step for m in history]
    distinct = len(set(steps))
    probe = "concurrent writers, one run"
    setting = "%d processes x %d log_metric calls, distinct steps" % (workers, count)
    return [
        _row(probe, "points expected", expected, "points", workers, "", "measured", setting),
        _row(probe, "points lost", expected - distinct, "points", workers, "",
             "lost" if expected > distinct else "complete", setting),
        _row(probe, "duplicate points", len(steps) - distinct, "points", workers, "",
             "duplicated" if len(steps) > distinct else "none"),
        _row(probe, "client errors", len(errors), "calls", workers, "", "errors" if errors else "none",
             _first_kinds(errors)),
    ]


def _concurrent_experiment(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    workers, count = scale["workers"], scale["per_worker"]
    exp = _new_experiment(client, "concurrent-exp")
    errors = _gather("create-runs", store, {"experiment_id": exp}, workers, count)
    runs = _all_runs(_client(store.uri), exp)
    expected = workers * count
    with_metric = sum(1 for r in runs if "w" in r.data.metrics)
    probe = "concurrent writers, one experiment"
    setting = "%d processes x %d create_run + log_metric" % (workers, count)
    return [
        _row(probe, "runs expected", expected, "runs", workers, "", "measured", setting),
        _row(probe, "runs lost", expected - with_metric, "runs", workers, "",
             "lost" if with_metric < expected else "complete",
             "%d runs found, %d with their metric" % (len(runs), with_metric)),
        _row(probe, "client errors", len(errors), "calls", workers, "", "errors" if errors else "none",
             _first_kinds(errors)),
    ]


def _killed_batch(store: Store, client: Any) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "killed")).info.run_id
    helper = _Helper("batches", store, {"uri": store.uri, "run_id": run_id})
    durations: List[float] = []
    victim = -1
    delay = 0.0
    while True:
        try:
            word, index, number = helper.receive()
        except RuntimeError:
            break  # the loop ended: a batch raised, or the helper died
        if word == "end":
            durations.append(float(number))
        elif int(index) == 2:
            victim = 2
            delay = statistics.median(durations) / 2  # half-way through, by the two batches before
            time.sleep(delay)
            break
    helper.kill()  # SIGKILL
    if victim < 0:
        return [_row("client killed mid-log_batch", "", outcome="error", detail="the batch loop ended early")]
    probe = "client killed mid-log_batch"
    setting = "SIGKILL %.0f ms into a batch of 1,000 metrics (a batch took %.0f ms)" % (
        delay * 1000, statistics.median(durations) * 1000)
    rows: List[Row] = []
    try:
        keys = list(_client(store.uri).get_run(run_id).data.metrics)
        rows.append(_row(probe, "run readable after the kill", "", "", 1, "", "readable", setting))
    except Exception as err:
        rows.append(_row(probe, "run readable after the kill", "", "", 1, "", "error",
                         "get_run fails: " + _message(err)))
        if store.scheme != "file":
            return rows
        keys = _file_metric_keys(store, run_id)
    stored = sum(1 for k in keys if k.startswith("b%d_" % victim))
    earlier = sum(1 for k in keys if k.startswith(("b0_", "b1_")))
    outcome = "partial" if 0 < stored < BATCH else "atomic"
    rows.append(_row(probe, "points of the interrupted batch stored", stored, "points", BATCH, "", outcome,
                     "%s; the 2 batches before: %d of 2,000 points stored%s" % (
                         setting, earlier, "; counted from the metric files" if store.scheme == "file" else "")))
    return rows


def _file_metric_keys(store: Store, run_id: str) -> List[str]:
    """Metric keys whose file holds a whole line (a FileStore read past the client that cannot read it)."""
    for folder, _, files in os.walk(store.file_root):
        if os.path.basename(folder) == "metrics" and os.path.basename(os.path.dirname(folder)) == run_id:
            keys = []
            for name in files:
                with open(os.path.join(folder, name)) as fh:
                    if fh.read().endswith("\n"):
                        keys.append(name)
            return keys
    return []


def _torn_files(store: Store, client: Any) -> List[Row]:
    if store.scheme != "file":
        return []
    exp = _new_experiment(client, "torn")
    torn_metric, torn_meta, whole = (client.create_run(exp).info.run_id for _ in range(3))
    for run_id in (torn_metric, torn_meta, whole):
        client.log_batch(run_id, metrics=[_metric("t", float(i), TIMESTAMP + i, i) for i in range(10)])
    root = store.file_root
    metric_file = os.path.join(root, exp, torn_metric, "metrics", "t")
    with open(metric_file, "a") as fh:
        fh.write("17000000")  # a writer killed inside its line: no value, no step, no newline
    meta = os.path.join(root, exp, torn_meta, "meta.yaml")
    with open(meta, "rb") as fh:
        data = fh.read()
    with open(meta, "wb") as fh:
        fh.write(data[: len(data) // 2])
    rows: List[Row] = []
    fresh = _client(store.uri)
    probe = "half-written file"
    try:
        history = fresh.get_metric_history(torn_metric, "t")
        rows.append(_row(probe, "metric file with a torn last line: get_metric_history", len(history), "points", 10,
                         "", "read", "%d points read back of 10 whole lines" % len(history)))
    except Exception as err:
        rows.append(_row(probe, "metric file with a torn last line: get_metric_history", "", "points", 10, "",
                         "error", _message(err)))
    try:
        fresh.get_run(torn_meta)
        rows.append(_row(probe, "run meta.yaml cut in half: get_run", "", "", 1, "", "read", "no error"))
    except Exception as err:
        rows.append(_row(probe, "run meta.yaml cut in half: get_run", "", "", 1, "", "error", _message(err)))
    with _Warned() as warned:
        try:
            found = {r.info.run_id for r in _all_runs(fresh, exp)}
            seen = "the torn run %s" % ("listed" if torn_meta in found else "left out")
            outcome = "skipped" if torn_meta not in found and whole in found else "read"
            rows.append(_row(probe, "run meta.yaml cut in half: search_runs", len(found), "runs", 3, "", outcome,
                             "%d of 3 runs listed, %s%s" % (len(found), seen,
                                                            ("; warned: " + warned.text()) if warned.text() else "")))
        except Exception as err:
            rows.append(_row(probe, "run meta.yaml cut in half: search_runs", "", "runs", 3, "", "error",
                             "one torn run breaks the listing: " + _message(err)))
    return rows
