"""The ``mine`` job: find, select, fetch and record a corpus, resumably.

Candidates come from the run's sources, each read once and merged (``miner.sources``); the spec's rules
and sample say which are kept (``miner.selection``, ``miner.sample``: ``selection.csv``); the kept ones
are fetched (``miner.fetch``). Every finished repository is appended to ``<corpus>/.mine-journal.jsonl`` (fsync'd) before the
next one starts, and checkouts are renamed into place only when complete; so a run killed at
any moment is finished by the next run, which re-downloads nothing already complete. The
manifest, selection, lock, search and problem files are rewritten atomically from the journal at the end.
What a killed run leaves half-written (``repos/.partial/``) is removed by the next run that finds
no other run going on the same corpus (``leftovers.corpus_lock``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from miner.corpus import LOCK, MANIFEST, PROBLEMS, RELEASES_TABLE, clone_path_for, releases_dir
from miner import __version__
from miner.fileio import Journal, read_csv, sha256_file, utc_now, write_csv, write_provenance
from miner.ftypes import (
    FALSE,
    MANIFEST_COLUMNS,
    TRUE,
    ManifestRow,
    MineEvent,
    MineSettings,
    MineSummary,
    MlflowRelease,
    Problem,
    ProgressFn,
    RepoCandidate,
    RepoStatus,
    Selected,
)
from miner.duplicates import mark_duplicates
from miner.fetch import base_row, fetch_repository
from miner.leftovers import corpus_lock
from miner.selection import record, select, write_selection
from miner.sources import Found, SourceReader, http_cache, settings_sources, uses_github

JOURNAL = ".mine-journal.jsonl"
LOCK_COLUMNS = ("repo", "commit", "source", "clone_url")
PROBLEM_COLUMNS = ("repo", "path", "line", "stage", "reason")
WINDOW_COLUMNS = ("source", "query", "created_from", "created_to", "total_count", "collected",
                  "incomplete_results", "split", "note")
RELEASE_COLUMNS = ("version", "source", "path", "origin", "sha256", "status", "reason", "released_at")


def _noop(_event: MineEvent) -> None:
    return None


def _row_from_record(record: dict[str, Any]) -> ManifestRow:
    known = set(MANIFEST_COLUMNS)
    return ManifestRow(**{k: v for k, v in record["row"].items() if k in known})


class Miner:
    """A configured mine; ``run()`` does it all and returns a summary."""

    def __init__(self, settings: MineSettings, progress: ProgressFn = _noop) -> None:
        self.settings = settings
        self.progress = progress
        self.corpus = settings.corpus_dir
        self.journal = Journal(self.corpus / JOURNAL)
        self._lock = threading.Lock()

    # ---- enumeration -------------------------------------------------------------------------
    def found(self) -> Found:
        """Every source of the run read once (through the HTTP cache when one asks GitHub), merged."""
        s = self.settings
        cache = (s.cache_path or self.corpus / "http_cache.sqlite") if uses_github(settings_sources(s)) else None
        with http_cache(cache):
            return SourceReader(s, self.progress).read()

    # ---- the run ------------------------------------------------------------------------------
    def _previous(self) -> tuple[dict[str, ManifestRow], dict[str, list[Problem]]]:
        rows: dict[str, ManifestRow] = {}
        problems: dict[str, list[Problem]] = {}
        for record in self.journal.read():
            if record.get("type") != "repo":
                continue
            row = _row_from_record(record)
            rows[row.repo] = row
            problems[row.repo] = [Problem(**p) for p in record.get("problems", [])]
        return rows, problems

    def _reusable(self, prev: ManifestRow | None, cand: RepoCandidate) -> bool:
        if prev is None or prev.status == RepoStatus.FAILED.value:
            return False  # failures are tried again
        if prev.status == RepoStatus.SKIPPED.value:
            return not cand.commit  # e.g. an empty repository: nothing to fetch
        if cand.commit and cand.commit != prev.commit:
            return False
        if self.settings.history and not (prev.history and (self.corpus / prev.git_dir).is_dir()):
            return False  # mined without its history (or the history is gone): mine it again, with it
        return bool(prev.clone_path) and (self.corpus / prev.clone_path).is_dir()

    def _record(self, row: ManifestRow, problems: Sequence[Problem]) -> None:
        with self._lock:
            self.journal.append({"type": "repo", "row": row.as_dict() | _typed(row),
                                 "problems": [asdict(p) for p in problems]})

    def run(self) -> MineSummary:
        """Enumerate, select, fetch and write the corpus files; return what happened."""
        self.corpus.mkdir(parents=True, exist_ok=True)
        with corpus_lock(self.corpus, self.progress):
            return self._run()

    def _run(self) -> MineSummary:
        s = self.settings
        found = self.found()
        filters = None if s.lock is not None else s.spec.rules  # a lock is re-mined as it is
        selection, drawn = select(found.candidates, found.not_found, filters, s.spec.sample)
        self.progress(MineEvent("message", "selection: " + ", ".join(
            f"{n} {status.value}" for status in Selected if (n := sum(r.status == status.value for r in selection)))))
        candidates = [m.candidate for m in found.candidates]
        prev_rows, prev_problems = self._previous()
        rows: dict[str, ManifestRow] = {}
        problems: dict[str, list[Problem]] = {}
        todo: list[RepoCandidate] = []
        for cand, chosen in zip(candidates, selection):
            if chosen.status != Selected.KEPT.value:
                rows[cand.repo] = base_row(cand).replace(status=RepoStatus.SKIPPED.value, reason=chosen.reason,
                                                         mined_at=utc_now())
            elif s.dry_run:
                rows[cand.repo] = base_row(cand).replace(status=RepoStatus.PLANNED.value, mined_at=utc_now(),
                                                         clone_path=clone_path_for(cand.repo))
            elif self._reusable(prev_rows.get(cand.repo), cand):
                rows[cand.repo] = prev_rows[cand.repo]
                problems[cand.repo] = prev_problems.get(cand.repo, [])
            else:
                todo.append(cand)
        n_done = len(candidates) - len(todo)
        self.progress(MineEvent("clone_start", f"{len(todo)} to fetch, {n_done} already done or not selected",
                                n_done, len(candidates)))
        with ThreadPoolExecutor(max_workers=max(1, s.jobs)) as pool:
            for row, got in pool.map(lambda c: fetch_repository(c, s), todo):
                self._record(row, got)
                rows[row.repo] = row
                problems[row.repo] = got
                n_done += 1
                self.progress(MineEvent("clone_done", f"{row.repo}: {row.status} {row.reason}".strip(),
                                        n_done, len(candidates)))
        final_rows = mark_duplicates([rows[c.repo] for c in candidates])
        releases = [] if s.skip_mlflow or s.dry_run else self.mine_mlflow()
        all_problems = [p for c in candidates for p in problems.get(c.repo, [])]
        summary = MineSummary(self.corpus, tuple(final_rows), found.windows, tuple(releases),
                              tuple(all_problems), found.total_count, found.complete, tuple(selection))
        sources = [{"name": src.name, "kind": src.kind, "found": found.counts.get(src.name, 0),
                    **{k: getattr(src, k) for k in ("topic", "query", "path") if getattr(src, k)}}
                   for src in settings_sources(s)]
        self.write(summary, {"sources": sources, **record(filters, s.spec.sample, drawn)})
        return summary

    # ---- MLflow releases ----------------------------------------------------------------------
    def mine_mlflow(self) -> list[MlflowRelease]:
        """Bring the MLflow releases the spec (or ``--mlflow-from``) asks for."""
        from miner.mlflow_source import (
            MlflowSourceError,
            ReleaseStore,
            local_release_entries,
            pypi_versions,
            wanted_versions,
        )

        s = self.settings
        sel = s.spec.mlflow
        store = ReleaseStore(self.corpus, self.progress)
        out: list[MlflowRelease] = []
        previous = {r["version"]: r for r in _read_rows(releases_dir(self.corpus) / RELEASES_TABLE)}
        if s.mlflow_from is not None:
            entries = local_release_entries(s.mlflow_from)
            self.progress(MineEvent("phase", f"{len(entries)} MLflow releases in {s.mlflow_from}"))
            for i, entry in enumerate(entries, 1):
                try:
                    out.append(store.from_local(entry))
                except MlflowSourceError as err:
                    out.append(store.failed("", "local", entry.name, str(err)))
                self.progress(MineEvent("release", entry.name, i, len(entries)))
            return out
        if sel.source == "none":
            return out
        try:
            versions = list(sel.versions) if sel.versions else wanted_versions(sel, pypi_versions())
        except (MlflowSourceError, OSError) as err:
            return [store.failed("", sel.source, "index", str(err))]
        self.progress(MineEvent("phase", f"{len(versions)} MLflow releases from {sel.source}"))
        state = dict(previous)
        for i, version in enumerate(versions, 1):
            if store.has(version) and state.get(version, {}).get("status") == RepoStatus.OK.value:
                release = MlflowRelease(**{k: state[version].get(k, "") for k in RELEASE_COLUMNS})
            else:
                try:
                    if sel.source == "github":
                        release = store.from_github(version, f"{_web_url(s.api_url)}/{sel.github_repo}.git")
                    else:
                        release = store.from_pypi(version)
                except (MlflowSourceError, OSError) as err:
                    release = store.failed(version, sel.source, version, str(err))
                state[version] = {k: str(v) for k, v in asdict(release).items()}
                # written after every release, so an interrupted run keeps what it finished
                _write_releases(self.corpus, [MlflowRelease(**{k: r.get(k, "") for k in RELEASE_COLUMNS})
                                              for r in state.values()])
            out.append(release)
            self.progress(MineEvent("release", f"MLflow {version}", i, len(versions)))
        return self.date_releases(out)

    def date_releases(self, releases: list[MlflowRelease]) -> list[MlflowRelease]:
        """Every MLflow release's PyPI date into ``mlflow/release_dates.csv`` (through the HTTP cache), and each
        mined release's into its ``released_at``; when PyPI cannot be read, a message, and the releases as they
        were (``analyze`` then takes the snapshot shipped in ``analysis/data/``)."""
        from miner.release_dates import DATES_TABLE, ReleaseDatesError, dated, fetch_release_dates, write_release_dates

        s = self.settings
        with http_cache(s.cache_path or self.corpus / "http_cache.sqlite"):
            try:
                dates = fetch_release_dates(s.spec.mlflow.pypi_url, timeout=s.http_timeout,
                                            max_retries=s.max_retries, backoff_s=s.retry_backoff_s,
                                            sleep=s.sleep or time.sleep)
            except ReleaseDatesError as err:
                self.progress(MineEvent("message", f"MLflow release dates: {err}"))
                return releases
        write_release_dates(releases_dir(self.corpus) / DATES_TABLE, dates, {"tool_version": __version__})
        out = [replace(r, released_at=dated(r.version, dates)) if r.version else r for r in releases]
        _write_releases(self.corpus, out)
        return out

    # ---- outputs ------------------------------------------------------------------------------
    def write(self, summary: MineSummary, selection: dict[str, Any] | None = None) -> None:
        """Write manifest, selection, lock, search, problems and releases atomically, each with provenance
        (``selection``: the sources, rules and sample, for selection.csv's and the lock's)."""
        corpus = self.corpus
        s = self.settings
        kinds = {"local" if src.kind == "local" else src.kind if src.kind == "lock" else "github"
                 for src in settings_sources(s)}
        prov = {
            "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
            "corpus": s.spec.name, "spec": str(s.spec.path), "spec_sha256": _sha_or_empty(s.spec.path),
            "source": "+".join(sorted(kinds)),
            "api_url": "" if (s.lock or s.from_local) else s.api_url,
            "from_local": str(s.from_local or ""), "lock": str(s.lock or ""),
            "dry_run": s.dry_run, "history": s.history, "n_repositories": len(summary.rows),
            "github_total_count": summary.total_count, "search_complete": summary.complete,
        }
        manifest = corpus / MANIFEST
        write_csv(manifest, MANIFEST_COLUMNS, (r.as_dict() for r in summary.rows))
        write_provenance(manifest, prov)
        write_selection(corpus, summary.selection, {**prov, **(selection or {})})
        if not s.dry_run:
            lock = corpus / LOCK
            ok = [r for r in summary.rows if r.status == RepoStatus.OK.value]
            write_csv(lock, LOCK_COLUMNS, ({"repo": r.repo, "commit": r.commit, "source": r.source,
                                            "clone_url": r.clone_url} for r in ok))
            sample = (selection or {}).get("sample")
            write_provenance(lock, {**prov, **({"sample": sample} if sample else {})})
        problems = corpus / PROBLEMS
        write_csv(problems, PROBLEM_COLUMNS, (asdict(p) for p in summary.problems))
        write_provenance(problems, prov)
        if summary.windows:
            search = corpus / "search.csv"
            write_csv(search, WINDOW_COLUMNS, ({k: (TRUE if v else FALSE) if isinstance(v, bool) else v
                                                for k, v in asdict(w).items()} for w in summary.windows))
            write_provenance(search, prov)
        if summary.releases:
            _write_releases(corpus, list(summary.releases))


def _write_releases(corpus: Path, releases: list[MlflowRelease]) -> None:
    path = releases_dir(corpus) / RELEASES_TABLE
    write_csv(path, RELEASE_COLUMNS, (asdict(r) for r in releases))
    write_provenance(path, {"tool_version": __version__, "written_at": utc_now()})


def _read_rows(path: Path) -> list[dict[str, str]]:
    return read_csv(path) if path.is_file() else []


def _typed(row: ManifestRow) -> dict[str, Any]:
    """The non-string fields kept with their types in the journal."""
    return {k: getattr(row, k) for k in ("stars", "forks", "is_fork", "archived", "size_kb", "n_files", "n_missing",
                                         "n_commits")}


def _sha_or_empty(path: Path) -> str:
    return sha256_file(path) if path.is_file() else ""


def _web_url(api_url: str) -> str:
    """The web/clone host for an API base URL (api.github.com -> github.com, GHE /api/v3 -> host)."""
    url = api_url.rstrip("/")
    if url == "https://api.github.com":
        return "https://github.com"
    return url.removesuffix("/api/v3")


def mine(settings: MineSettings, progress: ProgressFn = _noop) -> MineSummary:
    """Mine a corpus as ``settings`` say; see :class:`Miner`."""
    return Miner(settings, progress).run()


def summary_json(summary: MineSummary) -> str:
    """A machine-readable summary for logs."""
    return json.dumps({
        "ok": summary.count(RepoStatus.OK), "skipped": summary.count(RepoStatus.SKIPPED),
        "failed": summary.count(RepoStatus.FAILED), "planned": summary.count(RepoStatus.PLANNED),
        "duplicates": summary.n_duplicates, "problems": len(summary.problems),
        "total_count": summary.total_count, "complete": summary.complete,
        "selection": {status.value: sum(r.status == status.value for r in summary.selection) for status in Selected},
    })
