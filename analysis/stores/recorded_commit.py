"""The MLproject files of the commit a stored run recorded, read from the clone's git objects.

A run of ``mlflow run`` records its commit (``mlflow.source.git.commit``); the parameters it logged are
the ones its entry point declared *then*. Where the mined clone holds that commit, its tree is listed
(``git ls-tree``) and every MLproject of it (a regular file whose name lower-cases to ``mlproject``, as
MLflow finds one) is read (``git cat-file``) and parsed by the same reader as HEAD's
(``analysis.reading.mlproject.parse_mlproject``, with the commit's paths for the environment files it
names). Nothing is checked out, written or fetched (``protocol.allow=never``: a blob a partial clone
lacks is missing, and the commit unreadable). Each commit is read once per repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

from analysis.reading.mlproject import MLproject, is_mlproject_name, parse_mlproject
from miner.gitio import OFFLINE_CONFIG, SAFE_CONFIG, GitError, git_env, list_tree

SYMLINK_MODE = "120000"
MAX_MLPROJECT_BYTES = 4 << 20  # over the YAML reader's bound already: such a file is not read (unreadable)


class ProjectsAtCommit:
    """The MLprojects of a commit of one clone (``git_dir``), each commit read once; None for a commit whose
    tree or MLproject blobs cannot be read (no git directory, an object missing, a git error)."""

    def __init__(self, git_dir: Path | None) -> None:
        self.git_dir = git_dir
        self._read: dict[str, list[MLproject] | None] = {}

    def __call__(self, commit: str) -> list[MLproject] | None:
        if commit not in self._read:
            self._read[commit] = self._projects(commit) if self.git_dir is not None and commit else None
        return self._read[commit]

    def _projects(self, commit: str) -> list[MLproject] | None:
        assert self.git_dir is not None
        try:
            entries = list_tree(self.git_dir, commit)
        except GitError:
            return None
        files = frozenset(e.path for e in entries if e.type == "blob")
        wanted = [e for e in entries if e.type == "blob" and e.mode != SYMLINK_MODE
                  and is_mlproject_name(PurePosixPath(e.path).name)]
        blobs = read_blobs(self.git_dir, [e.sha for e in wanted])
        if blobs is None:
            return None
        projects = []
        for entry in sorted(wanted, key=lambda e: e.path):
            data = blobs.get(entry.sha)
            if data is None:
                return None
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:  # as HEAD's pass: MLflow could not read it, it declares nothing
                projects.append(MLproject(path=entry.path, valid=False, error="bytes not valid utf-8"))
                continue
            projects.append(parse_mlproject(text, entry.path, files))
        return projects


def read_blobs(git_dir: Path, shas: list[str]) -> dict[str, bytes | None] | None:
    """sha -> the blob's bytes (None: missing from the clone, or over ``MAX_MLPROJECT_BYTES``), from one
    ``git cat-file --batch``; None when git cannot be run."""
    if not shas:
        return {}
    wanted = list(dict.fromkeys(shas))
    cmd = ["git", *SAFE_CONFIG, *OFFLINE_CONFIG, "--git-dir", str(git_dir), "cat-file", "--batch"]
    try:
        proc = subprocess.run(cmd, input="".join(f"{s}\n" for s in wanted).encode(), capture_output=True,
                              env=git_env(), timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    out: dict[str, bytes | None] = {}
    data, at = proc.stdout, 0
    for sha in wanted:
        end = data.find(b"\n", at)
        if end < 0:
            return None
        header = data[at:end].split()
        at = end + 1
        if len(header) < 3 or header[1] != b"blob":  # "<sha> missing"
            out[sha] = None
            continue
        size = int(header[2])
        out[sha] = data[at:at + size] if size <= MAX_MLPROJECT_BYTES else None
        at += size + 1  # the contents, then a newline
    return out
