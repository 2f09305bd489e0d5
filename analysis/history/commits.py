"""One repository's history, commit by commit, analyzed as the census analyzes HEAD, each distinct file once.

The tree is kept as path -> (mode, blob) and moved from commit to commit by the changes ``gitlog``
reads (never listed whole again). At each analyzed commit only the paths changed since the last one
are looked at again: a ``.py`` file or notebook goes through the engine's per-file passes
(``passes.registry.FILE_PASSES``) once per distinct (blob, kind, import context) in the run, and its
LibCST findings come from the results cache by content (``repo_state.file_cache_key``: the key the
HEAD analysis uses, so what either parsed the other reuses, across commits, repositories and runs).
The per-repository passes that say which MLflow a commit declares (``mlproject``, ``environments``)
run again only when one of their inputs changed: an MLproject, an environment file, ``setup.py``, an
``MLmodel`` beside one, or a file they read last time; and then only over the files whose part of the
requirement may have changed (``requirement.Requirements``). Call-site totals move by what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from analysis.ftypes import FileContext, HistoryOptions
from analysis.history.gitlog import SUBMODULE, SYMLINK, BlobReader, Change, Commit, first_parent_history, select
from analysis.history.requirement import Requirements
from analysis.history_rows import CATEGORIES, HistoryApiUsageRow, HistoryProblemRow, HistoryRow
from analysis.passes.mlflow_calls import Resolver, local_mlflow_dirs, may_reexport, module_names, reexports_mlflow
from analysis.passes.registry import FILE_PASSES, file_kind
from analysis.repo_state import (Checkout, Parsed, RecentEntries, RepoResult, RepoTask, SourceFile, cached_value,
                                 file_cache_key, findings_from_json, findings_to_json, open_cache_read_only)
from analysis.reading.sources import is_binary
from analysis.rows import FileRow, FileStatus
from analysis.tables import flat, unflat
from miner.gitio import MISSING_REASON

CODE_KINDS = ("python", "notebook")
SUBMODULE_REASON = "submodule: its commits are another repository's; not analyzed"
_CONTEXT_NAMES = ("mlflow.py", "__init__.py")  # what ``local_mlflow_dirs`` looks at


@dataclass(frozen=True)
class HistoryTask:
    """One repository's history to analyze: its git directory, the mined commit, how complete it is."""

    repo: str
    git_dir: str
    commit: str
    history: str = ""


