"""What every part of the workload shares: scales, rows, timing, MLflow by name, warnings caught."""

from __future__ import annotations

import importlib
import logging
import statistics
import sys
import time
import traceback
import uuid
import warnings
from typing import Any, Callable, Dict, List, Sequence, Tuple

Row = Dict[str, Any]

# Sizes per scale. "large" holds the sizes the issue names; "small" runs in seconds for tests (one
# start-up sample: a fresh interpreter importing MLflow is the dearest thing it does).
SCALES: Dict[str, Dict[str, Any]] = {
    "small": {"runs": (10, 30, 100), "points": (100, 1000), "reps": 3, "per_point": 20, "batches": 3,
              "workers": 2, "per_worker": 20, "startups": 1, "params": 100},
    "medium": {"runs": (100, 1000, 3000), "points": (1000, 10000, 30000), "reps": 5, "per_point": 100,
               "batches": 5, "workers": 4, "per_worker": 100, "startups": 3, "params": 500},
    "large": {"runs": (100, 1000, 10000), "points": (1000, 10000, 100000), "reps": 5, "per_point": 200,
              "batches": 5, "workers": 8, "per_worker": 200, "startups": 5, "params": 1000},
}
PROBES = ("capacity", "precision", "integrity")
FILTER = "metrics.m > 0.5 and params.p = 'x'"
ORDER_BY = ["metrics.m DESC"]
BATCH = 1000  # MAX_METRICS_PER_BATCH in every release
TIMESTAMP = 1700000000000


def _mlflow() -> Any:
    return importlib.import_module("mlflow")


def _client(uri: str) -> Any:
    return importlib.import_module("mlflow.tracking").MlflowClient(tracking_uri=uri)


def _entities() -> Any:
    return importlib.import_module("mlflow.entities")


def _message(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return "%s: %s" % (type(err).__name__, text[:limit])


def _row(probe: str, parameter: str, value: Any = "", unit: str = "", n: Any = "", spread: Any = "",
         outcome: str = "measured", detail: str = "", size: Any = None) -> Row:
    row = {"probe": probe, "parameter": parameter, "value": value, "unit": unit, "n": n, "spread": spread,
           "outcome": outcome, "detail": detail}
    if size is not None:
        row["size"] = size
    return row


def _stats(samples: Sequence[float]) -> Tuple[float, float]:
    """Median and interquartile range (0 for fewer than 2 samples)."""
    med = statistics.median(samples)
    if len(samples) < 2:
        return med, 0.0
    q = statistics.quantiles(samples, n=4, method="inclusive")
    return med, q[2] - q[0]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measured(probe: str, parameter: str, samples: Sequence[float], unit: str, detail: str = "",
              size: Any = None, scale: float = 1.0) -> Row:
    med, spread = _stats([s * scale for s in samples])
    return _row(probe, parameter, _g(med), unit, len(samples), _g(spread), "measured", detail, size)


def _g(x: float) -> float:
    return float("%.6g" % x)


def _metric(key: str, value: Any, timestamp: int, step: int) -> Any:
    return _entities().Metric(key, value, timestamp, step)


def _param(key: str, value: str) -> Any:
    return _entities().Param(key, value)


def _new_experiment(client: Any, prefix: str) -> str:
    return str(client.create_experiment("%s-%s" % (prefix, uuid.uuid4().hex[:8])))


def _search(client: Any, experiment_id: str, max_results: int = 100) -> List[Any]:
    return list(client.search_runs([experiment_id], FILTER, max_results=max_results, order_by=ORDER_BY))


def _all_runs(client: Any, experiment_id: str) -> List[Any]:
    runs: List[Any] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], "", max_results=1000, page_token=token)
        runs.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return runs


class _Captured(logging.Handler):
    """Warnings MLflow logs (truncation says so through its logger, not ``warnings``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _Warned:
    """Collects what MLflow warns, through ``logging`` or ``warnings``, while the block runs."""

    def __enter__(self) -> "_Warned":
        self.handler = _Captured()
        logging.getLogger("mlflow").addHandler(self.handler)
        self.catcher = warnings.catch_warnings(record=True)
        self.caught = self.catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.catcher.__exit__(*exc)
        logging.getLogger("mlflow").removeHandler(self.handler)

    def text(self) -> str:
        found = self.handler.messages + [str(w.message) for w in self.caught if "pkg_resources" not in str(w.message)]
        return " | ".join(" ".join(m.split())[:200] for m in found)


SECONDS: Dict[str, float] = {}  # wall time of each probe step, for the document


def _guarded(name: str, step: Callable[[], List[Row]]) -> List[Row]:
    """The step's rows; an exception is one ``error`` row (the other steps go on)."""
    start = time.perf_counter()
    try:
        return step()
    except Exception as err:
        sys.stderr.write(traceback.format_exc())
        return [_row(name, "", outcome="error", detail=_message(err))]
    finally:
        SECONDS[name] = round(time.perf_counter() - start, 3)
