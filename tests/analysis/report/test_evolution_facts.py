"""The Evolution section's facts and tables from a small results folder with the history's tables
(``tests/analysis/report/histories.py``): exact numbers, denominators and intervals; none without the history."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.report.evolution_facts import (
    adoption_months,
    category_counts,
    evolution_sentences,
    period_freq,
    pins_by_period,
    read_history,
    states,
)
from analysis.releases.dates import ReleaseDates, utc
from analysis.report.facts import Label, Number, Share, facts_frame
from analysis.report.findings import compute_facts
from analysis.report.inputs import ReportInputs
from analysis.statistics.shares import wilson
from tests.analysis.report.histories import write_histories


@pytest.fixture
def inputs(tmp_path: Path) -> ReportInputs:
    return ReportInputs(write_histories(tmp_path / "out"))


def _share(facts: object, name: str) -> tuple[int, int]:
    fact = facts[name]  # type: ignore[index]
    assert isinstance(fact, Share), name
    return fact.n, fact.of


def test_the_facts_of_adoption_abandonment_and_api_changes(inputs: ReportInputs) -> None:
    facts = compute_facts(inputs)
    numbers = {n: facts[n].value for n in ("HistoryRepos", "HistoryCommits", "HistoryIncomplete", "AdoptionPeakRepos",
                                           "PinnedReleases")
               if isinstance(facts[n], Number)}
    assert numbers == {"HistoryRepos": 4, "HistoryCommits": 8, "HistoryIncomplete": 1, "AdoptionPeakRepos": 1,
                       "PinnedReleases": 2}
    labels = {n: facts[n].value for n in facts.by_name if isinstance(facts[n], Label)
              and n.startswith(("History", "Adoption", "Evolution"))}
    # r/a's adoption at 10:00+02:00 is 08:00 UTC in March; r/a's last commit, 23:30-02:00 on 1 May, is 2 May in UTC
    assert labels == {"HistoryFirstMonth": "2021-01", "HistoryLastMonth": "2023-09", "AdoptionFirstMonth": "2021-03",
                      "AdoptionLastMonth": "2023-09", "AdoptionPeakMonth": "2021-03", "EvolutionFirstPeriod": "2021",
                      "EvolutionLastPeriod": "2023"}
    assert _share(facts, "ReposAdopted") == (3, 4)  # r/c never calls MLflow
    assert _share(facts, "AdoptedAtFirstCommit") == (2, 3)  # r/b and r/d
    assert _share(facts, "ReposAbandoned") == (1, 3)  # r/b
    assert _share(facts, "ReposApisRemoved") == (1, 3) and _share(facts, "ReposApisAdded") == (1, 3)
    assert _share(facts, "ReposDeprecatedApiHistory") == (1, 3) and _share(facts, "ReposPinnedEver") == (1, 3)
    abandoned = facts["ReposAbandoned"]
    assert isinstance(abandoned, Share) and abandoned.ci == wilson(1, 3) and abandoned.cluster is None
    assert abandoned.text() == "1 of 3 repositories calling MLflow at some commit (33%, 6-79%)"


def test_api_categories_per_year_are_over_the_repositories_calling_mlflow_then(inputs: ReportInputs) -> None:
    h = read_history(inputs)
    assert h is not None and period_freq(h.history) == "Y"
    assert states(h.history, "Y").values.tolist() == [
        ["2021", "r/a", "a2"], ["2022", "r/a", "a2"], ["2023", "r/a", "a3"], ["2022", "r/b", "b1"],
        ["2023", "r/b", "b2"], ["2021", "r/c", "c1"], ["2022", "r/c", "c2"], ["2023", "r/c", "c2"],
        ["2023", "r/d", "d1"]]
    counts, top = category_counts(h)
    assert top == ["metric", "param", "autolog"]  # two repositories each, then one; ties by name
    # end of 2021: r/a; of 2022: r/a and r/b; of 2023: r/a and r/d (r/b no longer calls MLflow, r/c never did)
    assert counts.values.tolist() == [
        ["2021", "metric", 1, 1], ["2021", "param", 0, 1], ["2021", "autolog", 0, 1],
        ["2022", "metric", 1, 2], ["2022", "param", 1, 2], ["2022", "autolog", 0, 2],
        ["2023", "metric", 2, 2], ["2023", "param", 1, 2], ["2023", "autolog", 1, 2]]
    facts = compute_facts(inputs)
    assert [_share(facts, f"ApiShare{c}{w}") for c in ("Metric", "Param", "Autolog") for w in ("First", "Last")] == [
        (1, 1), (2, 2), (0, 1), (1, 2), (0, 1), (1, 2)]
    # with fewer than three calendar years, quarters
    two_years = h.history[h.history["at"].dt.year >= 2022]
    assert period_freq(two_years) == "Q" and sorted(set(states(two_years, "Q")["period"])) == [
        "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2", "2023-Q3"]


def test_adoption_by_month_and_pins_by_year(inputs: ReportInputs) -> None:
    h = read_history(inputs)
    assert h is not None
    months = adoption_months(h)
    assert len(months) == 31 and months["adopted"].sum() == 3  # every month from 2021-03 to 2023-09
    assert months[months["adopted"] > 0].values.tolist() == [
        ["2021-03", 1, 1, "r/a"], ["2022-07", 1, 2, "r/b"], ["2023-09", 1, 3, "r/d"]]
    pins = pins_by_period(h, ReleaseDates())
    assert pins.values.tolist() == [
        ["2021", 1, 1, 1, "1.30.0 (1)", *["not measured"] * 4],
        ["2022", 2, 2, 1, "1.30.0 (1)", *["not measured"] * 4],  # r/b declares mlflow unpinned
        ["2023", 2, 2, 1, "2.9.2 (1)", *["not measured"] * 4]]  # r/d declares mlflow>=2
    dates = {"1.30.0": "2020-10-01", "2.9.2": "2023-12-01", "2.1.0": "2022-12-01", "2.2.0rc0": "2022-12-20"}
    dated = pins_by_period(h, ReleaseDates({v: utc(d) for v, d in dates.items()}, origin="test"))
    assert dated[["newest release by then", "pins older than it", "median releases behind",
                  "median days behind"]].values.tolist() == [
        ["1.30.0", "0 of 1", "", ""], ["2.1.0", "1 of 1", 1.0, 791.0], ["2.9.2", "0 of 1", "", ""]]
    # r/a's 1.30.0 is behind 2.1.0 at the end of 2022 (by 791 days); a pre-release never counts
    fetched = ReleaseDates({v: utc(d) for v, d in dates.items()}, origin="test", as_of=utc("2022-06-01"))
    assert pins_by_period(h, fetched)["pins older than it"].tolist() == ["0 of 1", "0 of 1", "not measured"]


def test_pins_and_deprecated_apis_against_release_dates(inputs: ReportInputs) -> None:
    facts = compute_facts(inputs)
    assert _share(facts, "PinBehindCommits") == (1, 2)  # r/a: of its two dated pins, one behind
    assert _share(facts, "ReposPinBehindHead") == (1, 1)  # r/a alone pins a dated release at HEAD
    assert {n: facts[n].value for n in ("PinReleasesBehindHeadMedian", "PinDaysBehindHeadMedian",  # type: ignore[union-attr]
                                        "DeprecatedUseDaysMedian", "DeprecatedUseDaysMax")} == {
        "PinReleasesBehindHeadMedian": 3, "PinDaysBehindHeadMedian": 120, "DeprecatedUseDaysMedian": 300,
        "DeprecatedUseDaysMax": 300}
    assert _share(facts, "ReposDeprecatedAfterRelease") == (1, 2)  # r/d, of r/a and r/d (r/b's are not dated)
    sentences = evolution_sentences(facts)
    assert "At the mined commit, 1 of 1 repositories pinning MLflow at HEAD (100%, 21-100%) pin an older release " \
           "than the newest one then, a median 3 releases and 120 days behind." in sentences["pins"].text()
    assert "1 of 2 repositories calling MLflow (50%, 9-91%) called one after that release was published, for a " \
           "median 300 days from its publication to the last call (at most 300 days)." in \
           sentences["abandonment"].text()


def test_pins_and_cochange_cluster_in_repositories(inputs: ReportInputs) -> None:
    facts = compute_facts(inputs)
    assert _share(facts, "CommitsDeclaringMlflow") == (4, 4)  # a2, a3, b1, d1
    assert _share(facts, "CommitsPinningMlflow") == (2, 4)  # a2 and a3
    cochange = facts["CoChangeCommits"]
    assert isinstance(cochange, Share) and (cochange.n, cochange.of) == (3, 7)  # a2, b1, d1 of seven code commits
    view = cochange.cluster
    assert view is not None and view.low is None and not cochange.interval  # four repositories: no interval
    assert (view.n_clusters, view.with_any, view.listed) == (4, 3, "r/a 1 of 3; r/b 1 of 2; r/c 0 of 1; r/d 1 of 1")
    assert (view.largest, view.largest_units, view.k_without, view.n_without) == ("r/a", 3, 2, 4)
    assert _share(facts, "CoChangeCommitsMLproject") == (2, 4)  # r/a and r/d have an MLproject at some commit
    row = facts_frame(facts).set_index("name").loc["CoChangeCommits"]
    assert (row["ci_method"], row["n_clusters"], row["largest_cluster"]) == ("none", 4, "r/a")
    assert math.isclose(float(row["share"]), 3 / 7, abs_tol=1e-4)


def test_the_sentences_are_made_of_the_facts(inputs: ReportInputs) -> None:
    sentences = evolution_sentences(compute_facts(inputs))
    assert sentences["adoption"].text().startswith(
        "Of the 4 repositories whose histories were analyzed (8 first-parent commits, 2021-01 to 2023-09), 3 of 4 "
        "repositories with a history (75%, 30-95%) call MLflow at some commit;")
    assert "1 of 1 (100%, 21-100%) in 2021 and 2 of 2 (100%, 34-100%) in 2023 call a metric API" in \
        sentences["api"].text()
    # the short text: r/a holds 3 of the 7 code commits, over a third: said, with the share without it
    assert sentences["cochange"].text().startswith("3 of 7 commits changing code (43%; one repository holds 3 of "
                                                   "them: without it 2 of 4, 50%) also change an MLproject")


def test_without_the_history_no_fact(tmp_path: Path) -> None:
    inputs = ReportInputs(write_histories(tmp_path / "out", history=False))
    facts = compute_facts(inputs)
    assert read_history(inputs) is None and not {n for n in facts.by_name if n.startswith(("History", "CoChange"))}
    assert evolution_sentences(facts) == {}
