"""Agreement of two measures: the code-version link from code and from the committed runs, declared against
logged parameters (entry point by entry point, through the traceability graph), readiness against re-runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from analysis.graphml import write_graphml
from analysis.rows import (
    AgreementRow,
    CallSiteRow,
    EntryPointRow,
    MlprojectRow,
    ParameterRow,
    StoredRun,
    TraceabilityRow,
)
from analysis.ftypes import CallSite, Parameter
from analysis.statistics.agreement import (
    CODE_VERSION,
    NOT_COMPARABLE,
    PARAMETERS,
    READINESS,
    EntryPointCode,
    agreement_counts,
    agreement_table,
    code_version_agreement,
    disagreements,
    entry_point_code,
    parameter_agreement,
    read_graph,
    readiness_agreement,
)
from analysis.tables import STATISTICS, Table, cells, flat, graph_name, read_table
from miner.fileio import write_csv


def _frame(rows: list[Any], row_type: type) -> pd.DataFrame:
    """Rows as ``tables.table_frame`` reads them back: one column per CSV column, typed."""
    return pd.DataFrame([flat(r) for r in rows], columns=list(Table("", row_type).columns))


def _trace(repo: str, linked: bool) -> TraceabilityRow:
    return TraceabilityRow(repo=repo, n_entry_points=0, n_declared_params=0, declared_params_logged=0,
                           declared_params_logged_share="", params_logged_by_mlflow_run=False, n_metric_sites=0,
                           metric_sites_reachable=0, metric_reachable_share="", n_model_sites=0, models_in_run=0,
                           data_linked=False, env_linked=False, code_version_linked=linked, implicit_run_sites=0,
                           orphan_logging_sites=0, n_nodes=0, n_edges=0, n_call_edges=0, n_by_name_edges=0,
                           n_inferred_edges=0, n_unresolved_edges=0)


def _run(repo: str, i: int, commit: str = "", entry_point: str = "") -> StoredRun:
    return StoredRun(repo=repo, store="mlruns", store_kind="file", experiment_id="0", experiment_name="Default",
                     run_id=f"r{i}", run_name="", status="FINISHED", lifecycle_stage="active", start_time=None,
                     end_time=None, source_type="LOCAL", source_name="train.py", entry_point=entry_point,
                     git_commit=commit, user="", parent_run_id="", n_params=0, n_metrics=0, n_metric_points=0,
                     n_tags=0, n_artifacts=0, artifact_bytes=0, model_flavors="", mlflow_version="", artifact_uri="",
                     artifact_uri_kind="relative", git_commit_in_history="yes" if commit else "", source_in_repo="yes")


def _mlproject(repo: str, valid: bool = True) -> MlprojectRow:
    return MlprojectRow(repo=repo, path="MLproject", name="p", env_type="python_env", env_declared="", env_file="",
                        docker_image="", docker_pinned="", databricks_spark_job=False, n_entry_points=1, valid=valid,
                        error="")


def _row(frame: pd.DataFrame, unit: str) -> dict[str, Any]:
    rows = frame[frame["unit"] == unit].to_dict("records")
    assert len(rows) == 1, (unit, frame["unit"].tolist())
    return rows[0]


# project/linked: a valid MLproject, but its runs record no commit; tagger/ok: a git tag in code, runs with commits;
# plain/scripts: nothing in code, its runs carry MLflow's automatic commit tag; half/way: 1 of 2 runs has one;
# no/runs: linked in code, no run committed (not compared)
TRACE = [_trace("project/linked", True), _trace("tagger/ok", True), _trace("plain/scripts", False),
         _trace("half/way", False), _trace("no/runs", True)]
RUNS = [_run("project/linked", 0, entry_point="main"), _run("project/linked", 1),
        _run("tagger/ok", 2, "abc"), _run("plain/scripts", 3, "def"), _run("plain/scripts", 4, "def"),
        _run("half/way", 5, "abc"), _run("half/way", 6), _run("not/analyzed", 7, "abc")]


def test_a_repository_linked_in_code_whose_runs_record_no_commit_is_a_disagreement() -> None:
    frame = code_version_agreement(_frame(TRACE, TraceabilityRow), _frame(RUNS, StoredRun),
                                   _frame([_mlproject("project/linked")], MlprojectRow))
    assert list(frame.columns) == list(STATISTICS["agreement"].columns)
    assert frame["unit"].tolist() == ["half/way", "plain/scripts", "project/linked", "tagger/ok"]  # with runs only
    linked = _row(frame, "project/linked")
    assert (linked["pair"], linked["measure_a"], linked["measure_b"], linked["agree"], linked["category"]) == (
        CODE_VERSION, "yes", "no", False, "code only")
    assert linked["note"] == ("code: a valid MLproject; runs: 0 of 2 record a git commit, 1 an entry point")
    tagger = _row(frame, "tagger/ok")
    assert (tagger["category"], tagger["agree"]) == ("both yes", True)
    assert tagger["note"].startswith("code: a tag naming git, commit, version or sha; runs: 1 of 1 record a git "
                                     "commit (1 of the 1 looked up found in the clone's history)")
    assert _row(frame, "plain/scripts")["category"] == "runs only"
    assert _row(frame, "half/way")["measure_b"] == "yes"  # at least half of its runs
    wrong = disagreements(frame, CODE_VERSION)
    assert wrong["repo"].tolist() == ["half/way", "plain/scripts", "project/linked"]
    counts = agreement_counts(frame, CODE_VERSION)
    assert (counts.both_yes, counts.both_no, counts.a_only, counts.b_only, counts.n) == (1, 0, 1, 2, 4)
    # observed 1/4; by chance (2/4 code yes, 3/4 runs yes) 2/4 * 3/4 + 2/4 * 1/4 = 1/2
    assert counts.kappa is not None and math.isclose(counts.kappa, (0.25 - 0.5) / 0.5)


def _parameters(repo: str, entry_point: str, *names: str) -> list[ParameterRow]:
    return [ParameterRow(repo, "MLproject", entry_point, Parameter(n, "float", "1", False, True)) for n in names]


def _entry_point(repo: str, name: str) -> EntryPointRow:
    return EntryPointRow(repo, "MLproject", name, f"python {name}.py", f"{name}.py", 0)


def test_a_key_logged_but_not_declared_is_logged_only() -> None:
    params = _frame(_parameters("a/b", "main", "alpha"), ParameterRow)
    eps = _frame([_entry_point("a/b", "main")], EntryPointRow)
    code = {("a/b", "MLproject", "main"): EntryPointCode(2, {"alpha": ("main.py:3",), "beta": ("util.py:9",)})}
    frame = parameter_agreement(params, eps, code)
    assert frame["unit"].tolist() == ["MLproject:main:alpha", "MLproject:main:beta"]
    alpha, beta = _row(frame, "MLproject:main:alpha"), _row(frame, "MLproject:main:beta")
    assert (alpha["measure_a"], alpha["measure_b"], alpha["agree"], alpha["category"]) == ("yes", "yes", True,
                                                                                          "declared and logged")
    assert (beta["measure_a"], beta["measure_b"], beta["agree"], beta["category"]) == ("no", "yes", False,
                                                                                      "logged only")
    assert beta["note"] == "logged at util.py:9, not declared" and beta["pair"] == PARAMETERS
    assert disagreements(frame, PARAMETERS)["unit"].tolist() == ["MLproject:main:beta"]


def test_a_declared_key_is_not_comparable_when_the_code_computes_its_keys() -> None:
    params = _frame([*_parameters("a/b", "main", "alpha", "gamma"), *_parameters("a/b", "shell", "x"),
                     *_parameters("a/b", "lost", "y"), *_parameters("a/b", "plain", "z")], ParameterRow)
    eps = _frame([_entry_point("a/b", n) for n in ("main", "shell", "lost", "plain")], EntryPointRow)
    code = {("a/b", "MLproject", "main"): EntryPointCode(3, {"alpha": ("main.py:3",)}, ("main.py:4", "main.py:5")),
            ("a/b", "MLproject", "shell"): EntryPointCode(0, {}),  # its command runs a shell script
            ("a/b", "MLproject", "plain"): EntryPointCode(1, {})}  # "lost": no graph
    frame = parameter_agreement(params, eps, code)
    gamma = _row(frame, "MLproject:main:gamma")
    assert (gamma["measure_a"], gamma["measure_b"], gamma["agree"], gamma["category"]) == ("yes", "unknown", "",
                                                                                          NOT_COMPARABLE)
    assert gamma["note"] == "its code logs params under keys not written as literals at main.py:4, main.py:5"
    assert _row(frame, "MLproject:main:alpha")["category"] == "declared and logged"  # logged literally all the same
    assert _row(frame, "MLproject:shell:x")["note"] == "its command runs no Python file of the repository"
    assert _row(frame, "MLproject:lost:y")["note"] == "no traceability graph of the entry point"
    z = _row(frame, "MLproject:plain:z")
    assert (z["measure_b"], z["agree"], z["category"]) == ("no", False, "declared only")
    counts = agreement_counts(frame, PARAMETERS)
    assert (counts.both_yes, counts.a_only, counts.b_only, counts.not_comparable) == (1, 1, 0, 3)
    assert disagreements(frame, PARAMETERS)["unit"].tolist() == ["MLproject:plain:z"]  # not the uncomparable


def _site(path: str, line: int, key: str, function: str = "", kind: str = "literal") -> CallSiteRow:
    return CallSiteRow("a/b", path, CallSite(None, line, 0, "mlflow.log_param", "param", "fluent", function, False,
                                             True, kind, key if kind == "literal" else "", False, 2))


def _graph() -> nx.DiGraph:
    """main runs train.py, which imports helper.py and calls its log_it, and calls a fit method by its name
    only (model.py's Model.fit); cli.py's registered command runs when cli.py is imported; other.py is
    reached by nothing."""
    g = nx.DiGraph()
    g.add_edge("mlproject:MLproject", "entry_point:MLproject:main", kind="declares")
    g.add_edge("mlproject:MLproject", "entry_point:MLproject:cli", kind="declares")
    g.add_edge("entry_point:MLproject:main", "module:train.py", kind="runs")
    g.add_edge("entry_point:MLproject:cli", "module:cli.py", kind="runs")
    g.add_edge("module:train.py", "module:helper.py", kind="imports")
    g.add_edge("module:helper.py", "function:helper.py:log_it", kind="defines")
    g.add_edge("module:helper.py", "function:helper.py:unused", kind="defines")
    g.add_edge("module:train.py", "function:helper.py:log_it", kind="calls")
    g.add_edge("module:train.py", "function:model.py:Model.fit", kind="calls", by_name=True)
    g.add_edge("module:cli.py", "function:cli.py:command", kind="defines")
    g.nodes["function:cli.py:command"]["registered"] = True
    g.add_node("module:other.py", kind="module")
    for node in g:
        g.nodes[node].setdefault("kind", node.split(":", 1)[0])
    return g


SITES = [_site("train.py", 3, "alpha"), _site("helper.py", 5, "beta", "log_it"),
         _site("helper.py", 9, "", "log_it", kind="name"), _site("helper.py", 12, "unused_key", "unused"),
         _site("cli.py", 4, "cli_key", "command"), _site("other.py", 1, "delta"),
         _site("model.py", 7, "epsilon", "Model.fit")]


def test_the_keys_an_entry_point_logs_are_those_of_the_code_it_runs(tmp_path: Path) -> None:
    write_graphml(_graph(), tmp_path / "g.graphml")
    graph = read_graph(tmp_path / "g.graphml")  # read back: attributes as text ("True")
    assert graph is not None and read_graph(tmp_path / "absent.graphml") is None
    code = entry_point_code(graph, [("MLproject", "main"), ("MLproject", "cli"), ("MLproject", "gone")],
                            _frame(SITES, CallSiteRow))
    assert set(code) == {("MLproject", "main"), ("MLproject", "cli")}  # no node for "gone"
    main = code[("MLproject", "main")]
    assert dict(main.literal) == {"alpha": ("train.py:3",), "beta": ("helper.py:5",), "epsilon": ("model.py:7",)}
    assert main.computed == ("helper.py:9",) and main.reached == 4  # train.py, helper.py, log_it, Model.fit
    assert main.by_name_only == {"epsilon"}
    cli = code[("MLproject", "cli")]
    assert dict(cli.literal) == {"cli_key": ("cli.py:4",)} and cli.computed == ()  # through the registered command


def _repro(repo: str, readiness: float) -> dict[str, Any]:
    return {"repo": repo, "readiness": readiness}


RERUN_COLUMNS = ("repo", "mlproject_path", "entry_point", "status", "failure_class")


def test_readiness_against_the_re_runs_gives_a_two_by_two_table(tmp_path: Path) -> None:
    rerun = [("ready/ran", "MLproject", "main", "succeeded", ""), ("ready/ran", "MLproject", "eval", "failed", "x"),
             ("ready/failed", "MLproject", "main", "failed", "ModuleNotFoundError"),
             ("edge/ready", "MLproject", "main", "timeout", ""),
             ("low/ran", "MLproject", "main", "succeeded", ""),
             ("low/failed", "MLproject", "main", "not-attempted", "docker"),
             ("low/failed2", "MLproject", "main", "failed", "ImportError"),
             ("no/score", "MLproject", "main", "succeeded", "")]
    write_csv(tmp_path / "rerun.csv", RERUN_COLUMNS, (dict(zip(RERUN_COLUMNS, r)) for r in rerun))
    repro = pd.DataFrame([_repro("ready/ran", 0.9), _repro("ready/failed", 0.7), _repro("edge/ready", 0.5),
                          _repro("low/ran", 0.2), _repro("low/failed", 0.1), _repro("low/failed2", 0.49)])
    frame = readiness_agreement(pd.read_csv(tmp_path / "rerun.csv", dtype=str, keep_default_na=False), repro)
    assert frame["repo"].tolist() == ["edge/ready", "low/failed", "low/failed2", "low/ran", "ready/failed",
                                      "ready/ran"]  # no/score has no readiness
    ran = _row(frame, "ready/ran")
    assert (ran["measure_a"], ran["measure_b"], ran["category"]) == ("yes", "yes", "both yes")
    assert ran["note"] == "readiness 0.90; MLproject:main succeeded; MLproject:eval failed (x)"
    assert _row(frame, "edge/ready")["measure_a"] == "yes"  # 0.5 is ready
    counts = agreement_counts(frame, READINESS)
    assert (counts.both_yes, counts.both_no, counts.a_only, counts.b_only) == (1, 2, 2, 1)
    # observed 3/6; by chance (3/6 ready, 2/6 re-ran) 1/2 * 1/3 + 1/2 * 2/3 = 1/2: kappa 0
    assert counts.kappa is not None and math.isclose(counts.kappa, 0.0, abs_tol=1e-12)
    assert disagreements(frame, READINESS)["repo"].tolist() == ["edge/ready", "low/ran", "ready/failed"]
    assert readiness_agreement(pd.DataFrame(), repro).empty


def test_kappa_is_undefined_when_both_measures_give_one_answer() -> None:
    frame = pd.DataFrame([cells(flat(AgreementRow(CODE_VERSION, r, r, "yes", "yes", True, "both yes", "")))
                          for r in ("a/b", "c/d")])
    counts = agreement_counts(frame, CODE_VERSION)  # as text, the way the report may read it
    assert (counts.both_yes, counts.n, counts.kappa) == (2, 2, None)
    assert agreement_counts(pd.DataFrame(), CODE_VERSION).n == 0


def test_agreement_csv_is_written_from_the_tables_and_graphs(tmp_path: Path) -> None:
    """``agreement_table`` over row tables and a graph folder; the table reads back as its row type."""
    def write(row_type: type, rows: list[Any]) -> None:
        from analysis.tables import TABLES

        table = next(t for t in TABLES.values() if t.row_type is row_type)
        write_csv(tmp_path / table.file, table.columns, (cells(flat(r)) for r in rows))

    write(TraceabilityRow, [_trace("a/b", True), _trace("left/out", True)])
    write(StoredRun, [_run("a/b", 0), _run("left/out", 1)])
    write(MlprojectRow, [_mlproject("a/b")])
    write(EntryPointRow, [_entry_point("a/b", "main"), _entry_point("a/b", "cli")])
    write(ParameterRow, _parameters("a/b", "main", "alpha", "gamma"))
    write(CallSiteRow, SITES)
    write_graphml(_graph(), tmp_path / "graphs" / graph_name("a/b"))
    frame = agreement_table(tmp_path, tmp_path / "graphs", ["a/b"])  # left/out: not analyzed
    assert frame[["pair", "unit", "category"]].values.tolist() == [
        [CODE_VERSION, "a/b", "code only"],
        [PARAMETERS, "MLproject:cli:cli_key", "logged only"],
        [PARAMETERS, "MLproject:main:alpha", "declared and logged"],
        [PARAMETERS, "MLproject:main:gamma", NOT_COMPARABLE],  # helper.py:9 logs a computed key
        [PARAMETERS, "MLproject:main:beta", "logged only"],
        [PARAMETERS, "MLproject:main:epsilon", "logged only"]]
    assert frame["note"].iloc[-1] == ("logged at model.py:7 (reached only through a call by a method's name), "
                                      "not declared")
    write_csv(tmp_path / "agreement.csv", STATISTICS["agreement"].columns,
              (cells(r) for r in frame.to_dict("records")))
    rows = read_table(tmp_path / "agreement.csv", AgreementRow)
    assert [r.agree for r in rows] == [False, False, True, "", False, False]
    without = agreement_table(tmp_path, tmp_path / "no-graphs", ["a/b"])
    assert set(without.loc[without["pair"] == PARAMETERS, "category"]) == {NOT_COMPARABLE}


def test_no_rows_without_runs_or_entry_points(tmp_path: Path) -> None:
    frame = agreement_table(tmp_path, tmp_path / "graphs", ["a/b"])  # no table at all
    assert frame.empty and list(frame.columns) == list(STATISTICS["agreement"].columns)
