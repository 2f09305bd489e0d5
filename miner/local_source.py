"""Local source: every git repository under a directory, bare or with a work tree, any depth."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from miner.ftypes import RepoCandidate
from miner.gitio import head_branch, origin_url

# https://host/owner/name(.git), ssh://git@host/owner/name, git@host:owner/name.git
_URL_RE = re.compile(r"^(?:[a-z+]+://(?:[^@/]+@)?[^/]+/|[^@/]+@[^:/]+:)(?P<path>[^?#]+?)(?:\.git)?/?$")


def git_dir_of(path: Path) -> Path | None:
    """The git directory of ``path`` if it is a repository (work tree or bare), else None."""
    dotgit = path / ".git"
    if dotgit.is_dir():
        return dotgit
    if dotgit.is_file():
        text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text.removeprefix("gitdir:").strip())
            return target if target.is_absolute() else (path / target).resolve()
    if (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir():
        return path
    return None


def find_repositories(root: Path) -> Iterator[tuple[Path, Path]]:
    """(repository path, git dir) of every repository under ``root``, sorted, not descending into one."""
    root_git = git_dir_of(root)
    if root_git is not None:
        yield root, root_git
        return
    for dirpath, dirnames, _files in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        keep = []
        for name in dirnames:
            child = here / name
            if child.is_symlink():
                continue
            found = git_dir_of(child)
            if found is not None:
                yield child, found
            else:
                keep.append(name)
        dirnames[:] = keep


def identity_from_url(url: str) -> str:
    """``owner/name`` from a remote URL, '' for local paths and unknown forms."""
    match = _URL_RE.match(url.strip())
    if not match:
        return ""
    parts = [p for p in match.group("path").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


def identity_from_path(repo_path: Path, root: Path) -> str:
    """A repository name from its path under ``root``.

    ``a/b.git`` gives ``a/b``; the mirror layout ``owner+name/repo`` (the search tool's
    ``fetch``) gives ``owner/name``.
    """
    try:
        rel = repo_path.relative_to(root)
    except ValueError:
        rel = Path(repo_path.name)
    parts = [p for p in rel.parts if p not in ("", ".")] or [root.resolve().name]
    if parts[-1] in ("repo", ".git") and len(parts) >= 2:
        parts = parts[:-1]
    parts[-1] = parts[-1].removesuffix(".git")
    if len(parts) == 1 and "+" in parts[0]:
        owner, _, name = parts[0].partition("+")
        parts = [owner, name]
    return "/".join(parts)


def iter_local_candidates(root: Path) -> Iterator[RepoCandidate]:
    """A candidate per repository under ``root``; the clone URL is its git directory."""
    seen: dict[str, int] = {}
    for repo_path, git_dir in find_repositories(root):
        url = origin_url(git_dir)
        name = identity_from_url(url) if url else ""
        if not name:
            name = identity_from_path(repo_path, root)
        # two clones of one origin under the root: keep both, told apart
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}@{identity_from_path(repo_path, root)}"
        yield RepoCandidate(
            repo=name,
            source="local",
            clone_url=str(git_dir.resolve()),
            default_branch=head_branch(git_dir),
        )
