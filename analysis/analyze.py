"""The ``analyze`` job: every mined repository through the engine (``engine.RepoAnalyzer``), then the
corpus tables, graphs, statistics and report.

Work is independent per repository: one task each, run through ``executor.run_tasks`` in
``--jobs`` processes, largest first. Results are cached in ``<out>/.cache.sqlite`` per file
(content hash, with the tool's source and the catalog in the key) and per repository (commit),
so a second run over an unchanged corpus parses nothing and an interrupted run loses only the
repositories it was in. A repository a pass raises on, or whose worker dies, becomes one
problem row. The report (matplotlib, pandas) is imported only when it is drawn.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.cache import ResultCache, fingerprint
from analysis.catalog import CATALOG_COLUMNS, Catalog, catalog_for
from analysis.code_findings import NO_USE_REASON
from analysis.engine import RepoAnalyzer, close_read_only_caches, local_mlflow_dirs, mlflow_reexports, walk
from analysis.executor import run_tasks
from analysis.ftypes import AnalyzeSettings
from analysis.mlflow_calls import Resolver
from analysis.repo_state import RepoResult, RepoTask
from analysis.reproducibility import REPRODUCIBILITY_COLUMNS
from analysis.storage import STORAGE_COLUMNS, storage_rows
from analysis.tables import TABLES, FileStatus, cells
from analysis.traceability import TRACEABILITY_COLUMNS, co_usage, graph_name, usage_graph, write_graphml
from miner import __version__
from miner.corpus import MANIFEST, PROBLEMS, mined_repositories, release_dirs, releases_dir
from miner.fileio import atomic_write_text, read_csv, sha256_file, utc_now, write_csv, write_provenance

__all__ = ["AnalysisError", "AnalyzeSummary", "NO_USE_REASON", "analyze", "cached_catalog", "cached_storage",
           "local_mlflow_dirs", "mlflow_reexports"]


class AnalysisError(Exception):
    """The analysis cannot start (no manifest, unreadable corpus)."""


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
    releases = release_dirs(corpus_dir)
    if not releases:
        return None
    stamp = hashlib.sha256(json.dumps([__version__, sorted((v, p.stat().st_mtime_ns) for v, p in releases.items())])
                           .encode()).hexdigest()
    path = releases_dir(corpus_dir) / name
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
    data = _release_cached(corpus_dir, ".storage.json", lambda: {"rows": storage_rows(release_dirs(corpus_dir))})
    return list(data["rows"]) if data else []


@dataclass(frozen=True)
class _Work:
    """What each worker gets once: the analyzer and the shared counter of files started."""

    analyzer: RepoAnalyzer
    files_done: Any  # multiprocessing.Value, shared by every process
    on_file: Callable[[], None] | None = None  # in-process runs only: reports progress as files start


def _setup_worker(_work: _Work) -> None:
    # Parsing allocates millions of short-lived objects; full collections would rescan everything
    # alive now (modules, the resolver) each time: keep it out of their way (about 15% faster).
    gc.collect()
    gc.freeze()


def _analyze_task(work: _Work, task: RepoTask) -> RepoResult:
    def started() -> None:
        with work.files_done.get_lock():
            work.files_done.value += 1
        if work.on_file is not None:
            work.on_file()
    return work.analyzer.analyze_safely(task, started)


def analyze(settings: AnalyzeSettings, progress: Callable[[str, int, int], None] | None = None) -> AnalyzeSummary:
    """Analyze a mined corpus into ``settings.out_dir``; see the module docstring.

    ``progress(repo, files_done, files_total)`` is called as files are started (a few times a
    second at most) and as each repository finishes (``repo`` is the last one finished).
    """
    manifest = settings.corpus_dir / MANIFEST
    if not manifest.is_file():
        raise AnalysisError(f"{manifest}: no manifest; run `python cli.py mine` first")
    tasks = [RepoTask(r.repo, str(r.root), r.commit) for r in mined_repositories(settings.corpus_dir)]
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    cache_path = out / ".cache.sqlite"
    db = ResultCache(cache_path) if settings.use_cache else None
    catalog = cached_catalog(settings.corpus_dir)
    tool = fingerprint(catalog)
    analyzer = RepoAnalyzer(Resolver.from_catalog(catalog), tool, settings.max_file_bytes,
                            cache_path if db is not None else None, out / "graphs")
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
        raw = f"repo\0{tool}\0{task.repo}\0{task.commit}\0{task.root}\0{settings.max_file_bytes}"
        return "repo:" + hashlib.sha256(raw.encode()).hexdigest()

    def collect(res: RepoResult, task: RepoTask, cached: bool = False) -> None:
        nonlocal last
        results.append(res)
        if db is not None and not cached and not res.failed:
            db.put([*res.new_cache.items(), (repo_key(task), res.to_json())])  # per repository: kept if interrupted
        last = res.repo
        show()

    todo: list[RepoTask] = []
    started = time.perf_counter()
    try:
        for task in tasks:
            hit = db.get(repo_key(task)) if db is not None else None
            if hit is not None and (out / "graphs" / graph_name(task.repo)).is_file():
                res = RepoResult.from_json(hit)
                # every file result now comes from the cache: what was parsed then, and what was cached then
                res.n_cached, res.n_parsed = res.n_parsed + res.n_cached, 0
                for f in res.files:
                    f.cached = f.status == FileStatus.ANALYZED and f.kind in ("python", "notebook", "config")
                n_cached_files += len(res.files)
                collect(res, task, cached=True)
            else:
                todo.append(task)
        stats.update((t.repo, _tree_stats(Path(t.root))) for t in todo)
        # largest first, so that no big repository starts last and runs alone
        todo.sort(key=lambda t: -stats[t.repo][1])
        show()
        work = _Work(analyzer, files_done, (lambda: show(throttle=True)) if settings.jobs <= 1 else None)
        for task, outcome in run_tasks(_analyze_task, work, todo, jobs=settings.jobs, setup=_setup_worker,
                                       tick=lambda: show(throttle=True), tick_seconds=0.1 if settings.jobs <= 1 else 0.2):
            # a worker that died (killed, out of memory) gives its exception: a failed repository
            collect(outcome if isinstance(outcome, RepoResult) else RepoResult.failure(task, outcome), task)
    finally:
        if settings.jobs <= 1:
            gc.unfreeze()
        close_read_only_caches()
        if db is not None:
            db.close()
    seconds = {"repositories": time.perf_counter() - started}
    started = time.perf_counter()
    order = {t.repo: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r.repo])
    problems_file = settings.corpus_dir / PROBLEMS
    mine_problems = read_csv(problems_file) if problems_file.is_file() else []
    written = _write_tables(settings, out, manifest, tasks, catalog, results, mine_problems)
    seconds["tables"] = time.perf_counter() - started
    started = time.perf_counter()
    if settings.draw_report:
        from analysis.report import build_report  # matplotlib and pandas: only when the report is drawn
        build_report(out)
        seconds["report"] = time.perf_counter() - started
    files = [f for r in results for f in r.files]
    return AnalyzeSummary(
        out, len(tasks), len(files), written["call_sites.csv"], written[PROBLEMS],
        sum(r.n_parsed for r in results), sum(r.n_cached for r in results),
        sum(1 for f in files if f.status == FileStatus.NO_MLFLOW), catalog.origin,
        sum(1 for f in files if f.status == FileStatus.NO_MLFLOW_USE), seconds,
        tuple(r.repo for r in results if r.failed),
    )


def _write_tables(settings: AnalyzeSettings, out: Path, manifest: Path, tasks: list[RepoTask], catalog: Catalog,
                  results: list[RepoResult], mine_problems: list[dict[str, str]]) -> dict[str, int]:
    """Every corpus table, each with its provenance; the number of rows of each."""
    prov = {
        "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
        "corpus": str(settings.corpus_dir), "manifest_sha256": sha256_file(manifest),
        "catalog_origin": catalog.origin, "catalog_releases": list(catalog.releases),
        "n_repositories": len(tasks), "commits": {t.repo: t.commit for t in tasks},
    }
    outputs: dict[str, tuple[tuple[str, ...], list[dict[str, Any]]]] = {}
    for name, table in TABLES.items():
        rows = [row for r in results for row in r.flat_rows(name)]
        outputs[table.file] = (table.columns, [*mine_problems, *rows] if table.file == PROBLEMS else rows)
    outputs["reproducibility.csv"] = (REPRODUCIBILITY_COLUMNS, [m for r in results for m in r.reproducibility])
    outputs["traceability.csv"] = (TRACEABILITY_COLUMNS, [m for r in results for m in r.traceability])
    outputs["api_catalog.csv"] = (CATALOG_COLUMNS, list(catalog.rows))
    for name, (columns, table_rows) in outputs.items():
        write_csv(out / name, columns, (cells(row) for row in table_rows))
        write_provenance(out / name, prov)
    # repositories in manifest order (a set here made the GraphML's node order change from run to run)
    usage_g = usage_graph(outputs["call_sites.csv"][1], dict.fromkeys(t.repo for t in tasks))
    usage_g.graph.update(tool=f"mlflow-census {__version__}", written_at=prov["written_at"])
    write_graphml(usage_g, out / "usage_graph.graphml")
    write_provenance(out / "usage_graph.graphml", prov)
    write_csv(out / "api_co_usage.csv", ("api_a", "api_b", "n_repos"), co_usage(usage_g))
    write_provenance(out / "api_co_usage.csv", prov)
    write_csv(out / "mlflow_storage.csv", STORAGE_COLUMNS, cached_storage(settings.corpus_dir))
    write_provenance(out / "mlflow_storage.csv", {**prov, "releases": list(release_dirs(settings.corpus_dir))})
    from analysis.statistics import community_statistics  # pandas: only here, in the driver
    practices, usage = community_statistics(out, manifest, catalog.latest)
    for name, frame in (("practices.csv", practices), ("api_usage.csv", usage)):
        write_csv(out / name, list(frame.columns), (cells(r) for r in frame.to_dict("records")))
        write_provenance(out / name, {**prov, "computed_from": ["call_sites.csv", "tracking_uris.csv",
                                                                "reproducibility.csv", "api_catalog.csv", "manifest.csv"]})
    return {name: len(rows) for name, (_c, rows) in outputs.items()}
