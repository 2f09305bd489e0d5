"""The ``analyze`` job: every mined repository through the engine (``engine.RepoAnalyzer``), then the
corpus tables, graphs, statistics and report.

Work is independent per repository: one task each, run through ``executor.run_tasks`` in
``--jobs`` processes, largest first. Results are cached in ``<out>/.cache.sqlite`` per file
(content hash, with the tool's source and the catalog in the key) and per repository (commit),
so a second run over an unchanged corpus parses nothing and an interrupted run loses only the
repositories it was in. A repository a pass raises on, or whose worker dies, becomes one
problem row. The report (matplotlib, pandas) is drawn by a process of its own
(``report_process``), started with the run at the lowest priority, which also writes the
statistics tables; a re-run with nothing to redo (``.tables.json``) imports neither it nor the
engine.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.engine.cache import ResultCache
from analysis.ftypes import AnalyzeSettings, AnalyzeSummary
from analysis.releases.load import Releases, load_releases
from analysis.stamps import fingerprint, read_tables_stamp, write_tables_stamp
from miner import __version__
from miner.corpus import MANIFEST, PROBLEMS, MinedCorpus, read_corpus
from miner.fileio import read_csv, utc_now, write_csv, write_provenance
from miner.ftypes import FALSE, TRUE

if TYPE_CHECKING:  # the engine (LibCST, networkx) is imported only when there is a repository to analyze
    from analysis.engine.analyzer import RepoAnalyzer
    from analysis.repo_state import RepoResult, RepoTask
    from analysis.report.process import ReportProcess

__all__ = ["AnalysisError", "AnalyzeSummary", "OutputError", "analyze"]


class AnalysisError(Exception):
    """The analysis cannot start (no manifest, unreadable corpus, an output directory it cannot write)."""


class OutputError(Exception):
    """The analysis ran but its tables could not be written (the previous set is left as it was)."""


CACHE = ".cache.sqlite"  # the results cache of an output folder


def _tree_stats(root: Path) -> tuple[int, int]:
    """Files under a checkout as ``listing`` lists them, and the bytes of its Python sources and notebooks
    (what analysis time grows with)."""
    from analysis.engine.analyzer import listing
    n_files = size = 0
    for rel, path, _link in listing(root):
        n_files += 1
        if rel.endswith((".py", ".ipynb")):
            try:
                size += path.lstat().st_size
            except OSError:
                pass
    return n_files, size


@dataclass(frozen=True)
class _Work:
    """What each worker gets once: the analyzer and the shared counter of files started."""

    analyzer: RepoAnalyzer
    files_done: Any  # multiprocessing.Value, shared by every process


def _setup_worker(_work: _Work) -> None:
    # Parsing allocates millions of short-lived objects; full collections would rescan everything
    # alive now (modules, the resolver) each time: keep it out of their way (about 15% faster).
    gc.collect()
    gc.freeze()


def _analyze_task(work: _Work, task: RepoTask) -> RepoResult:
    def started() -> None:
        with work.files_done.get_lock():
            work.files_done.value += 1
    return work.analyzer.analyze_safely(task, started)


@dataclass(frozen=True)
class _Inputs:
    """What a run is made of: its settings, the corpus's releases and mined repositories, the ``parse``
    stamp of each file's findings, the cache key of each repository's result, the ``tables`` stamp, and
    what the output folder's tables were written from when that is this stamp (with the cache only)."""

    settings: AnalyzeSettings
    releases: Releases
    corpus: MinedCorpus
    parse: str
    keys: dict[str, str]
    stamp: str
    written: dict[str, Any] | None


def analyze(settings: AnalyzeSettings, progress: Callable[[str, int, int], None] | None = None) -> AnalyzeSummary:
    """Analyze a mined corpus into ``settings.out_dir``; see the module docstring.

    ``progress(repo, files_done, files_total)`` is called as files are started (a few times a
    second at most) and as each repository finishes (``repo`` is the last one finished).
    """
    manifest = settings.corpus_dir / MANIFEST
    if not manifest.is_file():
        raise AnalysisError(f"{manifest}: no manifest; run `python cli.py mine` first")
    out = settings.out_dir
    check_output_dir(out)
    report = progress or (lambda _r, _d, _t: None)
    db = ResultCache(out / CACHE) if settings.use_cache else None
    try:
        inputs = _read_inputs(settings)
        if settings.history is not None:  # the report is drawn after the history: its Evolution section reads it
            inputs = replace(inputs, settings=replace(settings, draw_report=False))
        done = _reuse(inputs, db)
        if done is not None:
            report("", done.n_files, done.n_files)
        else:
            done = _run(inputs, db, report)
        if settings.history is None:
            return done
        from analysis.history.run import analyze_history  # every commit, after HEAD (whose blobs it reuses)
        done = replace(done, history=analyze_history(settings, inputs.corpus, inputs.releases.catalog, inputs.parse,
                                                     db, report))
        if settings.draw_report:  # redrawn only when an input changed (report/.inputs.sha256)
            started = time.perf_counter()
            from analysis.report.document import FigureRenderer, build_report
            build_report(out, renderer=FigureRenderer.if_safe(2))
            done = replace(done, seconds={**done.seconds, "report": time.perf_counter() - started})
        return done
    finally:
        if db is not None:
            db.close()


