"""The engine: a configured ``RepoAnalyzer`` runs every pass over one checkout, in this process, and
returns a typed ``RepoResult``.

The file stage walks the checkout once, reads each file it may analyze, and hands it to the per-file
passes of its kind (``passes.registry.FILE_PASSES``, a table); the code pass's LibCST parse goes through
this engine's cache of findings. Then the per-repository passes of ``passes.registry.REPO_PASSES`` run in
order over the ``Checkout`` the file stage leaves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analysis.engine.cache import ResultCache
from analysis.ftypes import FileContext
from analysis.passes.registry import FILE_PASSES, REPO_PASSES
from analysis.passes.registry import file_kind as file_kind  # the table of kinds sits with the passes
from analysis.passes.mlflow_calls import Resolver, may_reexport, module_names, reexports_mlflow
from analysis.passes.mlflow_calls import local_mlflow_dirs as local_mlflow_dirs
from analysis.passes.module_graph import dotted_modules
from analysis.repo_state import (Checkout, Parsed, RecentEntries, RepoResult, RepoTask, SourceFile, file_cache_key,
                                 findings_from_json, findings_to_json)
from analysis.rows import FileRow, FileStatus, ProblemRow, Stage


def listing(root: Path) -> Iterator[tuple[str, Path, bool]]:
    """(posix relative path, path, whether it is a symlink) of every file under root, symlinks included and
    not descended into, ``.git`` left out; each link known from the directory's listing (``os.scandir``), so
    no file is asked again. In each directory its files (and links to files or to nothing) by name, then its
    links to directories, then each other directory in turn: ``os.walk``'s order, top down."""
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        top, prefix = stack.pop()
        files: list[tuple[str, bool]] = []
        dirs: list[tuple[str, bool]] = []
        try:
            with os.scandir(top) as listed:
                for entry in listed:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    try:
                        link = entry.is_symlink()
                    except OSError:
                        link = False
                    if not is_dir:
                        files.append((entry.name, link))
                    elif entry.name != ".git":
                        dirs.append((entry.name, link))
        except OSError:  # os.walk's default: a directory that cannot be listed is passed over
            continue
        base = Path(top)
        files.sort()
        dirs.sort()
        for name, link in files:
            yield prefix + name, base / name, link
        for name, link in dirs:
            if link:
                yield prefix + name, base / name, True
        stack.extend((os.path.join(top, name), prefix + name + "/") for name, link in reversed(dirs) if not link)


def mlflow_reexports(root: Path, paths: list[str]) -> frozenset[str]:
    """Dotted names of the project's modules that re-export MLflow with ``from mlflow import *``."""
    out: set[str] = set()
    for rel in paths:
        if not may_reexport(rel):
            continue
        path = root / rel
        try:
            if path.is_symlink() or path.stat().st_size > 1_000_000 or not reexports_mlflow(path.read_bytes()):
                continue
        except OSError:
            continue
        out.update(module_names(rel))
    return frozenset(out)


CRASHED = "the parser killed its worker on this file (a native crash or out of memory): not read"


def crashed_file(blackbox_dir: Path, repo: str) -> str | None:
    """The file of ``repo`` the last worker to die was parsing, from the black box (notes of dead
    workers are removed as they are read); None if none names ``repo``."""
    dead: list[tuple[float, Path]] = []
    for note in blackbox_dir.glob("[0-9]*"):
        try:
            os.kill(int(note.name), 0)
            continue  # that worker is alive: its note is about a parse under way
        except ProcessLookupError:
            dead.append((note.stat().st_mtime, note))
        except (OSError, ValueError):
            continue
    for _time, note in sorted(dead, reverse=True):  # the newest first: the worker that died alone last
        try:
            text = note.read_text(encoding="utf-8")
            note.unlink(missing_ok=True)
            noted_repo, rel = json.loads(text)
        except (OSError, ValueError):  # empty: it died between parses
            continue
        if noted_repo == repo:
            return str(rel)
    return None


