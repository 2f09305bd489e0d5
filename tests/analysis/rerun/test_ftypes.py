"""rerun.ftypes: rerun.csv's columns."""

from __future__ import annotations

from analysis.rerun.ftypes import RERUN_COLUMNS

def test_columns_are_the_issues() -> None:
    assert RERUN_COLUMNS == (
        "repo", "mlproject_path", "entry_point", "parameters", "env_kind", "env_build", "conda_packages_dropped",
        "python_requested", "python_used", "status", "failure_class", "message", "build_seconds", "run_seconds",
        "n_runs_logged", "n_metrics_logged", "compared_with", "params_equal", "metrics_equal", "metrics_close",
        "metrics_differ")

