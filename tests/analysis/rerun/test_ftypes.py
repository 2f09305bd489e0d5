"""rerun.ftypes: rerun.csv's columns, and journal rows written before a column existed."""

from __future__ import annotations

from analysis.rerun.ftypes import RERUN_COLUMNS, row_from_json


def test_columns_are_the_issues() -> None:
    assert RERUN_COLUMNS == (
        "repo", "mlproject_path", "entry_point", "parameters", "env_kind", "env_build", "conda_packages_dropped",
        "python_requested", "python_used", "network", "status", "failure_class", "message", "build_seconds",
        "run_seconds", "n_runs_logged", "n_metrics_logged", "compared_with", "params_equal", "metrics_equal",
        "metrics_close", "metrics_differ", "commit", "at", "driver_mlflow", "mlflow_pinned", "env_manager")


def test_a_row_journaled_before_the_network_policy_was_made_with_none() -> None:
    old = {"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main", "status": "failed"}
    assert row_from_json(old).network == "none"
    assert row_from_json({**old, "network": "all"}).network == "all"


def test_a_row_journaled_before_rerun_at_has_no_commit_nor_at() -> None:
    old = {"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main", "status": "failed"}
    assert (row_from_json(old).commit, row_from_json(old).at) == ("", "")


def test_a_row_journaled_before_driver_mlflow_was_made_by_the_current_driver() -> None:
    old = {"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main", "status": "failed"}
    assert (row_from_json(old).driver_mlflow, row_from_json(old).mlflow_pinned) == ("current", "")
    assert row_from_json({**old, "driver_mlflow": "declared 1.30.1"}).driver_mlflow == "declared 1.30.1"


def test_a_row_journaled_before_env_manager_was_made_as_virtualenv_makes_it_but_docker() -> None:
    old = {"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main", "status": "failed"}
    assert row_from_json({**old, "env_kind": "conda_env"}).env_manager == "virtualenv"
    assert row_from_json({**old, "env_kind": "docker_env"}).env_manager == ""
    assert row_from_json({**old, "env_kind": "conda_env", "env_manager": "conda"}).env_manager == "conda"
