"""A repository's first-parent history read from git objects, never checked out: the commits, what each
changes against its first parent (one ``git log --raw`` for the whole history: a tree diff per commit,
never a listing of every file of every commit), which of them to analyze, and the blobs they hold.

Every git command runs as the miner runs it (``miner.gitio.run_git``: no hooks, no user or system
config, no network), so a blob missing from a partial clone is reported, never fetched.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from miner.gitio import OFFLINE_CONFIG, SAFE_CONFIG, GitError, git_env, run_git

SUBMODULE = "160000"
SYMLINK = "120000"
_LOG = ["--first-parent", "--diff-merges=first-parent", "-r", "--raw", "-z", "--no-renames", "--no-abbrev",
        "--no-color", "--no-ext-diff", "--no-textconv"]
_HEAD = "--format=%x01%H%x00%P%x00%cI"
_BATCH = 1000  # shas asked of ``cat-file --batch`` at once: 41 bytes each, within a pipe's 64 KiB


@dataclass(frozen=True)
class Change:
    """One path a commit changes: its new mode and blob (both '' when the commit deletes it)."""

    path: str
    mode: str
    sha: str


@dataclass
class Commit:
    """A first-parent commit: its first parent ('' for a root, or where a shallow history ends), its
    committer date (ISO 8601) and its changes against that parent (None: its tree could not be read)."""

    sha: str
    parent: str
    committed_at: str
    changes: list[Change] | None
    error: str = ""  # why the tree could not be read (git's words)


def _heads(text: str) -> list[tuple[str, str, str, list[str]]]:
    """(sha, first parent, date, the rest split at NUL) of each ``\\x01``-headed record of ``git log``."""
    out = []
    for chunk in text.split("\x01")[1:]:
        fields = chunk.split("\0")
        parents = fields[1].split()
        out.append((fields[0], parents[0] if parents else "", fields[2], fields[3:]))
    return out


def _raw_changes(tokens: Sequence[str]) -> list[Change]:
    """The changes of ``--raw -z`` output: ``:oldmode newmode oldsha newsha status`` then the path."""
    out: list[Change] = []
    tokens = [t.lstrip("\n") for t in tokens]
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        if not meta.startswith(":"):
            i += 1
            continue
        _old_mode, new_mode, _old_sha, new_sha, status = meta[1:].split()
        path = tokens[i + 1]
        out.append(Change(path, "", "") if status.startswith("D") else Change(path, new_mode, new_sha))
        i += 2
    return out


def _listing(git_dir: Path, commit: str) -> list[Change]:
    """Every entry of a commit's tree, as changes from the empty tree."""
    out = []
    for record in run_git(["ls-tree", "-r", "-z", "--full-tree", commit], git_dir=git_dir).split("\0"):
        if record:
            meta, _, path = record.partition("\t")
            mode, _type, sha = meta.split()
            out.append(Change(path, mode, sha))
    return out


def count_first_parent(git_dir: Path, commit: str) -> int:
    """How many first-parent commits ``commit`` has (0 where git cannot say)."""
    try:
        return int(run_git(["rev-list", "--first-parent", "--count", commit, "--"], git_dir=git_dir).strip() or 0)
    except (GitError, ValueError):
        return 0


def first_parent_history(git_dir: Path, commit: str) -> list[Commit]:
    """The first-parent commits of ``commit``, oldest first, each with its changes.

    One ``git log`` reads them all; when it fails (a tree or blob listing git cannot read), the commits
    are listed alone and each is diffed against the last one that could be read, so an unreadable
    tree costs its commit (``changes`` None, ``error`` saying why) and no other.
    """
    try:
        text = run_git(["log", *_LOG, _HEAD, commit, "--"], git_dir=git_dir, timeout=None)
    except GitError:
        heads = _heads(run_git(["log", "--first-parent", _HEAD, "-z", commit, "--"], git_dir=git_dir, timeout=None))
        heads.reverse()
        commits = []
        last = ""
        for sha, parent, date, _rest in heads:
            try:
                changes = (_raw_changes(run_git(["diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-abbrev",
                                                 last, sha], git_dir=git_dir).split("\0"))
                           if last else _listing(git_dir, sha))
            except GitError as err:
                commits.append(Commit(sha, parent, date, None, err.last_line))
                continue
            commits.append(Commit(sha, parent, date, changes))
            last = sha
        return commits
    out = [Commit(sha, parent, date, _raw_changes(rest)) for sha, parent, date, rest in _heads(text)]
    out.reverse()
    return out


