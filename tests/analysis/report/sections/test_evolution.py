"""The Evolution section drawn from a small results folder with the history's tables: its parts, tables and figures
with exact numbers; "not measured" with the command without ``history.csv``."""

from __future__ import annotations

from pathlib import Path

from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.evolution import evolution
from analysis.report.writer import Doc
from tests.analysis.report.histories import write_histories


def _drawn(results: Path) -> tuple[str, Doc]:
    report = Drawing(ReportInputs(results), Doc(lambda source: source))
    evolution(report)
    report.doc.finish()
    return "\n".join(report.doc.md), report.doc


def _part(md: str, heading: str) -> str:
    start = md.index(f"### {heading}")
    end = md.find("\n### ", start + 1)
    return md[start:end if end > 0 else len(md)]


def test_the_section_draws_each_part_from_the_history(tmp_path: Path) -> None:
    md, doc = _drawn(write_histories(tmp_path / "out"))
    assert md.count("\n### ") == 5 and "## 5. Evolution: MLflow usage over each repository's history" in md
    adoption = _part(md, "Adoption by month")
    assert "3 of 4 repositories with a history (75%, 30-95%) call MLflow at some commit" in adoption
    assert "| month | adopted | cumulative | repositories |" in adoption
    assert "| 2021-03 | 1 | 1 | r/a |\n| 2022-07 | 1 | 2 | r/b |\n| 2023-09 | 1 | 3 | r/d |" in adoption
    api = _part(md, "API categories over time, by year")
    assert "| year | calling MLflow | metric | param | autolog |" in api
    assert "| 2021 | 1 | 1 (100%) | 0 (0%) | 0 (0%) |" in api and "| 2023 | 2 | 2 (100%) | 1 (50%) | 1 (50%) |" in api
    pins = _part(md, "MLflow pins against release dates")
    assert "| 2022 | 2 | 2 | 1 | 1.30.0 (1) | not measured | not measured |" in pins
    assert "Pins against release dates (a pinned release older than the newest one published by the commit's date; " \
           "how long a deprecated API stays in use): not measured: the corpus records no MLflow release dates" in pins
    assert ("4 of 4 commits calling MLflow (100%; one repository holds 2 of them: without it 2 of 2, 100%) declare an "
            "MLflow requirement; 2 of 4 commits declaring MLflow (50%") in pins
    cochange = _part(md, "Co-change of code with the MLproject and its environment")
    assert ("| code commits changing the MLproject or environment too | 3 | 7 | 0.4286 |  |  | none (fewer than 5 "
            "repositories) | 3 of 4 | r/a 1 of 3; r/b 1 of 2; r/c 0 of 1; r/d 1 of 1 | 3 of 7 | 2 of 4 |") in cochange
    assert "| r/a | 3 | 1 | 0.3333 | true |" in cochange and "| r/c | 1 | 0 | 0.0 | false |" in cochange
    abandonment = _part(md, "Abandonment")
    assert "1 of 3 repositories calling MLflow at some commit (33%, 6-79%) no longer call MLflow at HEAD" in abandonment
    assert "| r/b | 2022-07-01T12:00:00+00:00 | 2022-07-01T12:00:00+00:00 | 2 | mlflow.log_param |" in abandonment
    assert set(doc.figures) == {"fig_adoption.png", "fig_api_over_time.png"}
    assert all(len(png) > 1000 for png in doc.figures.values())
    # each part links its sentence to its table
    for anchor in ("t-evolution-adoption", "t-evolution-api", "t-evolution-pins", "t-evolution-cochange",
                   "t-evolution-abandoned"):
        assert f"](#{anchor})" in md and f'<a id="{anchor}"></a>' in md


def test_without_the_history_the_section_says_how_to_measure_it(tmp_path: Path) -> None:
    md, doc = _drawn(write_histories(tmp_path / "out", history=False))
    assert "## 5. Evolution" in md and "### " not in md and not doc.figures
    assert "not measured: run `python cli.py analyze --history` (on a corpus mined with `python cli.py mine " \
           "--history`, or from local clones)." in md
