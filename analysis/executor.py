"""One way to run independent tasks: in this process, in local worker processes, or on a Dask cluster.

``run_tasks(fn, context, tasks)`` calls ``fn(context, task)`` for every task and yields
``(task, result)`` pairs as they finish, where a task that raised (or whose worker died) yields its
exception instead of a result. ``context`` is sent to each worker once (process pool initializer,
Dask scatter), not with every task. Local workers die with their parent (Linux ``PR_SET_PDEATHSIG``),
so killing the driver never leaves them running.
"""

from __future__ import annotations

import ctypes
import importlib
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

C = TypeVar("C")
T = TypeVar("T")
R = TypeVar("R")

_PR_SET_PDEATHSIG = 1


class _Slot:
    """The context of this worker process, set once by the pool's initializer."""

    value: Any = None


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def _init(context: Any, setup: Callable[[Any], None] | None) -> None:
    die_with_parent()
    _Slot.value = context
    if setup is not None:
        setup(context)


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_Slot.value, task)


def run_tasks(fn: Callable[[C, T], R], context: C, tasks: Sequence[T], *, jobs: int = 1,
              scheduler: str | None = None, setup: Callable[[C], None] | None = None,
              tick: Callable[[], None] | None = None, tick_seconds: float = 0.2, isolate: bool = False,
              on_crash: Callable[[T], T | None] | None = None,
              max_crashes: int = 3) -> Iterator[tuple[T, R | BaseException]]:
    """``(task, fn(context, task) or the exception it raised)`` for every task, in the order they finish.

    ``jobs`` worker processes (in this process when 1 or for a single task, unless ``isolate``), or
    the Dask cluster at ``scheduler`` (``tcp://HOST:PORT``; needs ``dask[distributed]``).
    ``setup(context)`` runs once per worker before its first task; ``tick()`` runs every
    ``tick_seconds`` while tasks are pending (for progress). ``fn`` and ``context`` must be
    picklable for workers and clusters.

    A worker that dies (a native crash, the kernel's out-of-memory killer) breaks the local pool:
    the tasks it left unfinished run again one at a time, each in a worker of its own; when one
    kills that worker too, ``on_crash(task)`` may return a changed task (one that avoids what
    killed the worker) to try instead, or None to give it up; after ``max_crashes`` deaths it is
    given up too. A task given up yields ``BrokenProcessPool``.
    """
    if scheduler:
        yield from _run_dask(fn, context, tasks, scheduler, setup, tick, tick_seconds)
        return
    if not isolate and (jobs <= 1 or len(tasks) <= 1):
        if setup is not None:
            setup(context)
        for task in tasks:
            try:
                result: R | BaseException = fn(context, task)
            except Exception as err:  # a failing task is a result; the others go on
                result = err
            yield task, result
            if tick is not None:
                tick()
        return
    # A worker's death breaks the whole pool: every task under way fails, whichever killed it. The
    # unfinished tasks then run again, those caught in the crash one at a time, each in a pool of
    # its own, so that a second death points at exactly one task.
    pool = ProcessPoolExecutor(max(1, min(jobs, len(tasks))), initializer=_init, initargs=(context, setup))
    caught: list[T] = []
    try:
        futures: dict[Future[R], T] = {pool.submit(_call, fn, task): task for task in tasks}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=tick_seconds, return_when=FIRST_COMPLETED)
            for future in finished:
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    caught.append(futures[future])
                    continue
                yield futures[future], error if error is not None else future.result()
            if tick is not None:
                tick()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for task in caught:
        crashes = 0
        while True:
            alone = ProcessPoolExecutor(1, initializer=_init, initargs=(context, setup))
            try:
                future = alone.submit(_call, fn, task)
                while not future.done():
                    wait([future], timeout=tick_seconds)
                    if tick is not None:
                        tick()
                error = future.exception()
            finally:
                alone.shutdown(wait=True, cancel_futures=True)
            if not isinstance(error, BrokenProcessPool):
                yield task, error if error is not None else future.result()
                break
            crashes += 1  # this task alone killed its worker
            again = on_crash(task) if on_crash is not None else None
            if again is None or crashes >= max_crashes:
                yield task, BrokenProcessPool(f"the worker died {crashes} times on this task")
                break
            task = again


def _run_dask(fn: Callable[[C, T], R], context: C, tasks: Sequence[T], scheduler: str,
              setup: Callable[[C], None] | None, tick: Callable[[], None] | None,
              tick_seconds: float) -> Iterator[tuple[T, R | BaseException]]:
    try:
        distributed: Any = importlib.import_module("distributed")  # an optional extra: imported only when asked for
    except ImportError as err:
        raise RuntimeError("--scheduler needs Dask: pip install 'mlflow-census[dask]'") from err
    client = distributed.Client(scheduler)
    futures: dict[Any, T] = {}
    try:
        if setup is not None:
            client.run(setup, context)
        shared = client.scatter(context, broadcast=True)
        futures = {client.submit(fn, shared, task, pure=False): task for task in tasks}
        done = distributed.as_completed(list(futures), with_results=False)
        while not done.is_empty():
            for future in done.next_batch(block=False) or []:
                error = future.exception()
                yield futures[future], error if error is not None else future.result()
            if tick is not None:
                tick()
            if not done.is_empty() and not done.has_ready():
                time.sleep(tick_seconds)
    finally:
        if futures:  # interrupted: tasks not started are dropped (a running one finishes on its worker)
            client.cancel(list(futures))
        client.close()
