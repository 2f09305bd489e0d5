"""What the engine and the passes share about one repository: the task, the checkout as the file stage
saw it, each file as a per-file pass gets it, and the result the passes fill in."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.ftypes import CallSite, FileContext, FileFindings, Integration, LeftOut, TrackingUri
from analysis.reading.resolver import Resolver
from analysis.rows import (
    CallSiteRow,
    DependencyRow,
    EntryPointRow,
    EnvironmentRow,
    FileRow,
    IntegrationRow,
    MlprojectRow,
    ParameterRow,
    PopulationRow,
    ProblemRow,
    ReproducibilityRow,
    Stage,
    Store,
    StoredExperiment,
    StoredInput,
    StoredMetric,
    StoredParam,
    StoredRun,
    StoredTag,
    TraceabilityRow,
    TrackingUriRow,
)
from analysis.tables import TABLES, flat, unflat


@dataclass(frozen=True)
class ModuleFacts:
    """What the graph needs from one module, computed where the module is parsed."""

    imports: frozenset[str]  # the repository's files it imports
    dynamic: bool  # importlib.import_module, __import__ or exec
    main: bool  # has an ``if __name__ == "__main__":`` block
    edges: tuple[tuple[str, str, str], ...]  # (caller, callee, kind), see ``call_edges``
    methods: frozenset[str] = frozenset()  # qualified names of the module's methods
    classes: frozenset[str] = frozenset()  # qualified names of the module's classes
    # class -> its bases as "file:Class" when they are classes of the repository, "" when not
    bases: tuple[tuple[str, tuple[str, ...]], ...] = ()


class ModuleIndex(dict[str, str]):
    """Dotted module name -> file, with every dotted suffix of a name indexed too (src layouts)."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        super().__init__(modules)
        self.suffixes: dict[str, str] = {}
        for dotted, path in self.items():
            parts = dotted.split(".")
            for i in range(1, len(parts)):
                self.suffixes.setdefault(".".join(parts[i:]), path)  # the first module in order wins



@dataclass(frozen=True)
class RepoTask:
    """One repository to analyze: its name, its checkout and the commit the checkout holds."""

    repo: str
    root: str
    commit: str
    git_dir: str = ""  # the mined repository's git directory when it is on this machine (its history), else ""
    skip: tuple[str, ...] = ()  # files that killed a worker: reported, not read again


@dataclass
class RepoResult:
    """What the passes found in one repository: a list of rows per table of ``tables.TABLES``."""

    repo: str
    call_sites: list[CallSiteRow] = field(default_factory=list)
    integrations: list[IntegrationRow] = field(default_factory=list)
    uris: list[TrackingUriRow] = field(default_factory=list)
    problems: list[ProblemRow] = field(default_factory=list)
    files: list[FileRow] = field(default_factory=list)
    mlprojects: list[MlprojectRow] = field(default_factory=list)
    entry_points: list[EntryPointRow] = field(default_factory=list)
    parameters: list[ParameterRow] = field(default_factory=list)
    dependencies: list[DependencyRow] = field(default_factory=list)
    environments: list[EnvironmentRow] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)
    stored_experiments: list[StoredExperiment] = field(default_factory=list)
    stored_runs: list[StoredRun] = field(default_factory=list)
    stored_params: list[StoredParam] = field(default_factory=list)
    stored_metrics: list[StoredMetric] = field(default_factory=list)
    stored_tags: list[StoredTag] = field(default_factory=list)
    stored_inputs: list[StoredInput] = field(default_factory=list)
    reproducibility: list[ReproducibilityRow] = field(default_factory=list)
    traceability: list[TraceabilityRow] = field(default_factory=list)
    populations: list[PopulationRow] = field(default_factory=list)
    seeds: bool = False
    new_cache: dict[str, str] = field(default_factory=dict)  # per-file cache entries this run computed
    n_parsed: int = 0
    n_cached: int = 0
    failed: bool = False  # a pass raised: nothing of this repository but a problem row

    def flat_rows(self, table: str) -> list[dict[str, Any]]:
        """The rows of ``table`` (a key of ``TABLES``, or reproducibility / traceability) as column -> value."""
        return [flat(r) for r in getattr(self, table)]

    def to_json(self) -> str:
        """Everything but ``new_cache``, for the per-repository cache."""
        data: dict[str, Any] = {name: self.flat_rows(name) for name in TABLES}
        data.update(repo=self.repo, seeds=self.seeds, n_parsed=self.n_parsed, n_cached=self.n_cached)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> RepoResult:
        data = json.loads(text)
        result = cls(data["repo"], seeds=data["seeds"], n_parsed=data["n_parsed"], n_cached=data["n_cached"])
        for name, table in TABLES.items():
            setattr(result, name, [unflat(table.row_type, row) for row in data[name]])
        return result

    @classmethod
    def failure(cls, task: RepoTask, err: BaseException) -> RepoResult:
        """A repository the analysis failed on: one problem row, nothing else."""
        reason = f"repository not analyzed: {type(err).__name__}: {err}"[:500]
        return cls(task.repo, problems=[ProblemRow(task.repo, "", None, Stage.ANALYZE, reason)], failed=True)


