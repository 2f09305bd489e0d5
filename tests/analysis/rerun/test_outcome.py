"""rerun.outcome: the status and failure class of a run's output and exit."""

from __future__ import annotations

import pytest

from analysis.rerun.outcome import classify

@pytest.mark.parametrize(("output", "returncode", "timed_out", "expected"), [
    pytest.param("", 0, False, ("succeeded", ""), id="ok"),
    pytest.param("Traceback (most recent call last):\n  File \"t.py\", line 1\nModuleNotFoundError: No module named 'zz'",
                 1, False, ("failed", "ModuleNotFoundError"), id="module"),
    pytest.param("Traceback (most recent call last):\n  ...\nurllib.error.URLError: <urlopen error [Errno -3] "
                 "Temporary failure in name resolution>", 1, False, ("failed", "network refused"), id="network"),
    pytest.param("Traceback (most recent call last):\n  ...\nOSError: [Errno 101] Network is unreachable", 1, False,
                 ("failed", "network refused"), id="unreachable"),
    pytest.param("Traceback (most recent call last):\n  ...\nMemoryError", 1, False, ("killed-memory", "MemoryError"),
                 id="memory"),
    pytest.param("Traceback (most recent call last):\n  ...\nBlockingIOError: [Errno 11] Resource temporarily "
                 "unavailable", 1, False, ("failed", "process limit"), id="fork"),
    pytest.param("Traceback (most recent call last):\n  ...\nKeyError: 'a'\n\nDuring handling of the above exception, "
                 "another exception occurred:\n\nTraceback (most recent call last):\n  ...\nValueError: b", 1, False,
                 ("failed", "ValueError"), id="chained-last"),
    pytest.param("bash: line 1: nope: command not found", 127, False, ("failed", "exit 127"), id="not-found"),
    pytest.param("", 137, False, ("killed-memory", "SIGKILL"), id="oom-killed"),
    pytest.param("", 139, False, ("failed", "SIGSEGV"), id="segfault"),
    pytest.param("working...", None, True, ("timeout", "timeout"), id="timeout"),
    pytest.param("Traceback (most recent call last):\n  ...\nOSError: [Errno 28] No space left on device", 1, False,
                 ("failed", "no space"), id="no-space"),
    pytest.param("dd: error writing 'big': No space left on device", 1, False, ("failed", "no space"),
                 id="no-space-without-traceback"),
])
def test_failure_classes(output: str, returncode: int | None, timed_out: bool, expected: tuple[str, str]) -> None:
    assert classify(output, returncode, timed_out)[:2] == expected
