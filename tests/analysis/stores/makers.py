"""Stores for the store tests: MLflow's own reading of a store, the scenario the old releases log,
and hand-made FileStore trees."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from analysis.stores.discovery import find_stores
from analysis.stores.stored_runs import StoreReading, read_store

# What MLflow returns for every run of a store (all view types), as JSON with floats as repr strings.
MLFLOW_READING = textwrap.dedent('''
    import json, os, sys
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.tracking import MlflowClient
    from mlflow.entities import ViewType

    def mlflow_reading(uri):
        client = MlflowClient(tracking_uri=uri)
        exps = client.search_experiments(view_type=ViewType.ALL)
        out = {"experiments": sorted([e.experiment_id, e.name, e.lifecycle_stage] for e in exps), "runs": {}}
        for run in client.search_runs([e.experiment_id for e in exps], run_view_type=ViewType.ALL, max_results=1000):
            info = run.info
            hist = {k: [[m.timestamp, repr(float(m.value)), m.step] for m in client.get_metric_history(info.run_id, k)]
                    for k in run.data.metrics}
            inputs = getattr(run, "inputs", None)
            datasets = [[d.dataset.name, d.dataset.digest, {t.key: t.value for t in d.tags}.get("mlflow.data.context", "")]
                        for d in (inputs.dataset_inputs if inputs is not None else [])]
            out["runs"][info.run_id] = {
                "experiment_id": info.experiment_id, "status": info.status, "lifecycle_stage": info.lifecycle_stage,
                "start_time": info.start_time, "end_time": info.end_time, "artifact_uri": info.artifact_uri,
                "run_name": getattr(info, "run_name", None) or run.data.tags.get("mlflow.runName", ""),
                "user_id": info.user_id, "params": run.data.params, "tags": run.data.tags,
                "metrics": {k: repr(float(v)) for k, v in run.data.metrics.items()}, "history": hist,
                "datasets": sorted(datasets)}
        return out
''')

# The scenario an old MLflow logs (what 1.x and 2.x have in common): NaN, +-inf, repeated and
# unordered steps, a long param, nested, deleted and failed runs, a deleted experiment.
OLD_SCENARIO = MLFLOW_READING + textwrap.dedent('''
    import mlflow
    uri, dump = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("old-exp")
    with mlflow.start_run(run_name="parent"):
        mlflow.log_param("long", "y" * 400)
        mlflow.log_param("lr", 0.01)
        for step, v in [(0, 1.0), (1, float("nan")), (1, 2.0), (3, float("inf")), (2, -float("inf")), (3, 0.5)]:
            mlflow.log_metric("loss", v, step=step)
        mlflow.log_metric("legacy", 7.0)
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("acc", 0.9)
    client = MlflowClient()
    with mlflow.start_run(run_name="gone") as gone:
        mlflow.log_metric("x", 1)
    client.delete_run(gone.info.run_id)
    try:
        with mlflow.start_run(run_name="boom"):
            raise RuntimeError
    except RuntimeError:
        pass
    dead = client.create_experiment("dead-exp")
    with mlflow.start_run(experiment_id=dead):
        mlflow.log_param("p", "1")
    client.delete_experiment(dead)
    with open(dump, "w") as fh:
        json.dump({"version": mlflow.__version__, **mlflow_reading(uri)}, fh)
''')


def new_scenario(uri: str) -> None:
    """The installed MLflow (3.x) logs the full scenario, datasets and a logged model included."""
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("exp-a")
    with mlflow.start_run(run_name="parent"):
        mlflow.log_params({"lr": "0.1", "long": "x" * 5000})
        for step, v in [(0, 1.0), (1, float("nan")), (1, 2.0), (3, float("inf")), (2, -float("inf")), (3, 0.5)]:
            mlflow.log_metric("loss", v, step=step)
        mlflow.log_metric("nested/key", 3.0)
        mlflow.log_input(mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2]}), name="tiny"), context="training")
        mlflow.log_text("hello", "notes/a.txt")
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("acc", 0.9)

        class Echo(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
            def predict(self, context: Any, model_input: Any) -> Any:
                return model_input

        mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=[])
    with mlflow.start_run(run_name="gone") as gone:
        mlflow.log_metric("x", 1)
    MlflowClient().delete_run(gone.info.run_id)
    try:
        with mlflow.start_run(run_name="boom"):
            raise RuntimeError
    except RuntimeError:
        pass


def installed_reading(uri: str) -> dict[str, Any]:
    """What the installed MLflow returns for every run of the store at ``uri``."""
    scope: dict[str, Any] = {}
    exec(MLFLOW_READING, scope)  # the same code the old environments run
    return scope["mlflow_reading"](uri)  # type: ignore[no-any-return]


def paths_of(root: Path) -> list[str]:
    """The sorted repository-relative paths of a checkout (files and symlinks), as ``find_stores`` takes them."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def file_store(root: Path, runs: dict[str, dict[str, str | bytes]] | None = None, exp_meta: str | None = None) -> Path:
    """A hand-made FileStore ``mlruns/1`` with one run per entry (files relative to the run dir)."""
    exp = root / "mlruns" / "1"
    exp.mkdir(parents=True)
    (exp / "meta.yaml").write_text(exp_meta if exp_meta is not None else
                                   "experiment_id: '1'\nname: e\nartifact_location: mlruns/1\nlifecycle_stage: active\n")
    for run_id, files in (runs or {}).items():
        run = exp / run_id
        for sub in ("metrics", "params", "artifacts", "tags"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        (run / "meta.yaml").write_text(f"run_id: {run_id}\nexperiment_id: '1'\nstatus: 3\nstart_time: 5\n"
                                       f"user_id: u\nlifecycle_stage: active\nartifact_uri: mlruns/1/{run_id}/artifacts\n")
        for rel, content in files.items():
            (run / rel).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                (run / rel).write_bytes(content)
            else:
                (run / rel).write_text(content)
    return root


def read_found(root: Path, path: str = "mlruns") -> StoreReading:
    """The store found at ``path`` of ``root``, read."""
    refs = {r.path: r for r in find_stores(root, paths_of(root))}
    return read_store("o/r", root, refs[path])
