"""Committed experiment stores read statically, checked against MLflow's own stores reading the same bytes.

Stores are made by real MLflow: the installed 3.x (FileStore and SQLite), and a 1.x and a 2.x
release in isolated environments (``analysis.uv_env``, cached under
``~/.cache/mlflow-census/test-envs``). Each old release also dumps what its own ``search_runs``
and ``get_metric_history`` return, so every store is compared with the MLflow that wrote it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.passes.mlproject import parse_mlproject
from analysis.stores.readers import StoreLimits, parse_metric_lines
from analysis.releases.schema import heads, load_snapshot, migration_graph, releases_by_head
from analysis.stores.stored_runs import (
    StoreReading,
    StoreRef,
    artifact_uri_kind,
    commits_in_history,
    declared_parameters,
    find_stores,
    match_in_checkout,
    read_store,
)
from analysis.statistics.stores import store_statistics
from analysis.stores.readers import Checkout
from tests.conftest import git, tmpfs_dir

ENV_CACHE = Path.home() / ".cache" / "mlflow-census" / "test-envs"

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


def _new_scenario(uri: str) -> None:
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


def _installed_reading(uri: str) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    exec(MLFLOW_READING, scope)  # the same code the old environments run
    return scope["mlflow_reading"](uri)  # type: ignore[no-any-return]


def _paths(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


@pytest.fixture(scope="module")
def new_stores() -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    """A checkout holding ``mlruns/`` and ``mlflow.db`` written by the installed MLflow, and MLflow's reading of each."""
    pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("alembic")
    with tmpfs_dir("repo-") as repo:
        old_cwd, old_env = Path.cwd(), os.environ.get("MLFLOW_ALLOW_FILE_STORE")
        os.chdir(repo)  # MLflow writes relative to the working directory, as a user's script would
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        try:
            readings = {}
            for store, uri in (("mlruns", "file:./mlruns"), ("mlflow.db", "sqlite:///mlflow.db")):
                _new_scenario(uri)
                readings[store] = _installed_reading(uri)
            import mlflow

            mlflow.set_tracking_uri(None)
        finally:
            os.chdir(old_cwd)
            if old_env is None:
                os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        yield repo, readings


OLD_RELEASES = {
    "1.x": ("mlflow-skinny==1.30.1", "sqlalchemy<2", "alembic<1.12", "setuptools<70"),
    "2.x": ("mlflow-skinny==2.9.2", "sqlalchemy<2.1", "alembic<1.14", "setuptools<70"),
}


@pytest.fixture(scope="module", params=sorted(OLD_RELEASES))
def old_stores(request: pytest.FixtureRequest) -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    """A checkout with stores written by an old MLflow release, and that release's own reading of them."""
    from analysis.uv_env import EnvBuildError, EnvSpec, ensure_env

    ENV_CACHE.mkdir(parents=True, exist_ok=True)
    try:
        env = ensure_env(EnvSpec("3.9", OLD_RELEASES[request.param]), ENV_CACHE)
    except EnvBuildError as err:
        if err.reason in ("network", "timeout", "python unavailable"):
            pytest.skip(f"cannot build MLflow {request.param} environment ({err.reason}): {err}")
        raise
    with tmpfs_dir(f"repo-{request.param}-") as where:
        repo = where / "repo"
        repo.mkdir()
        (repo / "scenario.py").write_text(OLD_SCENARIO)
        readings = {}
        for store, uri in (("mlruns", "file:./mlruns"), ("mlflow.db", "sqlite:///mlflow.db")):
            dump = where / f"{store}.json"
            subprocess.run([str(env.python), "scenario.py", uri, str(dump)], cwd=repo, check=True, capture_output=True,
                           timeout=300)
            readings[store] = json.loads(dump.read_text())
        yield repo, readings


def _ours(repo: Path, ref: StoreRef) -> StoreReading:
    return read_store("o/r", repo, ref, revision_releases=load_snapshot(), keep_history=True)


