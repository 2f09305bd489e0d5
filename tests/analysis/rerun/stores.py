"""Committed stores the re-run tests put in their repositories."""

from __future__ import annotations


def committed_run(run_id: str, tags: dict[str, str], metrics: dict[str, float],
                  params: dict[str, str] | None = None) -> dict[str, str]:
    """FileStore files (path: text) of one FINISHED run of experiment 0, as MLflow 1.30 writes them."""
    root = f"mlruns/0/{run_id}"
    return {
        "mlruns/0/meta.yaml": "artifact_location: mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n",
        f"{root}/meta.yaml": (f"run_id: {run_id}\nrun_uuid: {run_id}\nexperiment_id: '0'\nstatus: 3\n"
                              "start_time: 1700000000000\nend_time: 1700000001000\nlifecycle_stage: active\n"
                              "user_id: someone\nartifact_uri: mlruns/0/x/artifacts\n"),
        **{f"{root}/tags/{k}": v for k, v in tags.items()},
        **{f"{root}/params/{k}": v for k, v in (params or {}).items()},
        **{f"{root}/metrics/{k}": f"1700000000500 {v} 0\n" for k, v in metrics.items()},
    }