@dataclass(frozen=True)
class RepoAnalyzer:
    """Analyzes one checkout at a time with the catalog's resolver; picklable, so workers get one each.

    ``cache_path``: the results cache to read per-file findings from (read-only; the driver writes).
    ``graphs_dir``: where each repository's traceability graph is written (none when unset).
    """

    resolver: Resolver
    fingerprint: str
    max_file_bytes: int = 5_000_000
    cache_path: Path | None = None
    graphs_dir: Path | None = None
    revision_releases: Mapping[str, str] = field(default_factory=dict)  # alembic head -> first MLflow release
    # where each worker notes the file LibCST is parsing, so the driver can tell which file killed a worker
    blackbox_dir: Path | None = None
    recent: RecentEntries = field(default_factory=RecentEntries, compare=False)  # this worker's, just before

    def analyze_safely(self, task: RepoTask, on_file: Callable[[], None] | None = None) -> RepoResult:
        """``analyze``, where an exception fails this repository only (a problem row)."""
        try:
            return self.analyze(task, on_file)
        except Exception as err:  # a bug, or an input no pass expected: the run goes on without this repository
            import logging
            logging.getLogger(__name__).exception("%s: analysis failed", task.repo)
            return RepoResult.failure(task, err)

    def analyze(self, task: RepoTask, on_file: Callable[[], None] | None = None) -> RepoResult:
        """Every pass over the checkout of ``task``; ``on_file()`` is called as each file starts."""
        root = Path(task.root)
        if not root.is_dir():
            raise FileNotFoundError(f"checkout {root} is missing (mine the corpus again)")
        result = RepoResult(task.repo)
        entries = list(listing(root))
        paths = [rel for rel, _, _ in entries]
        symlinks = frozenset(rel for rel, _, link in entries if link)
        py_files = [rel for rel in paths if rel.endswith(".py") and rel not in symlinks]
        checkout = Checkout(task, root, frozenset(paths), paths, py_files, self.max_file_bytes, self.revision_releases,
                            dotted_modules(py_files), self.graphs_dir, symlinks=symlinks)
        shadow_dirs = local_mlflow_dirs(paths)
        reexports = mlflow_reexports(root, paths)
        cache = _read_only_cache(self.cache_path)
        for rel, path, link in entries:
            if on_file is not None:
                on_file()  # counted as it starts: every path below may return early
            row = FileRow(task.repo, rel, file_kind(rel))
            result.files.append(row)
            # the file's directory, as str(PurePosixPath(rel).parent) gives it
            self._file(checkout, result, row, path, link, FileContext(
                (rel.rpartition("/")[0] or ".") in shadow_dirs, reexports), cache)
        for repo_pass in REPO_PASSES:
            repo_pass(checkout, result)
        if cache is not None:
            self.recent.add(result.new_cache)
        return result

    def _file(self, checkout: Checkout, result: RepoResult, row: FileRow, path: Path, link: bool,
              context: FileContext, cache: ResultCache | None) -> None:
        """The per-file stage of one file (``link``: a symlink): its row of ``files.csv``, then the
        passes of its kind."""
        repo, rel, kind = row.repo, row.path, row.kind
        if rel in checkout.task.skip:
            row.status, row.reason = FileStatus.PROBLEM, CRASHED
            result.problems.append(ProblemRow(repo, rel, None, Stage.PARSE, CRASHED))
            return
        if link:
            row.kind, row.status, row.reason = "symlink", FileStatus.SKIPPED, "symlink (its target is analyzed where it lies)"
            return
        passes = FILE_PASSES.get(kind, ())
        if not passes:
            row.status = FileStatus.NOT_ANALYZED
            return
        size = row.size = path.stat().st_size
        if size > self.max_file_bytes:
            row.status, row.reason = FileStatus.PROBLEM, f"file too large ({size} bytes)"
            result.problems.append(ProblemRow(repo, rel, None, Stage.READ, row.reason))
            return
        data = path.read_bytes()

        def parse(compute: Callable[[], Parsed]) -> Parsed:
            """The findings cached for these bytes (read in this context, by this code), else ``compute()``'s."""
            key = file_cache_key(data, kind, context, self.fingerprint)
            hit = ((cache.get(key) or self.recent.get(key)) if cache is not None else None) or result.new_cache.get(key)
            if hit is not None:
                row.cached = True
                result.n_cached += 1
                return findings_from_json(hit)
            with self._in_flight(repo, rel):
                findings, bad = compute()
            result.n_parsed += 1
            result.new_cache[key] = findings_to_json(findings, bad)
            return findings, bad

        file = SourceFile(row, data, context, self.resolver, parse)
        for file_pass in passes:
            file_pass(file, checkout, result)

    @contextmanager
    def _in_flight(self, repo: str, rel: str) -> Iterator[None]:
        """Note in the black box that this process is parsing ``rel`` (emptied when the parse returns).

        The note is this process's file, opened once: each parse costs a write and a truncation,
        not a file made and removed."""
        if self.blackbox_dir is None:
            yield
            return
        fd = _note_fd(self.blackbox_dir)
        data = json.dumps([repo, rel]).encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
        try:
            yield
        finally:
            os.ftruncate(fd, 0)


_NOTES: dict[tuple[Path, int], int] = {}  # (black box, pid) -> this process's note, open


def _note_fd(blackbox_dir: Path) -> int:
    key = (blackbox_dir, os.getpid())  # a forked worker opens its own
    if key not in _NOTES:
        _NOTES[key] = os.open(blackbox_dir / str(key[1]), os.O_WRONLY | os.O_CREAT, 0o644)
    return _NOTES[key]


_OPEN_CACHES: dict[Path, ResultCache] = {}


def _read_only_cache(path: Path | None) -> ResultCache | None:
    """This process's read-only connection to the results cache (opened once per process)."""
    if path is None:
        return None
    if path not in _OPEN_CACHES:
        _OPEN_CACHES[path] = ResultCache(path, read_only=True)
    return _OPEN_CACHES[path]


def close_process_handles() -> None:
    """Close this process's read-only cache connections and black-box notes (at the end of a run)."""
    for cache in _OPEN_CACHES.values():
        cache.close()
    _OPEN_CACHES.clear()
    for (_dir, pid), fd in list(_NOTES.items()):
        if pid == os.getpid():
            os.close(fd)
            del _NOTES[_dir, pid]
