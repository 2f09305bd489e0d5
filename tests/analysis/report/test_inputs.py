"""What the report reads: the tables this tool writes typed by their row types, the others as text, a
missing input empty, and the population shares are taken over."""

from __future__ import annotations

import csv
from pathlib import Path

from analysis.report.inputs import ROW_TYPES, ReportInputs
from analysis.rows import ParameterRow, StorageRow, TraceabilityRow
from analysis.tables import STATISTICS, TABLES, TRUE


def _csv(path: Path, columns: tuple[str, ...] | list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


TRACE_ROW = {"repo": "a/b", "n_entry_points": "1", "n_declared_params": "2", "declared_params_logged": "1",
             "declared_params_logged_share": "0.5", "params_logged_by_mlflow_run": "true", "n_metric_sites": "3",
             "metric_sites_reachable": "2", "metric_reachable_share": "", "n_model_sites": "0", "models_in_run": "0",
             "data_linked": "false", "env_linked": "true", "code_version_linked": "true", "implicit_run_sites": "0",
             "orphan_logging_sites": "4", "n_nodes": "12", "n_edges": "30", "n_call_edges": "9",
             "n_by_name_edges": "2", "n_inferred_edges": "1", "n_unresolved_edges": "3"}


def test_a_table_this_tool_writes_is_read_typed(tmp_path: Path) -> None:
    columns = TABLES["traceability"].columns
    _csv(tmp_path / "traceability.csv", columns, [[TRACE_ROW[c] for c in columns]])
    frame = ReportInputs(tmp_path).table("traceability.csv")
    assert frame["code_version_linked"].tolist() == [True] and frame["data_linked"].tolist() == [False]
    assert frame["n_edges"].tolist() == [30] and frame["orphan_logging_sites"].tolist() == [4]
    assert frame["declared_params_logged_share"].tolist() == [0.5]
    assert frame["metric_reachable_share"].tolist() == [""]  # float | str: '' without metric sites


def test_parameters_required_is_a_boolean(tmp_path: Path) -> None:
    columns = TABLES["parameters"].columns
    values = {"repo": "a/b", "mlproject_path": "MLproject", "entry_point": "main", "name": "alpha", "type": "float",
              "default": "", "required": TRUE, "used_in_command": "false"}
    _csv(tmp_path / "parameters.csv", columns, [[values[c] for c in columns]])
    frame = ReportInputs(tmp_path).table("parameters.csv")
    assert frame["required"].tolist() == [True] and frame["default"].tolist() == [None]


def test_tables_without_a_row_type_and_the_text_view_stay_text(tmp_path: Path) -> None:
    _csv(tmp_path / "extra.csv", ["population", "practice", "n_repos"], [["all", "seeds set", "3"]])
    columns = TABLES["traceability"].columns
    _csv(tmp_path / "traceability.csv", columns, [[TRACE_ROW[c] for c in columns]])
    inputs = ReportInputs(tmp_path)
    assert inputs.table("extra.csv")["n_repos"].tolist() == ["3"]
    assert inputs.text_table("traceability.csv")["code_version_linked"].tolist() == [TRUE]
    assert inputs.table("stores.csv").empty and inputs.table("nothing.csv").empty  # absent: empty


def test_every_registered_table_has_its_row_type() -> None:
    assert ROW_TYPES["traceability.csv"] is TraceabilityRow and ROW_TYPES["parameters.csv"] is ParameterRow
    assert ROW_TYPES["mlflow_storage.csv"] is StorageRow and "api_catalog.csv" in ROW_TYPES
    assert ROW_TYPES["practices.csv"] is STATISTICS["practices"].row_type  # the statistics tables too
    assert ROW_TYPES["store_statistics.csv"] is STATISTICS["store_statistics"].row_type
    assert "probe.csv" not in ROW_TYPES  # another command's table


def _analyzed(results: Path, repos: tuple[str, ...]) -> None:
    """A reproducibility.csv with a row for each of ``repos`` (what makes a repository analyzed)."""
    repro = TABLES["reproducibility"].columns
    values = {"repo": "", "has_mlproject": "false", "env_spec": "none", "pinned_share": "0.0", "n_deps": "0",
              "python_pinned": "false", "mlflow_pinned": "false", "docker_pinned_by_digest": "", "seeds_set": "false",
              "data_logged": "false", "params_logged": "false", "readiness": "0.25"}
    _csv(results / "reproducibility.csv", repro, [[{**values, "repo": repo}[c] for c in repro] for repo in repos])


def test_the_population_is_one_repository_per_duplicate_family(tmp_path: Path) -> None:
    results, corpus = tmp_path / "out", tmp_path / "corpus"
    _analyzed(results, ("a/x", "b/x-copy", "c/y"))
    _csv(corpus / "manifest.csv", ["repo", "status", "duplicate_of"],
         [["a/x", "ok", ""], ["b/x-copy", "ok", "a/x"], ["c/y", "ok", ""], ["d/z", "ok", ""]])
    inputs = ReportInputs(results, corpus=corpus)
    assert inputs.analyzed == ["a/x", "b/x-copy", "c/y"]
    assert inputs.population == ["a/x", "c/y"] and inputs.population_name == "one-per-family"
    every = ReportInputs(results, corpus=corpus, all_repos=True)
    assert every.population == ["a/x", "b/x-copy", "c/y"] and every.population_name == "all"
    assert ReportInputs(results).population == inputs.analyzed  # without the corpus's manifest: every one


def test_every_repository_means_every_mined_one_as_the_statistics_take_them(tmp_path: Path) -> None:
    """With --all-repos, a repository analyzed but not mined ok by this manifest (an output of another
    corpus) is left out, as practices.csv's ``all`` leaves it out; the funnel's last step counts the same."""
    from analysis.report.methodology import selection_funnel

    results, corpus = tmp_path / "out", tmp_path / "corpus"
    _analyzed(results, ("a/x", "b/x-copy", "e/gone"))
    _csv(corpus / "manifest.csv", ["repo", "status", "duplicate_of", "reason"],
         [["a/x", "ok", "", ""], ["b/x-copy", "ok", "a/x", ""], ["e/gone", "error", "", "clone failed"]])
    every = ReportInputs(results, corpus=corpus, all_repos=True)
    assert every.population == ["a/x", "b/x-copy"]
    steps = selection_funnel(every)
    assert steps.iloc[-1].to_dict() == {"step": "analyzed", "repositories": 2, "removed": 0, "reason": steps.iloc[-1]["reason"]}
