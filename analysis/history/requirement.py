"""The MLflow requirement a commit's own environment files declare, worked out file by file.

At a commit where one of its inputs changed, the requirement is what the per-repository passes
(``mlproject``, ``environments``) read in the tree: the ``mlflow``/``mlflow-skinny`` requirements of
the environment files (``setup.py`` among them) and of those the MLprojects name, where they are the
project's own (not a model's). Each file's part is read alone, as those passes read it among the
others (they read each file on its own: an MLproject gives the file it names, an environment file its
requirements, through the files it includes and whether an ``MLmodel`` lies beside it), and kept under
(path, blob) with what reading it asked of the tree: the files read (includes) and the paths looked up.
At a later commit the part is taken again where all of these are as they were; only what changed, or
what it depends on, is read again (``test_the_requirement_kept_per_file_is_the_one_read_whole``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path

from analysis.ftypes import FileContext
from analysis.history.gitlog import SUBMODULE, SYMLINK
from analysis.passes import environments, mlproject
from analysis.passes.mlflow_calls import Resolver
from analysis.repo_state import Checkout, RepoResult, RepoTask, SourceFile
from analysis.rows import FileRow

MLFLOW_PACKAGES = ("mlflow", "mlflow-skinny")
Tree = Mapping[str, tuple[str, str]]  # path -> (mode, blob)
State = tuple[str, str] | None  # a path's (mode, blob) in the tree, None where it is not there


def _there(tree: Tree, path: str) -> bool:
    """``path`` is one of the tree's paths as the passes' checkout lists them (submodules left out)."""
    entry = tree.get(path)
    return entry is not None and entry[0] != SUBMODULE


class _AskedPaths(Set[str]):
    """The tree's paths (submodules left out, as the passes' checkout lists them), noting each path
    asked about and the answer; going over them all (which a part could then depend on in any way)
    is noted too."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.asked: dict[str, bool] = {}
        self.listed = False

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        found = self.asked[path] = _there(self.tree, path)
        return found

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return (p for p, (mode, _blob) in self.tree.items() if mode != SUBMODULE)

    def __len__(self) -> int:
        self.listed = True
        return sum(1 for mode, _blob in self.tree.values() if mode != SUBMODULE)


@dataclass(frozen=True)
class _Part:
    """One file's part of the requirement, and what reading it asked of the tree."""

    value: frozenset[str]  # requirements (``name+spec``); for an MLproject, the environment file it names
    kept: bool  # an environment file the ``environments`` pass keeps (so not read again as one named)
    read: tuple[tuple[str, State], ...]  # the files read, as they were
    asked: tuple[tuple[str, bool], ...]  # the paths looked up, and whether they were there


class Requirements:
    """The requirement at each commit of one repository's walk, each file's part kept for the next commits."""

    def __init__(self, repo: str, resolver: Resolver, max_file_bytes: int, blob: Callable[[str], bytes | None],
                 read_ahead: Callable[[Iterable[str]], None], kind_of: Callable[[str], str]) -> None:
        self.repo, self.resolver, self.max_file_bytes = repo, resolver, max_file_bytes
        self.blob, self.read_ahead = blob, read_ahead  # a blob's bytes; blobs wanted together, before
        self.kind_of = kind_of  # a path's kind (``registry.file_kind``, which the walk works out once per path)
        self.parts: dict[tuple[str, State, str], list[_Part]] = {}  # (path, its state, role) -> parts read

    def declared(self, tree: Tree, env_files: Iterable[str]) -> tuple[str, set[str]]:
        """The requirement the tree declares (``;``-joined, sorted) from its MLprojects, environment files and
        ``setup.py`` files (``env_files``), and the other files read for it (includes, files MLprojects name)."""
        files = sorted(env_files)
        mlprojects = {rel for rel in files if self.kind_of(rel) == "mlproject"}
        parts = self._parts(tree, [(rel, "mlproject" if rel in mlprojects else "environment") for rel in files])
        named = {f for rel in mlprojects for f in parts[rel].value}
        kept = {rel for rel in files if parts[rel].kept}
        named_parts = self._parts(tree, [(rel, "named") for rel in sorted(named - kept)])
        found = set().union(*(parts[rel].value for rel in files if parts[rel].kept),
                            *(part.value for part in named_parts.values()))
        read = {p for part in [*parts.values(), *named_parts.values()] for p, state in part.read
                if state is not None and state[0] not in (SYMLINK, SUBMODULE)}
        return ";".join(sorted(found)), read - set(files)

    def _parts(self, tree: Tree, wanted: list[tuple[str, str]]) -> dict[str, _Part]:
        """Each wanted (path, role)'s part: kept where what it read and asked is as it was, else read now."""
        out: dict[str, _Part] = {}
        for rel, role in wanted:
            for part in self.parts.get((rel, tree.get(rel), role), ()):
                if all(tree.get(p) == state for p, state in part.read) and all(
                        _there(tree, p) == there for p, there in part.asked):
                    out[rel] = part
                    break
        todo = [(rel, role) for rel, role in wanted if rel not in out]
        self.read_ahead(state[1] for rel, _role in todo if (state := tree.get(rel)) is not None
                        and state[0] not in (SYMLINK, SUBMODULE))
        for rel, role in todo:
            part, reusable = self._read(tree, rel, role)
            out[rel] = part
            if reusable:
                self.parts.setdefault((rel, tree.get(rel), role), []).append(part)
        return out

    def _read(self, tree: Tree, rel: str, role: str) -> tuple[_Part, bool]:
        """One file's part, read alone as the passes read it among the others, and whether it may be taken
        again (not when reading it went over every path: it could then depend on any)."""
        paths = _AskedPaths(tree)
        read: dict[str, State] = {}

        def reader(path: str) -> bytes | None:
            """A file's bytes as the passes' checkout gives them (``Checkout.reader``), noted."""
            state = read[path] = tree.get(path)
            if state is None or state[0] in (SYMLINK, SUBMODULE):
                return None
            data = self.blob(state[1])
            return data if data is not None and len(data) <= self.max_file_bytes else None

        repo = self.repo
        checkout = Checkout(RepoTask(repo, "", ""), Path(), paths, [], [], self.max_file_bytes, reader=reader)
        scratch = RepoResult(repo)
        kept = False
        data = checkout.file_bytes(rel) if role == "named" else reader(rel)
        if data is not None:
            row = FileRow(repo, rel, self.kind_of(rel))
            file = SourceFile(row, data, FileContext(), self.resolver, lambda compute: compute())
            if role == "mlproject":
                mlproject.file_pass(file, checkout, scratch)
            elif role == "named":  # as ``environments.repo_pass`` takes a file an MLproject names
                checkout.env_files.append((rel, data, row))
            else:
                environments.file_pass(file, checkout, scratch)
                kept = bool(checkout.env_files)
            if role != "mlproject":
                environments.repo_pass(checkout, scratch)
        value = (frozenset(m.env_file for m in scratch.mlprojects if m.env_file) if role == "mlproject" else
                 frozenset(f"{d.name}{d.spec}" for d in scratch.dependencies
                           if d.name in MLFLOW_PACKAGES and d.origin == "project"))
        return _Part(value, kept, tuple(read.items()), tuple(paths.asked.items())), not paths.listed
