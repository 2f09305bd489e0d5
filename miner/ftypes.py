"""Value types of the miner: corpus spec, settings, manifest rows and progress events."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

TRUE, FALSE = "true", "false"  # how a CSV cell holds a boolean, in every table the tool writes


def csv_cell(value: object) -> str:
    """A value as the corpus's CSV cells hold it: None empty, booleans true/false, anything else its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    return str(value)


class MinerError(Exception):
    """A configuration or input error the miner cannot go on from (bad spec, bad lock file)."""


class MineFailed(Exception):
    """The run could not go on for a cause outside its inputs (the network, a server that keeps
    failing); nothing was written. ``host`` is the machine that could not be reached."""

    def __init__(self, message: str, host: str = "") -> None:
        super().__init__(message)
        self.host = host


class RepoStatus(str, enum.Enum):
    """What became of one repository in a mine."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"
    PLANNED = "planned"  # --dry-run: selected, not cloned


@dataclass(frozen=True)
class GitHubSelection:
    """Which GitHub repositories a corpus takes, and how they are found."""

    topic: str = "mlflow-projects"
    extra_query: str = ""
    include_forks: bool = False
    include_archived: bool = True
    min_stars: int = 0
    pushed_after: str = ""  # ISO date, empty: no limit
    max_size_kb: int = 0  # 0: no limit
    created_from: str = "2008-01-01"  # GitHub's first day; start of the date windows
    per_page: int = 100


@dataclass(frozen=True)
class MlflowSelection:
    """Which MLflow releases' source a corpus takes."""

    source: str = "pypi"  # pypi | github | none
    versions: tuple[str, ...] = ()  # explicit list; empty: every minor release in range
    min_version: str = "1.0"
    max_version: str = ""  # empty: latest
    github_repo: str = "mlflow/mlflow"
    pypi_url: str = "https://pypi.org"  # whose JSON API (<url>/pypi/mlflow/json) dates the releases


SOURCE_KINDS = ("topic", "search", "list", "local")


@dataclass(frozen=True)
class SourceSpec:
    """One ``[[source]]`` of a corpus spec: where candidates are found.

    ``topic``: the repositories of a GitHub topic (``query``: more qualifiers); ``search``: any GitHub
    repository search (``query``: free text and qualifiers); ``list``: ``owner/name`` per line, or a CSV
    with a ``name``, ``full_name`` or ``repo`` column (``path``); ``local``: every git repository under a
    directory (``path``). ``name`` is how ``selection.csv`` names the source.
    """

    kind: str
    name: str
    topic: str = ""
    query: str = ""
    path: str = ""  # list, local: as written in the spec (relative to the spec's folder, ~ expanded)
    created_from: str = "2008-01-01"  # topic, search: start of the created: windows
    per_page: int = 100


@dataclass(frozen=True)
class Filters:
    """The ``[filters]`` of a corpus spec: the selection rules' settings (see ``miner.selection.RULES``)."""

    include_forks: bool = False
    include_archived: bool = True
    min_stars: int = 0
    pushed_after: str = ""  # ISO date, empty: no limit
    max_size_kb: int = 0  # 0: no limit
    languages: tuple[str, ...] = ()  # GitHub's primary language, one of these (any case); empty: any
    exclude_tutorials: bool = False  # False: course work is kept and flagged in selection.csv


@dataclass(frozen=True)
class Sample:
    """The ``[sample]`` of a corpus spec: ``n`` repositories of those the rules keep, stratified by stars."""

    n: int
    seed: int = 0


def topic_source(github: GitHubSelection) -> SourceSpec:
    """The one source the legacy ``[github]`` section stands for."""
    return SourceSpec("topic", f"topic:{github.topic}", topic=github.topic, query=github.extra_query,
                      created_from=github.created_from, per_page=github.per_page)


def github_filters(github: GitHubSelection) -> Filters:
    """The filters of the legacy ``[github]`` section."""
    return Filters(include_forks=github.include_forks, include_archived=github.include_archived,
                   min_stars=github.min_stars, pushed_after=github.pushed_after, max_size_kb=github.max_size_kb)


