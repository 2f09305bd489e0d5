"""A minimal reader of MLflow FileStore directories (``mlruns/``): runs, their parameters and final metrics.

Reads only what the re-run compares, with MLflow's rules (``store/tracking/file_store.py``): a run
is ``<store>/<experiment_id>/<run_id>/meta.yaml`` beside ``params/``, ``metrics/`` or ``tags/``
(keys with ``/`` are nested folders), a metric file holds ``<timestamp> <value> <step>`` lines and
its final value is the line with the largest ``(step, timestamp, value)``; deleted runs and
``.trash`` are left out. Never imports MLflow and never executes anything.

Stand-in until ``analysis/stored_runs.py`` (which reads every store kind into ``stored_runs.csv``)
is on main: ``rerun`` reads committed runs from those CSVs when present, else with this reader.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.mlproject import MLprojectInvalid, safe_yaml
from analysis.rerun.ftypes import RunRecord

log = logging.getLogger(__name__)

_RUN_PARTS = ("params", "metrics", "tags")
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}  # entities.RunStatus
MAX_VALUE_BYTES = 1 << 20


def _meta(path: Path) -> dict[str, Any]:
    try:
        obj = safe_yaml(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, MLprojectInvalid):
        return {}
    return obj if isinstance(obj, dict) else {}


def _entries(folder: Path) -> Iterator[tuple[str, Path]]:
    """``(key, file)`` of a params/metrics/tags folder; nested folders make ``a/b`` keys."""
    if not folder.is_dir():
        return
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                yield path.relative_to(folder).as_posix(), path


def _text(path: Path) -> str:
    with path.open("rb") as fh:
        return fh.read(MAX_VALUE_BYTES).decode("utf-8", errors="replace")


def final_metric(text: str) -> float | None:
    """The final value of a FileStore metric file: the line with the largest (step, timestamp, value)."""
    best: tuple[int, int, float] | None = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        try:
            entry = (int(parts[2]) if len(parts) > 2 else 0, int(parts[0]), float(parts[1]))
        except ValueError:
            continue
        if best is None or entry > best:
            best = entry
    return None if best is None else best[2]


def read_run(run_dir: Path, store: str) -> RunRecord | None:
    """One run of a FileStore, or None when it is deleted or its metadata is unreadable."""
    meta = _meta(run_dir / "meta.yaml")
    if not meta or meta.get("lifecycle_stage") == "deleted":
        return None
    tags = {k: _text(p) for k, p in _entries(run_dir / "tags")}
    params = {k: _text(p) for k, p in _entries(run_dir / "params")}
    metrics = {}
    for key, path in _entries(run_dir / "metrics"):
        value = final_metric(_text(path))
        if value is not None:
            metrics[key] = value
    status = meta.get("status")
    return RunRecord(
        store=store,
        run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name),
        experiment_id=str(meta.get("experiment_id", run_dir.parent.name)),
        entry_point=tags.get("mlflow.project.entryPoint") or str(meta.get("entry_point_name") or ""),
        source_name=tags.get("mlflow.source.name") or str(meta.get("source_name") or ""),
        status=_STATUS.get(status, str(status or "")) if isinstance(status, int) else str(status or ""),
        start_time=int(meta.get("start_time") or 0) if str(meta.get("start_time") or "0").isdigit() else 0,
        params=params,
        metrics=metrics,
    )


def is_run_dir(path: Path) -> bool:
    """A FileStore run folder: ``meta.yaml`` beside params/metrics/tags, in an experiment folder with its own meta."""
    return (path / "meta.yaml").is_file() and any((path / part).is_dir() for part in _RUN_PARTS) \
        and (path.parent / "meta.yaml").is_file() and path.parent.name != ".trash"


def read_store(root: Path, name: str) -> list[RunRecord]:
    """Every live run of the FileStore at ``root`` (``name`` is recorded as the runs' store)."""
    runs = []
    for exp in sorted(p for p in root.iterdir() if p.is_dir() and p.name != ".trash") if root.is_dir() else []:
        for run_dir in sorted(p for p in exp.iterdir() if p.is_dir()):
            if is_run_dir(run_dir):
                run = read_run(run_dir, name)
                if run is not None:
                    runs.append(run)
    return runs


def find_runs(tree: Path) -> list[RunRecord]:
    """Every FileStore run anywhere under ``tree`` (a repository checkout), its store relative to the tree."""
    runs = []
    for dirpath, dirs, _files in os.walk(tree):
        here = Path(dirpath)
        dirs[:] = sorted(d for d in dirs if d != ".git" and not (here / d).is_symlink())
        if here != tree and is_run_dir(here):
            run = read_run(here, here.parent.parent.relative_to(tree).as_posix())
            if run is not None:
                runs.append(run)
            dirs[:] = []  # a run's params/metrics/tags hold no runs
    return runs