def _assert_same_as_mlflow(ours: StoreReading, theirs: dict[str, Any]) -> None:
    runs = {r.run_id: r for r in ours.runs}
    assert sorted(runs) == sorted(theirs["runs"])
    assert sorted([e.experiment_id, e.name, e.lifecycle_stage] for e in ours.experiments) == theirs["experiments"]
    for run_id, want in theirs["runs"].items():
        run = runs[run_id]
        got = {"experiment_id": run.experiment_id, "status": run.status, "lifecycle_stage": run.lifecycle_stage,
               "start_time": run.start_time, "end_time": run.end_time, "artifact_uri": run.artifact_uri,
               "run_name": run.run_name}
        assert got == {k: want[k] for k in got}, run_id
        assert {p.key: p.value for p in ours.params if p.run_id == run_id} == want["params"]
        assert {t.key: t.value for t in ours.tags if t.run_id == run_id} == want["tags"]
        latest = {m.key: repr(float(m.latest_value)) for m in ours.metrics if m.run_id == run_id}
        assert latest == want["metrics"], run_id
        for key, points in want["history"].items():
            mine = [[t, repr(float(v)), s] for t, v, s in ours.history[(run_id, key)]]
            assert sorted(mine) == sorted(points), (run_id, key)
        if want.get("datasets"):
            assert sorted([i.dataset_name, i.digest, i.context] for i in ours.inputs if i.run_id == run_id) == \
                want["datasets"]


# ------------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize("store", ["mlruns", "mlflow.db"])
def test_installed_mlflow_store_reads_as_mlflow_reads_it(new_stores: tuple[Path, dict[str, Any]], store: str) -> None:
    repo, readings = new_stores
    refs = {r.path: r for r in find_stores(repo, _paths(repo))}
    assert set(refs) == {"mlruns", "mlflow.db"}
    ours = _ours(repo, refs[store])
    _assert_same_as_mlflow(ours, readings[store])
    # the SQL store's artifacts went to ./mlruns/1/<run>/artifacts: an experiment folder without
    # meta.yaml, which MLflow's FileStore skips (and so does the reader, saying so)
    assert [(p.path, "missing" in p.reason) for p in ours.problems] == ([("mlruns/1/meta.yaml", True)]
                                                                        if store == "mlruns" else [])
    by_name = {r.run_name: r for r in ours.runs}
    assert by_name["gone"].lifecycle_stage == "deleted" and by_name["boom"].status == "FAILED"
    assert by_name["child"].parent_run_id == by_name["parent"].run_id
    loss = next(m for m in ours.metrics if m.key == "loss")
    history = readings[store]["runs"][by_name["parent"].run_id]["history"]["loss"]
    values, steps = [float(v) for _t, v, _s in history], [s for _t, _v, s in history]
    # step 3 holds inf then 0.5: the later timestamp wins; steps were logged 0 1 1 3 2 3
    assert (loss.n_points, loss.latest_step, loss.latest_value) == (len(history), 3, 0.5)
    assert (loss.min_step, loss.max_step, loss.repeated_steps) == (min(steps), max(steps), len(steps) - len(set(steps)))
    assert (loss.n_nan, loss.steps_monotonic) == (sum(map(math.isnan, values)), False)
    assert loss.n_inf == sum(1 for v in values if math.isinf(v) or abs(v) == sys.float_info.max) == 2
    assert next(p for p in ours.params if p.key == "long").value_len == 5000
    assert by_name["parent"].n_datasets == 1
    if store == "mlruns":
        # the pyfunc model of 3.x lives in <exp>/models/<id>/artifacts, reached through the run's outputs
        assert by_name["parent"].model_flavors == "python_function"
        assert by_name["parent"].mlflow_version == __import__("mlflow").__version__
        assert by_name["parent"].n_artifacts >= 2 and by_name["parent"].artifact_uri_kind == "absolute-local"
    else:
        assert ours.store.schema_revision and ours.store.first_mlflow_release
        assert by_name["parent"].mlflow_version.startswith(">=")
        # 3.x records an absolute path: found in the checkout by its longest suffix
        assert (by_name["parent"].artifact_uri_kind, by_name["parent"].n_artifacts) == ("absolute-local", 1)


def test_old_release_store_reads_as_that_release_reads_it(old_stores: tuple[Path, dict[str, Any]]) -> None:
    repo, readings = old_stores
    refs = {r.path: r for r in find_stores(repo, _paths(repo))}
    for store in ("mlruns", "mlflow.db"):
        ours = _ours(repo, refs[store])
        _assert_same_as_mlflow(ours, readings[store])
        assert ours.problems == ()
        deleted = [e for e in ours.experiments if e.lifecycle_stage == "deleted"]
        assert [(e.name, e.n_runs) for e in deleted] == [("dead-exp", 1)]
        legacy = next(m for m in ours.metrics if m.key == "legacy")
        assert (legacy.latest_value, legacy.latest_step) == (7.0, 0)
    sql = _ours(repo, refs["mlflow.db"]).store
    version = readings["mlflow.db"]["version"]
    # the schema's first release is at most the release that wrote it
    from analysis.releases.catalog import version_key

    assert version_key(sql.first_mlflow_release) <= version_key(version)
    assert sql.first_mlflow_release.split(".")[0] == version.split(".")[0]


