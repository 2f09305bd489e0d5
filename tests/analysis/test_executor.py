"""The task runner: in process and in worker processes, failures as results, context sent once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.executor import run_tasks


def square_or_fail(offset: int, task: int) -> int:
    if task == 3:
        raise ValueError("three")
    return task * task + offset


def worker_pid(_context: None, _task: int) -> int:
    return os.getpid()


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_task_yields_its_result_or_its_exception(jobs: int) -> None:
    got = dict(run_tasks(square_or_fail, 10, [1, 2, 3, 4], jobs=jobs))
    assert {k: v for k, v in got.items() if k != 3} == {1: 11, 2: 14, 4: 26}
    assert isinstance(got[3], ValueError) and str(got[3]) == "three"


def test_workers_are_other_processes_and_one_job_is_this_one() -> None:
    assert {pid for _t, pid in run_tasks(worker_pid, None, [1, 2, 3], jobs=1)} == {os.getpid()}
    pids = {pid for _t, pid in run_tasks(worker_pid, None, [1, 2, 3, 4], jobs=2)}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_a_dask_cluster_yields_results_and_exceptions_and_runs_setup_on_each_worker() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        got = dict(run_tasks(square_or_fail, 10, [1, 2, 3, 4], scheduler=cluster.scheduler_address,
                             setup=refuse_negative))
        assert {k: v for k, v in got.items() if k != 3} == {1: 11, 2: 14, 4: 26}
        assert isinstance(got[3], ValueError) and str(got[3]) == "three"
        with pytest.raises(ValueError, match="negative context"):
            list(run_tasks(square_or_fail, -1, [1], scheduler=cluster.scheduler_address, setup=refuse_negative))


def refuse_negative(context: int) -> None:
    if context < 0:
        raise ValueError("negative context")


def test_workers_die_with_their_parent(tmp_path: Path) -> None:
    """kill -9 of the process running the pool leaves no worker behind."""
    import signal
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    script = f"""
import os, time
from analysis.executor import run_tasks
def sleep(_c, i):
    with open({str(pids)!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    time.sleep(60)
for _ in run_tasks(sleep, None, [1, 2], jobs=2):
    pass
"""
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not pids.is_file() or len(pids.read_text().split()) < 2):
        time.sleep(0.05)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in workers if Path(f"/proc/{p}").exists() and "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]]
        time.sleep(0.05)
    assert alive == []


def crash_on_three(_context: None, task: int) -> int:
    if task == 3:
        os.kill(os.getpid(), 9)
    return task


def test_a_dead_worker_breaks_no_other_task() -> None:
    seen: list[int] = []

    def give_up(task: int) -> int | None:
        seen.append(task)
        return None if task == 3 else task

    got = dict(run_tasks(crash_on_three, None, [1, 2, 3, 4, 5], jobs=2, on_crash=give_up))
    assert {k: v for k, v in got.items() if k != 3} == {1: 1, 2: 2, 4: 4, 5: 5}
    assert type(got[3]).__name__ == "BrokenProcessPool" and 3 in seen
