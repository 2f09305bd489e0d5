"""The report tests' fixtures: the sample corpus mined and analyzed once per session, its report, and a copy
measured by the probe and the re-runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings, HistoryOptions
from analysis.tables import STORAGE as STORAGE_TABLE
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.analysis.report.sample import (
    PROBE,
    PROBE_COLUMNS,
    PROJECT,
    RERUN,
    RERUN_COLUMNS,
    SERVER,
    STORAGE,
    TUTORIAL,
    write_csv,
)
from tests.conftest import make_repo


@pytest.fixture(scope="session")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(results, corpus) of four repositories: a project with a committed store, a server user and its copy
    (three commits each), a tutorial with a required parameter, files that do not parse and a by-name method
    call; with their histories (``analyze --history``)."""
    tmp = tmp_path_factory.mktemp("report")
    make_repo(tmp / "src" / "alice" / "project", PROJECT)
    make_repo(tmp / "src" / "bob" / "server", SERVER, commits=3)
    make_repo(tmp / "src" / "bob" / "server-copy", SERVER, commits=3)
    make_repo(tmp / "src" / "carol" / "mlflow-tutorial", TUTORIAL)
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp / "corpus", from_local=tmp / "src", skip_mlflow=True, history=True))
    # the tables only: the report is drawn once, below, with the storage rows in
    analyze(AnalyzeSettings(corpus_dir=tmp / "corpus", out_dir=tmp / "out", draw_report=False,
                            history=HistoryOptions()))
    write_csv(tmp / "out" / STORAGE_TABLE.file, STORAGE_TABLE.columns, STORAGE)
    from analysis.report.document import build_report

    build_report(tmp / "out")
    return tmp / "out", tmp / "corpus"


@pytest.fixture(scope="session")
def report_dir(analyzed: tuple[Path, Path]) -> Path:
    return analyzed[0] / "report"


@pytest.fixture(scope="session")
def measured(analyzed: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the results with probe rows (in <results>/probe/) and re-run rows (in <results>/) built here
    from their documented columns, and its report drawn with the reference and LaTeX."""
    results = tmp_path_factory.mktemp("measured") / "out"
    shutil.copytree(analyzed[0], results)
    shutil.rmtree(results / "report")
    write_csv(results / "probe" / "probe.csv", PROBE_COLUMNS, PROBE)
    write_csv(results / "rerun.csv", RERUN_COLUMNS, RERUN)
    (results / "rerun.csv.provenance.json").write_text(json.dumps({"sandbox": "bubblewrap"}))
    from analysis.report.document import build_report

    build_report(results, latex=True)
    return results
