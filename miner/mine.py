"""The ``mine`` job: enumerate, select, fetch and record a corpus, resumably.

Every finished repository is appended to ``<corpus>/.mine-journal.jsonl`` (fsync'd) before the
next one starts, and checkouts are renamed into place only when complete; so a run killed at
any moment is finished by the next run, which re-downloads nothing already complete. The
manifest, lock, search and problem files are rewritten atomically from the journal at the end.
What a killed run leaves half-written (``repos/.partial/``) is removed by the next run that finds
no other run going on the same corpus (``leftovers.corpus_lock``).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from miner.corpus import LOCK, MANIFEST, PROBLEMS, RELEASES_TABLE, clone_path_for, releases_dir
from miner import __version__
from miner.fileio import Journal, read_csv, sha256_file, utc_now, write_csv, write_provenance
from miner.ftypes import (
    MANIFEST_COLUMNS,
    GitHubSelection,
    ManifestRow,
    MineEvent,
    MinerError,
    MineSettings,
    MineSummary,
    MlflowRelease,
    Problem,
    ProgressFn,
    RepoCandidate,
    RepoStatus,
    SearchWindow,
)
from miner.duplicates import mark_duplicates
from miner.fetch import base_row, fetch_repository
from miner.leftovers import corpus_lock
from miner.local_source import iter_local_candidates

JOURNAL = ".mine-journal.jsonl"
LOCK_COLUMNS = ("repo", "commit", "source", "clone_url")
PROBLEM_COLUMNS = ("repo", "path", "line", "stage", "reason")
WINDOW_COLUMNS = ("query", "created_from", "created_to", "total_count", "collected",
                  "incomplete_results", "split", "note")
RELEASE_COLUMNS = ("version", "source", "path", "origin", "sha256", "status", "reason")


def _noop(_event: MineEvent) -> None:
    return None


def selection_reason(cand: RepoCandidate, sel: GitHubSelection) -> str:
    """Why the spec's filters leave a candidate out ('' when it is selected)."""
    if cand.is_fork and not sel.include_forks:
        return "fork"
    if cand.archived and not sel.include_archived:
        return "archived"
    if cand.stars is not None and cand.stars < sel.min_stars:
        return f"stars {cand.stars} < {sel.min_stars}"
    if sel.pushed_after and cand.pushed_at and cand.pushed_at[:10] < sel.pushed_after:
        return f"pushed {cand.pushed_at[:10]} before {sel.pushed_after}"
    if sel.max_size_kb and cand.size_kb is not None and cand.size_kb > sel.max_size_kb:
        return f"size {cand.size_kb} KB over the {sel.max_size_kb} KB limit"
    if cand.source == "github" and cand.size_kb == 0:
        return "empty repository (size 0)"
    return ""