def _read_inputs(settings: AnalyzeSettings) -> _Inputs:
    """The corpus's releases and mined repositories, and the stamps and keys made of them."""
    corpus = read_corpus(settings.corpus_dir)
    releases = load_releases(corpus.releases, corpus.releases_dir)
    catalog = releases.catalog
    known = [sorted(catalog.aliases().items()), sorted(catalog.by_api)]  # what the passes read of the catalog
    parse, repository = fingerprint("parse", known), fingerprint("repository", known)
    # a repository's tree at a commit never changes: its whole result is reusable
    keys = {r.repo: "repo:" + hashlib.sha256(
        (f"repo\0{repository}\0{r.repo}\0{r.commit}\0{r.root}\0{settings.max_file_bytes}\0{r.git_dir or ''}"
         f"\0{json.dumps(sorted(releases.revisions.items()))}").encode()).hexdigest() for r in corpus.repos}
    stamp = fingerprint("tables", [list(keys.values()), corpus.manifest_sha256, corpus.problems_sha256,
                                   settings.draw_report])
    written = read_tables_stamp(settings.out_dir, stamp) if settings.use_cache else None
    return _Inputs(settings, releases, corpus, parse, keys, stamp, written)


def _reuse(inputs: _Inputs, db: ResultCache | None) -> AnalyzeSummary | None:
    """The summary of a re-run with nothing to redo, or None.

    Every repository's result in the cache and the tables of the output folder written from exactly
    these results (``inputs.written``: same stamp, every table and graph there; and the report, if one
    is drawn): no result to load, no table to rewrite, no report to redraw, not even the engine to
    import. If those tables were written as results were parsed, only files.csv's ``cached`` column
    changes: it alone is rewritten (if it cannot be, None: the run writes every table).
    """
    out, data = inputs.settings.out_dir, inputs.written
    if data is None or inputs.settings.draw_report and not (out / "report" / "index.html").is_file():
        return None
    if db is None or not db.has_all(inputs.keys.values()):
        return None
    if not data.get("from_cache") and not _mark_files_cached(out):
        return None
    done = AnalyzeSummary.from_record(data["summary"])
    if not data.get("from_cache"):
        write_tables_stamp(out, inputs.stamp, True, list(data["outputs"]), done.record())
    return done


