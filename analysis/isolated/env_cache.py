"""Disk: sizes as people write them, the real usage of a directory, and a bound on the environment cache.

``disk_usage`` counts what a directory takes on its disk: allocated blocks (``st_blocks``: a
sparse file counts what it holds, not its length), each inode once however many hard links
reach it (uv links files from its own cache into environments, so two environments may share
them). ``shrink`` keeps the environment cache of ``uv_env`` under a bound: when its usage is
over, complete environments are removed, least recently used first (the mtime of their ``DONE``
file, set at each use), never one in use (one whose ``use_lock`` another process holds shared,
taken by ``ensure_env(using=...)`` before it looks for the environment) nor one being built (its
``build_lock`` held). Removing an environment frees the blocks no other entry of the cache
shares; the bound may be passed while environments in use or being built hold more. uv's own cache
of downloads and built wheels is in the cache too (``uv_env.uv_cache_of``: sandboxed builds cannot
link from it, so each environment holds a copy); over the bound it is emptied first, as ``uv cache
clean`` would, renamed away whole and then removed, and only while no uv command of a build holds its
lock: the cheapest thing to lose. Builds a
killed process left (``<key>.tmp-<pid>``) are removed on the way. Only one process shrinks a
cache at a time; another finds it shrinking and goes on.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analysis.isolated.uv_env import DONE, build_lock, use_lock, uv_cache_lock, uv_cache_of

_LEFTOVER = re.compile(r"(?P<key>.+)\.(?:tmp|del)-(?P<pid>\d+)")


def parse_size(text: str) -> int:
    """Bytes of a size such as ``4G``, ``512M``, ``1.5g``, ``20GB`` or ``1000000`` (K, M, G, T: powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)[iI]?[bB]?\s*", text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def _inodes(path: Path) -> Iterator[tuple[tuple[int, int], int]]:
    """``((device, inode), bytes allocated)`` of ``path`` and everything below it (symbolic links not followed)."""
    try:
        st = path.lstat()
    except OSError:
        return
    yield (st.st_dev, st.st_ino), st.st_blocks * 512
    folders = [path] if path.is_dir() and not path.is_symlink() else []
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield (st.st_dev, st.st_ino), st.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                folders.append(Path(entry.path))


def disk_usage(path: Path) -> int:
    """Bytes ``path`` takes on its disk: allocated blocks, each inode once (0 when it does not exist)."""
    return sum(dict(_inodes(path)).values())


@dataclass(frozen=True)
class CacheUsage:
    """What an environment cache takes: in all, and what removing each entry would free."""

    total: int
    freed_by: dict[str, int]  # top-level entry -> bytes of the inodes no other entry reaches


def cache_usage(root: Path) -> CacheUsage:
    """The usage of a cache directory, per top-level entry (an environment, a lock file, a leftover build)."""
    owners: dict[tuple[int, int], set[str]] = {}
    size: dict[tuple[int, int], int] = {}
    try:
        entries = sorted(p.name for p in root.iterdir())
    except OSError:
        entries = []
    for name in entries:
        for inode, allocated in _inodes(root / name):
            owners.setdefault(inode, set()).add(name)
            size[inode] = allocated
    freed: dict[str, int] = {name: 0 for name in entries}
    for inode, names in owners.items():
        if len(names) == 1:
            freed[next(iter(names))] += size[inode]
    return CacheUsage(sum(size.values()), freed)


@dataclass(frozen=True)
class ShrinkReport:
    """What ``shrink`` did: usage before and after, environments removed, environments it had to keep."""

    before: int
    after: int
    bound: int
    removed: tuple[str, ...] = ()
    in_use: tuple[str, ...] = ()  # over the bound but in use or being built
    skipped: bool = False  # another process was shrinking the cache
    uv_cache_cleaned: bool = False  # uv's cache (``uv_env.uv_cache_of``) was emptied first


@contextmanager
def _try_lock(path: Path) -> Iterator[bool]:
    """An exclusive lock on ``path`` if one can be had at once: yields whether it was."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    return pid == os.getpid() or Path(f"/proc/{pid}").exists()


def shrink(root: Path, bound: int) -> ShrinkReport:
    """Remove least recently used environments of the cache at ``root`` until its usage is at most ``bound``."""
    if not root.is_dir():
        return ShrinkReport(0, 0, bound)
    with _try_lock(root / ".shrink.lock") as mine:
        if not mine:
            return ShrinkReport(0, 0, bound, skipped=True)
        for entry in root.iterdir():  # builds and removals a killed process left
            match = _LEFTOVER.fullmatch(entry.name)
            if match and entry.is_dir() and not _alive(int(match.group("pid"))):
                shutil.rmtree(entry, ignore_errors=True)
        usage = cache_usage(root)
        before = usage.total
        cleaned = usage.total > bound and _clean_uv_cache(root)
        if cleaned:
            usage = cache_usage(root)
        total, removed, in_use = usage.total, [], []
        envs = sorted((p for p in root.iterdir() if (p / DONE).is_file()),
                      key=lambda p: ((p / DONE).stat().st_mtime, p.name))  # least recently used first
        for env in envs:
            if total <= bound:
                break
            with _try_lock(use_lock(root, env.name)) as unused, _try_lock(build_lock(root, env.name)) as idle:
                if not (unused and idle):
                    in_use.append(env.name)
                    continue
                (env / DONE).unlink()  # no longer complete: nobody takes it from here on
                gone = env.with_name(f"{env.name}.del-{os.getpid()}")
                env.rename(gone)
                shutil.rmtree(gone, ignore_errors=True)
            total -= usage.freed_by.get(env.name, 0)
            removed.append(env.name)
        return ShrinkReport(before, cache_usage(root).total if removed else usage.total, bound, tuple(removed),
                            tuple(in_use), uv_cache_cleaned=cleaned)


def _clean_uv_cache(root: Path) -> bool:
    """Remove uv's cache of the builds of ``root`` (downloads and built wheels: the cheapest to lose) when no uv
    command of a build holds it (``uv_env.uv_cache_lock``); the next build makes a new one. Whether it went."""
    cache = uv_cache_of(root)
    if not cache.is_dir():
        return False
    with _try_lock(uv_cache_lock(root)) as unheld:  # no uv command of a build is running on it
        if not unheld:
            return False
        # renamed away whole, then removed: a cache half removed (a clean killed midway) kept uv's index of
        # wheels pointing at archives no longer there, and every later build of pip failed on it
        gone = cache.with_name(f"{cache.name}.del-{os.getpid()}")
        try:
            cache.rename(gone)
        except OSError:
            return False
        shutil.rmtree(gone, ignore_errors=True)
        return True