@dataclass
class Checkout:
    """A repository's checkout as the file stage read it, for the per-repository passes."""

    task: RepoTask
    root: Path
    all_paths: AbstractSet[str]  # every path (a frozenset; history's requirement notes the paths asked)
    paths: list[str]  # every path, in walk order
    py_files: list[str]  # .py files that are not symlinks
    max_file_bytes: int
    revision_releases: Mapping[str, str] = field(default_factory=dict)  # alembic head -> first MLflow release
    modules: ModuleIndex = field(default_factory=lambda: ModuleIndex({}))  # of py_files, for the module graph
    graphs_dir: Path | None = None  # where the traceability pass writes the graph (none when unset)
    facts: dict[str, ModuleFacts] = field(default_factory=dict)  # per module and notebook, for the graphs
    env_files: list[tuple[str, bytes, FileRow]] = field(default_factory=list)  # environment files read
    # the bytes of a file of the tree by its path, where they are not under ``root`` (a commit's tree, read
    # from git objects): None for a path that is no regular file or is over ``max_file_bytes``
    reader: Callable[[str], bytes | None] | None = None
    # the paths that are symlinks, as the file stage's listing told them; None: not listed, ask the file system
    symlinks: frozenset[str] | None = None
    # whether the file stage works out the module graph's facts (``facts``) and the seeds; history does not keep them
    wants_facts: bool = True

    def is_symlink(self, rel: str) -> bool:
        """``rel`` is a symlink of the checkout under ``root``."""
        return rel in self.symlinks if self.symlinks is not None else (self.root / rel).is_symlink()

    def file_bytes(self, rel: str) -> bytes | None:
        """The bytes of the regular file ``rel`` of this tree, None when there is none or it is over
        ``max_file_bytes`` (a symlink is no regular file)."""
        if rel not in self.all_paths:
            return None
        if self.reader is not None:
            return self.reader(rel)
        path = self.root / rel
        if self.is_symlink(rel) or path.stat().st_size > self.max_file_bytes:
            return None
        return path.read_bytes()


Parsed = tuple[FileFindings, list[LeftOut]]  # a file's findings, and the parts of it that were left out


def open_cache_read_only(path: Path | None) -> sqlite3.Connection | None:
    """A read-only connection to the results cache at ``path`` (a worker's own), None where there is none."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True) if path is not None and path.is_file() else None


def cached_value(db: sqlite3.Connection | None, key: str) -> str | None:
    """The value the results cache (``<out>/.cache.sqlite``, table ``results``) keeps under ``key``; None when
    there is no cache, no such key, or it cannot be read."""
    if db is None:
        return None
    try:
        row = db.execute("select value from results where key = ?", (key,)).fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


@dataclass
class RecentEntries:
    """The per-file cache entries a worker computed for the last ``keep`` repositories it analyzed.

    The driver writes a repository's entries to the results cache once it has its result, while the
    worker has gone on to the next repository: a file two repositories share (a classroom copy, a
    blob in two histories) was parsed again by the second, or taken from the cache, as that write
    came first or not. The worker looks here too, so with one job it never parses it twice."""

    keep: int = 2
    entries: list[dict[str, str]] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        return next((found[key] for found in self.entries if key in found), None)

    def add(self, new: dict[str, str]) -> None:
        """The entries of the repository just analyzed, the oldest kept ones dropped."""
        self.entries[:] = [new, *self.entries][:self.keep]


def file_cache_key(data: bytes, kind: str, context: FileContext, fingerprint: str) -> str:
    """The results cache's key of a file's findings: its bytes read as ``kind`` in ``context`` by the code
    whose ``parse`` stamp is ``fingerprint`` (content-addressed: the same bytes anywhere share it)."""
    return hashlib.sha256(data + f"\0{kind}\0{context.key()}\0{fingerprint}".encode()).hexdigest()


def findings_to_json(f: FileFindings, bad: list[LeftOut]) -> str:
    """A file's findings and left-out parts, for the cache."""
    return json.dumps({"c": [vars(x) for x in f.call_sites], "i": [vars(x) for x in f.integrations],
                       "u": [vars(x) for x in f.tracking_uris], "p": [vars(x) for x in bad]})


def findings_from_json(text: str) -> Parsed:
    """The inverse of ``findings_to_json``."""
    data = json.loads(text)
    findings = FileFindings(tuple(CallSite(**x) for x in data["c"]), tuple(Integration(**x) for x in data["i"]),
                            tuple(TrackingUri(**x) for x in data["u"]))
    return findings, [LeftOut(**x) for x in data.get("p", [])]


@dataclass(frozen=True)
class SourceFile:
    """One file the file stage read, as the per-file passes of its kind get it."""

    row: FileRow  # its row of ``files.csv``, which the passes complete
    data: bytes
    context: FileContext  # where it sits: beside a local ``mlflow`` module, the project's re-exports
    resolver: Resolver
    # the engine's cached parse: the findings cached for these bytes, else ``compute()``'s (then cached)
    parse: Callable[[Callable[[], Parsed]], Parsed]
    # the findings cached for these bytes, or None, without computing them (where nothing else is wanted of
    # the file: a commit's blob in history, ``Checkout.wants_facts`` false)
    cached: Callable[[], Parsed | None] = field(default=lambda: None)
