"""env_cache: sizes, real disk usage (blocks, hard links once), and the bounded cache (least recently used first,
never one in use or being built)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from analysis.isolated.env_cache import ShrinkReport, cache_usage, disk_usage, parse_size, shrink
from analysis.isolated.uv_env import DONE, EnvSpec, build_lock, ensure_env, use_lock, uv_cache_lock, uv_cache_of

MB = 1 << 20


def test_sizes() -> None:
    assert (parse_size("4G"), parse_size("512M"), parse_size("1.5g"), parse_size("100"), parse_size("20GB")) == \
        (4 << 30, 512 << 20, 3 << 29, 100, 20 << 30)
    with pytest.raises(ValueError):
        parse_size("lots")


def _fill(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))  # written for real: every block allocated
    return path


def _env(root: Path, key: str, size: int, used: float) -> Path:
    """A complete environment of ``size`` bytes last used at ``used`` (seconds since the epoch)."""
    _fill(root / key / "lib" / "blob", size)
    (root / key / DONE).write_text("{}")
    os.utime(root / key / DONE, (used, used))
    return root / key


@contextmanager
def _held(path: Path, how: int) -> Iterator[None]:
    """A lock on ``path`` held as another process would hold it (an open file of its own)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, how)
        yield


def test_real_blocks_are_counted_and_hard_links_once(tmp_path: Path) -> None:
    real = _fill(tmp_path / "d" / "real", 2 * MB)
    with open(tmp_path / "d" / "sparse", "wb") as fh:
        fh.truncate(100 * MB)  # 100 MB long, nothing written
    os.link(real, tmp_path / "d" / "link")
    used = disk_usage(tmp_path / "d")
    assert 2 * MB <= used < 2 * MB + 64 * 1024  # the real file once, the sparse file nearly nothing
    _fill(tmp_path / "c" / "a" / "own", MB)
    os.makedirs(tmp_path / "c" / "b")
    os.link(real, tmp_path / "c" / "a" / "shared")
    os.link(real, tmp_path / "c" / "b" / "shared")
    usage = cache_usage(tmp_path / "c")
    assert 3 * MB <= usage.total < 3 * MB + 64 * 1024  # the shared file once
    assert MB <= usage.freed_by["a"] < MB + 16 * 1024 and usage.freed_by["b"] < 16 * 1024  # removing b frees no blob


def test_the_least_recently_used_go_first_and_none_in_use_or_being_built(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    for i, key in enumerate(["oldest", "building", "old", "new", "newest"]):
        _env(root, key, 2 * MB, 1_000_000 + i * 1000)
    leftover = root / f"gone.tmp-{2 ** 22 + 7}"  # a build whose process is dead (beyond pid_max)
    _fill(leftover / "x", MB)
    with _held(use_lock(root, "oldest"), fcntl.LOCK_SH), _held(build_lock(root, "building"), fcntl.LOCK_EX):
        report = shrink(root, int(8.5 * MB))
    assert report.removed == ("old",) and report.in_use == ("oldest", "building")
    assert report.before > 10 * MB and report.after <= 8.5 * MB
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["building", "new", "newest", "oldest"]
    assert not leftover.exists()
    assert shrink(root, 100 * MB).removed == ()  # under the bound: nothing goes
    again = shrink(root, int(4.5 * MB))  # nothing in use now: the least recently used first
    assert again.removed == ("oldest", "building") and again.in_use == ()


def test_one_process_shrinks_at_a_time(tmp_path: Path) -> None:
    _env(tmp_path, "a", MB, 1_000_000)
    with _held(tmp_path / ".shrink.lock", fcntl.LOCK_EX):
        assert shrink(tmp_path, 0).skipped
    assert shrink(tmp_path, 0).removed == ("a",)


def test_an_environment_in_use_through_ensure_env_is_kept_and_each_use_counts(tmp_path: Path) -> None:
    """With environments uv builds: ``using`` holds one in use; a use makes it the most recently used."""
    specs = [EnvSpec(requirements=(f"-r r{i}.txt",), base_dir=tmp_path, base_key=str(i)) for i in range(3)]
    for i in range(3):
        (tmp_path / f"r{i}.txt").write_text("\n")
    cache = tmp_path / "cache"
    built = [ensure_env(spec, cache) for spec in specs]
    for i, env in enumerate(built):
        os.utime(env.root / DONE, (1_000_000 + i, 1_000_000 + i))
    with ExitStack() as using:
        ensure_env(specs[1], cache, using=using)  # in use, and now the most recently used
        again = ensure_env(specs[0], cache)  # used again (not held): more recent than 2
        assert again.cached
        report = shrink(cache, 0)
        assert report.removed == (built[2].root.name, built[0].root.name) and report.in_use == (built[1].root.name,)
        assert (built[1].root / DONE).is_file()
    assert shrink(cache, 0).removed == (built[1].root.name,)


def test_uvs_own_cache_is_in_the_bound_and_emptied_before_any_environment(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds put uv's cache inside the environment cache; over the bound it goes first (uv empties it)."""
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    (tmp_path / "r.txt").write_text("\n")
    cache = tmp_path / "cache"
    built = ensure_env(EnvSpec(requirements=("-r r.txt",), base_dir=tmp_path, base_key="r"), cache)
    assert uv_cache_of(cache).is_dir()  # the build's uv used it
    _fill(uv_cache_of(cache) / "wheels-v5" / "big.whl", 3 * MB)  # downloads kept by earlier builds
    env_only = cache_usage(cache).total - disk_usage(uv_cache_of(cache))
    assert shrink(cache, 100 * MB) == ShrinkReport(cache_usage(cache).total, cache_usage(cache).total, 100 * MB)
    with _held(uv_cache_lock(cache), fcntl.LOCK_SH):  # a uv command of a build is running: its cache stays
        held = shrink(cache, env_only + MB)
    assert not held.uv_cache_cleaned and (uv_cache_of(cache) / "wheels-v5" / "big.whl").is_file()
    assert held.removed == (built.root.name,)  # so the environment went instead
    built = ensure_env(EnvSpec(requirements=("-r r.txt",), base_dir=tmp_path, base_key="r"), cache)
    report = shrink(cache, env_only + MB)  # over the bound with the downloads, under it without them
    assert report.uv_cache_cleaned and report.removed == () and report.after <= env_only + MB < report.before
    assert not (uv_cache_of(cache) / "wheels-v5").exists() and (built.root / DONE).is_file()
    assert shrink(cache, 0).removed == (built.root.name,)  # then the environments, as before