@dataclass(frozen=True)
class FileOutcome:
    """What the per-file passes made of one blob: its status, its call sites as ((api, category), n), and its
    problems as (line, stage, reason)."""

    status: str
    sites: tuple[tuple[tuple[str, str], int], ...] = ()
    problems: tuple[tuple[int | None, str, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps([self.status, [[api, category, n] for (api, category), n in self.sites],
                           [list(p) for p in self.problems]])

    @classmethod
    def from_json(cls, text: str) -> FileOutcome:
        status, sites, problems = json.loads(text)
        return cls(status, tuple(((api, category), n) for api, category, n in sites),
                   tuple((line, stage, reason) for line, stage, reason in problems))


@dataclass
class HistoryResult:
    """One repository's history rows, its problems, and what it cost."""

    repo: str
    history: list[HistoryRow] = field(default_factory=list)
    api_usage: list[HistoryApiUsageRow] = field(default_factory=list)
    problems: list[HistoryProblemRow] = field(default_factory=list)
    state: str = ""  # how complete the history was (the manifest's ``history``)
    n_blobs: int = 0
    n_parsed: int = 0
    new_cache: dict[str, str] = field(default_factory=dict)  # per-file cache entries this run computed
    failed: bool = False

    _TABLES = (("history", HistoryRow), ("api_usage", HistoryApiUsageRow), ("problems", HistoryProblemRow))

    def to_json(self) -> str:
        """The rows, for the per-repository cache (not ``new_cache``)."""
        data: dict[str, Any] = {name: [flat(r) for r in getattr(self, name)] for name, _t in self._TABLES}
        return json.dumps({**data, "repo": self.repo, "state": self.state, "n_blobs": self.n_blobs})

    @classmethod
    def from_json(cls, text: str) -> HistoryResult:
        data = json.loads(text)
        out = cls(data["repo"], state=data["state"], n_blobs=data["n_blobs"])
        for name, row_type in cls._TABLES:
            setattr(out, name, [unflat(row_type, r) for r in data[name]])
        return out

    @classmethod
    def failure(cls, task: HistoryTask, err: BaseException) -> HistoryResult:
        reason = f"history not analyzed: {type(err).__name__}: {err}"[:500]
        return cls(task.repo, problems=[HistoryProblemRow(task.repo, task.commit, "", "", None, "history", reason)],
                   state=task.history, failed=True)


class _ReadOnlyCache:
    """The results cache (``<out>/.cache.sqlite``, the engine's), read only: a worker's own connection,
    and the entries this worker computed for the repositories it analyzed just before, which the
    driver may not have written yet (``repo_state.RecentEntries``)."""

    def __init__(self, path: Path | None, recent: RecentEntries) -> None:
        self.db = open_cache_read_only(path)
        self.recent = recent if self.db is not None else None

    def get(self, key: str) -> str | None:
        return (self.recent.get(key) if self.recent is not None else None) or cached_value(self.db, key)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


@dataclass(frozen=True)
class HistoryAnalyzer:
    """Analyzes one repository's history at a time; picklable, so workers get one each."""

    resolver: Resolver
    fingerprint: str  # the ``parse`` stamp: the per-file cache's keys
    options: HistoryOptions = field(default_factory=HistoryOptions)
    max_file_bytes: int = 5_000_000
    cache_path: Path | None = None
    recent: RecentEntries = field(default_factory=RecentEntries, compare=False)  # this worker's, just before
    # the ``history`` stamp: each blob's outcome is kept in the results cache under it (by blob, kind and
    # import context), so that another walk (other ``--every``, ``--since``) neither reads nor parses it again
    stamp: str = ""

    def analyze(self, task: HistoryTask) -> HistoryResult:
        """Every selected first-parent commit of ``task.commit``, oldest first."""
        git_dir = Path(task.git_dir)
        commits = first_parent_history(git_dir, task.commit)
        opts = self.options
        chosen, dropped = select(commits, opts.since, opts.every, opts.max_commits)
        result = HistoryResult(task.repo, state=task.history)
        if dropped:
            result.problems.append(HistoryProblemRow(
                task.repo, commits[chosen[0]].sha, "", "", None, "history",
                f"{len(chosen) + dropped} commits selected, over --max-commits {opts.max_commits}: the newest "
                f"{len(chosen)} analyzed, the {dropped} oldest left out"))
        cache = _ReadOnlyCache(self.cache_path, self.recent)
        try:
            with BlobReader(git_dir) as reader:
                walk = _Walk(self, task.repo, reader, cache, result)
                wanted = set(chosen)
                for i, commit in enumerate(commits):
                    if commit.changes is None:
                        if i in wanted:
                            result.problems.append(HistoryProblemRow(
                                task.repo, commit.sha, "", "", None, "history",
                                f"tree cannot be read ({commit.error}): commit not analyzed"))
                        continue
                    walk.apply(commit.changes)
                    if i in wanted:
                        walk.evaluate(commit)
        finally:
            cache.close()
        if cache.recent is not None:
            cache.recent.add(result.new_cache)
        return result


class _Walk:
    """The state of one repository's walk: its tree, each code file's outcome, the running totals."""

    def __init__(self, analyzer: HistoryAnalyzer, repo: str, reader: BlobReader, cache: _ReadOnlyCache,
                 result: HistoryResult) -> None:
        self.an, self.repo, self.reader, self.cache, self.result = analyzer, repo, reader, cache, result
        self.tree: dict[str, tuple[str, str]] = {}
        self.code: dict[str, tuple[str, FileOutcome]] = {}  # path -> (kind, outcome) counted in the totals
        self.dirty: set[str] = set()
        self.context_files: set[str] = set()  # mlflow.py and __init__.py files
        self.reexport_files: set[str] = set()  # .py files that may re-export MLflow
        self.env_files: set[str] = set()  # what the per-repository passes read: MLprojects, environments, setup.py
        self.env_read: set[str] = set()  # the other files they read last time (includes, referenced files)
        self.context = (frozenset[str](), frozenset[str]())  # (shadowed directories, re-exports)
        self.context_dirty = self.env_dirty = False
        self.changed_code = self.changed_env = False
        self.requirement = ""
        self.counts: Counter[str] = Counter()  # python, notebook, mlproject
        self.totals: Counter[tuple[str, str]] = Counter()  # (api, code|notebook) -> call sites
        self.categories: Counter[str] = Counter()
        self.memo: dict[tuple[str, str, str], FileOutcome] = {}
        self.reexporting: dict[str, bool] = {}  # blob -> holds ``from mlflow import *``
        self.reported: set[str] = set()  # blobs and submodule paths with their problem rows written
        self.pending: list[tuple[str, str, int | None, str, str]] = []  # (path, blob, line, stage, reason)
        self.fetched: dict[str, bytes | None] = {}  # blobs read ahead for the commit being evaluated
        self.paths: dict[str, tuple[str, str, str]] = {}  # path -> (name, kind, parent directory)
        self.shadowing: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())  # context files -> shadowed
        self.requirements = Requirements(repo, analyzer.resolver, analyzer.max_file_bytes, self._blob, self._read_ahead,
                                         lambda path: self._facts(path)[1])

    def _facts(self, path: str) -> tuple[str, str, str]:
        """A path's name, kind (``file_kind``) and parent directory, worked out once per path."""
        facts = self.paths.get(path)
        if facts is None:
            pure = PurePosixPath(path)
            facts = self.paths[path] = (pure.name, file_kind(path), str(pure.parent))
        return facts

    def _read_ahead(self, blobs: Iterable[str]) -> None:
        """Reads these blobs together (one round trip to git), for ``_blob`` to answer from."""
        wanted = [b for b in blobs if b not in self.fetched]
        if wanted:
            self.fetched.update(self.reader.read_many(wanted))

    def _blob(self, sha: str) -> bytes | None:
        if sha in self.fetched:
            return self.fetched[sha]
        return self.reader.read(sha)

    # ---- moving the tree --------------------------------------------------------------------
    def _count(self, path: str, mode: str, sign: int) -> None:
        if mode == SUBMODULE:
            return
        name, kind, _parent = self._facts(path)
        if name.lower() == "mlproject":
            self.counts["mlproject"] += sign
        if kind in CODE_KINDS and mode != SYMLINK:
            self.counts[kind] += sign

    def apply(self, changes: list[Change]) -> None:
        """Move the tree by one commit's changes, noting what must be looked at again."""
        for ch in changes:
            path = ch.path
            old = self.tree.get(path)
            if old is not None:
                self._count(path, old[0], -1)
            if ch.mode:
                self.tree[path] = (ch.mode, ch.sha)
                self._count(path, ch.mode, 1)
            else:
                self.tree.pop(path, None)
            if ch.mode == SUBMODULE and path not in self.reported:
                self.reported.add(path)
                self.pending.append((path, ch.sha, None, "history", SUBMODULE_REASON))
            name, kind, _parent = self._facts(path)
            if kind in CODE_KINDS:
                self.dirty.add(path)
                self.changed_code = True
            if kind in ("mlproject", "environment") or name == "setup.py":
                _keep(self.env_files, path, bool(ch.mode))
                self.env_dirty = True
                self.changed_env = self.changed_env or kind != "python"  # setup.py is code
            elif name == "MLmodel" or path in self.env_read:
                self.env_dirty = True
                self.changed_env = self.changed_env or path in self.env_read
            if name in _CONTEXT_NAMES:
                _keep(self.context_files, path, bool(ch.mode))
                self.context_dirty = True
            if may_reexport(path):
                _keep(self.reexport_files, path, bool(ch.mode))
                self.context_dirty = True

    # ---- one analyzed commit ----------------------------------------------------------------
    def evaluate(self, commit: Commit) -> None:
        """The rows of one analyzed commit, from what changed since the last one."""
        if self.context_dirty:
            self._refresh_context()
        shadowed, reexports = self.context
        todo = []
        for path in sorted(self.dirty):
            before = self.code.pop(path, None)
            if before is not None:
                self._add(*before, -1)
            entry = self.tree.get(path)
            if entry is None or entry[0] in (SYMLINK, SUBMODULE):
                continue
            _name, kind, parent = self._facts(path)
            todo.append((path, entry[1], kind, FileContext(parent in shadowed, reexports)))
        self._read_ahead(blob for _p, blob, kind, context in todo if not self._known(blob, kind, context))
        for path, blob, kind, context in todo:
            outcome = self._outcome(blob, kind, context, path)
            self.code[path] = (kind, outcome)
            self._add(kind, outcome, 1)
        self.dirty.clear()
        self.fetched.clear()
        if self.env_dirty:
            self.requirement, self.env_read = self.requirements.declared(self.tree, self.env_files)
            self.env_dirty = False
            self.fetched.clear()
        res, repo = self.result, self.repo
        for path, blob, line, stage, reason in self.pending:
            res.problems.append(HistoryProblemRow(repo, commit.sha, path, blob, line, stage, reason))
        self.pending.clear()
        per_category: dict[str, Any] = {f"n_{c}": self.categories[c] for c in CATEGORIES}
        res.history.append(HistoryRow(
            repo, commit.sha, commit.parent, commit.committed_at, self.counts["python"], self.counts["notebook"],
            sum(self.categories.values()), self.counts["mlproject"], self.requirement, self.changed_code,
            self.changed_env, **per_category))
        res.api_usage.extend(HistoryApiUsageRow(repo, commit.sha, api, kind, n)
                             for (api, kind), n in sorted(self.totals.items()) if n)
        self.changed_code = self.changed_env = False

    def _add(self, kind: str, outcome: FileOutcome, sign: int) -> None:
        where = "notebook" if kind == "notebook" else "code"
        for (api, category), n in outcome.sites:
            self.totals[api, where] += sign * n
            self.categories[category] += sign * n

    def _refresh_context(self) -> None:
        """The import context of the tree now (a local module named mlflow, the project's re-exports);
        every code file is looked at again when it changed."""
        files = frozenset(self.context_files)
        if files != self.shadowing[0]:  # which directories are shadowed depends on the paths alone
            self.shadowing = (files, frozenset(local_mlflow_dirs(sorted(files))))
        shadowed = self.shadowing[1]
        names: set[str] = set()
        self._read_ahead(blob for path in self.reexport_files for mode, blob in [self.tree[path]]
                         if mode != SYMLINK and blob not in self.reexporting)
        for path in sorted(self.reexport_files):
            mode, blob = self.tree[path]
            if mode == SYMLINK:
                continue
            if blob not in self.reexporting:
                data = self._blob(blob)
                self.reexporting[blob] = data is not None and len(data) <= 1_000_000 and reexports_mlflow(data)
            if self.reexporting[blob]:
                names.update(module_names(path))
        context = (shadowed, frozenset(names))
        if context != self.context:
            self.context = context
            self.dirty.update(self.code)
            self.dirty.update(p for p in self.tree if self._facts(p)[1] in CODE_KINDS)
        self.context_dirty = False
        self.fetched.clear()

    def _outcome_key(self, blob: str, kind: str, context: FileContext) -> str | None:
        """The results cache's key of a blob's outcome (None without a ``history`` stamp)."""
        an = self.an
        return None if not an.stamp else "outcome:" + hashlib.sha256(
            f"{an.stamp}\0{blob}\0{kind}\0{context.key()}\0{an.max_file_bytes}".encode()).hexdigest()

    def _known(self, blob: str, kind: str, context: FileContext) -> bool:
        """Whether this blob's outcome in this context is known: from this run, else from the results cache
        (an earlier walk with this code); taken into this run's then."""
        key = (blob, kind, context.key())
        if key in self.memo:
            return True
        okey = self._outcome_key(blob, kind, context)
        kept = None if okey is None else self.cache.get(okey) or self.result.new_cache.get(okey)
        if kept is None:
            return False
        self.memo[key] = FileOutcome.from_json(kept)
        self.result.n_blobs += 1
        return True

    def _outcome(self, blob: str, kind: str, context: FileContext, path: str) -> FileOutcome:
        """What the per-file passes make of this blob in this context: once per run, and kept for the next."""
        key = (blob, kind, context.key())
        if not self._known(blob, kind, context):
            data = self._blob(blob)
            if data is None:  # not kept: a later fetch may bring the blob
                outcome = FileOutcome("problem", (), ((None, "read", MISSING_REASON),))
            else:
                outcome = self._run_passes(data, kind, context, path)
                if (okey := self._outcome_key(blob, kind, context)) is not None:
                    self.result.new_cache[okey] = outcome.to_json()
            self.memo[key] = outcome
            self.result.n_blobs += 1
        outcome = self.memo[key]
        if outcome.problems and blob not in self.reported:  # one row per blob, at the first commit holding it
            self.reported.add(blob)
            self.pending.extend((path, blob, line, stage, reason) for line, stage, reason in outcome.problems)
        return outcome

    def _run_passes(self, data: bytes, kind: str, context: FileContext, path: str) -> FileOutcome:
        if len(data) > self.an.max_file_bytes:
            return FileOutcome("problem", (), ((None, "read", f"file too large ({len(data)} bytes)"),))
        if b"mlflow" not in data.lower() and not is_binary(data):
            # what the passes make of text without 'mlflow' (code_findings.file_pass's first gate, after
            # the module graph's facts, which history does not work out): no finding, no problem
            return FileOutcome(FileStatus.NO_MLFLOW)
        scratch = RepoResult(self.repo)
        checkout = Checkout(RepoTask(self.repo, "", ""), Path(), frozenset(), [], [], self.an.max_file_bytes,
                            wants_facts=False)  # the module graph and seeds of a commit are not kept
        row = FileRow(self.repo, path, kind)
        an, res = self.an, self.result

        key = file_cache_key(data, kind, context, an.fingerprint)

        def cached() -> Parsed | None:
            hit = self.cache.get(key) or res.new_cache.get(key)
            return findings_from_json(hit) if hit is not None else None

        def parse(compute: Callable[[], Parsed]) -> Parsed:
            hit = cached()
            if hit is not None:
                return hit
            findings, bad = compute()
            res.n_parsed += 1
            res.new_cache[key] = findings_to_json(findings, bad)
            return findings, bad

        file = SourceFile(row, data, context, an.resolver, parse, cached)
        for file_pass in FILE_PASSES.get(kind, ()):
            file_pass(file, checkout, scratch)
        sites = Counter((s.site.api, s.site.category) for s in scratch.call_sites)
        return FileOutcome(row.status, tuple(sorted(sites.items())),
                           tuple((p.line, str(p.stage), p.reason) for p in scratch.problems))

def _keep(paths: set[str], path: str, present: bool) -> None:
    if present:
        paths.add(path)
    else:
        paths.discard(path)