def _utc(date: str) -> datetime:
    return datetime.fromisoformat(date).astimezone(timezone.utc)


def period(date: str, every: str) -> str:
    """The period (``week``: ISO year and week, ``month``) a committer date falls in, in UTC."""
    when = _utc(date)
    if every == "week":
        year, week, _day = when.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{when.year}-{when.month:02d}"


def select(commits: Sequence[Commit], since: str = "", every: str = "commit", max_commits: int = 0) -> tuple[list[int], int]:
    """The positions of the commits to analyze (oldest first) and how many the ``max_commits`` limit left
    out (the oldest): from ``since`` (a UTC date, ``YYYY-MM-DD``), every commit or the last of each
    ``week`` or ``month`` in first-parent order."""
    chosen = [i for i, c in enumerate(commits) if not since or _utc(c.committed_at).date().isoformat() >= since]
    if every != "commit":
        last: dict[str, int] = {}
        for i in chosen:
            last[period(commits[i].committed_at, every)] = i  # later in first-parent order wins
        chosen = sorted(last.values())
    dropped = max(0, len(chosen) - max_commits) if max_commits else 0
    return chosen[dropped:], dropped


class BlobReader:
    """Blobs by their sha through one ``git cat-file --batch`` (nothing fetched: a blob a partial clone
    lacks is missing). A context manager; ``read_many`` asks for many blobs in one round trip to git."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.lock = threading.Lock()
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        cmd = ["git", *SAFE_CONFIG, *OFFLINE_CONFIG, "--git-dir", str(self.git_dir), "cat-file", "--batch"]
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=git_env())

    def read(self, sha: str) -> bytes | None:
        """The blob's bytes; None when the repository does not hold it."""
        return self.read_many([sha])[sha]

    def read_many(self, shas: Iterable[str]) -> dict[str, bytes | None]:
        """Each blob's bytes by its sha, None where the repository does not hold it.

        The shas go to git together, at most ``_BATCH`` at a time (their lines fit in the pipe, so
        writing them never waits for git, which may be waiting for its answers to be read): one round
        trip per batch, where a round trip per blob cost more than git's work on a busy machine.
        """
        todo = list(dict.fromkeys(shas))
        out: dict[str, bytes | None] = {}
        with self.lock:
            while todo:
                chunk, todo = todo[:_BATCH], todo[_BATCH:]
                answered = self._ask(chunk, out)
                if answered < len(chunk):
                    # git ends where a partial clone lacks the object (it may not fetch it): a missing
                    # blob; a new git answers the rest
                    out[chunk[answered]] = None
                    self.close()
                    self.proc = self._start()
                    todo = chunk[answered + 1:] + todo
        return out

    def _ask(self, shas: list[str], out: dict[str, bytes | None]) -> int:
        """Asks git for ``shas`` and puts its answers in ``out``: how many it answered before it ended."""
        proc = self.proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(b"".join(sha.encode() + b"\n" for sha in shas))
            proc.stdin.flush()
        except BrokenPipeError:  # git ended early: the answers it gave are still to be read
            pass
        for i, sha in enumerate(shas):
            header = proc.stdout.readline().split()
            if not header:
                return i
            if len(header) < 3 or header[1] != b"blob":
                if len(header) >= 3:  # another kind of object: its contents follow
                    proc.stdout.read(int(header[2]) + 1)
                out[sha] = None
                continue
            out[sha] = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the contents
        return len(shas)

    def close(self) -> None:
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
