"""One stamp scheme: a fingerprint per stage of the analysis, over exactly that stage's code and its inputs.

A stage's code is the folders (every ``.py`` below them, recursively) and files of ``STAGES``,
relative to ``analysis/`` (``../miner/tutorials.py``: the miner's course-work rule, which the tables
and the report apply), with the code of the stages it builds on (``after``): a new module in a
folder is covered as soon as it is there, and a module moved out of a stage's paths changes the
stage's fingerprint (a path it names is then missing). ``tests/analysis/test_stamps.py``
follows the imports of each stage's entry modules and checks that every module they reach lies
under the stage's paths. Where each stamp is kept: ``docs/design.md`` ("Stamps").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miner import __version__
from miner.fileio import atomic_write_text

PACKAGE = Path(__file__).resolve().parent  # analysis/

_VALUES = ("__init__.py", "ftypes.py", "rows.py", "history_rows.py", "tables.py", "versions.py")  # the leaf modules every stage reads
# the course-work rule lives with the miner (a selection filter there); the tables and the report apply it
_TUTORIALS = "../miner/tutorials.py"


@dataclass(frozen=True)
class Stage:
    """A stage's code (``code``: folders ending in ``/``, recursive, and files, relative to ``analysis/``),
    the modules it runs from (``entries``, dotted under ``analysis.``) and the stages whose code it
    also runs (``after``)."""

    code: tuple[str, ...]
    entries: tuple[str, ...]
    after: tuple[str, ...] = ()


STAGES: dict[str, Stage] = {
    # one file's findings (results cache, key of each file): the LibCST pass and the code it calls
    "parse": Stage((*_VALUES, "repo_state.py", "reading/", "passes/__init__.py", "passes/code_findings.py",
                    "passes/call_sites.py", "passes/integrations.py", "passes/mlflow_calls.py",
                    "passes/tracking_uris.py", "passes/module_graph.py", "passes/reproducibility.py",
                    "releases/__init__.py", "releases/catalog.py", "engine/__init__.py",
                    "engine/cache.py"),
                   ("passes.code_findings", "engine.cache")),
    # one repository's whole result (results cache, key of each repository): every pass over a checkout
    "repository": Stage((*_VALUES, "reading/", "passes/", "stores/", "releases/__init__.py", "releases/catalog.py",
                         "engine/__init__.py", "engine/analyzer.py", "engine/cache.py", "repo_state.py", "graphml.py"),
                        ("engine.analyzer", "repo_state"), ("parse",)),
    # the catalog, schema revisions and storage model read from the corpus's MLflow releases
    "releases": Stage((*_VALUES, "stamps.py", "reading/", "releases/", "data/api_catalog.csv",
                       "data/schema_revisions.csv"),
                      ("releases.load", "releases.catalog", "releases.schema", "releases.storage")),
    # the report (report/.inputs.sha256): its sections, figures, statistics and the files it reads
    "report": Stage((*_VALUES, "isolated/", "executor.py", "stamps.py", "reading/", "graphml.py",
                     "report/", "statistics/", "probe/", "rerun/", "releases/__init__.py", "releases/dates.py",
                     "data/baselines.csv", "data/mlflow_behaviour.csv", "data/mlflow_release_dates.csv", _TUTORIALS),
                    ("report.document", "report.process")),
    # one repository's history (results cache, key of each repository's history): the walk and the passes
    "history": Stage((*_VALUES, "executor.py", "stamps.py", "history/", "releases/__init__.py", "releases/dates.py",
                      "data/mlflow_release_dates.csv"), ("history.run",), ("repository",)),
    # the corpus tables, graphs and statistics of an output folder, and the report drawn with them
    "tables": Stage((*_VALUES, "executor.py", "engine/", "statistics/", _TUTORIALS),
                    ("engine.driver", "statistics.community"),
                    ("repository", "releases", "report", "history")),
}


def stage_paths(stage: str) -> tuple[str, ...]:
    """Every path of ``stage``'s code, with those of the stages it builds on (each once, in order)."""
    paths = dict.fromkeys(STAGES[stage].code)
    for before in STAGES[stage].after:
        paths.update(dict.fromkeys(stage_paths(before)))
    return tuple(paths)


def code_files(stage: str, root: Path = PACKAGE) -> list[tuple[str, Path | None]]:
    """Every file of ``stage``'s code under ``root`` (``analysis/``) by its path there, sorted; a file or
    folder the stage names that is not there comes with None."""
    found: dict[str, Path | None] = {}
    for rel in stage_paths(stage):
        if rel.endswith("/") and (root / rel).is_dir():
            found.update((p.relative_to(root).as_posix(), p) for p in (root / rel).rglob("*.py"))
        else:
            found[rel] = root / rel if (root / rel).is_file() else None
    return sorted(found.items())


def code_digest(stage: str, root: Path = PACKAGE) -> str:
    """A digest of ``stage``'s code: the path and content of each of its files."""
    code = [(rel, hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else "missing")
            for rel, path in code_files(stage, root)]
    return hashlib.sha256(json.dumps(code).encode()).hexdigest()


def fingerprint(stage: str, inputs: Any = None, root: Path = PACKAGE) -> str:
    """The stamp of ``stage``: the tool's version, the stage's code and its ``inputs`` (JSON values)."""
    payload = json.dumps([__version__, stage, code_digest(stage, root), inputs])
    return hashlib.sha256(payload.encode()).hexdigest()


def release_cached(home: Path, releases: Mapping[str, Path],
                   builds: Mapping[str, Callable[[], dict[str, Any]]], root: Path = PACKAGE) -> dict[str, dict[str, Any]]:
    """Each part of ``builds`` (file name -> how to build it) by its name: kept in ``home/<name>``
    (``<corpus>/mlflow/``) under the ``releases`` stamp of ``releases`` (version -> release root), and
    built and kept again when it is missing or its stamp differs.

    Release directories are renamed into place complete and never changed, so their names and
    modification times identify them.
    """
    stamp = fingerprint("releases", sorted((v, p.stat().st_mtime_ns) for v, p in releases.items()), root)
    kept: dict[str, dict[str, Any]] = {}
    for name in builds:
        try:
            data = json.loads((home / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("stamp") == stamp:
            kept[name] = data
    built = {name: {**build(), "stamp": stamp} for name, build in builds.items() if name not in kept}
    for name, data in built.items():
        atomic_write_text(home / name, json.dumps(data))
    return {name: kept[name] if name in kept else built[name] for name in builds}


TABLES_STAMP = ".tables.json"  # what the tables in an output folder were written from
HISTORY_STAMP = ".history.json"  # what the history tables in an output folder were written from


def write_tables_stamp(out: Path, stamp: str, from_cache: bool, outputs: list[str], summary: dict[str, Any],
                       name: str = TABLES_STAMP) -> None:
    """Note what the tables of ``out`` were written from (``stamp``), whether files.csv says every
    result came from the cache, and the run's summary (``name``: the history's tables, ``HISTORY_STAMP``)."""
    atomic_write_text(out / name, json.dumps({
        "stamp": stamp, "from_cache": from_cache, "outputs": outputs, "summary": summary}))


def read_tables_stamp(out: Path, stamp: str, name: str = TABLES_STAMP) -> dict[str, Any] | None:
    """What ``write_tables_stamp`` noted in ``out`` under ``name``, when it was ``stamp`` and every output
    it lists is there; None otherwise."""
    try:
        data = json.loads((out / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("stamp") != stamp:
        return None
    if not all((out / output).is_file() for output in data["outputs"]):
        return None
    return data