@dataclass(frozen=True)
class CorpusSpec:
    """A committed description of a corpus (``corpora/<name>.toml``).

    ``sources`` and ``filters`` left out are those of ``github`` (the legacy ``[github]`` section: one
    topic source and its filters)."""

    name: str
    path: Path  # the spec file itself
    github: GitHubSelection = field(default_factory=GitHubSelection)
    mlflow: MlflowSelection = field(default_factory=MlflowSelection)
    blob_limit: str = "1m"  # git --filter=blob:limit=<n>; empty: whole blobs
    sources: tuple[SourceSpec, ...] = ()
    filters: Filters | None = None
    sample: Sample | None = None

    def __post_init__(self) -> None:
        if not self.sources:
            object.__setattr__(self, "sources", (topic_source(self.github),))
        if self.filters is None:
            object.__setattr__(self, "filters", github_filters(self.github))

    @property
    def rules(self) -> Filters:
        """The filters (never None once built)."""
        assert self.filters is not None
        return self.filters


@dataclass(frozen=True)
class MineSettings:
    """Everything one ``mine`` run needs, passed explicitly."""

    spec: CorpusSpec
    corpus_dir: Path
    api_url: str = "https://api.github.com"
    token: str | None = None
    from_local: Path | None = None
    mlflow_from: Path | None = None
    lock: Path | None = None
    dry_run: bool = False
    skip_mlflow: bool = False
    history: bool = False  # keep each repository's history: GitHub's default branch whole (blob-limited), local clones read in place
    jobs: int = 1
    http_timeout: float = 30.0
    clone_timeout: float = 900.0
    max_wait_s: float = 3900.0  # longest single rate-limit wait accepted
    max_retries: int = 5  # HTTP attempts after the first one, on 5xx, timeouts and failed connections
    retry_backoff_s: float = 1.0  # the wait before the first retry; each next one doubles (60 s at most)
    cache_path: Path | None = None  # default: <corpus>/http_cache.sqlite
    sleep: Callable[[float], None] | None = None  # injected by tests; default time.sleep


@dataclass(frozen=True)
class RepoCandidate:
    """A repository found by a source, before selection and cloning."""

    repo: str  # owner/name
    source: str  # github | local | lock
    clone_url: str
    default_branch: str = ""
    commit: str = ""  # pinned commit, if any
    stars: int | None = None
    forks: int | None = None
    is_fork: bool | None = None
    archived: bool | None = None
    license: str = ""
    topics: tuple[str, ...] = ()
    created_at: str = ""
    pushed_at: str = ""
    size_kb: int | None = None
    description: str = ""
    repo_id: int | None = None  # GitHub's repository id: candidates of several sources merge by it
    language: str | None = None  # GitHub's primary language ('' when it detected none); None: not known


MANIFEST_COLUMNS: tuple[str, ...] = (
    "repo", "source", "commit", "default_branch", "clone_path", "stars", "forks",
    "is_fork", "archived", "license", "topics", "created_at", "pushed_at", "size_kb",
    "description", "mined_at", "tool_version", "status", "reason", "duplicate_of",
    "root_commit", "content_hash", "n_files", "n_missing", "clone_url",
    "n_commits", "history", "git_dir",
)


@dataclass(frozen=True)
class ManifestRow:
    """One row of ``manifest.csv``: a repository and what became of it."""

    repo: str
    source: str
    commit: str = ""
    default_branch: str = ""
    clone_path: str = ""
    stars: int | None = None
    forks: int | None = None
    is_fork: bool | None = None
    archived: bool | None = None
    license: str = ""
    topics: str = ""  # ';'-joined
    created_at: str = ""
    pushed_at: str = ""
    size_kb: int | None = None
    description: str = ""
    mined_at: str = ""
    tool_version: str = ""
    status: str = RepoStatus.OK.value
    reason: str = ""
    duplicate_of: str = ""
    root_commit: str = ""
    content_hash: str = ""
    n_files: int | None = None
    n_missing: int | None = None
    clone_url: str = ""
    n_commits: int | None = None  # commits reachable from ``commit`` (mined with --history), else None
    history: str = ""  # complete | shallow | grafted | replaced (mined with --history), else ""
    git_dir: str = ""  # the git directory holding the history: relative to the corpus, or absolute (a local clone)

    def as_dict(self) -> dict[str, str]:
        """The row as CSV cells (None is an empty cell, booleans are true/false)."""
        out: dict[str, str] = {}
        for name in MANIFEST_COLUMNS:
            out[name] = csv_cell(getattr(self, name))
        return out

    def replace(self, **changes: object) -> ManifestRow:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


class Selected(str, enum.Enum):
    """What the selection made of one candidate (``selection.csv``'s ``status``)."""

    KEPT = "kept"
    EXCLUDED = "excluded"  # by the rule in ``rule``
    NOT_SAMPLED = "not-sampled"  # left by the rules, not drawn into the sample
    NOT_FOUND = "not-found"  # listed, but GitHub has no such repository


