"""What a helper process does: measure a fresh start-up, read values back, log with its siblings."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List

from probe_common import BATCH, TIMESTAMP, _client, _message, _metric, _mlflow


def _worker_startup(args: Dict[str, Any]) -> Dict[str, Any]:
    start = time.perf_counter()
    _mlflow()
    imported = time.perf_counter()
    client = _client(args["uri"])
    client.get_experiment_by_name("Default")
    return {"import": imported - start, "first_call": time.perf_counter() - imported}


def _float_text(x: Any) -> str:
    return repr(float(x)) if isinstance(x, (int, float)) else repr(x)


def _plain(x: Any) -> Any:
    """An int as it is, anything else (bytes from a store that kept a numpy scalar) as its repr."""
    return x if isinstance(x, int) else repr(x)


def _helper_readback(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    client = _client(args["uri"])
    out: Dict[str, Any] = {"metrics": {}, "params": {}}
    for key in args["metrics"]:
        try:
            history = client.get_metric_history(args["run_id"], key)
            out["metrics"][key] = [[_float_text(m.value), _plain(m.timestamp), _plain(m.step)]
                                  for m in history]
        except Exception as err:
            out["metrics"][key] = _message(err)
    params = client.get_run(args["run_id"]).data.params
    for key in args["params"]:
        out["params"][key] = params.get(key)
    return out


def _helper_log_points(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """One of N processes logging to one run at once (distinct steps per process)."""
    client = _client(args["uri"])
    errors: List[str] = []
    base = args["index"] * args["count"]
    _ready_set_go(conn)
    for i in range(args["count"]):
        try:
            client.log_metric(args["run_id"], "c", float(base + i), timestamp=TIMESTAMP + base + i, step=base + i)
        except Exception as err:
            errors.append(_message(err))
    return {"errors": errors}


def _helper_create_runs(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """One of N processes creating runs in one experiment at once."""
    client = _client(args["uri"])
    errors: List[str] = []
    _ready_set_go(conn)
    for i in range(args["count"]):
        try:
            run = client.create_run(args["experiment_id"])
            client.log_metric(run.info.run_id, "w", float(args["index"]), timestamp=TIMESTAMP, step=i)
        except Exception as err:
            errors.append(_message(err))
    return {"errors": errors}


def _ready_set_go(conn: Any) -> None:
    """Say the client is ready, then wait for the parent's word, so that every helper starts at once."""
    conn.send(("ready",))
    conn.recv()


def _helper_batches(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """Log batches of 1,000 metrics forever, saying when each starts and ends."""
    client = _client(args["uri"])
    i = 0
    while True:
        metrics = [_metric("b%d_%d" % (i, j), float(j), TIMESTAMP, 0) for j in range(BATCH)]
        conn.send(("start", i, time.time()))
        start = time.perf_counter()
        client.log_batch(args["run_id"], metrics=metrics)
        conn.send(("end", i, time.perf_counter() - start))
        i += 1


WORKERS: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]] = {"startup": _worker_startup}  # spawned
HELPERS: Dict[str, Callable[[Dict[str, Any], Any], Dict[str, Any]]] = {
    "readback": _helper_readback, "log-points": _helper_log_points, "create-runs": _helper_create_runs,
    "batches": _helper_batches,
}
