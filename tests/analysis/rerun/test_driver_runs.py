"""rerun --driver-mlflow, run in the sandbox: a project pinning MLflow 1.30.1 (or 2.9.2) fails to read the run
MLflow 3 created (``current``: the failure of 5 targets of the dev corpus) and re-runs when its own release
creates it (``declared``, the default); each row says which MLflow made it, and each choice is journaled apart.

Builds two environments per release from PyPI once (kept in the tests' cache): the project's (Python 3.9,
``mlflow-skinny==X``, as the stores' tests build them) and the driver's (the probe's Python and pins for
the release: 3.8 for 1.30.1, 3.9 for 2.9.2, ``mlflow-skinny==X``, ``setuptools<81``).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.rerun.job import rerun
from cli import Exit, app
from miner.fileio import read_csv
from tests.analysis.rerun.conftest import make_corpus, rerun_settings
from tests.analysis.rerun.stores import committed_run

pytestmark = pytest.mark.slow
runner = CliRunner()
MLPROJECT = ("name: t\npython_env: python_env.yaml\nentry_points:\n  main:\n    parameters:\n"
             "      alpha: {type: float, default: 0.5}\n    command: python train.py {alpha}\n")
TRAIN = "import mlflow, sys\nwith mlflow.start_run():\n    mlflow.log_metric('score', float(sys.argv[1]) * 2)\n"


def _committed(run_id: str) -> dict[str, str]:
    """One committed run of ``main`` (alpha 0.5, score 1.0)."""
    return committed_run(run_id, {"mlflow.project.entryPoint": "main"}, {"score": 1.0}, {"alpha": "0.5"})


def _rows(out: Path) -> dict[str, dict[str, str]]:
    return {r["driver_mlflow"].split(" ")[0]: r for r in read_csv(out / "rerun.csv")}


@pytest.mark.parametrize(("old", "driver_python"), [("1.30.1", "3.8."), ("2.9.2", "3.9.")])
def test_a_project_pinning_an_old_mlflow_runs_with_its_own_release_and_fails_reading_mlflow_3s_run(
        tmp_path: Path, env_cache: Path, old: str, driver_python: str) -> None:
    corpus = make_corpus(tmp_path, {"case/old": {
        "MLproject": MLPROJECT, "python_env.yaml": f"python: '3.9'\ndependencies:\n  - mlflow-skinny=={old}\n",
        "train.py": TRAIN, **_committed(uuid.uuid4().hex)}})
    out = corpus[1]
    # --driver-mlflow current, through the command line: MLflow 3.17 creates the run, 1.30.1 cannot read it
    result = runner.invoke(app, ["rerun", "--corpus", str(corpus[0]), "--out", str(out), "--env-cache",
                                 str(env_cache), "--work-dir", str(tmp_path / "work"), "--timeout", "120",
                                 "--driver-mlflow", "current"])
    assert result.exit_code == Exit.OK, result.output
    assert "driver MLflow: current" in result.output
    current = _rows(out)["current"]
    assert (current["status"], current["failure_class"]) == ("failed", "TypeError"), current
    # Python 3.9 does not name the class in the message (3.10 on: "RunInfo.__init__()"); the traceback does
    assert current["message"] == "TypeError: __init__() missing 1 required positional argument: 'run_uuid'"
    log = next((out / "rerun" / "logs").glob("*.run.log")).read_text()
    assert "return RunInfo.from_dictionary(dict_copy)" in log and "file_store.py" in log
    assert (current["driver_mlflow"], current["mlflow_pinned"], current["python_used"][:4]) == (
        "current 3.17.2", old, "3.9.")
    # declared (the default): the other choice is not in the journal, so the target runs again; 1.30.1 makes the run
    summary = rerun(rerun_settings(corpus, env_cache, timeout=120))
    assert (summary.n_run, summary.n_already, summary.errors) == (1, 0, ())
    rows = _rows(out)
    assert set(rows) == {"current", "declared"}  # one row per choice; the current one kept, and its logs
    logs = out / "rerun" / "logs"
    assert (logs / "case__old__MLproject__main.declared.build.log").is_file()  # the declared run's (it printed nothing)
    assert "return RunInfo.from_dictionary(dict_copy)" in (logs / "case__old__MLproject__main.run.log").read_text()
    declared = rows["declared"]
    assert (declared["status"], declared["driver_mlflow"], declared["mlflow_pinned"]) == (
        "succeeded", f"declared {old}", old), declared
    assert (declared["n_runs_logged"], declared["metrics_equal"], declared["params_equal"]) == ("1", "true", "true")
    # the driver's environment: the probe's Python and pins for the release
    built = [json.loads(f.read_text()) for f in env_cache.glob("*/.mlflow-census-env.json")]
    assert any(e["requirements"] == [f"mlflow-skinny=={old}", "setuptools<81"] and e["python"].startswith(driver_python)
               for e in built)
    # each choice is finished now: neither runs again
    for choice in ("declared", "current"):
        again = rerun(rerun_settings(corpus, env_cache, timeout=120, driver_mlflow=choice))
        assert (again.n_run, again.n_already) == (0, 1), choice
    # the summary counts the target once (its declared row), and gives each choice's rates over it
    summary_rows = {(r["section"], r["name"]): r for r in read_csv(out / "rerun_summary.csv")}
    assert (summary_rows[("rate", "ran")]["n"], summary_rows[("rate", "ran")]["n_eligible"]) == ("1", "1")
    assert summary_rows[("driver", f"declared {old}")]["n"] == "1"
    assert (summary_rows[("driver rate", "ran: declared")]["n"], summary_rows[("driver rate", "ran: current")]["n"]) \
        == ("1", "0")
    assert summary_rows[("driver rate", "same given compared: declared")]["n"] == "1"
