"""Git plumbing: shallow fetches and reading a commit's tree without touching any work tree.

Every command runs with hooks disabled, no prompts, no LFS smudging, no system or global
config, and ``protocol.allow=never`` wherever no network is wanted, so that a partial clone
with missing blobs reports them instead of fetching them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

SAFE_CONFIG: tuple[str, ...] = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.symlinks=true",
    "-c", "core.fsmonitor=false",
    "-c", "filter.lfs.smudge=",
    "-c", "filter.lfs.process=",
    "-c", "filter.lfs.required=false",
    "-c", "submodule.recurse=false",
    "-c", "protocol.file.allow=always",
    "-c", "safe.directory=*",
)

OFFLINE_CONFIG: tuple[str, ...] = ("-c", "protocol.allow=never", "-c", "protocol.file.allow=never")

MISSING_REASON = "object missing from the clone (partial clone or snapshot)"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")

# Files whose contents identify a copy of a project (code, MLproject, environments).
FINGERPRINT_NAMES = re.compile(
    r"(?i)(\.py|\.ipynb|\.r|/mlproject|^mlproject|conda[^/]*\.ya?ml|environment[^/]*\.ya?ml|"
    r"python_env\.ya?ml|requirements[^/]*\.txt|dockerfile|setup\.py|setup\.cfg|pyproject\.toml)$"
)


class GitError(Exception):
    """A git command failed; ``stderr`` holds git's own words."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        self.args_ = list(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"git {' '.join(self.args_[:3])}... exited {returncode}: {self.last_line}")

    @property
    def last_line(self) -> str:
        """Git's last line of complaint, for a one-line reason."""
        lines = [ln for ln in self.stderr.splitlines() if ln.strip()]
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
        return (fatal or lines or ["(no message)"])[-1][:300]


NO_ANSWER = "true"  # the program true(1) as askpass: every prompt gets an empty answer


