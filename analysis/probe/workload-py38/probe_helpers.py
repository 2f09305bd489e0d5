"""Helper processes: spawned afresh (start-up), or forked from a zygote made once MLflow is imported."""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.reduction
import os
import signal
import subprocess
import sys
import time
import traceback
from typing import Any, Dict, List, Tuple

from probe_common import _message
from probe_store import Store
from probe_workers import HELPERS

WORKLOAD = os.path.dirname(os.path.abspath(__file__))  # the folder, run as ``python WORKLOAD`` (its __main__.py)


def _spawn(kind: str, args: Dict[str, Any], timeout: float = 600.0) -> Dict[str, Any]:
    """Run the workload's folder as a fresh interpreter doing ``kind``; its JSON answer.

    Only what measures a fresh interpreter (``startup``) is spawned; every other helper is forked
    (``_Helper``).
    """
    cmd = [sys.executable, WORKLOAD, "--worker", kind, "--args", json.dumps(args)]
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          universal_newlines=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["exit %d" % done.returncode]
        raise RuntimeError("helper %s failed: %s" % (kind, tail[0][:300]))
    answer: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answer["wall"] = wall
    return answer


# The store modules a helper needs, imported before the helpers' parent is forked.
STORE_MODULES = {"file": "mlflow.store.tracking.file_store", "sql": "mlflow.store.tracking.sqlalchemy_store"}
_ZYGOTE: List["_Zygote"] = []  # the process helpers are forked from, once made


class _Zygote:
    """A fork of the workload made once it has imported MLflow and before it touches the store.

    Every helper is a fork of it: a process of its own that has made no client and opened no store
    (its reads come from the store, not from anything the workload holds; its connections are its
    own), without the seconds a fresh interpreter takes to import MLflow.
    """

    def __init__(self) -> None:
        self.conn, theirs = multiprocessing.Pipe()
        self.pid = os.fork()
        if self.pid == 0:
            self.conn.close()
            _zygote_main(theirs)
        theirs.close()

    def fork(self, kind: str, args: Dict[str, Any]) -> Tuple[int, Any]:
        """A new helper doing ``kind``: its pid and the workload's end of the pipe to it."""
        mine, theirs = multiprocessing.Pipe()
        self.conn.send((kind, args))
        multiprocessing.reduction.send_handle(self.conn, theirs.fileno(), self.pid)
        theirs.close()
        pid: int = self.conn.recv()
        return pid, mine


def _zygote_main(conn: Any) -> None:
    """Fork a helper for each request, until the workload closes the pipe (it exits)."""
    while True:
        try:
            kind, args = conn.recv()
            fd = multiprocessing.reduction.recv_handle(conn)
        except EOFError:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            conn.close()
            code = 1
            try:
                _helper_main(kind, args, multiprocessing.connection.Connection(fd))
                code = 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # not the workload's exit handlers
        os.close(fd)
        conn.send(pid)
        while True:  # reap the helpers that ended
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _fork_helpers(store: Store) -> None:
    """Import the store's module, then make the process helpers are forked from (where there is fork)."""
    if not hasattr(os, "fork"):
        return  # each helper is spawned
    try:
        importlib.import_module(STORE_MODULES["file" if store.scheme == "file" else "sql"])
    except ImportError:
        pass  # the helpers import what they need
    _ZYGOTE.append(_Zygote())


class _Forked:
    """A helper forked from the zygote: not this process's child, so it is known by its pid and pipe."""

    def __init__(self, pid: int, conn: Any) -> None:
        self.pid, self.conn = pid, conn
        self.exitcode = None

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def join(self, timeout: float = 60.0) -> None:
        """Wait until it has ended: its end of the pipe closed."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self.conn.poll(max(0.0, deadline - time.monotonic())):
                self.conn.recv_bytes()
        except (EOFError, OSError):
            pass


class _Helper:
    """A helper process doing ``kind`` and the pipe to it: it sends messages, then its answer."""

    def __init__(self, kind: str, store: Store, args: Dict[str, Any]) -> None:
        self.kind = kind
        # the variables the workload has now (it sets MLFLOW_ALLOW_FILE_STORE after the fork)
        args = dict(args, env={k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")})
        self.process: Any
        if _ZYGOTE:
            pid, self.conn = _ZYGOTE[0].fork(kind, args)
            self.process = _Forked(pid, self.conn)
        else:
            context = multiprocessing.get_context("spawn")
            self.conn, child = context.Pipe()
            self.process = context.Process(target=_helper_main, args=(kind, args, child), daemon=True)
            self.process.start()
            child.close()

    def receive(self, timeout: float = 600.0) -> Any:
        """The helper's next message; RuntimeError when it failed, died or said nothing in time."""
        if not self.conn.poll(timeout):
            self.process.kill()
            raise RuntimeError("helper %s said nothing in %.0f s" % (self.kind, timeout))
        try:
            message = self.conn.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError("helper %s died%s" % (
                self.kind, "" if self.process.exitcode is None else ": exit %s" % self.process.exitcode))
        if message[0] == "failed":
            self.process.join()
            raise RuntimeError("helper %s failed: %s" % (self.kind, message[1]))
        return message

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def answer(self) -> Dict[str, Any]:
        """Its answer (after any messages it sends first, which are dropped); the process is reaped."""
        while True:
            message = self.receive()
            if message[0] == "done":
                self.process.join()
                self.conn.close()
                answer: Dict[str, Any] = message[1]
                return answer

    def kill(self) -> None:
        """SIGKILL; returns once it has ended."""
        self.process.kill()
        self.process.join()
        self.conn.close()


def _helper_main(kind: str, args: Dict[str, Any], conn: Any) -> None:
    """The helper process: runs ``HELPERS[kind]`` and sends ``("done", answer)`` or ``("failed", message)``."""
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:  # as the workload has them now
        del os.environ[key]
    os.environ.update(args.pop("env", {}))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        answer = HELPERS[kind](args, conn)
    except Exception as err:
        sys.stderr.write(traceback.format_exc())
        conn.send(("failed", _message(err)))
        return
    conn.send(("done", answer))