# ------------------------------------------------------------------------------- metric lines


@pytest.mark.parametrize(("text", "points", "bad"), [
    pytest.param("10 1.5 2\n", [(10, 1.5, 2)], [], id="three-fields"),
    pytest.param("10 1.5\n", [(10, 1.5, 0)], [], id="legacy-two-fields-step-0"),
    pytest.param("10 1.5 4 ds abc\n", [(10, 1.5, 0)], [], id="five-fields-step-read-as-0-like-mlflow"),
    pytest.param("10 nan 1\n11 -inf 2\n", [(10, math.nan, 1), (11, -math.inf, 2)], [], id="nan-inf"),
    pytest.param("10 1 1\nten 2 2\n12 3 3\n", [(10, 1.0, 1), (12, 3.0, 3)], [2], id="text-line"),
    pytest.param("10 1 1\n\n12 3 3\n", [(10, 1.0, 1), (12, 3.0, 3)], [2], id="blank-line"),
    pytest.param("10  1 1\n", [], [1], id="double-space-is-four-fields"),
    pytest.param("", [], [], id="empty"),
])
def test_metric_lines(text: str, points: list[tuple[int, float, int]], bad: list[int]) -> None:
    got, errors = parse_metric_lines(text)
    assert [(p[0], p[2]) for p in got] == [(p[0], p[2]) for p in points]
    assert [repr(p[1]) for p in got] == [repr(p[1]) for p in points]
    assert [line for line, _ in errors] == bad


# ------------------------------------------------------------------------------- bad input


def _file_store(root: Path, runs: dict[str, dict[str, str | bytes]] | None = None, exp_meta: str | None = None) -> Path:
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


def _read(root: Path, path: str = "mlruns") -> StoreReading:
    refs = {r.path: r for r in find_stores(root, _paths(root))}
    return read_store("o/r", root, refs[path])


def test_malformed_experiment_meta_is_a_problem_and_its_runs_are_counted(tmp_path: Path) -> None:
    _file_store(tmp_path, {"a" * 32: {"metrics/m": "1 2 3\n"}}, exp_meta="experiment_id: '1'\nname: [unclosed\n")
    reading = _read(tmp_path)
    assert reading.runs == () and reading.skipped["runs_in_skipped_experiments"] == 1
    assert [(p.path, "malformed YAML" in p.reason) for p in reading.problems] == [("mlruns/1/meta.yaml", True)]


def test_run_without_meta_is_skipped_as_mlflow_skips_it_and_reported(tmp_path: Path) -> None:
    _file_store(tmp_path, {"a" * 32: {"metrics/m": "1 2 3\n"}})
    (tmp_path / "mlruns" / "1" / ("b" * 32) / "metrics").mkdir(parents=True)
    (tmp_path / "mlruns" / "1" / ("b" * 32) / "metrics" / "m").write_text("1 2 3\n")
    reading = _read(tmp_path)
    assert [r.run_id for r in reading.runs] == ["a" * 32]
    assert reading.skipped["runs_without_meta"] == 1 and reading.store.skipped_runs == 1
    assert [p.path for p in reading.problems] == [f"mlruns/1/{'b' * 32}"]


def test_text_metric_line_and_empty_metric_file(tmp_path: Path) -> None:
    run = "c" * 32
    _file_store(tmp_path, {run: {"metrics/good": "1 2.5 0\nnot a number\n3 4.5 1\n", "metrics/empty": ""}})
    reading = _read(tmp_path)
    (good,) = reading.metrics
    assert (good.key, good.n_points, good.latest_value) == ("good", 2, 4.5)
    where = sorted((p.path, p.line) for p in reading.problems)
    assert where == [(f"mlruns/1/{run}/metrics/empty", None), (f"mlruns/1/{run}/metrics/good", 2)]
    assert reading.store.skipped_metric_lines == 1 and reading.skipped["metrics_empty"] == 1