SELECTION_COLUMNS: tuple[str, ...] = (
    "repo", "repo_id", "sources", "status", "rule", "reason", "tutorial", "tutorial_evidence", "stratum",
    "is_fork", "archived", "stars", "pushed_at", "size_kb", "language", "description", "topics", "created_at",
)


@dataclass(frozen=True)
class SelectionRow:
    """One row of ``selection.csv``: a candidate, the sources that found it, and what the selection made of it."""

    repo: str
    sources: tuple[str, ...]
    status: str
    rule: str = ""  # the first rule that left it out
    reason: str = ""  # that rule's words (``stars 3 < 10``), or why not found
    tutorial: str = ""  # the course-work rule that holds (classroom, course-word, farm), kept or not
    tutorial_evidence: str = ""
    stratum: str = ""  # its stars stratum (0, 1-9, 10-99, 100+, unknown)
    repo_id: int | None = None
    is_fork: bool | None = None
    archived: bool | None = None
    stars: int | None = None
    pushed_at: str = ""
    size_kb: int | None = None
    language: str | None = None
    description: str = ""
    topics: str = ""  # ';'-joined
    created_at: str = ""

    def as_dict(self) -> dict[str, str]:
        """The row as CSV cells (``sources`` ';'-joined, None empty, booleans true/false)."""
        out: dict[str, str] = {}
        for name in SELECTION_COLUMNS:
            value = getattr(self, name)
            out[name] = ";".join(value) if name == "sources" else csv_cell(value)
        return out


@dataclass(frozen=True)
class Problem:
    """A file or step that could not be handled; becomes a row of ``problems.csv``."""

    repo: str
    path: str
    line: int | None
    stage: str
    reason: str


@dataclass(frozen=True)
class SearchWindow:
    """One search query over a ``created:`` window and how complete its answer was."""

    query: str
    created_from: str
    created_to: str
    total_count: int
    collected: int
    incomplete_results: bool
    split: bool  # True when the window was divided instead of read
    note: str = ""
    source: str = ""  # the name of the spec's source the query belongs to


@dataclass(frozen=True)
class MlflowRelease:
    """One MLflow release whose source is in the corpus."""

    version: str
    source: str  # pypi | github | local
    path: str  # relative to the corpus directory
    origin: str  # archive file name, tag or directory it came from
    sha256: str = ""
    status: str = RepoStatus.OK.value
    reason: str = ""
    released_at: str = ""  # when PyPI published it (its first file's upload, ISO 8601 UTC); '' when unknown


@dataclass(frozen=True)
class ReleaseDate:
    """When PyPI published one MLflow release: the earliest upload of its files."""

    version: str  # as PyPI spells it
    released_at: str  # ISO 8601, UTC, to the second: 2019-06-04T00:56:41Z
    n_files: int
    yanked: bool  # every file yanked: pip does not pick it unless pinned


@dataclass(frozen=True)
class ReleaseDates:
    """Every MLflow release PyPI lists with files, where the list came from and when it was fetched."""

    dates: tuple[ReleaseDate, ...]
    source: str  # the JSON API's address
    fetched_at: str  # ISO 8601 UTC


@dataclass(frozen=True)
class MineEvent:
    """A progress event the library emits; the CLI renders it."""

    kind: str  # phase | search_page | wait | clone_start | clone_done | release | message
    message: str = ""
    done: int = 0
    total: int | None = None


@dataclass(frozen=True)
class MineSummary:
    """What one ``mine`` run did."""

    corpus_dir: Path
    rows: tuple[ManifestRow, ...]
    windows: tuple[SearchWindow, ...]
    releases: tuple[MlflowRelease, ...]
    problems: tuple[Problem, ...]
    total_count: int | None  # GitHub's total_count, summed over the searches; None without a search
    complete: bool  # collected == total_count and no window incomplete, for every search
    selection: tuple[SelectionRow, ...] = ()  # every candidate and what the selection made of it

    def count(self, status: RepoStatus) -> int:
        """How many rows have that status."""
        return sum(1 for r in self.rows if r.status == status.value)

    @property
    def n_duplicates(self) -> int:
        """How many rows are marked as a duplicate of another."""
        return sum(1 for r in self.rows if r.duplicate_of)

    @property
    def failed(self) -> bool:
        """True when any repository or release failed, or the search was incomplete."""
        return (
            self.count(RepoStatus.FAILED) > 0
            or any(r.status == RepoStatus.FAILED.value for r in self.releases)
            or not self.complete
        )


ProgressFn = Callable[[MineEvent], None]
