"""rerun.targets: the entry points to re-run, read typed from analyze's tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.rerun.ftypes import ParamDecl, RerunError, RunRecord
from analysis.rerun.targets import load_targets
from analysis.rows import EntryPointRow
from cli import Exit, app
from tests.analysis.rerun.conftest import parameter, project, write_table

runner = CliRunner()


def test_missing_results_are_bad_input(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rerun", "--corpus", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == Exit.BAD_INPUT and "manifest" in result.output



def _no_runs(repo: str, checkout: Path) -> list[RunRecord]:
    raise AssertionError(f"{repo}: no required parameter, no committed run read")


def test_targets_read_typed_from_the_tables(tiny_results: tuple[Path, Path]) -> None:
    corpus, out = tiny_results
    write_table(out, "mlprojects", [project(databricks_spark_job=True, env_file="python_env.yaml"),
                                    project(path="broken/MLproject", valid=False)])
    write_table(out, "entry_points", [EntryPointRow("o/r", "MLproject", "main", "python t.py {n}", "t.py", 2),
                                      EntryPointRow("o/r", "broken/MLproject", "main", "python x.py", "x.py", 0)])
    write_table(out, "parameters", [parameter("main", "n", None, "float"), parameter("main", "tag", "")])
    seen: list[str] = []

    def runs_of(repo: str, checkout: Path) -> list[RunRecord]:
        seen.append(repo)
        assert checkout == corpus / "repos" / "o" / "r"
        return [RunRecord("mlruns", "r1", entry_point="main", params={"n": "3"})]

    (target,) = load_targets(corpus, out, runs_of)  # the invalid MLproject's entry point is not a target
    assert (target.repo, target.commit, target.mlproject_path, target.script) == ("o/r", "abc", "MLproject", "t.py")
    assert target.databricks_spark_job is True and target.env_file == "python_env.yaml"
    assert target.parameters == (ParamDecl("n", "float", None), ParamDecl("tag", "string", ""))
    assert (target.values, target.missing, seen) == ((("n", "3"),), (), ["o/r"])


def test_a_table_that_does_not_read_is_bad_input(tiny_results: tuple[Path, Path]) -> None:
    corpus, out = tiny_results
    assert [t.entry_point for t in load_targets(corpus, out, _no_runs)] == ["main"]
    text = (out / "mlprojects.csv").read_text()
    (out / "mlprojects.csv").write_text(text.replace(",true,", ",yes,"))  # valid is a boolean
    with pytest.raises(RerunError, match=r"mlprojects.csv:2: column valid: .*run `python cli.py analyze` again"):
        load_targets(corpus, out, _no_runs)
