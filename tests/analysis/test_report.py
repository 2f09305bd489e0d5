"""The report: written from the CSVs, self-contained, every figure loading in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from analysis.analyze import analyze
from analysis.ftypes import AnalyzeSettings
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    files = {
        "MLproject": "name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    parameters:\n      a: float\n"
                     "    command: python train.py {a}\n",
        "conda.yaml": "dependencies: [python=3.10.0, {pip: [mlflow==2.9.2, numpy]}]\n",
        "train.py": "import mlflow, random\nrandom.seed(1)\nfrom helper import f\nwith mlflow.start_run():\n"
                    "    mlflow.log_param('a', 1)\n    f()\n    mlflow.sklearn.log_model(m, 'model')\n",
        "helper.py": "import mlflow\ndef f():\n    mlflow.log_metric('acc', 1, step=1)\n    mlflow.set_tag('git', 'x')\n"
                     "    mlflow.log_input(ds)\n",
    }
    make_repo(tmp / "src" / "a", files)
    make_repo(tmp / "src" / "b", {"t.py": "import mlflow\nmlflow.autolog()\nmlflow.set_tracking_uri('http://localhost:5000')\n",
                                  "util.py": "print(1)\n", "notes.txt": "x\n"})
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp / "corpus", from_local=tmp / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp / "corpus", out_dir=tmp / "out"))
    return tmp / "out" / "report"


def test_markdown_has_every_question_and_names_its_sources(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    for heading in ("0. Corpus", "1. Storage", "2. Tracking", "3. Traceability", "4. Reproducibility"):
        assert f"## {heading}" in md
    # files by kind and status, with the total that every share's denominator comes from
    assert "| kind | files | analyzed | no-mlflow | not-analyzed |" in md
    assert "| python | 4 | 3 | 1 | 0 |" in md and "| other | 1 | 0 | 0 | 1 |" in md and "| all | 7 | 5 | 1 | 1 |" in md
    for source in ("practices.csv", "api_usage.csv", "traceability.csv", "reproducibility.csv", "tracking_uris.csv"):
        assert f"`{source}`" in md
    assert "| logs params | 1 | 2 |" in md  # n_repos of n_eligible, as practices.csv says
    for figure in ("fig_api_popularity.png", "fig_practices.png", "fig_traceability.png", "fig_pinning.png", "fig_graph.png"):
        assert f"]({figure})" in md and (report_dir / figure).stat().st_size > 1000


def test_html_is_self_contained(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text()
    sources = re.findall(r"<img[^>]* src='([^']*)'", page)
    assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page.replace("http://localhost:5000", "") and "https://" not in page


def test_every_figure_loads_in_headless_chromium(report_dir: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom",
             (report_dir / "index.html").as_uri()],
            capture_output=True, text=True, timeout=120)
    match = re.search(r'data-images="(\d+)/(\d+)"', proc.stdout)
    assert match is not None, proc.stderr[-500:]
    assert match.group(1) == match.group(2) == "5"


def test_all_repos_population(report_dir: Path) -> None:
    from analysis.report import build_report

    md, _page = build_report(report_dir.parent, all_repos=True)
    assert "duplicates included" in md.read_text()
    build_report(report_dir.parent)
    assert "one repository per duplicate family" in (report_dir / "report.md").read_text()


def test_a_rerun_from_the_cache_does_not_redraw_the_report(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\nmlflow.log_metric('a', 1)\n"})
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    settings = AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out")
    analyze(settings)
    page = tmp_path / "out" / "report" / "index.html"
    drawn = page.stat().st_mtime_ns
    files_before = (tmp_path / "out" / "files.csv").read_text()
    analyze(settings)
    assert (tmp_path / "out" / "files.csv").read_text() != files_before  # `cached` flipped to true
    assert page.stat().st_mtime_ns == drawn  # but nothing the report reads changed
    (tmp_path / "out" / "practices.csv").write_text((tmp_path / "out" / "practices.csv").read_text() + "\n")
    from analysis.report import build_report

    build_report(tmp_path / "out")
    assert page.stat().st_mtime_ns != drawn  # an input that changed redraws it
