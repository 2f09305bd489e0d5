"""The report as drawn: sections in order, findings linking to their tables, a self-contained
sortable page (loaded in headless Chromium), the population option, the CLI, no redraw when nothing changed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo


def test_markdown_has_findings_first_then_every_section(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    headings = re.findall(r"^## (.+)$", md, flags=re.MULTILINE)
    assert headings == ["Key findings", "The proposal's KPIs",
                        "1. Storage: what MLflow stores, and where projects send it",
                        "2. Tracking: which logging APIs projects use, and how",
                        "3. Traceability: can a run be traced to its code, parameters, data, environment and model",
                        "4. Reproducibility: how likely a project is to re-run",
                        "Practices per population: teaching, library, application", "Agreement: where two measures meet",
                        "5. Evolution: MLflow usage over each repository's history", "6. Methodology",
                        "7. Threats to validity", "8. Published baselines (other studies, not this corpus)", "Appendix"]
    assert re.findall(r"^### (.+)$", md, flags=re.MULTILINE)[:4] == [
        "Storage: what is stored, how and where", "Tracking: how metrics and parameters are logged",
        "Traceability: can a run be traced to its code, data and environment",
        "Reproducibility: can an experiment be run again"]
    # files by kind and status, with the total that every share's denominator comes from
    assert "| kind | files | analyzed | no-mlflow | not-analyzed |" in md  # broken.py is read in part
    assert "| python | 8 | 6 | 2 | 0 |" in md and "| all | 25 | 11 | 2 | 12 |" in md
    for source in ("practices.csv", "api_usage.csv", "traceability.csv", "reproducibility.csv", "tracking_uris.csv",
                   "stored_runs.csv", "manifest.csv"):
        assert f"[{source}](" in md
    assert "| logs params | 1 | 3 |" in md  # n_repos of n_eligible, as practices.csv says: one per family
    for figure in ("fig_storage.png", "fig_api_popularity.png", "fig_practices.png", "fig_traceability.png",
                   "fig_pinning.png", "fig_graph.png", "fig_adoption.png", "fig_api_over_time.png"):
        assert f"]({figure})" in md and (report_dir / figure).stat().st_size > 1000


def test_the_populations_section_lists_the_table_of_contents_entry_and_both_tables(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert ("- [Practices per population](#sec-populations)\n- [Agreement: where two measures meet](#sec-agreement)\n"
            "- [5. Evolution](#sec-5-evolution)\n- [6. Methodology](#sec-6-methodology)") in md
    section = md[md.index('<a id="sec-populations"></a>'):md.index('<a id="sec-agreement"></a>')]
    assert "| teaching | 1/3 (33%) | course-word 1 | carol/mlflow-tutorial |" in section
    assert "| application | 2/3 (67%) | otherwise 2 | alice/project, bob/server |" in section
    assert "| practice | one-per-family | without-teaching | teaching | library | application |" in section
    assert "| logs params | 1/3 (33%) | 1/2 (50%) | 0/1 (0%) | 0/0 | 1/2 (50%) |" in section


def test_a_finding_links_to_its_table_and_csv(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert ("2 of 3 repositories (67%, 21-94%) ship an MLproject; 1 of 3 repositories (33%, 6-79%) declare no "
            "environment at all. ([table](#t-reproducibility-practices) from [practices.csv](../practices.csv))") in md
    for anchor in re.findall(r"\]\(#(t-[a-z-]+)\)", md):
        assert f'<a id="{anchor}"></a>' in md, anchor


def test_html_is_self_contained_and_sortable(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text()
    sources = re.findall(r"<img[^>]* src='([^']*)'", page)
    assert len(sources) == 9 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"""(src|href)=['"]?https?:""", page)  # nothing loaded from the network
    assert "<table class=\"dataframe sortable\">" in page and "cellIndex" in page
    assert "<details><summary>" in page  # a long table folds


def _chromium() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return chromium


def _headless(chromium: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args, page.as_uri()],
            capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_every_figure_loads_in_headless_chromium_and_a_screenshot_is_taken(measured: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    page = measured / "report" / "index.html"
    proc = _headless(chromium, page, "--dump-dom")
    match = re.search(r'data-images="(\d+)/(\d+)"', proc.stdout)
    assert match is not None, proc.stderr[-500:]
    assert match.group(1) == match.group(2) == "9"  # the Evolution section's three figures too
    shot = tmp_path / "report.png"
    proc = _headless(chromium, page, "--window-size=1200,2400", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000, proc.stderr[-500:]


def test_all_repos_population(report_dir: Path) -> None:
    from analysis.report.document import build_report

    md, _page = build_report(report_dir.parent, all_repos=True)
    text = md.read_text()
    assert "duplicates included" in text and "| logs params | 1 | 4 |" in text
    assert "| duplicates kept (--all-repos) | 4 | 0 | 1 copies in 1 duplicate families |" in text
    # every number over the same four repositories: the API usage too (api_usage.csv's rows of all)
    from tests.analysis.report.sample import read_facts

    facts = read_facts(report_dir.parent)
    assert facts["TopApiRepos"]["of"] == facts["ReposLogParams"]["of"] == "4"
    build_report(report_dir.parent)
    assert read_facts(report_dir.parent)["TopApiRepos"]["of"] == "3"
    assert "one repository per duplicate family" in (report_dir / "report.md").read_text()


def test_cli_report_options(measured: Path, tmp_path: Path) -> None:
    from cli import app

    results = tmp_path / "out"
    shutil.copytree(measured, results)
    shutil.move(results / "probe", tmp_path / "elsewhere")
    result = CliRunner().invoke(app, ["report", "--results", str(results), "--probe", str(tmp_path / "elsewhere"),
                                      "--latex"])
    assert result.exit_code == 0, result.output
    assert f"latex: {results / 'report' / 'latex'}" in result.output
    assert "probe: " + str(tmp_path / "elsewhere") in result.output and "rerun: " + str(results) in result.output
    md = (results / "report" / "report.md").read_text()
    assert "Probing MLflow 3.18.0 itself" in md
    result = CliRunner().invoke(app, ["report", "--results", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no results" in result.output
    result = CliRunner().invoke(app, ["report", "--results", str(results), "--probe", str(tmp_path / "none")])
    assert result.exit_code == 2 and "probe.csv" in result.output


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
    from analysis.report.document import build_report

    build_report(tmp_path / "out")
    assert page.stat().st_mtime_ns != drawn  # an input that changed redraws it
    drawn = page.stat().st_mtime_ns
    build_report(tmp_path / "out")
    assert page.stat().st_mtime_ns == drawn
    files = tmp_path / "out" / "files.csv"
    assert ",t.py," in files.read_text()
    files.write_text(files.read_text().replace(",t.py,", ",u.py,"))  # a column of files.csv it reads
    build_report(tmp_path / "out")
    assert page.stat().st_mtime_ns != drawn


def test_the_report_room_imports_downward_only() -> None:
    """document -> sections -> findings, sentences, methodology, claims -> facts, inputs: nothing below the document
    imports it, no section module imports the document, the facts and the inputs import no other report module
    but each other's leaves."""
    import ast

    room = Path(__file__).resolve().parents[3] / "analysis" / "report"
    imports: dict[str, set[str]] = {}
    for path in room.rglob("*.py"):
        module = ".".join(("analysis", "report", *path.relative_to(room).with_suffix("").parts))
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        imports[module] = {m for m in found if m.startswith("analysis.report")}
    assert "analysis.report.sections.questions" in imports  # the walk found the rooms
    for module, used in imports.items():
        if module != "analysis.report.process":  # the process draws through the document
            assert "analysis.report.document" not in used or module == "analysis.report.document", module
    for leaf in ("analysis.report.facts", "analysis.report.inputs"):
        assert not {m for m in imports[leaf] if not m.startswith(("analysis.report.facts", "analysis.report.inputs"))}
    for module in ("analysis.report.findings", "analysis.report.sentences", "analysis.report.methodology",
                   "analysis.report.claims"):
        assert not {m for m in imports[module] if m.startswith(("analysis.report.sections", "analysis.report.writer"))}
