"""The ``analyze`` job: every file of every mined repository through the per-file passes, then the
per-repository passes (environments, reproducibility, traceability graph), into CSVs, then the
corpus tables, statistics and report.

Work is independent per repository (one task each, run in ``--jobs`` processes, largest first).
Per file: a ``.py`` file is parsed once with ``ast`` (``astscan``: graph facts, call positions,
and the gate that keeps files which cannot use MLflow away from LibCST), then, if it may use
MLflow, once with LibCST for the call-site pass. Results are cached in ``<out>/.cache.sqlite``
per file (content hash, with the tool's source and the catalog in the key) and per repository
(commit), so a second run over an unchanged corpus parses nothing and an interrupted run loses
only the repositories it was in. A repository a pass raises on becomes one problem row.
"""

from __future__ import annotations

import codecs
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import libcst as cst

from analysis.astscan import ModuleScan, scan_source
from analysis.catalog import CATALOG_COLUMNS, Catalog, catalog_for, corpus_releases
from analysis.ftypes import AnalyzeSettings, CallSite, FileContext, FileFindings, Integration, SourceError, TrackingUri
from analysis.environments import (
    decode_env_file,
    env_file_kind,
    parse_conda,
    parse_dockerfile,
    parse_pyproject,
    parse_python_env,
    parse_requirements,
    parse_setup_cfg,
    parse_setup_py,
    python_version,
)
from analysis.report import build_report
from analysis.statistics import community_statistics
from analysis.traceability import (
    TRACEABILITY_COLUMNS, ModuleFacts, build_graph, co_usage, dotted_modules, graph_name, module_facts, usage_graph,
    write_graphml,
)
from analysis.traceability import metrics as trace_metrics
from analysis.storage import STORAGE_COLUMNS, storage_rows
from analysis.reproducibility import REPRODUCIBILITY_COLUMNS, sets_seed, signals
from analysis.mlproject import MLproject, is_mlproject_name, parse_mlproject
from analysis.mlflow_calls import TRACKING_ENV, Resolver, find_in_module, may_use_mlflow, python_error_line
from analysis.sources import NotebookCode, decode_python, is_binary, neutralize_magics, notebook_code
from analysis.uris import classify_uri, config_source, scan_text
from miner import __version__
from miner.fileio import atomic_write_text, read_csv, sha256_file, utc_now, write_csv, write_provenance

log = logging.getLogger(__name__)

CALL_COLUMNS = ("repo", "path", "cell", "line", "col", "api", "category", "style", "enclosing_function",
                "in_loop", "in_run_context", "key_kind", "key", "has_step", "n_args", "note")
INTEGRATION_COLUMNS = ("repo", "path", "cell", "line", "col", "framework", "target", "evidence")
URI_COLUMNS = ("repo", "path", "cell", "line", "source", "via", "value", "scheme", "host_kind")
PROBLEM_COLUMNS = ("repo", "path", "line", "stage", "reason")
FILE_COLUMNS = ("repo", "path", "kind", "size", "status", "reason", "cached")
MLPROJECT_COLUMNS = ("repo", "path", "name", "env_type", "env_declared", "env_file", "docker_image", "docker_pinned",
                     "databricks_spark_job", "n_entry_points", "valid", "error")
ENTRY_POINT_COLUMNS = ("repo", "mlproject_path", "entry_point", "command", "script", "n_params")
DEPENDENCY_COLUMNS = ("repo", "path", "line", "file", "kind", "manager", "name", "spec", "pin_class", "marker", "origin")
ENVIRONMENT_COLUMNS = ("repo", "path", "kind", "n_deps", "exact_share", "python_version", "mlflow_pinned",
                       "referenced_by_mlproject", "origin")
PARAMETER_COLUMNS = ("repo", "mlproject_path", "entry_point", "name", "type", "default", "required", "used_in_command")


STATIC_PARSERS = {"pyproject.toml": parse_pyproject, "setup.cfg": parse_setup_cfg, "setup.py": parse_setup_py,
                  "dockerfile": parse_dockerfile}


class AnalysisError(Exception):
    """The analysis cannot start (no manifest, unreadable corpus)."""


@dataclass(frozen=True)
class RepoTask:
    """One repository to analyze."""

    repo: str
    root: str
    commit: str


@dataclass
class RepoResult:
    """What the passes found in one repository."""

    repo: str
    files: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    call_sites: list[dict[str, Any]] = field(default_factory=list)
    integrations: list[dict[str, Any]] = field(default_factory=list)
    uris: list[dict[str, Any]] = field(default_factory=list)
    mlprojects: list[dict[str, Any]] = field(default_factory=list)
    entry_points: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    dependencies: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    reproducibility: list[dict[str, Any]] = field(default_factory=list)
    traceability: list[dict[str, Any]] = field(default_factory=list)
    seeds: bool = False
    new_cache: dict[str, str] = field(default_factory=dict)
    n_parsed: int = 0
    n_cached: int = 0
    failed: bool = False  # a pass raised: nothing of this repository but a problem row