def _run(inputs: _Inputs, db: ResultCache | None, report: Callable[[str, int, int], None]) -> AnalyzeSummary:
    """Every repository whose result is not in the cache through the engine, then the tables, the
    statistics and the report; the stamp of the tables when every repository was analyzed."""
    settings, catalog, keys = inputs.settings, inputs.releases.catalog, inputs.keys
    out = settings.out_dir
    drawer: ReportProcess | None = None
    try:
        # The report's process starts now, at the lowest priority: its imports (matplotlib, pandas) take
        # the core left idle while this process imports the engine and lists the checkouts, and the
        # one the last repositories and the tables leave, not the workers' (a process that has drawn a
        # report before, a notebook or a test session, has nothing to hide: it draws in-process).
        if settings.draw_report and "analysis.report.document" not in sys.modules and sys.executable:
            from analysis.report.process import ReportProcess
            drawer = ReportProcess()

        from analysis.engine.analyzer import RepoAnalyzer, close_process_handles, crashed_file
        from analysis.executor import run_tasks
        from analysis.passes.mlflow_calls import Resolver
        from analysis.repo_state import RepoResult, RepoTask
        from analysis.rows import FileStatus
        from analysis.tables import graph_name

        tasks = [RepoTask(r.repo, str(r.root), r.commit, str(r.git_dir or "")) for r in inputs.corpus.repos]
        blackbox = out / ".in-flight"
        shutil.rmtree(blackbox, ignore_errors=True)
        blackbox.mkdir()
        analyzer = RepoAnalyzer(Resolver.from_catalog(catalog), inputs.parse, settings.max_file_bytes,
                                out / CACHE if db is not None else None, out / "graphs", inputs.releases.revisions,
                                blackbox)
        results: list[RepoResult] = []
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

        def collect(res: RepoResult, task: RepoTask, cached: bool = False) -> None:
            nonlocal last
            results.append(res)
            if db is not None and not cached and not res.failed:
                db.put([*res.new_cache.items(), (keys[task.repo], res.to_json())])  # per repository: kept if interrupted
            last = res.repo
            show()

        todo: list[RepoTask] = []
        started = time.perf_counter()
        try:
            for task in tasks:
                hit = db.get(keys[task.repo]) if db is not None else None
                if hit is not None and (out / "graphs" / graph_name(task.repo)).is_file():
                    res = RepoResult.from_json(hit)
                    # every file result now comes from the cache: what was parsed then, and what was cached then
                    res.n_cached, res.n_parsed = res.n_parsed + res.n_cached, 0
                    for f in res.files:
                        f.cached = f.status == FileStatus.ANALYZED and f.kind in CACHEABLE_KINDS
                    n_cached_files += len(res.files)
                    collect(res, task, cached=True)
                else:
                    todo.append(task)
            stats.update((t.repo, _tree_stats(Path(t.root))) for t in todo)
            # largest first, so that no big repository starts last and runs alone
            todo.sort(key=lambda t: -stats[t.repo][1])
            show()
            work = _Work(analyzer, files_done)

            def without_crashed_file(task: RepoTask) -> RepoTask | None:
                """A repository caught in a worker's death: again, without the file the worker died on, if it was its."""
                rel = crashed_file(blackbox, task.repo)
                return replace(task, skip=(*task.skip, rel)) if rel is not None else task

            # worker processes even for one job: a native crash in a parser costs its file, not the run
            for task, outcome in run_tasks(_analyze_task, work, todo, jobs=settings.jobs, setup=_setup_worker,
                                           tick=lambda: show(throttle=True), tick_seconds=0.1 if settings.jobs <= 1 else 0.2,
                                           isolate=True, on_crash=without_crashed_file):
                # a worker that died (killed, out of memory) gives its exception: a failed repository
                collect(outcome if isinstance(outcome, RepoResult) else RepoResult.failure(task, outcome), task)
        finally:
            close_process_handles()
            shutil.rmtree(blackbox, ignore_errors=True)
        seconds = {"repositories": time.perf_counter() - started}
        started = time.perf_counter()
        order = {t.repo: i for i, t in enumerate(tasks)}
        results.sort(key=lambda r: order[r.repo])
        written = _write_tables(inputs, tasks, results, drawer)
        seconds["tables"] = time.perf_counter() - started
        started = time.perf_counter()
        if settings.draw_report:
            if drawer is not None:
                drawer.draw(out)
            else:
                from analysis.report.document import FigureRenderer, build_report
                build_report(out, renderer=FigureRenderer.if_safe(2))
            seconds["report"] = time.perf_counter() - started
        files = [f for r in results for f in r.files]
        summary = AnalyzeSummary(
            out, len(tasks), len(files), written["call_sites.csv"], written[PROBLEMS],
            sum(r.n_parsed for r in results), sum(r.n_cached for r in results),
            sum(1 for f in files if f.status == FileStatus.NO_MLFLOW), catalog.origin,
            sum(1 for f in files if f.status == FileStatus.NO_MLFLOW_USE), seconds,
            tuple(r.repo for r in results if r.failed),
        )
        if db is not None and not summary.failed:
            write_tables_stamp(out, inputs.stamp, summary.n_parsed == 0 and not todo, sorted(written), summary.record())
        return summary
    finally:
        if drawer is not None:
            drawer.close()



CACHEABLE_KINDS = ("python", "notebook", "config")  # files whose findings the cache keeps


def _mark_files_cached(out: Path) -> bool:
    """Rewrite files.csv as a run from the cache writes it: ``cached`` true for every analyzed file
    whose findings the cache keeps. Its other columns, and every other table, stay as they are.
    False (nothing written) when files.csv or its provenance cannot be read as written: the run
    then writes every table."""
    path = out / "files.csv"
    sidecar = path.with_name(path.name + ".provenance.json")
    try:
        provenance = json.loads(sidecar.read_text(encoding="utf-8"))
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = list(reader.fieldnames or ())
    except (OSError, ValueError):
        return False
    if not isinstance(provenance, dict) or not {"status", "kind", "cached"} <= set(columns):
        return False
    for row in rows:
        row["cached"] = TRUE if row["status"] == "analyzed" and row["kind"] in CACHEABLE_KINDS else FALSE
    write_csv(path, columns, rows)
    write_provenance(path, {**provenance, "written_at": utc_now()})
    return True


