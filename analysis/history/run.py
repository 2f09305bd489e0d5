"""``analyze --history``: every mined repository's history through ``commits.HistoryAnalyzer`` (in
``--jobs`` worker processes), each repository's rows cached whole by its commit and the options, then
``history.csv``, ``history_api_usage.csv``, ``evolution.csv`` and ``history_problems.csv``.

The engine's driver calls ``analyze_history`` once, after the HEAD analysis, with the results cache it
filled: the per-file findings of HEAD's blobs are there already, and those of every other blob are
added here (the driver's cache is the only writer, one repository at a time, so an interrupted run
keeps every repository it finished).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Protocol

from analysis.executor import run_tasks
from analysis.ftypes import AnalyzeSettings, HistoryOptions, HistorySummary
from analysis.history.commits import HistoryAnalyzer, HistoryResult, HistoryTask
from analysis.history.evolution import dated_history, evolution_row, release_dates
from analysis.history.gitlog import count_first_parent
from analysis.history_rows import EvolutionRow, HistoryProblemRow
from analysis.passes.mlflow_calls import Resolver
from analysis.reading.cst_walk import STATEMENTS
from analysis.releases.dates import ReleaseDates
from analysis.rows import Catalog
from analysis.stamps import HISTORY_STAMP, fingerprint, read_tables_stamp, write_tables_stamp
from analysis.tables import HISTORY, cells, flat
from miner import __version__
from miner.corpus import RELEASES_TABLE, MinedCorpus
from miner.fileio import utc_now, write_csv, write_provenance

NO_HISTORY = "no history: the corpus holds no git directory for it (mine it with --history, or from a local clone)"


class Cache(Protocol):
    """The results cache as this module uses it (``engine.cache.ResultCache``)."""

    path: Path

    def get(self, key: str) -> str | None: ...

    def has_all(self, keys: Iterable[str]) -> bool: ...

    def put(self, entries: Iterable[tuple[str, str]]) -> None: ...


def _history_task(analyzer: HistoryAnalyzer, task: HistoryTask) -> HistoryResult:
    with STATEMENTS.reusing():  # a file's versions share most of their statements' parses
        return analyzer.analyze(task)


def history_key(stamp: str, task: HistoryTask, options: HistoryOptions, max_file_bytes: int) -> str:
    """The results cache's key of one repository's whole history result: the history at a commit never
    changes (unless its completeness does), so its rows are reusable."""
    text = json.dumps([stamp, task.repo, task.commit, task.git_dir, task.history, options.since, options.every,
                       options.max_commits, max_file_bytes])
    return "history:" + hashlib.sha256(text.encode()).hexdigest()


def analyze_history(settings: AnalyzeSettings, corpus: MinedCorpus, catalog: Catalog, parse: str, db: Cache | None,
                    progress: Callable[[str, int, int], None]) -> HistorySummary:
    """Every repository's history into the four history tables of ``settings.out_dir``; see the module."""
    started = time.perf_counter()
    options = settings.history or HistoryOptions()
    stamp = fingerprint("history", parse)
    tasks: list[HistoryTask] = []
    results: dict[str, HistoryResult] = {}
    for repo in corpus.repos:
        if repo.git_dir is None:
            results[repo.repo] = HistoryResult(repo.repo, problems=[HistoryProblemRow(
                repo.repo, repo.commit, "", "", None, "history", NO_HISTORY)], state="none")
        else:
            tasks.append(HistoryTask(repo.repo, str(repo.git_dir), repo.commit, repo.history))
    keys = {t.repo: history_key(stamp, t, options, settings.max_file_bytes) for t in tasks}
    released = release_dates(corpus.releases_dir / RELEASES_TABLE)
    written = tables_stamp(stamp, keys, results, corpus.manifest_sha256, catalog, released)
    if db is not None and db.has_all(keys.values()):  # existence only: the histories are not read
        kept = read_tables_stamp(settings.out_dir, written, HISTORY_STAMP)
        if kept is not None:  # the four tables were written from exactly these results: kept as they are
            return replace(HistorySummary(**{**kept["summary"], "failed": ()}), n_parsed=0,
                           n_cached_repos=len(tasks), seconds=time.perf_counter() - started)
    todo = []
    n_cached = 0
    for task in tasks:
        hit = db.get(keys[task.repo]) if db is not None else None
        if hit is not None:
            results[task.repo] = HistoryResult.from_json(hit)
            n_cached += 1
        else:
            todo.append(task)
    if settings.jobs > 1 and len(todo) > 1:
        todo = longest_first(todo)
    analyzer = HistoryAnalyzer(Resolver.from_catalog(catalog), parse, options, settings.max_file_bytes,
                               db.path if db is not None else None, stamp=stamp if db is not None else "")
    done = len(tasks) - len(todo)
    progress("history", done, len(tasks))
    for task, outcome in run_tasks(_history_task, analyzer, todo, jobs=settings.jobs, isolate=True):
        res = outcome if isinstance(outcome, HistoryResult) else HistoryResult.failure(task, outcome)
        if db is not None and not res.failed:
            db.put([*res.new_cache.items(), (keys[task.repo], res.to_json())])
        results[task.repo] = res
        done += 1
        progress(f"history ({task.repo})", done, len(tasks))
    ordered = [results[r.repo] for r in corpus.repos if r.repo in results]
    ordered = [replace(r, history=dated_history(r, catalog, released)) for r in ordered]
    evolution = [evolution_row(r, catalog, released) for r in ordered if not r.failed and r.state != "none"]
    (settings.out_dir / HISTORY_STAMP).unlink(missing_ok=True)  # the tables change: their stamp first
    n_problems = write_history_tables(settings.out_dir, ordered, evolution, {
        "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
        "corpus": str(settings.corpus_dir), "manifest_sha256": corpus.manifest_sha256,
        "catalog_origin": catalog.origin, "since": options.since, "every": options.every,
        "max_commits": options.max_commits, "release_dates": bool(released),
        "commits": {t.repo: t.commit for t in tasks}})
    summary = HistorySummary(len(tasks), sum(len(r.history) for r in ordered), sum(r.n_blobs for r in ordered),
                             sum(r.n_parsed for r in ordered), n_problems, n_cached, time.perf_counter() - started,
                             tuple(r.repo for r in ordered if r.failed))
    if db is not None and not summary.failed:
        write_tables_stamp(settings.out_dir, written, True, [t.file for t in HISTORY.values()],
                           asdict(summary), HISTORY_STAMP)
    return summary


