"""miner.interrupts: a Ctrl-C before, during and after a command exits 130 or leaves its exit code; never -2.

Each case is a fresh interpreter that sends itself SIGINT at one phase (slow: processes of their own).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRELUDE = "import atexit, os, signal, sys, time\nfrom miner import interrupts\n"
SELF_INT = "os.kill(os.getpid(), signal.SIGINT); time.sleep(5)"


def _exit_code(body: str, *, ignored: bool = False) -> int:
    """The exit status of ``body`` run by a fresh interpreter (SIGINT ignored at its start when ``ignored``)."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + body], cwd=ROOT, capture_output=True, timeout=60,
                          preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignored else None)
    return done.returncode


@pytest.mark.parametrize("body, code", [
    ("interrupts.guard()\n" + SELF_INT, 130),  # while the modules load
    ("interrupts.guard()\ndef main():\n    " + SELF_INT + "\ninterrupts.run(main)", 130),  # in the command
    ("interrupts.guard()\ndef main():\n    try:\n        " + SELF_INT +  # the command's own handling stands
     "\n    except KeyboardInterrupt:\n        sys.exit(7)\ninterrupts.run(main)", 7),
    ("interrupts.guard()\natexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.5)))\n"
     "def main():\n    sys.exit(3)\ninterrupts.run(main)", 3),  # after it: the exit code stands
], ids=["starting", "running", "handled", "ended"])
def test_a_ctrl_c_at_any_phase_exits_130_or_leaves_the_exit_code(body: str, code: int) -> None:
    assert _exit_code(body) == code


def test_without_the_guard_python_dies_of_sigint() -> None:
    """What the guard prevents: an interrupt outside the command kills the interpreter with SIGINT."""
    assert _exit_code(SELF_INT) == -signal.SIGINT


def test_a_sigint_ignored_at_start_stays_ignored() -> None:
    assert _exit_code("interrupts.guard()\ndef main():\n    " + SELF_INT.replace("5", "0.2") +
                      "\n    sys.exit(0)\ninterrupts.run(main)", ignored=True) == 0