def _write_tables(inputs: _Inputs, tasks: list[RepoTask], results: list[RepoResult],
                  drawer: ReportProcess | None = None) -> dict[str, int]:
    """Every corpus table, each with its provenance; the number of rows of each.

    The whole set is written into a staging folder first and moved into ``out`` only when every
    file is written, so a failed write (a full disk) leaves the previous set as it was, and no
    temporary file, and raises ``OutputError`` naming the file.
    """
    from analysis.graphml import write_graphml
    from analysis.passes.project_kind import with_teaching
    from analysis.passes.usage_graph import co_usage, usage_graph
    from analysis.tables import CATALOG, STATISTICS_FROM, STORAGE, TABLES, cells, flat

    settings, releases, catalog = inputs.settings, inputs.releases, inputs.releases.catalog
    out, manifest = settings.out_dir, settings.corpus_dir / MANIFEST
    prov = {
        "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
        "corpus": str(settings.corpus_dir), "manifest_sha256": inputs.corpus.manifest_sha256,
        "catalog_origin": catalog.origin, "catalog_releases": list(catalog.releases),
        "n_repositories": len(tasks), "commits": {t.repo: t.commit for t in tasks},
        "schema_revisions_origin": releases.revisions_origin,
    }
    teaching = read_csv(manifest)
    tables = {table.file: table for table in (*TABLES.values(), CATALOG)}
    names = {table.file: name for name, table in TABLES.items()}

    def rows_of(file: str) -> list[dict[str, Any]]:
        """A table's rows as column -> value, flattened as it is written (the statistics' first)."""
        if file == CATALOG.file:
            return [flat(row) for row in catalog.rows]
        rows = [row for r in results for row in r.flat_rows(names[file])]
        if file == "populations.csv":  # course work is told from the manifest, over every repository it lists
            rows = with_teaching(rows, teaching)
        return [*inputs.corpus.problems, *rows] if file == PROBLEMS else rows

    storage = [flat(row) for row in releases.storage]
    stage = out / f".staging-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    current = stage.name
    analyzed = [r.repo for r in results if not r.failed]
    owing: list[ReportProcess] = []  # the report's process, while it owes the statistics tables
    try:
        stage.mkdir()

        def put(name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]], info: dict[str, Any]) -> None:
            nonlocal current
            current = name
            write_csv(stage / name, columns, (cells(row) for row in rows))
            write_provenance(stage / name, info)

        # The statistics (pandas) are computed from the tables of STATISTICS_FROM: by the report's process
        # when there is one (pandas is imported there already), as soon as those are written, while
        # this process writes the others (files.csv the longest).
        needed = {name for names in STATISTICS_FROM.values() for name in names}

        def start_statistics() -> None:
            if drawer is not None and not owing:
                drawer.start_statistics(stage, manifest, catalog.latest, analyzed, prov, out / "graphs")
                owing.append(drawer)

        counts: dict[str, int] = {}
        call_sites: list[dict[str, Any]] = []
        for name in sorted(tables, key=lambda file: file not in needed):  # in TABLES' order, the needed first
            if name not in needed:
                start_statistics()  # every table they read is written
            table_rows = rows_of(name)
            counts[name] = len(table_rows)
            call_sites = table_rows if name == "call_sites.csv" else call_sites
            put(name, tables[name].columns, table_rows, prov)
        start_statistics()
        # repositories in manifest order (a set here made the GraphML's node order change from run to run)
        usage_g = usage_graph(call_sites, dict.fromkeys(t.repo for t in tasks))
        usage_g.graph.update(tool=f"mlflow-census {__version__}", written_at=prov["written_at"])
        put("api_co_usage.csv", ("api_a", "api_b", "n_repos"), co_usage(usage_g), prov)
        put(STORAGE.file, STORAGE.columns, storage, {**prov, "releases": list(releases.folders)})
        current = "usage_graph.graphml"
        write_graphml(usage_g, stage / current)
        write_provenance(stage / current, prov)
        try:
            if owing:
                owing.pop().wait_statistics()
            else:
                from analysis.statistics.community import write_statistics  # pandas: only here, in the driver
                write_statistics(stage, manifest, catalog.latest, analyzed, prov, out / "graphs")
        except OSError as err:
            current = str(err.filename)  # the table's name, wherever it was written
            raise
        current = "(moving the new set into place)"
        for path in sorted(stage.iterdir()):
            os.replace(path, out / path.name)
    except OSError as err:
        raise OutputError(f"{out / current}: cannot write: {err.strerror or err}; the previous tables are "
                          f"left as they were") from err
    finally:
        if owing:  # a write here failed first: let the report's process be done with the folder
            try:
                owing.pop().wait_statistics()
            except Exception:  # the failure here is the one raised
                pass
        shutil.rmtree(stage, ignore_errors=True)
    return counts


def check_output_dir(out: Path) -> None:
    """Raise ``AnalysisError`` (nothing done yet) when ``out`` cannot be made or written to."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise AnalysisError(f"{out}: cannot write the results there: {err.strerror or err}") from err