@dataclass(frozen=True)
class AnalyzeSummary:
    """What one ``analyze`` run did."""

    out_dir: Path
    n_repos: int
    n_files: int
    n_call_sites: int
    n_problems: int
    n_parsed: int
    n_cached: int
    n_prefiltered: int  # files without the text "mlflow"
    catalog_origin: str
    n_gated: int = 0  # .py files mentioning mlflow that cannot use it (not parsed by LibCST)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each phase
    failed: tuple[str, ...] = ()  # repositories a pass failed on (see problems.csv)


def file_kind(rel: str) -> str:
    """python, notebook, mlproject, config (may set a tracking URI) or other."""
    lower = rel.lower()
    if is_mlproject_name(PurePosixPath(rel).name):
        return "mlproject"
    if env_file_kind(rel) not in (None, "setup.py"):
        return "environment"  # setup.py stays python (call sites) and is read for dependencies too
    if lower.endswith(".py"):
        return "python"
    if lower.endswith(".ipynb"):
        return "notebook"
    if config_source(rel) is not None:
        return "config"
    return "other"


def walk(root: Path) -> Iterator[tuple[str, Path]]:
    """(posix relative path, path) of every file under root, sorted, symlinks included, no descent into them."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            yield path.relative_to(root).as_posix(), path
        for name in dirnames:
            if (base / name).is_symlink():
                yield (base / name).relative_to(root).as_posix(), base / name


_STAR = re.compile(rb"(?m)^from\s+mlflow\s+import\s+\*")


def mlflow_reexports(root: Path, paths: list[str]) -> frozenset[str]:
    """Dotted names of the project's modules that re-export MLflow with ``from mlflow import *``."""
    out: set[str] = set()
    for rel in paths:
        if not rel.endswith(".py") or "mlflow" not in rel.lower():
            continue  # a re-exporting module is named after mlflow in practice; keeps this pass cheap
        path = root / rel
        try:
            if path.is_symlink() or path.stat().st_size > 1_000_000 or not _STAR.search(path.read_bytes()):
                continue
        except OSError:
            continue
        parts = list(PurePosixPath(rel).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        # every suffix: the import root may be any ancestor directory (src/ layouts)
        out.update(".".join(parts[i:]) for i in range(len(parts)) if parts[i:] != ["mlflow"])
    return frozenset(out)


def local_mlflow_dirs(paths: Iterator[str] | list[str]) -> set[str]:
    """Script directories where ``import mlflow`` would load the project's own module, not MLflow.

    Python puts the directory of the script it runs first on ``sys.path``, so a ``mlflow.py`` or
    ``mlflow/__init__.py`` beside a script shadows MLflow. Inside a package (a directory with
    ``__init__.py``) files are imported, not run, and ``import mlflow`` is absolute: no shadowing.
    """
    listed = list(paths)
    packages = {str(PurePosixPath(rel).parent) for rel in listed if PurePosixPath(rel).name == "__init__.py"}
    out = set()
    for rel in listed:
        p = PurePosixPath(rel)
        if p.name == "mlflow.py":
            out.add(str(p.parent))
        elif p.name == "__init__.py" and p.parent.name == "mlflow":
            out.add(str(p.parent.parent))
    return out - packages


Bad = list[tuple[int | None, str]]


def _findings_to_json(f: FileFindings, bad: Bad) -> str:
    return json.dumps({"c": [vars(x) for x in f.call_sites], "i": [vars(x) for x in f.integrations],
                       "u": [vars(x) for x in f.tracking_uris], "p": bad})


def _findings_from_json(text: str) -> tuple[FileFindings, Bad]:
    data = json.loads(text)
    findings = FileFindings(tuple(CallSite(**x) for x in data["c"]), tuple(Integration(**x) for x in data["i"]),
                            tuple(TrackingUri(**x) for x in data["u"]))
    return findings, [(line, reason) for line, reason in data.get("p", [])]


PYTHON_NOTEBOOKS = ("python", "python3", "ipython", "")


def notebook_findings(data: bytes, resolver: Resolver, context: FileContext, code: NotebookCode | None = None,
                      found: ModuleScan | None = None) -> tuple[FileFindings, Bad]:
    """Findings of a notebook; code cells that do not parse alone are blanked and reported.

    ``code`` and ``found`` are the notebook's code cells and their ``ast`` scan when the caller has them.
    """
    code = code or notebook_code(data)
    bad: Bad = []
    if code.language not in PYTHON_NOTEBOOKS:
        raise NotPython(f"notebook language is {code.language}")
    implicit = "%run" in data.decode("utf-8", "replace")
    # None when a cell does not parse: LibCST's cell-by-cell path below reports it
    found = found or scan_source(code.source)
    sets_uri = any(name == TRACKING_ENV for _c, _l, name, _v in code.env_magics)  # `%env`, gone from the source
    if found is not None and not sets_uri and not may_use_mlflow(found, code.source, context, implicit):
        raise NoMlflowUse
    try:
        return _with_env_magics(find_in_module(code.source, resolver, context=context, cell_of_line=code.cell_of_line,
                                               implicit_mlflow=implicit, found=found), code), bad
    except SourceError:
        pass
    # Every Jupyter cell is a complete statement list: find the cells that fail alone.
    lines = code.source.split("\n")
    for cell, first, last in code.cells():
        cell_text = "\n".join(lines[first - 1:last]) + "\n"
        try:
            cst.parse_module(cell_text)
        except (cst.ParserSyntaxError, RecursionError, ValueError) as err:
            line = python_error_line(cell_text, err.raw_line) if isinstance(err, cst.ParserSyntaxError) else None
            message = err.message if isinstance(err, cst.ParserSyntaxError) else type(err).__name__
            bad.append((line, f"cell {cell}: syntax error: {message}"))
            lines[first - 1:last] = [""] * (last - first + 1)
    findings = find_in_module("\n".join(lines), resolver, context=context,
                              cell_of_line=code.cell_of_line, implicit_mlflow=implicit)
    return _with_env_magics(findings, code), bad


def _with_env_magics(findings: FileFindings, code: NotebookCode) -> FileFindings:
    """The findings plus the tracking URIs a notebook sets with ``%env`` (they run, and stay set)."""
    uris = [TrackingUri(line, "notebook", "%env", value.strip("\"'"), *classify_uri(value), cell)
            for cell, line, name, value in code.env_magics if name == TRACKING_ENV]
    if not uris:
        return findings
    return replace(findings, tracking_uris=tuple(sorted([*findings.tracking_uris, *uris],
                                                        key=lambda u: (u.cell or 0, u.line))))


NO_USE_REASON = "imports neither mlflow nor a logging integration: not parsed by LibCST"


def _scan_python(data: bytes) -> tuple[ModuleScan | None, str | None]:
    """The ``ast`` scan of a ``.py`` file and its text; None where it does not decode or parse as is."""
    try:
        text = decode_python(data)
    except SourceError:
        return None, None
    return scan_source(text), text


def _scan_notebook(data: bytes) -> tuple[ModuleScan | None, NotebookCode | None]:
    """The ``ast`` scan of a Python notebook's code cells and those cells; None where they do not parse."""
    try:
        code = notebook_code(data)
    except SourceError:
        return None, None
    if code.language not in PYTHON_NOTEBOOKS:
        return None, None
    return scan_source(code.source), code


def _databricks_export(text: str) -> bool:
    return text[:200].startswith("# Databricks notebook source") or "# COMMAND ----------" in text


def _runs_notebook(text: str) -> bool:
    """A Databricks export that ``%run``s another notebook (which may bring ``mlflow`` into scope)."""
    return _databricks_export(text) and "%run" in text


def python_findings(data: bytes, resolver: Resolver, context: FileContext,
                    found: ModuleScan | None = None) -> tuple[FileFindings, Bad]:
    """Findings of a ``.py`` file; IPython magics (Databricks and Jupytext exports) are neutralized.

    ``found`` is the file's ``ast`` scan when the caller has one.
    """
    text = decode_python(data)
    exported = _databricks_export(text)
    implicit = _runs_notebook(text)
    try:
        return find_in_module(text, resolver, context=context, implicit_mlflow=implicit, found=found), []
    except SourceError as err:
        if not exported and not _MAGIC_LINE.search(text):
            raise
        first_error = err
    text = neutralize_magics(text)
    try:
        return find_in_module(text, resolver, context=context, implicit_mlflow=implicit), []
    except SourceError:
        if not exported:
            raise first_error from None
    # A Databricks export is a notebook: blank the cells that do not parse alone.
    lines = text.split("\n")
    starts = [0] + [i + 1 for i, ln in enumerate(lines) if ln.strip() == "# COMMAND ----------"]
    bad: Bad = []
    for n, start in enumerate(starts):
        end = starts[n + 1] - 1 if n + 1 < len(starts) else len(lines)
        cell_text = "\n".join(lines[start:end]) + "\n"
        try:
            cst.parse_module(cell_text)
        except (cst.ParserSyntaxError, RecursionError, ValueError) as err:
            raw = err.raw_line if isinstance(err, cst.ParserSyntaxError) else 1
            line = start + python_error_line(cell_text, raw)
            bad.append((line, f"cell {n}: syntax error: {getattr(err, 'message', type(err).__name__)}"))
            lines[start:end] = [""] * (end - start)
    return find_in_module("\n".join(lines), resolver, context=context, implicit_mlflow=implicit), bad


_MAGIC_LINE = re.compile(r"(?m)^\s*[!%]")


class NotPython(Exception):
    """A notebook in another language: skipped, not a problem."""


class NoMlflowUse(Exception):
    """A notebook that mentions mlflow but imports neither it nor an integration: not parsed by LibCST."""


class _Worker:
    """Per-process state: the resolver and a read-only cache connection."""

    resolver: Resolver | None = None
    fingerprint: str = ""
    cache: sqlite3.Connection | None = None
    max_bytes: int = 0
    graphs_dir: str = ""
    files_done: Any = None  # multiprocessing.Value: files finished by every process, for the progress bar
    on_file: Callable[[], None] | None = None  # in-process runs only: reports progress


def _init_worker(resolver: Resolver, fingerprint: str, cache_path: str, max_bytes: int, graphs_dir: str = "",
                 files_done: Any = None) -> None:
    _Worker.resolver = resolver
    _Worker.files_done = files_done
    _Worker.graphs_dir = graphs_dir
    _Worker.fingerprint = fingerprint
    _Worker.max_bytes = max_bytes
    _Worker.cache = None
    if cache_path and Path(cache_path).is_file():
        _Worker.cache = sqlite3.connect(f"file:{cache_path}?mode=ro", uri=True)
    # Parsing allocates millions of short-lived objects; full collections would rescan everything
    # alive now (modules, the resolver) each time: keep it out of their way (about 15% faster).
    gc.collect()
    gc.freeze()


def _cached(key: str) -> str | None:
    if _Worker.cache is None:
        return None
    try:
        row = _Worker.cache.execute("select value from results where key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _file_done() -> None:
    if _Worker.files_done is not None:
        with _Worker.files_done.get_lock():
            _Worker.files_done.value += 1
    if _Worker.on_file is not None:
        _Worker.on_file()


def _failure(task: RepoTask, err: BaseException) -> RepoResult:
    reason = f"repository not analyzed: {type(err).__name__}: {err}"[:500]
    return RepoResult(task.repo, problems=[{"repo": task.repo, "path": "", "line": None, "stage": "analyze",
                                            "reason": reason}], failed=True)


def analyze_repository_safely(task: RepoTask) -> RepoResult:
    """``analyze_repository``, where an exception fails this repository only (a problem row)."""
    try:
        return analyze_repository(task)
    except Exception as err:  # a bug, or an input no pass expected: the run goes on without this repository
        log.exception("%s: analysis failed", task.repo)
        return _failure(task, err)


def analyze_repository(task: RepoTask) -> RepoResult:
    """Run the per-file passes over one repository checkout."""
    resolver = _Worker.resolver
    assert resolver is not None
    root = Path(task.root)
    if not root.is_dir():
        raise FileNotFoundError(f"checkout {root} is missing (mine the corpus again)")
    result = RepoResult(task.repo)
    entries = list(walk(root))
    all_paths = frozenset(rel for rel, _ in entries)
    env_rows: list[tuple[str, bytes, dict[str, Any]]] = []
    shadow_dirs = local_mlflow_dirs([rel for rel, _ in entries])
    reexports = mlflow_reexports(root, [rel for rel, _ in entries])
    py_files = [rel for rel, path in entries if rel.endswith(".py") and not path.is_symlink()]
    modules = dotted_modules(py_files)
    facts: dict[str, ModuleFacts] = {}

    def problem(rel: str, line: int | None, stage: str, reason: str) -> None:
        result.problems.append({"repo": task.repo, "path": rel, "line": line, "stage": stage, "reason": reason})

    for rel, path in entries:
        _file_done()  # counted as it starts: every path below may `continue`
        kind = file_kind(rel)
        row: dict[str, Any] = {"repo": task.repo, "path": rel, "kind": kind, "size": "", "status": "",
                               "reason": "", "cached": False}
        result.files.append(row)
        if path.is_symlink():
            row.update(kind="symlink", status="skipped", reason="symlink (its target is analyzed where it lies)")
            continue
        if kind == "other":
            row["status"] = "not-analyzed"
            continue
        size = path.stat().st_size
        row["size"] = size
        if size > _Worker.max_bytes:
            row.update(status="problem", reason=f"file too large ({size} bytes)")
            problem(rel, None, "read", row["reason"])
            continue
        data = path.read_bytes()
        if kind == "mlproject":
            _mlproject(task.repo, rel, data, all_paths, result, row)
            continue
        if kind == "environment" or rel.endswith("setup.py") and env_file_kind(rel) == "setup.py":
            env_rows.append((rel, data, row))
            if kind == "environment":
                continue
        if is_binary(data):
            row.update(status="problem", reason="binary content")
            problem(rel, None, "read", "binary content")
            continue
        if kind in ("python", "notebook") and not result.seeds:
            result.seeds = sets_seed(data)
        found = text = code = None
        if kind == "python":
            # one ast parse and scan serves the module graph, the LibCST gate and call positions
            found, text = _scan_python(data)
            if found is not None and text is not None:
                facts[rel] = module_facts(found, text, rel, modules)
        elif kind == "notebook":  # a notebook is a script of the graph, mlflow in its text or not
            found, code = _scan_notebook(data)
            if found is not None and code is not None:
                facts[rel] = module_facts(found, code.source, rel, modules)
        if b"mlflow" not in data.lower():
            row.update(status="no-mlflow", reason="no 'mlflow' in the text: not parsed")
            continue
        context = FileContext(str(PurePosixPath(rel).parent) in shadow_dirs, reexports)
        # notebooks are gated in notebook_findings (their %run and %env are not in the scanned text)
        if (kind == "python" and found is not None and text is not None
                and not may_use_mlflow(found, text, context, _runs_notebook(text))):
            row.update(status="no-mlflow-use", reason=NO_USE_REASON)
            continue
        key = hashlib.sha256(data + f"\0{kind}\0{context.key()}\0{_Worker.fingerprint}".encode()).hexdigest()
        hit = _cached(key) or result.new_cache.get(key)
        bad: Bad = []
        if hit is not None:
            (findings, bad), row["cached"] = _findings_from_json(hit), True
            result.n_cached += 1
        else:
            try:
                if kind == "python":
                    findings, bad = python_findings(data, resolver, context, found)
                elif kind == "notebook":
                    findings, bad = notebook_findings(data, resolver, context, code, found)
                else:
                    source = config_source(rel) or "config"
                    findings = FileFindings(tracking_uris=tuple(scan_text(data.decode("utf-8", "replace"), source)))
            except NotPython as err:
                row.update(status="skipped", reason=str(err))
                continue
            except NoMlflowUse:
                row.update(status="no-mlflow-use", reason=NO_USE_REASON)
                continue
            except SourceError as err:
                hint = " (Python 2 syntax?)" if kind == "python" and _looks_python2(data) else ""
                row.update(status="problem", reason=err.reason + hint)
                problem(rel, err.line, "parse" if "syntax" in err.reason else "read", err.reason + hint)
                continue
            result.n_parsed += 1
            result.new_cache[key] = _findings_to_json(findings, bad)
        for line, reason in bad:
            problem(rel, line, "parse", reason)
        row["status"] = "analyzed"
        for site in findings.call_sites:
            result.call_sites.append({"repo": task.repo, "path": rel, **vars(site)})
        for integ in findings.integrations:
            result.integrations.append({"repo": task.repo, "path": rel, **vars(integ)})
        for uri in findings.tracking_uris:
            source = uri.source if kind == "config" else ("notebook" if kind == "notebook" else "code")
            result.uris.append({"repo": task.repo, "path": rel, **vars(uri), "source": source})
    _environments(task.repo, root, all_paths, env_rows, result)
    result.reproducibility.append(signals(task.repo, result.mlprojects, result.environments, result.dependencies,
                                          result.call_sites, result.seeds))
    tables = {"mlprojects": result.mlprojects, "entry_points": result.entry_points, "parameters": result.parameters,
              "dependencies": result.dependencies, "tracking_uris": result.uris, "call_sites": result.call_sites}
    notebooks = [rel for rel in facts if rel.endswith(".ipynb")]
    graph = build_graph(task.repo, py_files + notebooks, facts, tables)
    result.traceability.append(trace_metrics(graph, task.repo, tables))
    if _Worker.graphs_dir:
        graph.graph.update(commit=task.commit, tool=f"mlflow-census {__version__}", written_at=utc_now())  # provenance
        write_graphml(graph, Path(_Worker.graphs_dir) / graph_name(task.repo))
    return result


def _environments(repo: str, root: Path, files: frozenset[str], env_rows: list[tuple[str, bytes, dict[str, Any]]],
                  result: RepoResult) -> None:
    """Dependencies of every environment file (by name, or referenced by an MLproject)."""
    referenced = {m["env_file"] for m in result.mlprojects if m["env_file"]}
    seen = {rel for rel, _d, _r in env_rows}
    for rel in sorted(referenced - seen):
        path = root / rel
        if rel in files and not path.is_symlink() and path.stat().st_size <= _Worker.max_bytes:
            row = next(f for f in result.files if f["path"] == rel)
            row["kind"] = "environment"
            env_rows.append((rel, path.read_bytes(), row))

    def read(rel: str) -> str | None:
        path = root / rel
        if rel not in files or path.is_symlink() or path.stat().st_size > _Worker.max_bytes:
            return None
        return path.read_bytes().decode("utf-8", "replace")

    for rel, data, row in env_rows:
        if is_binary(data) and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            row.update(status="problem", reason="binary content")
            result.problems.append({"repo": repo, "path": rel, "line": None, "stage": "environment",
                                    "reason": "binary content"})
            continue
        try:
            text = decode_env_file(data)
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            row.update(status="problem", reason="bytes not valid utf-8")
            result.problems.append({"repo": repo, "path": rel, "line": line, "stage": "environment",
                                    "reason": "bytes not valid utf-8"})
            continue
        kind = env_file_kind(rel) or ("python_env" if rel.endswith("python_env.yaml") else "conda")
        python = ""
        if kind == "requirements":
            deps, problems = parse_requirements(text, rel, read)
        elif kind in STATIC_PARSERS:
            deps, problems = STATIC_PARSERS[kind](text, rel)
        elif kind == "python_env":
            deps, problems, python = parse_python_env(text, rel, read)
        else:
            deps, problems, python = parse_conda(text, rel, read)
        row["status"] = row["status"] or "analyzed"
        origin = "model-artifact" if ("mlruns/" in f"/{rel}" or f"{PurePosixPath(rel).parent}/MLmodel" in files
                                      or (PurePosixPath(rel).parent.as_posix() == "." and "MLmodel" in files)) else "project"
        for dep in deps:
            result.dependencies.append({"repo": repo, **vars(dep), "file": rel, "origin": origin})
        for prob in problems:
            result.problems.append({"repo": repo, "path": prob.path, "line": prob.line, "stage": "environment",
                                    "reason": prob.reason})
        if kind == "dockerfile":
            for uri in scan_text(text, "dockerfile"):
                result.uris.append({"repo": repo, "path": rel, **vars(uri)})
        own = [d for d in deps if d.name != "python" and d.kind != "python_env-build"]
        exact = sum(1 for d in own if d.pin_class == "exact")
        mlflow = [d for d in own if d.name in ("mlflow", "mlflow-skinny")]
        result.environments.append({
            "repo": repo, "path": rel, "kind": kind, "n_deps": len(own),
            "exact_share": round(exact / len(own), 4) if own else "",
            "python_version": python_version(python, deps),
            "mlflow_pinned": (mlflow[0].pin_class == "exact") if mlflow else "",
            "referenced_by_mlproject": rel in referenced, "origin": origin,
        })


def _mlproject(repo: str, rel: str, data: bytes, files: frozenset[str], result: RepoResult,
               row: dict[str, Any]) -> None:
    """Parse one MLproject into the three MLproject tables (and a problem row if MLflow would refuse it)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        spec = MLproject(path=rel, valid=False, error=f"bytes not valid utf-8 at line {line}")
    else:
        spec = parse_mlproject(text, rel, files)
    row["status"] = "analyzed" if spec.valid else "problem"
    row["reason"] = spec.error
    if not spec.valid:
        result.problems.append({"repo": repo, "path": rel, "line": None, "stage": "mlproject", "reason": spec.error})
    result.mlprojects.append({
        "repo": repo, "path": rel, "name": spec.name, "env_type": spec.env_type, "env_declared": spec.env_declared,
        "env_file": spec.env_file, "docker_image": spec.docker_image, "docker_pinned": spec.docker_pinned,
        "databricks_spark_job": spec.databricks_spark_job, "n_entry_points": len(spec.entry_points),
        "valid": spec.valid, "error": spec.error,
    })
    for ep in spec.entry_points:
        result.entry_points.append({"repo": repo, "mlproject_path": rel, "entry_point": ep.name,
                                    "command": ep.command, "script": ep.script, "n_params": len(ep.parameters)})
        for param in ep.parameters:
            result.parameters.append({"repo": repo, "mlproject_path": rel, "entry_point": ep.name, **vars(param)})


def _looks_python2(data: bytes) -> bool:
    return re.search(rb"^\s*print\s+[\"'\w]", data, re.M) is not None or b"except Exception, " in data


def _fingerprint(catalog: Catalog) -> str:
    """Cache-key part: the tool version, the catalog, and the source of every module of ``analysis/``
    (so any change to a pass, or to a module a pass uses, invalidates what it cached)."""
    here = Path(__file__).resolve().parent
    code = [(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in sorted(here.glob("*.py"))]
    payload = json.dumps([__version__, code, sorted(catalog.aliases().items()), sorted(catalog.by_api)])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _tree_stats(root: Path) -> tuple[int, int]:
    """Files under a checkout as ``walk`` lists them, and the bytes of its Python sources and notebooks
    (what analysis time grows with)."""
    n_files = size = 0
    for rel, path in walk(root):
        n_files += 1
        if rel.endswith((".py", ".ipynb")):
            try:
                size += path.lstat().st_size
            except OSError:
                pass
    return n_files, size


def _release_cached(corpus_dir: Path, name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """``build()``'s result, kept in ``<corpus>/mlflow/<name>`` for as long as the releases are the same.

    Release directories are renamed into place complete and never changed, so their names and
    modification times identify them. None when the corpus has no releases.
    """
    releases = corpus_releases(corpus_dir)
    if not releases:
        return None
    stamp = hashlib.sha256(json.dumps([__version__, sorted((v, p.stat().st_mtime_ns) for v, p in releases.items())])
                           .encode()).hexdigest()
    path = corpus_dir / "mlflow" / name
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("stamp") == stamp:
            return data
    except (OSError, ValueError):
        pass
    data = {**build(), "stamp": stamp}
    atomic_write_text(path, json.dumps(data))
    return data


def cached_catalog(corpus_dir: Path) -> Catalog:
    """The catalog of the corpus's releases (cached), or the shipped snapshot without releases."""

    def build() -> dict[str, Any]:
        catalog = catalog_for(corpus_dir)
        return {"rows": list(catalog.rows), "releases": list(catalog.releases), "origin": catalog.origin}

    data = _release_cached(corpus_dir, ".catalog.json", build)
    if data is None:
        return catalog_for(corpus_dir)
    return Catalog(tuple(data["rows"]), tuple(data["releases"]), data["origin"])


def cached_storage(corpus_dir: Path) -> list[dict[str, str]]:
    """``mlflow_storage.csv`` rows of the corpus's releases (cached); none without releases."""
    data = _release_cached(corpus_dir, ".storage.json",
                           lambda: {"rows": storage_rows(corpus_releases(corpus_dir))})
    return list(data["rows"]) if data else []


def _open_cache(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.execute("create table if not exists results (key text primary key, value text not null)")
    db.commit()
    return db


def _run_repositories(todo: list[RepoTask], jobs: int, init: tuple[Any, ...],
                      collect: Callable[[RepoResult, RepoTask], None], show: Callable[..., None]) -> None:
    """Analyze every repository of ``todo``, in ``jobs`` worker processes when there is more than one
    repository, handing each result to ``collect`` as it is done and calling ``show`` as files go."""
    if jobs > 1 and len(todo) > 1:
        pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=init)
        try:
            futures = {pool.submit(analyze_repository_safely, task): task for task in todo}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()  # a worker that died (killed, out of memory)
                    collect(_failure(futures[future], error) if error else future.result(), futures[future])
                show()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    _init_worker(*init)
    _Worker.on_file = lambda: show(throttle=True)
    try:
        for task in todo:
            collect(analyze_repository_safely(task), task)
    finally:
        _Worker.on_file = None
        gc.unfreeze()


def analyze(settings: AnalyzeSettings, progress: Callable[[str, int, int], None] | None = None) -> AnalyzeSummary:
    """Analyze a mined corpus into ``settings.out_dir``; see the module docstring.

    ``progress(repo, files_done, files_total)`` is called as files are started (a few times a
    second at most) and as each repository finishes (``repo`` is the last one finished).
    """
    manifest = settings.corpus_dir / "manifest.csv"
    if not manifest.is_file():
        raise AnalysisError(f"{manifest}: no manifest; run `python cli.py mine` first")
    rows = read_csv(manifest)
    tasks = [RepoTask(r["repo"], str(settings.corpus_dir / r["clone_path"]), r["commit"])
             for r in rows if r.get("status") == "ok" and r.get("clone_path")]
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    cache_path = out / ".cache.sqlite"
    db = _open_cache(cache_path) if settings.use_cache else None
    catalog = cached_catalog(settings.corpus_dir)
    resolver = Resolver.from_catalog(catalog)
    fingerprint = _fingerprint(catalog)
    init = (resolver, fingerprint, str(cache_path) if db is not None else "", settings.max_file_bytes, str(out / "graphs"))
    results: list[RepoResult] = []
    report = progress or (lambda _r, _d, _t: None)

    files_done: Any = multiprocessing.Value("q", 0)
    n_cached_files = 0
    stats: dict[str, tuple[int, int]] = {}
    last = ""
    shown = 0.0

    def show(throttle: bool = False) -> None:
        """Progress over files: those of cached repositories, and those the workers have started."""
        nonlocal shown
        now = time.monotonic()
        if throttle and now - shown < 0.1:
            return
        shown = now
        report(last, n_cached_files + files_done.value, n_cached_files + sum(n for n, _ in stats.values()))

    def repo_key(task: RepoTask) -> str:
        # a repository's tree at a commit never changes: its whole result is reusable
        raw = f"repo\0{fingerprint}\0{task.repo}\0{task.commit}\0{task.root}\0{settings.max_file_bytes}"
        return "repo:" + hashlib.sha256(raw.encode()).hexdigest()

    def collect(res: RepoResult, task: RepoTask, cached: bool = False) -> None:
        results.append(res)
        if db is not None and not cached and not res.failed:
            entries = list(res.new_cache.items())
            entries.append((repo_key(task), json.dumps({k: v for k, v in vars(res).items() if k != "new_cache"})))
            db.executemany("insert or replace into results values (?, ?)", entries)
            db.commit()  # per repository: an interrupted run keeps what it finished
        nonlocal last
        last = res.repo
        show()

    todo: list[RepoTask] = []
    started = time.perf_counter()
    try:
        for task in tasks:
            row = db.execute("select value from results where key = ?", (repo_key(task),)).fetchone() if db else None
            if row is not None and (out / "graphs" / graph_name(task.repo)).is_file():
                data = json.loads(row[0])
                res = RepoResult(**data)
                # every file result now comes from the cache: what was parsed then, and what was cached then
                res.n_cached, res.n_parsed = res.n_parsed + res.n_cached, 0
                for f in res.files:
                    f["cached"] = f.get("status") == "analyzed" and f.get("kind") in ("python", "notebook", "config")
                n_cached_files += len(res.files)
                collect(res, task, cached=True)
            else:
                todo.append(task)
        stats.update((t.repo, _tree_stats(Path(t.root))) for t in todo)
        # largest first, so that no big repository starts last and runs alone
        todo.sort(key=lambda t: -stats[t.repo][1])
        show()
        _run_repositories(todo, settings.jobs, (*init, files_done), collect, show)
    finally:
        if db is not None:
            db.close()
    seconds = {"repositories": time.perf_counter() - started}
    started = time.perf_counter()
    order = {t.repo: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r.repo])

    mine_problems = read_csv(settings.corpus_dir / "problems.csv") if (settings.corpus_dir / "problems.csv").is_file() else []
    problems = [*mine_problems, *(p for r in results for p in r.problems)]
    prov = {
        "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
        "corpus": str(settings.corpus_dir), "manifest_sha256": sha256_file(manifest),
        "catalog_origin": catalog.origin, "catalog_releases": list(catalog.releases),
        "n_repositories": len(tasks), "commits": {t.repo: t.commit for t in tasks},
    }
    files = [f for r in results for f in r.files]
    outputs = {
        "call_sites.csv": (CALL_COLUMNS, [c for r in results for c in r.call_sites]),
        "integrations.csv": (INTEGRATION_COLUMNS, [c for r in results for c in r.integrations]),
        "tracking_uris.csv": (URI_COLUMNS, [c for r in results for c in r.uris]),
        "problems.csv": (PROBLEM_COLUMNS, problems),
        "files.csv": (FILE_COLUMNS, files),
        "mlprojects.csv": (MLPROJECT_COLUMNS, [m for r in results for m in r.mlprojects]),
        "entry_points.csv": (ENTRY_POINT_COLUMNS, [m for r in results for m in r.entry_points]),
        "parameters.csv": (PARAMETER_COLUMNS, [m for r in results for m in r.parameters]),
        "dependencies.csv": (DEPENDENCY_COLUMNS, [m for r in results for m in r.dependencies]),
        "environments.csv": (ENVIRONMENT_COLUMNS, [m for r in results for m in r.environments]),
        "reproducibility.csv": (REPRODUCIBILITY_COLUMNS, [m for r in results for m in r.reproducibility]),
        "traceability.csv": (TRACEABILITY_COLUMNS, [m for r in results for m in r.traceability]),
        "api_catalog.csv": (CATALOG_COLUMNS, list(catalog.rows)),
    }
    for name, (columns, table) in outputs.items():
        write_csv(out / name, columns, (_cells(row) for row in table))
        write_provenance(out / name, prov)
    usage_g = usage_graph([c for r in results for c in r.call_sites], {t.repo for t in tasks})
    usage_g.graph.update(tool=f"mlflow-census {__version__}", written_at=prov["written_at"])
    write_graphml(usage_g, out / "usage_graph.graphml")
    write_provenance(out / "usage_graph.graphml", prov)
    write_csv(out / "api_co_usage.csv", ("api_a", "api_b", "n_repos"), co_usage(usage_g))
    write_provenance(out / "api_co_usage.csv", prov)
    write_csv(out / "mlflow_storage.csv", STORAGE_COLUMNS, cached_storage(settings.corpus_dir))
    write_provenance(out / "mlflow_storage.csv", {**prov, "releases": list(corpus_releases(settings.corpus_dir))})
    practices, usage = community_statistics(out, manifest, catalog.latest)
    for name, frame in (("practices.csv", practices), ("api_usage.csv", usage)):
        write_csv(out / name, list(frame.columns), (_cells(r) for r in frame.to_dict("records")))
        write_provenance(out / name, {**prov, "computed_from": ["call_sites.csv", "tracking_uris.csv",
                                                                "reproducibility.csv", "api_catalog.csv", "manifest.csv"]})
    seconds["tables"] = time.perf_counter() - started
    started = time.perf_counter()
    if settings.draw_report:
        build_report(out)
        seconds["report"] = time.perf_counter() - started
    return AnalyzeSummary(
        out, len(tasks), len(files), len(outputs["call_sites.csv"][1]), len(problems),
        sum(r.n_parsed for r in results), sum(r.n_cached for r in results),
        sum(1 for f in files if f["status"] == "no-mlflow"), catalog.origin,
        sum(1 for f in files if f["status"] == "no-mlflow-use"), seconds,
        tuple(r.repo for r in results if r.failed),
    )


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    return {k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()}
