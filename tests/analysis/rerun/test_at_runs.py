"""rerun --at, in the sandbox: a repository whose code changed after its committed run is re-run as it was
(``recorded``) or as it is (``head``); a run recording a commit the history lacks falls back to HEAD.

Slow: it builds the MLflow environment and runs the sandbox (the ``env_cache`` fixture)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from analysis.rerun.driver_env import DRIVER_SPEC
from analysis.rerun.job import rerun
from miner.fileio import read_csv
from tests.analysis.rerun.conftest import make_corpus, rerun_settings
from tests.analysis.rerun.stores import committed_run
from tests.conftest import git, make_repo

pytestmark = pytest.mark.slow
MLPROJECT = "name: t\npython_env: python_env.yaml\nentry_points:\n  main:\n    command: python train.py\n"
PYTHON_ENV = f"dependencies:\n  - {DRIVER_SPEC.requirements[0]}\n"  # the environment test_job.py's runs build
TRAIN = "import mlflow\nwith mlflow.start_run():\n    mlflow.log_metric('score', {score})\n"
NOT_IN_HISTORY = "deadbeef" * 5


def _committed(run_id: str, commit: str, score: float) -> dict[str, str]:
    """One committed run of ``main`` that recorded ``commit``."""
    return committed_run(run_id, {"mlflow.project.entryPoint": "main", "mlflow.source.git.commit": commit},
                         {"score": score})


def _commit(work: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "train.py changed after the run", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


@pytest.fixture
def changed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """case/changed: train.py logged score 1.0 when its run was committed, 2.0 at HEAD; case/lost: its run
    recorded a commit the history does not hold."""
    gone = uuid.uuid4().hex  # a run the old tree held and HEAD's does not: not one the re-run logged
    work = make_repo(tmp_path / "src" / "case" / "changed", {"MLproject": MLPROJECT, "python_env.yaml": PYTHON_ENV,
                                                                  "train.py": TRAIN.format(score=1.0),
                                                                  **_committed(gone, "", 0.5)})
    old = git("rev-parse", "HEAD", cwd=work).strip()
    shutil.rmtree(work / "mlruns" / "0" / gone)
    _commit(work, {"train.py": TRAIN.format(score=2.0), **_committed(uuid.uuid4().hex, old, 1.0)})
    make_repo(tmp_path / "src" / "case" / "lost", {"MLproject": MLPROJECT, "python_env.yaml": PYTHON_ENV,
                                                   "train.py": TRAIN.format(score=1.0),
                                                   **_committed(uuid.uuid4().hex, NOT_IN_HISTORY, 1.0)})
    return make_corpus(tmp_path, {})


def _rows(out: Path) -> dict[str, dict[str, str]]:
    return {r["repo"]: r for r in read_csv(out / "rerun.csv")}


def test_recorded_reruns_the_old_code_and_head_the_new(changed: tuple[Path, Path, Path], env_cache: Path) -> None:
    work = changed[2] / "src" / "case" / "changed"
    old = git("rev-parse", "HEAD~1", cwd=work).strip()
    head = git("rev-parse", "HEAD", cwd=work).strip()
    summary = rerun(rerun_settings(changed, env_cache))  # --at recorded is the default
    assert not summary.errors, summary.errors
    rows = _rows(changed[1])
    row = rows["case/changed"]
    assert (row["status"], row["at"], row["commit"]) == ("succeeded", "recorded", old)
    assert (row["metrics_equal"], row["metrics_differ"]) == ("true", "")  # the old code logged the committed 1.0
    assert row["n_runs_logged"] == "1"  # the run the old tree held is not counted as the re-run's
    lost = rows["case/lost"]
    assert (lost["status"], lost["at"], lost["metrics_equal"]) == ("succeeded", "head: not-in-history", "true")
    assert lost["commit"] == git("rev-parse", "HEAD", cwd=changed[2] / "src" / "case" / "lost").strip()

    summary = rerun(rerun_settings(changed, env_cache, at="head"))  # made at the recorded commit: run again
    assert summary.n_run == 1, summary.lines()  # the fallback to HEAD is the same re-run under --at head
    row = _rows(changed[1])["case/changed"]
    assert (row["status"], row["at"], row["commit"]) == ("succeeded", "head", head)
    assert (row["metrics_equal"], row["metrics_close"], row["metrics_differ"]) == ("false", "false", "score")
