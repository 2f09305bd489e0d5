"""Committed runs of an entry point, and a re-run's results compared with them.

Committed runs come from ``stored_runs.csv``/``stored_params.csv``/``stored_metrics.csv`` in the
results directory, which ``analyze`` writes, else from the stores found in the checkout, read by
the same ``analysis/stores/stored_runs.py`` (so do the fresh stores a re-run leaves). A committed run belongs to an entry point
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
from typing import Any
from pathlib import Path, PurePosixPath

from analysis.rerun.ftypes import RunRecord
from analysis.rows import StoredMetric, StoredParam, StoredRun
from analysis.stores.discovery import find_stores
from analysis.stores.stored_runs import read_store
from analysis.tables import read_table

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


def _int(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _records(runs: Iterable[Mapping[str, Any]], params: Iterable[Mapping[str, Any]],
             metrics: Iterable[Mapping[str, Any]]) -> list[RunRecord]:
    """Run records from rows shaped as ``stored_runs``/``stored_params``/``stored_metrics`` (dicts or dataclasses' vars)."""
    by_run: dict[tuple[str, str], dict[str, str]] = {}
    for row in params:
        by_run.setdefault((str(row["store"]), str(row["run_id"])), {})[str(row["key"])] = str(row["value"])
    finals: dict[tuple[str, str], dict[str, float]] = {}
    for row in metrics:
        value = _float(str(row["latest_value"]))
        if value is not None:
            finals.setdefault((str(row["store"]), str(row["run_id"])), {})[str(row["key"])] = value
    records = []
    for row in runs:
        if row.get("lifecycle_stage") == "deleted":
            continue
        ident = (str(row["store"]), str(row["run_id"]))
        records.append(RunRecord(store=ident[0], run_id=ident[1], experiment_id=str(row.get("experiment_id") or ""),
                                 entry_point=str(row.get("entry_point") or ""),
                                 source_name=str(row.get("source_name") or ""), status=str(row.get("status") or ""),
                                 start_time=_int(str(row.get("start_time") or "")), params=by_run.get(ident, {}),
                                 metrics=finals.get(ident, {}), commit=str(row.get("git_commit") or "")))
    return records


def runs_from_csvs(results: Path, repo: str) -> list[RunRecord] | None:
    """The repository's committed runs from analyze's ``stored_runs.csv``, ``stored_params.csv`` and
    ``stored_metrics.csv`` (final value: ``latest_value``), or None when analyze did not write them."""
    names = (STORED_RUNS, STORED_PARAMS, STORED_METRICS)
    if not all((results / name).is_file() for name in names):
        return None
    runs = [vars(r) for r in read_table(results / STORED_RUNS, StoredRun) if r.repo == repo]
    params = [vars(p) for p in read_table(results / STORED_PARAMS, StoredParam) if p.repo == repo]
    metrics = [vars(m) for m in read_table(results / STORED_METRICS, StoredMetric) if m.repo == repo]
    return _records(runs, params, metrics)


def runs_in(root: Path) -> list[RunRecord]:
    """Every live run of every store under ``root`` (FileStore trees and SQLite databases), read by
    ``stored_runs`` as ``analyze`` reads committed stores (nothing imported or run)."""
    if not root.is_dir():
        return []
    paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())
    records = []
    for ref in find_stores(root, paths):
        if ref.kind == "registry":
            continue
        reading = read_store("", root, ref)
        records += _records((vars(r) for r in reading.runs), (vars(p) for p in reading.params),
                            (vars(m) for m in reading.metrics))
    return records


def committed_runs(results: Path, repo: str, checkout: Path) -> list[RunRecord]:
    """The runs committed in a repository: from analyze's stored-runs tables, else read from its checkout."""
    from_csv = runs_from_csvs(results, repo)
    return from_csv if from_csv is not None else runs_in(checkout)


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
