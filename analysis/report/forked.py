"""Work done by a child forked from this process, its result read back by a pipe.

Only for a process with no other thread (a fork copies only the calling thread: a lock another one
held would stay held in the child), such as the report's process (``analysis.report.process``): it
renders figures, and the agreement table beside the other statistics, on the core the driver leaves
idle. A child that
fails, is killed or is stopped gives no result; its caller then does the work itself.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable


class Child:
    """``work()`` run in a child forked now; ``result()`` waits for the bytes it returned."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: write, then leave without running the parent's exit handlers
            status = 1
            try:
                os.close(read_end)
                data = work()
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self.pid, self._read_end = pid, read_end

    def result(self, seconds: float | None = None) -> bytes | None:
        """What ``work()`` returned, once the child has ended; None if it raised or died, or (with
        ``seconds``) was still at work that long from now: it is then stopped."""
        chunks: list[bytes] = []
        deadline = None if seconds is None else time.monotonic() + seconds
        with os.fdopen(self._read_end, "rb", buffering=0) as pipe:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and (left <= 0 or not select.select([pipe], [], [], left)[0]):
                    os.kill(self.pid, signal.SIGKILL)  # stuck (a lock a fork left held, say)
                    break
                chunk = pipe.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        _pid, status = os.waitpid(self.pid, 0)
        return b"".join(chunks) if status == 0 else None


def can_fork() -> bool:
    """This process may fork a ``Child``: a POSIX process running no other thread."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1