def test_two_gigabyte_sparse_metric_file_is_read_up_to_the_bound(tmp_path: Path) -> None:
    run = "d" * 32
    _file_store(tmp_path, {run: {"metrics/big": "1 1 1\n"}})
    big = tmp_path / "mlruns" / "1" / run / "metrics" / "big"
    with big.open("r+b") as fh:
        fh.truncate(2 * 1024**3)  # sparse: 2 GB on paper, one block on disk
    started = time.perf_counter()
    reading = read_store("o/r", tmp_path, StoreRef("mlruns", "file"), limits=StoreLimits(metric_file_bytes=1 << 20))
    assert time.perf_counter() - started < 30  # bounded, not a timing assertion: 2 GB would take minutes
    (metric,) = reading.metrics
    assert (metric.n_points, metric.latest_value) == (1, 1.0)
    reasons = [p.reason for p in reading.problems if p.path.endswith("/big")]
    assert any("only the first 1048576 read" in r for r in reasons)
    assert reading.store.bytes >= 2 * 1024**3


def test_db_that_is_not_sqlite_truncated_or_locked(new_stores: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    src = new_stores[0] / "mlflow.db"
    (tmp_path / "mlflow.db").write_bytes(os.urandom(4096))  # encrypted or another format
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "mlflow.db").write_bytes(src.read_bytes()[:8192])
    (tmp_path / "locked").mkdir()
    shutil.copy(src, tmp_path / "locked" / "tracking.sqlite")
    holder = sqlite3.connect(tmp_path / "locked" / "tracking.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        refs = {r.path: r for r in find_stores(tmp_path, _paths(tmp_path))}
        assert set(refs) == {"mlflow.db", "cut/mlflow.db", "locked/tracking.sqlite"}
        garbage = read_store("o/r", tmp_path, refs["mlflow.db"])
        assert [(p.path, "no SQLite header" in p.reason) for p in garbage.problems] == [("mlflow.db", True)]
        cut = read_store("o/r", tmp_path, refs["cut/mlflow.db"])
        assert cut.runs == () and [p.path for p in cut.problems] == ["cut/mlflow.db"]
        locked = read_store("o/r", tmp_path, refs["locked/tracking.sqlite"])
        assert len(locked.runs) == len(new_stores[1]["mlflow.db"]["runs"]) and locked.problems == ()
    finally:
        holder.rollback()
        holder.close()


def test_store_symlinked_to_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mlruns").symlink_to("/")
    refs = find_stores(tmp_path, ["mlruns"])
    assert refs == [StoreRef("mlruns", "file")]
    reading = read_store("o/r", tmp_path, refs[0])
    assert reading.runs == () and [p.path for p in reading.problems] == ["mlruns"]
    assert "symlink leaving the repository" in reading.problems[0].reason


def test_symlinks_inside_a_store_leaving_the_repository_are_not_followed(tmp_path: Path) -> None:
    run = "e" * 32
    _file_store(tmp_path, {run: {"params/p": "v"}})
    (tmp_path / "mlruns" / "1" / run / "params" / "secret").symlink_to("/etc/hostname")
    (tmp_path / "mlruns" / "2").symlink_to("/")
    reading = _read(tmp_path)
    assert [(p.key, p.value) for p in reading.params] == [("p", "v")]
    assert sorted(p.path for p in reading.problems) == ["mlruns/1/" + run + "/params/secret", "mlruns/2"]


def test_lfs_pointers(tmp_path: Path) -> None:
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123456\n"
    (tmp_path / "mlflow.db").write_text(pointer)
    run = "f" * 32
    _file_store(tmp_path, {run: {"metrics/m": pointer, "params/p": "v"}})
    refs = {r.path: r for r in find_stores(tmp_path, _paths(tmp_path))}
    db = read_store("o/r", tmp_path, refs["mlflow.db"])
    assert [("LFS" in p.reason, p.path) for p in db.problems] == [(True, "mlflow.db")]
    store = read_store("o/r", tmp_path, refs["mlruns"])
    assert store.metrics == () and [p.path for p in store.problems if "LFS" in p.reason] == [f"mlruns/1/{run}/metrics/m"]


# ------------------------------------------------------------------------------- finding


def test_finds_by_content_not_by_name_and_ignores_look_alikes(new_stores: tuple[Path, dict[str, Any]],
                                                              tmp_path: Path) -> None:
    shutil.copytree(new_stores[0] / "mlruns", tmp_path / "experiments" / "tracking")  # any name
    shutil.copytree(new_stores[0] / "mlruns", tmp_path / "experiments" / "tracking" / "0" / "r" / "artifacts" / "mlruns")
    (tmp_path / "models" / "resnet").mkdir(parents=True)  # ML models, not a registry
    (tmp_path / "models" / "resnet" / "meta.yaml").write_text("name: resnet\nlayers: 50\n")
    other = sqlite3.connect(tmp_path / "optuna.db")
    other.execute("CREATE TABLE studies (id INTEGER)")
    other.commit()
    other.close()
    (tmp_path / "Thumbs.db").write_bytes(b"\0" * 64)
    assert find_stores(tmp_path, _paths(tmp_path)) == [StoreRef("experiments/tracking", "file")]


def test_model_registry_tree(tmp_path: Path) -> None:
    reg = tmp_path / "registry" / "models" / "clf"
    (reg / "version-1").mkdir(parents=True)
    (reg / "meta.yaml").write_text("name: clf\ncreation_timestamp: 1\nlast_updated_timestamp: 2\n")
    (reg / "version-1" / "meta.yaml").write_text("name: clf\nversion: 1\ncurrent_stage: None\nsource: x\n")
    refs = find_stores(tmp_path, _paths(tmp_path))
    assert refs == [StoreRef("registry/models", "registry")]
    assert read_store("o/r", tmp_path, refs[0]).store.n_registered_models == 0  # counted below a FileStore root
    assert read_store("o/r", tmp_path, StoreRef("registry", "file")).store.n_model_versions == 1


def test_reading_writes_nothing(new_stores: tuple[Path, dict[str, Any]]) -> None:
    repo = new_stores[0]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in repo.rglob("*")}
    for ref in find_stores(repo, _paths(repo)):
        read_store("o/r", repo, ref)
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in repo.rglob("*")} == before


