"""The sources of a corpus: each found once, their candidates merged by repository id.

A spec's ``[[source]]`` tables (``miner.ftypes.SourceSpec``) are read in their order: a ``topic`` or a
``search`` is a GitHub repository search windowed past the 1,000-result cap (``miner.github_search``);
a ``list`` names repositories (``owner/name`` per line, or a CSV with a ``name``, ``full_name`` or
``repo`` column, as SEART-GHS exports), each looked up on GitHub (a name GitHub does not serve is
*not found*); a ``local`` source is every git repository under a directory. ``--from-local`` and
``--lock`` stand for one source each, instead of the spec's.

Candidates found by several sources are one: merged by GitHub's repository id (a list naming a
repository by its old name meets the search that found it under its new one), else by ``owner/name``
(any case). The first source's candidate wins; what it does not know is taken from the others.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from miner.fileio import read_csv
from miner.ftypes import (
    FALSE,
    TRUE,
    CorpusSpec,
    MineEvent,
    MinerError,
    MineSettings,
    ProgressFn,
    RepoCandidate,
    SearchWindow,
    SourceSpec,
)
from miner.local_source import iter_local_candidates

if TYPE_CHECKING:
    from miner.github_search import GitHubSearch

NAME_COLUMNS = ("name", "full_name", "repo")  # the column of a CSV list that holds owner/name, first found
_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_URL = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/", re.IGNORECASE)
# columns of a list (SEART-GHS's and GitHub's names) read when GitHub's answer lacks the field
KNOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "stars": ("stargazers", "stargazers_count", "stars"),
    "forks": ("forks", "forks_count"),
    "is_fork": ("isFork", "fork", "is_fork"),
    "archived": ("isArchived", "archived"),
    "size_kb": ("size", "size_kb"),
    "language": ("mainLanguage", "language"),
    "created_at": ("createdAt", "created_at"),
    "pushed_at": ("pushedAt", "pushed_at"),
    "default_branch": ("defaultBranch", "default_branch"),
    "license": ("license",),
    "description": ("description",),
    "topics": ("topics",),
}


@dataclass(frozen=True)
class Listed:
    """A repository a list names: ``owner/name``, the line it is on, and the list's other cells."""

    repo: str
    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Merged:
    """A candidate and the sources (by name, in the spec's order) that found it."""

    candidate: RepoCandidate
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """Everything the sources found: candidates merged, listed names GitHub does not serve, the searches'
    windows, their summed ``total_count`` (None without a search) and whether every search was complete."""

    candidates: tuple[Merged, ...]
    not_found: tuple[Merged, ...]
    windows: tuple[SearchWindow, ...]
    total_count: int | None
    complete: bool
    counts: dict[str, int]  # source name -> candidates it found (not-found names included)


def source_path(spec: CorpusSpec, source: SourceSpec) -> Path:
    """A list's or a local source's path: ``~`` expanded, relative to the spec's folder."""
    path = Path(source.path).expanduser()
    return path if path.is_absolute() else spec.path.parent / path


def _name(value: str) -> str:
    """``owner/name`` from a cell or a line: a name, or a github.com URL (``.git`` and slashes dropped)."""
    text = _URL.sub("", value.strip()).removesuffix("/").removesuffix(".git")
    return text if _NAME.fullmatch(text) else ""


