"""Committed experiment stores read statically, checked against MLflow's own stores reading the same bytes.

Stores are made by real MLflow: the installed 3.x (FileStore and SQLite), and a 1.x and a 2.x
release in isolated environments (``analysis.isolated.uv_env``, cached under
``~/.cache/mlflow-census/test-envs``). Each old release also dumps what its own ``search_runs``
and ``get_metric_history`` return, so every store is compared with the MLflow that wrote it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.reading.mlproject import parse_mlproject
from analysis.releases.schema import load_snapshot
from analysis.statistics.stores import store_statistics
from analysis.stores.discovery import StoreRef, find_stores
from analysis.stores.stored_runs import StoreReading, declared_parameters, read_store
from tests.analysis.stores.makers import OLD_SCENARIO, file_store, paths_of
from tests.conftest import tmpfs_dir

ENV_CACHE = Path.home() / ".cache" / "mlflow-census" / "test-envs"

OLD_RELEASES = {
    "1.x": ("mlflow-skinny==1.30.1", "sqlalchemy<2", "alembic<1.12", "setuptools<70"),
    "2.x": ("mlflow-skinny==2.9.2", "sqlalchemy<2.1", "alembic<1.14", "setuptools<70"),
}


@pytest.fixture(scope="module", params=sorted(OLD_RELEASES))
def old_stores(request: pytest.FixtureRequest) -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    """A checkout with stores written by an old MLflow release, and that release's own reading of them."""
    from analysis.isolated.uv_env import EnvBuildError, EnvSpec, ensure_env

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


@pytest.mark.parametrize("store", ["mlruns", "mlflow.db"])
def test_installed_mlflow_store_reads_as_mlflow_reads_it(new_stores: tuple[Path, dict[str, Any]], store: str) -> None:
    repo, readings = new_stores
    refs = {r.path: r for r in find_stores(repo, paths_of(repo))}
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
    refs = {r.path: r for r in find_stores(repo, paths_of(repo))}
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


def test_reading_writes_nothing(new_stores: tuple[Path, dict[str, Any]]) -> None:
    repo = new_stores[0]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in repo.rglob("*")}
    for ref in find_stores(repo, paths_of(repo)):
        read_store("o/r", repo, ref)
    assert {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in repo.rglob("*")} == before


def test_params_declared_in_mlproject_and_statistics(tmp_path: Path) -> None:
    run_a, run_b = "a" * 32, "b" * 32
    file_store(tmp_path, {
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