def read_lock(path: Path) -> list[RepoCandidate]:
    """Candidates pinned by a lock file; errors name the file and line."""
    try:
        rows = read_csv(path)
    except FileNotFoundError as err:
        raise MinerError(f"{path}: lock file not found") from err
    out = []
    for lineno, row in enumerate(rows, start=2):
        repo, commit = (row.get("repo") or "").strip(), (row.get("commit") or "").strip()
        if not repo or not re.fullmatch(r"[0-9a-f]{40}", commit):
            raise MinerError(f"{path}:{lineno}: expected a repo and a full 40-hex commit, got {repo!r}, {commit!r}")
        url = (row.get("clone_url") or "").strip()
        if not url:
            raise MinerError(f"{path}:{lineno}: no clone_url for {repo}")
        out.append(RepoCandidate(repo=repo, source=(row.get("source") or "lock").strip(), clone_url=url, commit=commit))
    return out


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
    def candidates(self) -> tuple[list[RepoCandidate], list[SearchWindow], int | None, bool]:
        """Candidates from the lock file, local clones or GitHub, with the search's completeness."""
        s = self.settings
        if s.lock is not None:
            return read_lock(s.lock), [], None, True
        if s.from_local is not None:
            if not s.from_local.is_dir():
                raise MinerError(f"{s.from_local}: not a directory")
            self.progress(MineEvent("phase", f"finding git repositories under {s.from_local}"))
            found = list(iter_local_candidates(s.from_local))
            if not found:
                raise MinerError(f"{s.from_local}: no git repository under it (a directory holding .git, "
                                 "or a bare repository)")
            return found, [], None, True
        from miner.github_search import GitHubSearch

        self.progress(MineEvent("phase", f"searching {s.api_url} for topic:{s.spec.github.topic}"))
        search = GitHubSearch(
            s.spec.github, api_url=s.api_url, token=s.token, timeout=s.http_timeout,
            max_retries=s.max_retries, max_wait_s=s.max_wait_s, progress=self.progress, backoff_s=s.retry_backoff_s,
            sleep=s.sleep or time.sleep, request_interval=None if s.sleep else 0.25,
        )
        result = search.search()
        return list(result.candidates), list(result.windows), result.total_count, result.complete

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
        cache = None if s.lock is not None or s.from_local is not None else (s.cache_path or self.corpus / "http_cache.sqlite")
        with _http_cache(cache):
            candidates, windows, total, complete = self.candidates()
        prev_rows, prev_problems = self._previous()
        rows: dict[str, ManifestRow] = {}
        problems: dict[str, list[Problem]] = {}
        todo: list[RepoCandidate] = []
        for cand in candidates:
            reason = selection_reason(cand, s.spec.github) if cand.source == "github" else ""
            if reason:
                rows[cand.repo] = base_row(cand).replace(status=RepoStatus.SKIPPED.value, reason=reason, mined_at=utc_now())
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
            for row, found in pool.map(lambda c: fetch_repository(c, s), todo):
                self._record(row, found)
                rows[row.repo] = row
                problems[row.repo] = found
                n_done += 1
                self.progress(MineEvent("clone_done", f"{row.repo}: {row.status} {row.reason}".strip(),
                                        n_done, len(candidates)))
        final_rows = mark_duplicates([rows[c.repo] for c in candidates])
        releases = [] if s.skip_mlflow or s.dry_run else self.mine_mlflow()
        all_problems = [p for c in candidates for p in problems.get(c.repo, [])]
        summary = MineSummary(self.corpus, tuple(final_rows), tuple(windows), tuple(releases),
                              tuple(all_problems), total, complete)
        self.write(summary)
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
        return out

    # ---- outputs ------------------------------------------------------------------------------
    def write(self, summary: MineSummary) -> None:
        """Write manifest, lock, search, problems and releases atomically, each with provenance."""
        corpus = self.corpus
        s = self.settings
        prov = {
            "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
            "corpus": s.spec.name, "spec": str(s.spec.path), "spec_sha256": _sha_or_empty(s.spec.path),
            "source": "lock" if s.lock else ("local" if s.from_local else "github"),
            "api_url": "" if (s.lock or s.from_local) else s.api_url,
            "from_local": str(s.from_local or ""), "lock": str(s.lock or ""),
            "dry_run": s.dry_run, "history": s.history, "n_repositories": len(summary.rows),
            "github_total_count": summary.total_count, "search_complete": summary.complete,
        }
        manifest = corpus / MANIFEST
        write_csv(manifest, MANIFEST_COLUMNS, (r.as_dict() for r in summary.rows))
        write_provenance(manifest, prov)
        if not s.dry_run:
            lock = corpus / LOCK
            ok = [r for r in summary.rows if r.status == RepoStatus.OK.value]
            write_csv(lock, LOCK_COLUMNS, ({"repo": r.repo, "commit": r.commit, "source": r.source,
                                            "clone_url": r.clone_url} for r in ok))
            write_provenance(lock, prov)
        problems = corpus / PROBLEMS
        write_csv(problems, PROBLEM_COLUMNS, (asdict(p) for p in summary.problems))
        write_provenance(problems, prov)
        if summary.windows:
            search = corpus / "search.csv"
            write_csv(search, WINDOW_COLUMNS, (asdict(w) for w in summary.windows))
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


@contextlib.contextmanager
def _http_cache(path: Path | None) -> Iterator[None]:
    """Cache HTTP answers in SQLite for the duration of the search; the token is never stored."""
    if path is None:
        yield
        return
    import requests_cache

    path.parent.mkdir(parents=True, exist_ok=True)
    with requests_cache.enabled(
        str(path), backend="sqlite", expire_after=requests_cache.NEVER_EXPIRE,
        allowable_codes=(200,), allowable_methods=("GET",),
        ignored_parameters=["Authorization", "access_token", "client_secret"],
        match_headers=False, stale_if_error=False,
    ):
        yield


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
    })