def read_list(path: Path) -> list[Listed]:
    """The repositories a list names, each once (the first line naming it, any case), in its order.

    A ``.csv`` file, or one whose first line holds a comma, is a CSV with a header: the first of
    ``NAME_COLUMNS`` names the column. Otherwise a name (or a github.com URL) per line; blank lines and
    lines starting with ``#`` are skipped. A value that is no ``owner/name`` is an error naming the line.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise MinerError(f"{path}: repository list not found") from err
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    out: dict[str, Listed] = {}
    if path.suffix.lower() == ".csv" or "," in first:
        reader = csv.DictReader(io.StringIO(text))
        header = {c.strip().lower(): c for c in reader.fieldnames or ()}
        rows = list(reader)
        column = next((header[c] for c in NAME_COLUMNS if c in header), None)
        if column is None:
            raise MinerError(f"{path}: no column named {', '.join(NAME_COLUMNS)} in its header")
        entries = [(i, row.get(column) or "", {k: v or "" for k, v in row.items() if k and k != column})
                   for i, row in enumerate(rows, start=2)]
    else:
        entries = [(i, ln, {}) for i, ln in enumerate(text.splitlines(), start=1)
                   if ln.strip() and not ln.lstrip().startswith("#")]
    for line, value, cells in entries:
        repo = _name(value)
        if not repo:
            raise MinerError(f"{path}:{line}: expected owner/name (or a github.com URL), got {value.strip()!r}")
        out.setdefault(repo.lower(), Listed(repo, line, cells))
    return list(out.values())


def _cell_value(field: str, text: str) -> object:
    text = text.strip()
    if field in ("stars", "forks", "size_kb"):
        return int(text) if text.isdigit() else None
    if field in ("is_fork", "archived"):
        return {TRUE: True, FALSE: False}.get(text.lower())
    if field == "topics":
        return tuple(t for t in re.split(r"[;,]", text) if t.strip())
    return text


def with_cells(cand: RepoCandidate, cells: dict[str, str]) -> RepoCandidate:
    """``cand`` with what it does not know taken from a list's known columns (``KNOWN_COLUMNS``)."""
    changes: dict[str, object] = {}
    for field, columns in KNOWN_COLUMNS.items():
        if getattr(cand, field) not in (None, "", ()):
            continue
        for column in columns:
            value = _cell_value(field, cells.get(column, ""))
            if value not in (None, "", ()):
                changes[field] = value
                break
    return dataclasses.replace(cand, **changes) if changes else cand  # type: ignore[arg-type]


def _fill(first: RepoCandidate, other: RepoCandidate) -> RepoCandidate:
    """``first`` with its unknown fields (None, '', ()) taken from ``other``."""
    changes = {f.name: getattr(other, f.name) for f in dataclasses.fields(first)
               if getattr(first, f.name) in (None, "", ()) and getattr(other, f.name) not in (None, "", ())}
    return dataclasses.replace(first, **changes) if changes else first


def merge(per_source: Sequence[tuple[str, Sequence[RepoCandidate]]]) -> list[Merged]:
    """Candidates of several sources, one per repository: the same GitHub id, else the same ``owner/name``
    (any case); in the order first found, each with the names of the sources that found it."""
    merged: list[Merged] = []
    by_id: dict[int, int] = {}
    by_name: dict[str, int] = {}
    for name, candidates in per_source:
        for cand in candidates:
            at = by_id.get(cand.repo_id) if cand.repo_id is not None else None
            if at is None:
                at = by_name.get(cand.repo.lower())
                if at is not None and None not in (cand.repo_id, merged[at].candidate.repo_id):
                    at = None  # one name, two ids: a repository deleted and made again; two candidates
            if at is None:
                at = len(merged)
                merged.append(Merged(cand, (name,)))
            else:
                old = merged[at]
                sources = old.sources if name in old.sources else (*old.sources, name)
                merged[at] = Merged(_fill(old.candidate, cand), sources)
            if merged[at].candidate.repo_id is not None:
                by_id[merged[at].candidate.repo_id] = at  # type: ignore[index]
            by_name.setdefault(merged[at].candidate.repo.lower(), at)
            by_name.setdefault(cand.repo.lower(), at)
    return merged


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


def local_candidates(root: Path, progress: ProgressFn) -> list[RepoCandidate]:
    """Every git repository under ``root`` (``--from-local``, a ``local`` source); none is an error."""
    if not root.is_dir():
        raise MinerError(f"{root}: not a directory")
    progress(MineEvent("phase", f"finding git repositories under {root}"))
    found = list(iter_local_candidates(root))
    if not found:
        raise MinerError(f"{root}: no git repository under it (a directory holding .git, or a bare repository)")
    return found


def settings_sources(settings: MineSettings) -> tuple[SourceSpec, ...]:
    """The sources a run reads: the lock's, ``--from-local``'s, or the spec's."""
    if settings.lock is not None:
        return (SourceSpec("lock", f"lock:{settings.lock}", path=str(settings.lock)),)
    if settings.from_local is not None:
        return (SourceSpec("local", f"local:{settings.from_local}", path=str(settings.from_local)),)
    return settings.spec.sources


