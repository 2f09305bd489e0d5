"""Sections 2 to 4 drawn from typed tables: metric histories, traceability measures, entry points that run
without arguments, counted from booleans and numbers (not from their text)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.questions import entry_points, traceability, tracking
from analysis.report.writer import Doc
from analysis.tables import TABLES, Table


def _table(results: Path, table: Table, rows: list[dict[str, str]]) -> None:
    with (results / table.file).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=table.columns)
        writer.writeheader()
        writer.writerows(rows)


REPRO = {"has_mlproject": "true", "env_spec": "conda", "pinned_share": "0.5", "n_deps": "2", "python_pinned": "true",
         "mlflow_pinned": "false", "docker_pinned_by_digest": "", "seeds_set": "false", "data_logged": "false",
         "params_logged": "true", "readiness": "0.5"}
METRIC = {"store": "mlruns", "key": "acc", "n_points": "3", "latest_value": "0.5", "latest_step": "2", "min_step": "0",
          "max_step": "2", "n_nan": "0", "n_inf": "0", "steps_monotonic": "true", "duplicate_points": "0",
          "latest_timestamp": "9", "repeated_steps": "0"}
TRACE = {"n_entry_points": "1", "n_declared_params": "2", "declared_params_logged": "1",
         "declared_params_logged_share": "0.5", "params_logged_by_mlflow_run": "false", "n_metric_sites": "2",
         "metric_sites_reachable": "1", "metric_reachable_share": "0.5", "n_model_sites": "0", "models_in_run": "0",
         "data_linked": "false", "env_linked": "false", "code_version_linked": "false", "implicit_run_sites": "0",
         "orphan_logging_sites": "0", "n_nodes": "3", "n_edges": "2", "n_call_edges": "1",
         "n_by_name_edges": "0", "n_inferred_edges": "0", "n_unresolved_edges": "0"}


def _drawing(tmp_path: Path) -> Drawing:
    results = tmp_path / "out"
    results.mkdir()
    _table(results, TABLES["reproducibility"], [{**REPRO, "repo": r} for r in ("a/x", "b/y", "c/z")])
    _table(results, TABLES["stored_metrics"], [
        {**METRIC, "repo": "a/x", "run_id": "1", "steps_monotonic": "false", "n_inf": "2"},
        {**METRIC, "repo": "a/x", "run_id": "2", "duplicate_points": "1", "repeated_steps": "1"},
        {**METRIC, "repo": "b/y", "run_id": "3"}])
    _table(results, TABLES["traceability"], [
        {**TRACE, "repo": "a/x", "code_version_linked": "true", "orphan_logging_sites": "3"},
        {**TRACE, "repo": "b/y", "code_version_linked": "true", "env_linked": "true"},
        {**TRACE, "repo": "c/z", "n_metric_sites": "0", "metric_sites_reachable": "0"}])
    ml = {"path": "MLproject", "name": "p", "env_type": "conda_env", "env_declared": "conda.yaml", "env_file": "conda.yaml",
          "docker_image": "", "docker_pinned": "", "databricks_spark_job": "false", "n_entry_points": "1", "valid": "true",
          "error": ""}
    _table(results, TABLES["mlprojects"], [{**ml, "repo": "a/x"}, {**ml, "repo": "b/y"}])
    ep = {"mlproject_path": "MLproject", "entry_point": "main", "command": "python t.py", "script": "t.py", "n_params": "1"}
    _table(results, TABLES["entry_points"], [{**ep, "repo": "a/x"}, {**ep, "repo": "b/y"}])
    param = {"mlproject_path": "MLproject", "entry_point": "main", "name": "alpha", "type": "float",
             "used_in_command": "true"}
    _table(results, TABLES["parameters"], [{**param, "repo": "a/x", "default": "", "required": "true"},
                                           {**param, "repo": "b/y", "default": "1", "required": "false"}])
    return Drawing(ReportInputs(results), Doc(lambda source: source))


def _drawn(tmp_path: Path, section: Callable[[Drawing], None]) -> str:
    """The Markdown ``section`` writes from the tables above."""
    report = _drawing(tmp_path)
    section(report)
    return "\n".join(report.doc.md)


def test_metric_histories_are_counted_from_numbers_and_booleans(tmp_path: Path) -> None:
    text = _drawn(tmp_path, tracking)
    assert "| histories holding NaN or infinite values | 1 | 3 |" in text
    assert "| histories storing a point twice | 1 | 3 |" in text
    assert "| histories whose steps go back | 1 | 3 |" in text
    assert "| histories with several points at one step | 1 | 3 |" in text


def test_traceability_measures_count_repositories_and_sum_sites(tmp_path: Path) -> None:
    text = _drawn(tmp_path, traceability)
    assert "| runs tied to a code version | 2 | 3 |" in text and "| runs tied to an environment | 1 | 3 |" in text
    assert "| runs tied to a dataset | 0 | 3 |" in text
    assert "| logging no entry point or script reaches | 1 | 3 |" in text
    assert "| metric call sites reachable from an entry point | 2 | 4 | 0.5 |  |  |" in text  # summed, no interval
    assert "fig_traceability.png" in text


def test_an_entry_point_with_a_required_parameter_needs_arguments(tmp_path: Path) -> None:
    text = _drawn(tmp_path, entry_points)
    assert "| MLprojects with conda_env | 2 | 2 |" in text
    assert "| entry points runnable without arguments | 1 | 2 |" in text