def tables_stamp(stamp: str, keys: Mapping[str, str], without: Mapping[str, HistoryResult], manifest_sha256: str,
                 catalog: Catalog, released: ReleaseDates) -> str:
    """What the history tables are written from: each repository's history (its cache key, which holds the
    history stage's code, the options and the commit; or its having none), the manifest, the releases'
    deprecations and dates that date each commit."""
    deprecations = sorted((api, row.deprecated_since) for api, row in catalog.by_api.items() if row.deprecated_since)
    dates = sorted((v, when.isoformat()) for v, when in released.released.items())
    return fingerprint("history", [sorted(keys.items()), sorted(without), manifest_sha256, deprecations, dates,
                                   sorted(released.yanked), released.origin,
                                   released.as_of.isoformat() if released.as_of else None])


def longest_first(tasks: Sequence[HistoryTask]) -> list[HistoryTask]:
    """The tasks, the longest histories first (a repository's history is one worker's: started last, the
    longest would run alone at the end while the other workers wait)."""
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda t: count_first_parent(Path(t.git_dir), t.commit), tasks))
    order = sorted(range(len(tasks)), key=lambda i: -counts[i])
    return [tasks[i] for i in order]


def write_history_tables(out: Path, results: Sequence[HistoryResult], evolution: Sequence[EvolutionRow],
                         provenance: dict[str, Any]) -> int:
    """The four history tables (each written whole, atomically, with its provenance); the problem rows written."""
    rows: dict[str, list[Any]] = {
        "history": [row for r in results for row in r.history],
        "history_api_usage": [row for r in results for row in r.api_usage],
        "evolution": list(evolution),
        "history_problems": [row for r in results for row in r.problems],
    }
    for name, table in HISTORY.items():
        write_csv(out / table.file, table.columns, (cells(flat(row)) for row in rows[name]))
        write_provenance(out / table.file, provenance)
    return len(rows["history_problems"])