def uses_github(sources: Sequence[SourceSpec]) -> bool:
    """Whether any of the sources asks GitHub's API."""
    return any(s.kind in ("topic", "search", "list") for s in sources)


class SourceReader:
    """Reads a run's sources, each once, and merges what they found."""

    def __init__(self, settings: MineSettings, progress: ProgressFn) -> None:
        self.settings = settings
        self.progress = progress

    def _client(self, source: SourceSpec) -> GitHubSearch:
        from miner.github_search import GitHubSearch

        s = self.settings
        return GitHubSearch(source, api_url=s.api_url, token=s.token, timeout=s.http_timeout,
                            max_retries=s.max_retries, max_wait_s=s.max_wait_s, progress=self.progress,
                            backoff_s=s.retry_backoff_s, sleep=s.sleep or time.sleep,
                            request_interval=None if s.sleep else 0.25)

    def _listed(self, source: SourceSpec, path: Path) -> tuple[list[RepoCandidate], list[RepoCandidate]]:
        """(found, not found) of a list: each name looked up on GitHub."""
        from miner.github_search import candidate_from_item

        listed = read_list(path)
        client = self._client(source)
        self.progress(MineEvent("phase", f"looking up the {len(listed)} repositories of {path} on {self.settings.api_url}"))
        found, missing = [], []
        for i, entry in enumerate(listed, 1):
            item = client.lookup(entry.repo)
            if item is None:
                missing.append(RepoCandidate(repo=entry.repo, source="github", clone_url=""))
            else:
                found.append(with_cells(candidate_from_item(item), entry.cells))
            self.progress(MineEvent("search_page", f"{source.name}: {entry.repo}", i, len(listed)))
        return found, missing

    def read(self) -> Found:
        """Every source in order, then the merge."""
        s = self.settings
        per_source: list[tuple[str, list[RepoCandidate]]] = []
        missing: list[tuple[str, list[RepoCandidate]]] = []
        windows: list[SearchWindow] = []
        totals: list[int] = []
        complete = True
        for source in settings_sources(s):
            if source.kind == "lock":
                per_source.append((source.name, read_lock(Path(source.path))))
            elif source.kind == "local":
                root = Path(source.path) if s.from_local is not None else source_path(s.spec, source)
                per_source.append((source.name, local_candidates(root, self.progress)))
            elif source.kind == "list":
                found, gone = self._listed(source, source_path(s.spec, source))
                per_source.append((source.name, found))
                missing.append((source.name, gone))
            else:
                self.progress(MineEvent("phase", f"searching {s.api_url} for {source.name}"))
                result = self._client(source).search()
                per_source.append((source.name, list(result.candidates)))
                windows += result.windows
                totals.append(result.total_count)
                complete = complete and result.complete
        candidates = merge(per_source)
        known = {m.candidate.repo.lower() for m in candidates}
        not_found = [m for m in merge(missing) if m.candidate.repo.lower() not in known]
        counts = {name: len(c) for name, c in per_source}
        for name, gone in missing:
            counts[name] += len(gone)
        return Found(tuple(candidates), tuple(not_found), tuple(windows), sum(totals) if totals else None,
                     complete, counts)


@contextlib.contextmanager
def http_cache(path: Path | None) -> Iterator[None]:
    """Cache HTTP answers in SQLite while the sources are read; the token is never stored.

    200s are cached, and 404s and 301s too: a listed name GitHub does not serve, or that moved, is
    not asked again (delete the cache to ask again)."""
    if path is None:
        yield
        return
    import requests_cache

    path.parent.mkdir(parents=True, exist_ok=True)
    with requests_cache.enabled(
        str(path), backend="sqlite", expire_after=requests_cache.NEVER_EXPIRE,
        allowable_codes=(200, 301, 404), allowable_methods=("GET",),
        ignored_parameters=["Authorization", "access_token", "client_secret"],
        match_headers=False, stale_if_error=False,
    ):
        yield
