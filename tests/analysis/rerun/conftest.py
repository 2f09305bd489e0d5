"""Fixtures of the rerun tests: a corpus and results directory naming one project."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.ftypes import Parameter
from analysis.rows import EntryPointRow, MlprojectRow, ParameterRow
from analysis.tables import TABLES, cells, flat
from miner.fileio import write_csv


def write_table(out: Path, key: str, rows: list[object]) -> None:
    """``rows`` written as ``analyze`` writes the table ``key``."""
    write_csv(out / TABLES[key].file, TABLES[key].columns, (cells(flat(r)) for r in rows))


def project(repo: str = "o/r", path: str = "MLproject", **kw: object) -> MlprojectRow:
    values: dict[str, object] = dict(name="t", env_type="python_env", env_declared="python_env", env_file="",
                                     docker_image="", docker_pinned="", databricks_spark_job=False, n_entry_points=1,
                                     valid=True, error="")
    return MlprojectRow(repo=repo, path=path, **{**values, **kw})  # type: ignore[arg-type]


def parameter(entry_point: str, name: str, default: str | None, kind: str = "string") -> ParameterRow:
    return ParameterRow("o/r", "MLproject", entry_point, Parameter(name, kind, default, default is None, True))


@pytest.fixture
def tiny_results(tmp_path: Path) -> tuple[Path, Path]:
    """A corpus and results directory naming one project, as mine and analyze write them."""
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    (corpus / "repos" / "o" / "r").mkdir(parents=True)
    (corpus / "manifest.csv").write_text("repo,commit,clone_path,status\no/r,abc,repos/o/r,ok\n")
    out.mkdir()
    write_table(out, "mlprojects", [project()])
    write_table(out, "entry_points", [EntryPointRow("o/r", "MLproject", "main", "python t.py", "t.py", 0)])
    write_table(out, "parameters", [])
    return corpus, out