def git_env() -> dict[str, str]:
    """An environment where git neither prompts nor reads user or system configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS=NO_ANSWER,
        SSH_ASKPASS=NO_ANSWER,
        GIT_LFS_SKIP_SMUDGE="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        LC_ALL="C",
    )
    return env


def run_git(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    offline: bool = True,
    timeout: float | None = 600.0,
) -> str:
    """Run git and return its stdout as text; raise GitError on failure."""
    cmd = ["git", *SAFE_CONFIG, *(OFFLINE_CONFIG if offline else ())]
    if git_dir is not None:
        cmd += ["--git-dir", str(git_dir)]
    cmd += list(args)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, env=git_env(), timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as err:
        raise GitError(args, -1, f"fatal: timed out after {timeout:.0f}s") from err
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout.decode("utf-8", "replace")


def is_empty_remote_error(err: GitError) -> bool:
    """True when a fetch failed because the remote has no commits at all."""
    text = err.stderr.lower()
    return "couldn't find remote ref" in text or "remote head refers to nonexistent" in text


def fetch_commit(
    url: str,
    git_dir: Path,
    *,
    commit: str = "",
    blob_limit: str = "",
    timeout: float = 900.0,
    history: bool = False,
) -> str:
    """Fetch one commit (``commit`` or the remote's HEAD) shallowly into a new bare repository; with
    ``history``, the commit with every commit before it (one fetch, blobs over ``blob_limit`` left out
    as without it).

    Returns the full SHA fetched. Falls back to a full fetch where the server cannot serve a
    shallow or by-SHA fetch (git's "dumb" HTTP protocol, servers refusing unadvertised SHAs).
    """
    run_git(["init", "--bare", "--quiet", "--template=", str(git_dir)], timeout=60)
    filt = [f"--filter=blob:limit={blob_limit}"] if blob_limit else []
    ref = commit or "HEAD"
    base = ["fetch", "--quiet", "--no-tags", "--no-recurse-submodules", *filt]
    try:
        run_git([*base, *(() if history else ("--depth", "1")), url, ref], git_dir=git_dir, offline=False,
                timeout=timeout)
    except GitError as err:
        if is_empty_remote_error(err) and not commit:
            raise
        log.debug("shallow fetch of %s failed (%s); fetching whole", url, err.last_line)
        if "dumb http" in err.stderr.lower():
            # git's dumb HTTP transport hangs on partial-clone filters: fetch whole blobs there,
            # into a fresh repository (the failed attempt left a promisor remote configured)
            base = [a for a in base if not a.startswith("--filter=")]
            remove_tree(git_dir)
            run_git(["init", "--bare", "--quiet", "--template=", str(git_dir)], timeout=60)
        if commit:
            run_git([*base, url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
                    git_dir=git_dir, offline=False, timeout=timeout)
        else:
            run_git([*base, url, ref], git_dir=git_dir, offline=False, timeout=timeout)
    target = commit or "FETCH_HEAD"
    sha = run_git(["rev-parse", "--verify", "--quiet", f"{target}^{{commit}}"], git_dir=git_dir).strip()
    if not SHA_RE.match(sha):
        raise GitError(["rev-parse", target], 1, f"fatal: commit {target} not found after fetch")
    return sha


def resolve_head(git_dir: Path) -> str:
    """The full SHA of HEAD of a local repository ('' when it has no commit)."""
    try:
        return run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], git_dir=git_dir).strip()
    except GitError:
        return ""


def head_branch(git_dir: Path) -> str:
    """The branch HEAD points at, '' when detached or unknown."""
    try:
        ref = run_git(["symbolic-ref", "--quiet", "HEAD"], git_dir=git_dir).strip()
    except GitError:
        return ""
    return ref.removeprefix("refs/heads/")


def root_commit(git_dir: Path, commit: str) -> str:
    """The oldest parentless ancestor of ``commit``; '' in a shallow repository (unknown)."""
    try:
        if (git_dir / "shallow").is_file():  # where git itself records a shallow clone's boundary
            return ""
        roots = run_git(["rev-list", "--max-parents=0", commit], git_dir=git_dir).split()
    except GitError:
        return ""
    return sorted(roots)[0] if roots else ""


HISTORY_STATES = ("complete", "shallow", "grafted", "replaced")


def history_state(git_dir: Path, commit: str) -> tuple[int, str]:
    """How many commits are reachable from ``commit`` (itself included) and whether that history is
    ``complete``, ``shallow`` (git's ``shallow`` file: the ancestry is cut), ``grafted`` (``info/grafts``
    rewrites parents) or ``replaced`` (``refs/replace/`` objects stand for others)."""
    n_commits = int(run_git(["rev-list", "--count", commit], git_dir=git_dir).strip() or 0)
    if (git_dir / "shallow").is_file():
        state = "shallow"
    elif (git_dir / "info" / "grafts").is_file():
        state = "grafted"
    elif run_git(["for-each-ref", "--count=1", "refs/replace/"], git_dir=git_dir).strip():
        state = "replaced"
    else:
        state = "complete"
    return n_commits, state


def origin_url(git_dir: Path) -> str:
    """The ``remote.origin.url`` of a repository, read without writing anything."""
    try:
        return run_git(["config", "--get", "remote.origin.url"], git_dir=git_dir).strip()
    except GitError:
        return ""


@dataclass(frozen=True)
class TreeEntry:
    """One entry of ``git ls-tree -r``."""

    mode: str
    type: str
    sha: str
    path: str


@dataclass(frozen=True)
class Materialized:
    """What writing a commit's tree to disk gave."""

    n_files: int
    missing: tuple[tuple[str, str], ...]  # (path, reason) for files not written
    blob_shas: dict[str, str]  # path -> blob sha, of every regular file in the tree


def list_tree(git_dir: Path, commit: str) -> list[TreeEntry]:
    """Every entry of the commit's tree, recursively (no object contents are read)."""
    out = run_git(["ls-tree", "-r", "-z", "--full-tree", commit], git_dir=git_dir)
    entries: list[TreeEntry] = []
    for record in out.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, typ, sha = meta.split()
        entries.append(TreeEntry(mode, typ, sha, path))
    return entries


def missing_objects(git_dir: Path, commit: str) -> set[str]:
    """Objects of the commit's tree absent from the repository; asks no remote for them."""
    out = run_git(["rev-list", "--objects", "--missing=print", "-n", "1", commit], git_dir=git_dir)
    return {line[1:].split()[0] for line in out.splitlines() if line.startswith("?")}


def _safe_relpath(path: str) -> PurePosixPath | None:
    p = PurePosixPath(path)
    if p.is_absolute() or any(part in ("..", "", ".git") for part in p.parts):
        return None
    return p


def _symlink_stays_inside(rel: PurePosixPath, target: str) -> bool:
    if target.startswith("/"):
        return False
    depth = len(rel.parts) - 1
    for part in PurePosixPath(target).parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return False
    return True


def materialize(git_dir: Path, commit: str, dest: Path, *, timeout: float = 900.0) -> Materialized:
    """Write the commit's tree under ``dest`` by reading objects; never checks out, never fetches.

    Missing blobs (partial clones, snapshots without big files), submodules and symlinks that
    leave the repository are not written and are returned as ``missing`` with a reason.
    """
    entries = list_tree(git_dir, commit)
    absent = missing_objects(git_dir, commit)
    dest.mkdir(parents=True, exist_ok=True)
    missing: list[tuple[str, str]] = []
    blobs: list[tuple[TreeEntry, PurePosixPath]] = []
    blob_shas: dict[str, str] = {}
    for entry in entries:
        rel = _safe_relpath(entry.path)
        if rel is None:
            missing.append((entry.path, "unsafe path in tree"))
        elif entry.type == "commit":
            missing.append((entry.path, "submodule not fetched"))
        elif entry.type == "blob":
            if entry.mode != "120000":
                blob_shas[entry.path] = entry.sha
            if entry.sha in absent:
                missing.append((entry.path, MISSING_REASON))
            else:
                blobs.append((entry, rel))

    cmd = ["git", *SAFE_CONFIG, *OFFLINE_CONFIG, "--git-dir", str(git_dir), "cat-file", "--batch"]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=git_env()
    )
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for entry, _ in blobs:
                proc.stdin.write(entry.sha.encode() + b"\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    n_files = 0
    try:
        for entry, rel in blobs:
            header = proc.stdout.readline()
            if not header:
                raise GitError(["cat-file"], proc.wait(), "fatal: cat-file ended early")
            fields = header.split()
            if len(fields) >= 2 and fields[1] == b"missing":
                missing.append((entry.path, MISSING_REASON))
                continue
            size = int(fields[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after the contents
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if entry.mode == "120000":
                link = data.decode("utf-8", "replace")
                if not _symlink_stays_inside(rel, link):
                    missing.append((entry.path, f"symlink leaves the repository: {link[:200]}"))
                    continue
                os.symlink(link, target)
            else:
                target.write_bytes(data)
                if entry.mode == "100755":
                    target.chmod(0o755)
            n_files += 1
    finally:
        timer.cancel()
        writer.join(timeout=5)
        proc.stdout.close()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    return Materialized(n_files, tuple(missing), blob_shas)


def remove_tree(path: Path) -> None:
    """Remove a directory tree, tolerating read-only files git leaves behind."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if path.exists():
        shutil.rmtree(path, onerror=_chmod_and_retry)


def _chmod_and_retry(func: object, path: str, _exc: object) -> None:
    os.chmod(path, 0o700)
    if callable(func):
        func(path)
