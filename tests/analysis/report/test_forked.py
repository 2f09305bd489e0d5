"""Work in a forked child: its bytes back, None where it raised or died, a stuck child stopped."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from analysis.report.forked import Child, can_fork

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")


def test_a_child_gives_back_what_its_work_returned_and_does_it_in_its_own_process(tmp_path: Path) -> None:
    def work() -> bytes:
        (tmp_path / "pid").write_text(str(os.getpid()))
        return b"x" * (3 << 20)  # more than a pipe holds: read while the child writes

    assert Child(work).result() == b"x" * (3 << 20)
    assert int((tmp_path / "pid").read_text()) != os.getpid()


def test_a_child_that_raises_or_dies_gives_nothing() -> None:
    def fail() -> bytes:
        raise ValueError("no")

    def die() -> bytes:
        os._exit(3)

    assert Child(fail).result() is None
    assert Child(die).result() is None


def test_a_stuck_child_is_stopped_after_the_seconds_given() -> None:
    def stuck() -> bytes:
        time.sleep(60)
        return b"late"

    started = time.monotonic()
    assert Child(stuck).result(seconds=0.5) is None
    assert time.monotonic() - started < 30


def test_no_fork_beside_another_thread() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert can_fork() is False
    finally:
        stop.set()
        other.join()
    assert can_fork() is (threading.active_count() == 1)
