"""The Evolution section drawn from a small results folder with the history's tables: its parts, tables and figures
with exact numbers; "not measured" with the command without ``history.csv``."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.releases.dates import ReleaseDates as RD
from analysis.report.inputs import ReportInputs
from analysis.report.sections import evolution as evolution_section
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.evolution import evolution
from analysis.report.writer import Doc
from miner.ftypes import ReleaseDate, ReleaseDates
from miner.release_dates import write_release_dates
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
    # no corpus: the shipped snapshot's dates; at the end of 2022 r/a's 1.30.0 is 3 releases (2.0.1, 2.1.0, 2.1.1;
    # 2.0.0 was yanked) and 66 days (2022-10-19 to 2022-12-26) behind
    assert "release dates: snapshot (PyPI's first upload of each release, fetched " in pins
    assert ("| year | calling MLflow | declaring MLflow | pinning one release | releases pinned | newest release by then "
            "| pins older than it | median releases behind | median days behind |") in pins
    assert "| 2022 | 2 | 2 | 1 | 1.30.0 (1) | 2.1.1 | 1 of 1 | 3.0 | 66.0 |" in pins
    assert "| 2023 | 2 | 2 | 1 | 2.9.2 (1) | " in pins and "not measured" not in pins
    assert ("At the mined commit, 1 of 1 repositories pinning MLflow at HEAD (100%, 21-100%) pin an older release "
            "than the newest one then, a median 3 releases and 120 days behind.") in pins
    assert ("4 of 4 commits calling MLflow (100%; one repository holds 2 of them: without it 2 of 2, 100%) declare an "
            "MLflow requirement; 2 of 4 commits declaring MLflow (50%") in pins
    cochange = _part(md, "Co-change of code with the MLproject and its environment")
    assert ("| code commits changing the MLproject or environment too | 3 | 7 | 0.4286 |  |  | none (fewer than 5 "
            "repositories) | 3 of 4 | r/a 1 of 3; r/b 1 of 2; r/c 0 of 1; r/d 1 of 1 | 3 of 7 | 2 of 4 |") in cochange
    assert "| r/a | 3 | 1 | 0.3333 | true |" in cochange and "| r/c | 1 | 0 | 0.0 | false |" in cochange
    abandonment = _part(md, "Abandonment")
    assert "1 of 3 repositories calling MLflow at some commit (33%, 6-79%) no longer call MLflow at HEAD" in abandonment
    assert "| r/b | 2022-07-01T12:00:00+00:00 | 2022-07-01T12:00:00+00:00 | 2 | mlflow.log_param |" in abandonment
    assert "| r/d | mlflow.log_param@2.0.0:300d | 300 | 1 |" in abandonment
    assert set(doc.figures) == {"fig_adoption.png", "fig_api_over_time.png", "fig_pins_over_time.png"}
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


def test_the_corpus_release_dates_are_used_and_without_any_pins_are_not_measured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = write_histories(tmp_path / "out")
    corpus = tmp_path / "corpus"
    dates = (ReleaseDate("1.30.0", "2022-10-19T00:00:00Z", 2, False), ReleaseDate("2.9.2", "2023-12-14T00:00:00Z", 2,
                                                                                   False))
    write_release_dates(corpus / "mlflow" / "release_dates.csv", ReleaseDates(dates, "test", "2024-01-05T00:00:00Z"))
    report = Drawing(ReportInputs(results, corpus=corpus), Doc(lambda source: source))
    evolution(report)
    report.doc.finish()
    pins = _part("\n".join(report.doc.md), "MLflow pins against release dates")
    assert "release dates: corpus (PyPI's first upload of each release, fetched 2024-01-05)" in pins
    assert "| 2022 | 2 | 2 | 1 | 1.30.0 (1) | 1.30.0 | 0 of 1 |  |  |" in pins
    monkeypatch.setattr(evolution_section, "release_dates", lambda inputs: RD())
    md, doc = _drawn(results)
    pins = _part(md, "MLflow pins against release dates")
    assert "| 2022 | 2 | 2 | 1 | 1.30.0 (1) | not measured | not measured | not measured | not measured |" in pins
    assert "Pins against release dates (a pinned release older than the newest one published by the commit's date; " \
           "how long a deprecated API stays in use): not measured: neither the corpus (`mlflow/release_dates.csv`) " \
           "nor the shipped snapshot records MLflow release dates." in pins
    assert "fig_pins_over_time.png" not in doc.figures
