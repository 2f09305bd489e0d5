"""Fixtures of the rerun tests: a corpus and results directory naming one project; the environment cache, corpora
mined and analyzed from repositories written by a test, and the settings of their re-runs."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings, Parameter
from analysis.rerun.driver_env import DRIVER_SPEC
from analysis.rerun.ftypes import RerunSettings
from analysis.rerun.sandbox import SandboxUnavailable, probe
from analysis.rows import EntryPointRow, MlprojectRow, ParameterRow
from analysis.tables import TABLES, cells, flat
from analysis.isolated.uv_env import EnvBuildError, ensure_env
from miner.fileio import write_csv
from miner.ftypes import MineSettings
from miner.mine import mine
from miner.spec import CorpusSpec, MlflowSelection
from tests.conftest import make_repo


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


ENV_CACHE = Path.home() / ".cache" / "mlflow-census" / "test-envs" / "rerun"


@pytest.fixture(scope="session")
def env_cache() -> Path:
    """The persistent environment cache of the re-run tests, with the MLflow environment built (once ever).

    Asking for it makes a test ``slow`` (``tests/conftest.py``: it builds environments and runs sandboxes)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    try:
        probe()
    except SandboxUnavailable as err:
        pytest.skip(f"no sandbox on this machine: {err}")
    try:
        ensure_env(DRIVER_SPEC, ENV_CACHE)
    except EnvBuildError as err:
        pytest.skip(f"the MLflow environment cannot be built here (PyPI needed once): {err}")
    return ENV_CACHE


def make_corpus(tmp: Path, cases: dict[str, dict[str, str | bytes]]) -> tuple[Path, Path, Path]:
    """(corpus, results, tmp): the repositories ``cases`` (name -> files) mined and analyzed with the real commands."""
    for name, files in cases.items():
        make_repo(tmp / "src" / name, files)
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp / "corpus", from_local=tmp / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp / "corpus", out_dir=tmp / "out", draw_report=False))
    return tmp / "corpus", tmp / "out", tmp


def rerun_settings(corpus: tuple[Path, Path, Path], env_cache: Path, **kw: object) -> RerunSettings:
    """The settings of the tests' re-runs of ``corpus`` (``kw`` replaces any field)."""
    base = RerunSettings(corpus_dir=corpus[0], out_dir=corpus[1], env_cache=env_cache, timeout=40, memory=1 << 30,
                         max_processes=64, jobs=2, work_dir=corpus[2] / "work")
    return replace(base, **kw)  # type: ignore[arg-type]
