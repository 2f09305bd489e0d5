"""rerun.compare: final metrics compared with a committed run's; runs read back from stores MLflow wrote."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from analysis.rerun.compare import compare_metrics, runs_in

@pytest.mark.parametrize(("fresh", "committed", "expected"), [
    pytest.param({"a": 1.0, "n": math.nan, "i": math.inf}, {"a": 1.0, "n": math.nan, "i": math.inf}, (True, True, ""),
                 id="equal-nan-inf"),
    pytest.param({"a": 1.004}, {"a": 1.0}, (False, True, ""), id="close"),
    pytest.param({"a": 2.0, "b": 1.0}, {"a": 1.0, "b": 1.0}, (False, False, "a"), id="differ"),
    pytest.param({"a": 1.0}, {"a": 1.0, "gone": 3.0}, (False, False, "gone"), id="missing"),
    pytest.param({"i": -math.inf}, {"i": math.inf}, (False, False, "i"), id="opposite-infinities"),
    pytest.param({"a": 1.0}, {}, (None, None, ""), id="nothing-committed"),
])
def test_metrics_comparison(fresh: dict[str, float], committed: dict[str, float],
                            expected: tuple[bool | None, bool | None, str]) -> None:
    assert compare_metrics(fresh, committed) == expected



@pytest.mark.slow  # writes a store with MLflow
def test_stores_written_by_mlflow_read_back_with_final_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    run = client.create_run("0", tags={"mlflow.project.entryPoint": "main"})
    client.log_param(run.info.run_id, "nested/key", "v")
    for step, value in ((0, 0.3), (2, 0.1), (1, 0.2)):
        client.log_metric(run.info.run_id, "loss", value, step=step)
    client.log_metric(run.info.run_id, "nan", math.nan)
    client.set_terminated(run.info.run_id)
    gone = client.create_run("0")
    client.delete_run(gone.info.run_id)
    (got,) = runs_in(tmp_path)
    assert (got.run_id, got.entry_point, got.status, got.store) == (run.info.run_id, "main", "FINISHED", "mlruns")
    assert got.params == {"nested/key": "v"} and got.metrics["loss"] == 0.1 and math.isnan(got.metrics["nan"])

