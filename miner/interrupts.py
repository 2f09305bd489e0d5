"""Ctrl-C at any moment of a command exits 130; the process is never killed by SIGINT (exit -2).

Python turns SIGINT into ``KeyboardInterrupt`` wherever it finds the main thread, and the
commands turn that into exit code 130 (``cli._running``, typer). Outside them a
``KeyboardInterrupt`` is unhandled, and Python then kills its own process with SIGINT: while
``cli.py`` imports its modules (half a second, a second under load), while typer builds the
command line, and while the interpreter finalizes (which gives SIGINT its default action back).
A Ctrl-C sent to the process group as a command starts or ends, as a test that waits for a
sandboxed process does, then got -2 instead of 130.

``guard()``, called first thing in ``__main__``, installs one handler for the process's whole
life, whose answer depends on the phase: before the command runs it exits 130; while it runs
(``run``) it raises ``KeyboardInterrupt``, as Python's own handler does; once the command has
ended, SIGINT is ignored (the exit code is decided, and only an ignored signal survives
finalization). A SIGINT already ignored when the process started (``nohup``, ``&`` in a
script) stays ignored, as Unix tools leave it. Only the standard library is imported here.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType

INTERRUPTED = 130


class _State:
    phase = "off"  # off (not guarded) | starting | running | done


def _on_sigint(_signum: int, _frame: FrameType | None) -> None:
    if _State.phase == "running":
        raise KeyboardInterrupt
    if _State.phase == "starting":
        raise SystemExit(INTERRUPTED)
    # done: the command has ended; its exit code stands


def guard() -> None:
    """From now on a Ctrl-C exits 130 (unless SIGINT was ignored when the process started)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        _State.phase = "starting"
        signal.signal(signal.SIGINT, _on_sigint)


def run(main: Callable[[], object]) -> None:
    """Call ``main`` (which exits through ``SystemExit``), Ctrl-C raising ``KeyboardInterrupt`` in it; a
    ``KeyboardInterrupt`` it lets through exits 130; afterwards SIGINT is ignored."""
    if _State.phase == "off":
        main()
        return
    try:
        _State.phase = "running"  # inside the try: an interrupt right after the change is caught below
        main()
    except KeyboardInterrupt:
        _State.phase = "done"
        raise SystemExit(INTERRUPTED) from None
    finally:
        _State.phase = "done"
        signal.signal(signal.SIGINT, signal.SIG_IGN)
