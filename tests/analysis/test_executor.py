"""The task runner: in process and in worker processes, failures as results, context sent once."""

from __future__ import annotations

import os

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
