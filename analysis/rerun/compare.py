"""Committed runs of an entry point, and a re-run's results compared with them.

Committed runs come from ``stored_runs.csv``/``stored_params.csv``/``stored_metrics.csv`` in the
results directory when ``analyze`` wrote them (``analysis/stored_runs.py``), else from the FileStore
folders found in the checkout (``filestore.find_runs``). A committed run belongs to an entry point
when its ``mlflow.project.entryPoint`` tag names it, or, for runs made without ``mlflow run`` (no
such tag), when its ``mlflow.source.name`` is the script the entry point runs.

Metrics are compared on their final values: ``metrics_equal`` when every key of either run is in
both and within ``EQUAL_RTOL`` (NaN equals NaN, an infinity equals the same infinity),
``metrics_close`` within ``CLOSE_RTOL``, and ``metrics_differ`` lists the keys that are not close
or are missing on one side. A committed run with no metrics gives no verdict (empty cells).
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from analysis.rerun.filestore import find_runs
from analysis.rerun.ftypes import RunRecord
from miner.fileio import read_csv

EQUAL_RTOL = 1e-9  # what a float survives through text stores; anything beyond is a different number
CLOSE_RTOL = 1e-2  # 1%: the same experiment up to run-to-run noise
STORED_RUNS = "stored_runs.csv"
STORED_PARAMS = "stored_params.csv"
STORED_METRICS = "stored_metrics.csv"


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def runs_from_csvs(results: Path, repo: str) -> list[RunRecord] | None:
    """The repository's committed runs from the ``stored_*.csv`` tables, or None when they are not there.

    Columns read: ``stored_runs.csv`` repo, store, run_id, entry_point (and, when present,
    source_name, status, start_time); ``stored_params.csv`` and ``stored_metrics.csv`` repo, store,
    run_id, key, value (metrics: the final value, or the row with the largest step when a step
    column is there).
    """
    if not (results / STORED_RUNS).is_file():
        return None
    params: dict[tuple[str, str], dict[str, str]] = {}
    metrics: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    if (results / STORED_PARAMS).is_file():
        for row in read_csv(results / STORED_PARAMS):
            if row.get("repo") == repo:
                params.setdefault((row["store"], row["run_id"]), {})[row["key"]] = row.get("value", "")
    if (results / STORED_METRICS).is_file():
        for row in read_csv(results / STORED_METRICS):
            value = _float(row.get("value", ""))
            if row.get("repo") == repo and value is not None:
                step = _float(row.get("step") or "0") or 0.0
                slot = metrics.setdefault((row["store"], row["run_id"]), {})
                if row["key"] not in slot or step >= slot[row["key"]][0]:
                    slot[row["key"]] = (step, value)
    runs = []
    for row in read_csv(results / STORED_RUNS):
        if row.get("repo") != repo:
            continue
        ident = (row["store"], row["run_id"])
        start = row.get("start_time") or "0"
        runs.append(RunRecord(store=row["store"], run_id=row["run_id"], entry_point=row.get("entry_point", ""),
                              source_name=row.get("source_name", ""), status=row.get("status", ""),
                              start_time=int(start) if start.isdigit() else 0, params=params.get(ident, {}),
                              metrics={k: v for k, (_s, v) in metrics.get(ident, {}).items()}))
    return runs


def committed_runs(results: Path, repo: str, checkout: Path) -> list[RunRecord]:
    """The runs committed in a repository: from the stored-runs tables, else read from its FileStores."""
    from_csv = runs_from_csvs(results, repo)
    return from_csv if from_csv is not None else find_runs(checkout)


def of_entry_point(runs: Iterable[RunRecord], entry_point: str, script: str) -> list[RunRecord]:
    """Runs of an entry point, latest first (finished runs before others)."""
    script_name = PurePosixPath(script).name if script else ""
    mine = [r for r in runs if r.entry_point == entry_point
            or (not r.entry_point and script_name and PurePosixPath(r.source_name).name == script_name)]
    return sorted(mine, key=lambda r: (r.status in ("", "FINISHED"), r.start_time), reverse=True)


def unquoted(value: str) -> str:
    """A logged value without the shell quoting MLflow adds (older releases logged values bare)."""
    try:
        words = shlex.split(value)
    except ValueError:
        return value
    return words[0] if len(words) == 1 else value


def same_params(run: RunRecord, used: Mapping[str, str]) -> bool:
    """The run's parameters equal ``used`` on every declared name (quoting aside)."""
    return all(unquoted(run.params.get(k, "\0missing")) == unquoted(v) for k, v in used.items())


def pick(runs: Sequence[RunRecord], used: Mapping[str, str]) -> tuple[RunRecord, bool] | None:
    """The committed run to compare with: the latest with the same parameters, else the latest."""
    if not runs:
        return None
    for run in runs:
        if same_params(run, used):
            return run, True
    return runs[0], False


def _equal(a: float, b: float, rtol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rtol, abs_tol=0.0)


def compare_metrics(fresh: Mapping[str, float], committed: Mapping[str, float]) -> tuple[bool | None, bool | None, str]:
    """``(metrics_equal, metrics_close, metrics_differ)`` of final metric values; None when nothing to compare."""
    if not committed:
        return None, None, ""
    keys = sorted(set(fresh) | set(committed))
    equal = all(k in fresh and k in committed and _equal(fresh[k], committed[k], EQUAL_RTOL) for k in keys)
    differ = [k for k in keys if not (k in fresh and k in committed and _equal(fresh[k], committed[k], CLOSE_RTOL))]
    return equal, not differ, ";".join(differ)
