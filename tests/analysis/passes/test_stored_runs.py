"""The stored-runs pass: a store the checkout commits, read into the ``stored_*`` tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from analysis.passes import stored_runs
from analysis.repo_state import RepoResult
from analysis.rows import EntryPointRow, MlprojectRow
from tests.analysis.passes.checkouts import checkout_of

RUN = "a" * 32
STORE = {
    "mlruns/1/meta.yaml": "experiment_id: '1'\nname: e\nartifact_location: mlruns/1\nlifecycle_stage: active\n",
    f"mlruns/1/{RUN}/meta.yaml": f"run_id: {RUN}\nrun_uuid: {RUN}\nexperiment_id: '1'\nstatus: 3\nstart_time: 5\n"
                                 "end_time: 9\nuser_id: u\nlifecycle_stage: active\n"
                                 f"artifact_uri: /home/u/p/mlruns/1/{RUN}/artifacts\n",
    f"mlruns/1/{RUN}/params/alpha": "0.5",
    f"mlruns/1/{RUN}/metrics/acc": "1 0.5 0\n2 0.75 1\n",
    f"mlruns/1/{RUN}/tags/mlflow.project.entryPoint": "main",
}


def test_the_pass_alone_reads_a_committed_store(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {"train.py": "print(1)\n", **STORE})
    result = RepoResult("o/r")
    result.mlprojects.append(MlprojectRow("o/r", "MLproject", "p", "", "", "", "", "", False, 1, True, ""))
    result.entry_points.append(EntryPointRow("o/r", "MLproject", "main", "python train.py", "train.py", 0))
    stored_runs.repo_pass(checkout, result)
    assert [(s.repo, s.store, s.kind, s.n_runs) for s in result.stores] == [("o/r", "mlruns", "file", 1)]
    assert [(e.experiment_id, e.name) for e in result.stored_experiments] == [("1", "e")]
    assert [(r.run_id, r.status) for r in result.stored_runs] == [(RUN, "FINISHED")]
    # the run's entry point, main, declares no parameter in the valid MLproject: alpha is not declared
    assert [(p.key, p.value, p.declared_in_mlproject) for p in result.stored_params] == [("alpha", "0.5", "no")]
    assert [(m.key, m.n_points, m.latest_value) for m in result.stored_metrics] == [("acc", 2, 0.75)]
    assert result.problems == []


def test_a_checkout_without_a_store_adds_nothing(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {"train.py": "import mlflow\n", "mlruns.txt": "not a store\n"})
    result = RepoResult("o/r")
    stored_runs.repo_pass(checkout, result)
    assert (result.stores, result.stored_runs, result.problems) == ([], [], [])


def test_the_store_reader_imports_before_the_passes() -> None:
    """``stores.stored_runs`` imports the MLproject parser from this package, whose ``__init__`` lists this pass."""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", "import analysis.stores.stored_runs"], cwd=root,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