# ------------------------------------------------------------------------------- traceability


@pytest.mark.parametrize(("uri", "kind"), [
    pytest.param("file:///C:/Users/a/proj/mlruns/1/x/artifacts", "absolute-local", id="windows-file-uri"),
    pytest.param("/home/a/proj/mlruns/1/x/artifacts", "absolute-local", id="posix-path"),
    pytest.param("C:\\Users\\a\\mlruns", "absolute-local", id="windows-path"),
    pytest.param("file:./mlruns/1/x/artifacts", "relative", id="file-relative"),
    pytest.param("./mlruns/1/x/artifacts", "relative", id="dot-relative"),
    pytest.param("s3://bucket/1/x/artifacts", "remote", id="s3"),
    pytest.param("mlflow-artifacts:/1/x/artifacts", "remote", id="proxied"),
    pytest.param("", "", id="none"),
])
def test_artifact_uri_kind(uri: str, kind: str) -> None:
    assert artifact_uri_kind(uri) == kind


@pytest.mark.parametrize(("recorded", "found"), [
    pytest.param("c:/Users/a/Documents/GitHub/proj/src/train.py", "src/train.py", id="windows-longest-suffix"),
    pytest.param("/home/a/proj/src/train.py", "src/train.py", id="posix-longest-suffix"),
    pytest.param("/home/a/elsewhere/train.py", "train.py", id="shorter-suffix"),
    pytest.param("src/train.py", "src/train.py", id="relative-to-root"),
    pytest.param("train.py", "sub/train.py", id="relative-to-store-dir-first"),
    pytest.param("/usr/lib/python3/ipykernel_launcher.py", "", id="not-in-checkout"),
    pytest.param("../outside.py", "", id="leaves-repo"),
    pytest.param("<console>", "", id="console"),
])
def test_source_matching(tmp_path: Path, recorded: str, found: str) -> None:
    for rel in ("src/train.py", "train.py", "sub/train.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert match_in_checkout(Checkout(tmp_path), recorded, "sub", want_dir=False) == found


def test_commits_in_history(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    for i in range(2):
        (work / "f").write_text(str(i))
        git("add", "f", cwd=work)
        git("commit", "-qm", str(i), cwd=work)
    old, new = git("rev-list", "main", cwd=work).split()[::-1]
    missing = "0123456789abcdef0123456789abcdef01234567"
    full = commits_in_history(work / ".git", [old, new, missing, "not-a-sha"])
    assert full == {old: "yes", new: "yes", missing: "no", "not-a-sha": "no"}
    git("clone", "-q", "--depth", "1", f"file://{work}", str(tmp_path / "shallow"))
    assert commits_in_history(tmp_path / "shallow" / ".git", [old, new]) == {old: "unknown", new: "yes"}
    assert commits_in_history(None, [new]) == {new: "unknown"}


def test_params_declared_in_mlproject_and_statistics(tmp_path: Path) -> None:
    run_a, run_b = "a" * 32, "b" * 32
    _file_store(tmp_path, {
        run_a: {"params/alpha": "0.5", "params/extra": "1", "tags/mlflow.project.entryPoint": "main",
                "tags/mlflow.source.git.commit": "ab" * 20, "metrics/m": "1 1 0\n2 2 1\n"},
        run_b: {"params/alpha": "0.1", "tags/mlflow.project.entryPoint": "main"},
    })
    project = parse_mlproject("entry_points:\n  main:\n    parameters:\n      alpha: float\n"
                              "    command: python train.py {alpha}\n", "MLproject", frozenset({"MLproject"}))
    reading = read_store("o/r", tmp_path, StoreRef("mlruns", "file"), declared_params=declared_parameters([project]))
    assert sorted((p.run_id[0], p.key, p.declared_in_mlproject) for p in reading.params) == [
        ("a", "alpha", "yes"), ("a", "extra", "no"), ("b", "alpha", "yes")]
    table = store_statistics(["o/r", "o/empty"], [reading.store], list(reading.runs), list(reading.params))
    row = table.set_index("statistic")
    assert tuple(row.loc["repos committing a store", ["numerator", "denominator", "share"]]) == (1, 2, 0.5)
    assert row.loc["repos committing a store", "ci_low"] == pytest.approx(0.0945, abs=1e-4)
    assert tuple(row.loc["runs with a git commit", ["numerator", "denominator"]]) == (1, 2)
    assert tuple(row.loc["runs whose params all match the MLproject", ["numerator", "denominator"]]) == (1, 2)
    assert tuple(row.loc["commits found in the clone's history", ["numerator", "denominator"]]) == (0, 0)


# ------------------------------------------------------------------------------- schema revisions


def test_first_release_of_a_head(tmp_path: Path) -> None:
    def release(version: str, revisions: dict[str, str | None]) -> Path:
        folder = tmp_path / version / "mlflow" / "store" / "db_migrations" / "versions"
        folder.mkdir(parents=True)
        for rev, down in revisions.items():
            (folder / f"{rev}_m.py").write_text(f"revision = {rev!r}\ndown_revision = {down!r}\n")
        return tmp_path / version

    releases = {"1.10.0": release("1.10.0", {"a1": None, "b2": "a1"}),
                "1.9.0": release("1.9.0", {"a1": None, "b2": "a1"}),
                "1.2.0": release("1.2.0", {"a1": None})}
    assert heads(migration_graph(releases["1.10.0"])) == {"b2"}
    assert releases_by_head(releases) == {"a1": "1.2.0", "b2": "1.9.0"}  # version order, not name order


def test_shipped_snapshot_covers_the_installed_mlflow() -> None:
    import mlflow

    root = Path(mlflow.__file__).parent.parent
    (head,) = heads(migration_graph(root))
    snapshot = load_snapshot()
    assert head in snapshot and snapshot[head].split(".")[:2] <= mlflow.__version__.split(".")[:2]


@pytest.mark.parametrize(("recorded", "found"), [
    pytest.param("file:///home/me/repo#sub", "sub/MLproject", id="fragment-names-the-project-dir"),
    pytest.param("https://github.com/o/r#sub", "sub/MLproject", id="git-url-with-fragment"),
    pytest.param("C:\\Users\\me\\work\\sub", "sub/MLproject", id="windows-dir-by-suffix"),
    pytest.param("file:///home/me/repo#missing", "", id="fragment-without-mlproject"),
])
def test_project_source_matches_its_mlproject(tmp_path: Path, recorded: str, found: str) -> None:
    from analysis.stores.stored_runs import source_in_checkout

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "MLproject").write_text("name: x\n")
    assert source_in_checkout(Checkout(tmp_path), recorded, "PROJECT", "") == found
