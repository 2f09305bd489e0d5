"""Facts: percentages as the report prints them, shares with their Wilson interval, sentences that drop
when a fact is missing, the registry's checks, and findings.csv's rows."""

from __future__ import annotations

import math

import pytest

from analysis.report.facts import (
    Facts,
    Finding,
    Kpi,
    Label,
    Number,
    Sentence,
    Share,
    backend_name,
    fact_text,
    facts_frame,
    interval_bounds,
    not_measured,
    percent,
    quoted_facts,
)
from analysis.statistics.shares import wilson


@pytest.mark.parametrize(("share", "text"), [
    (0.0, "0"), (0.0004, "<0.1"), (0.005, "0.5"), (0.72, "72"), (0.996, ">99"), (1.0, "100"),
    (0.9999999999999999, "100"),  # a Wilson bound of 1 that comes back as 0.9999999999999999
])
def test_percent(share: float, text: str) -> None:
    assert percent(share) == text


@pytest.mark.parametrize(("low", "high", "text"), [
    (0.59, 0.82, ("59", "82")),
    (0.9449846853541274, 0.9982146927208301, ("94", "100")),  # a bound of 100, not ">99" (it read "94->99")
    (0.01847614523661608, 0.021646765707068506, ("1.8", "2.2")),  # not "2-2": a decimal more while alike
    (0.0199, 0.0201, ("1.99", "2.01")),
    (0.002, 0.008, ("0.2", "0.8")),  # under 1%: one decimal, as shares are printed
    (0.005557720110757801, 0.07069031167150083, ("0.6", "7")),
    (0.0, 0.06313883485297894, ("0", "6")),
    (0.0001, 0.01, ("<0.1", "1")),
    (0.3, 0.3, ("30", "30")),  # a degenerate interval prints as it is
])
def test_interval_bounds_read_as_an_interval(low: float, high: float, text: tuple[str, str]) -> None:
    assert interval_bounds(low, high) == text


def test_a_share_near_100_or_with_a_narrow_interval_reads() -> None:
    assert _share(n=98, of=99).pct() == "99%, 94-100%"
    assert _share(n=600, of=30000).pct() == "2%, 1.8-2.2%"


def _share(name: str = "ReposX", n: int = 41, of: int = 57, interval: bool = True) -> Share:
    return Share(name, n, of, "repositories", "x.csv", "t-x", "definition", interval=interval)


def test_a_share_prints_n_of_the_denominator_and_its_interval() -> None:
    share = _share()
    assert share.text() == "41 of 57 repositories (72%, 59-82%)"
    assert share.ci == wilson(41, 57)
    assert _share(interval=False).text() == "41 of 57 repositories (72%)"
    assert _share(n=0, of=0).share == 0.0
    assert (fact_text(share, "n"), fact_text(share, "of"), fact_text(share, "pct")) == ("41", "57", "72%, 59-82%")


def test_a_number_prints_its_digits_and_unit() -> None:
    assert Number("Bytes", 6986.0808, "B", "s.csv", "t", "d").text() == "6,986 B"
    assert Number("Median", 0.5, "", "s.csv", "t", "d", digits=2).text() == "0.50"


def test_a_sentence_is_built_only_when_every_fact_it_quotes_exists() -> None:
    facts = Facts()
    facts.add(_share())
    facts.add(Label("Top", "mlflow.log_metric", "u.csv", "t-u", "d"))
    facts.add(None)  # a fact that could not be computed is left out
    sentence = facts.sentence("{ReposX:n} of {ReposX:of} ({ReposX:pct}) call {Top}; {ReposX} again.")
    assert sentence is not None
    assert sentence.text() == ("41 of 57 (72%, 59-82%) call mlflow.log_metric; 41 of 57 repositories (72%, 59-82%) "
                               "again.")
    assert [f.name for f in sentence.facts] == ["ReposX", "Top"]
    assert sentence.sources() == [("t-x", "x.csv"), ("t-u", "u.csv")]
    assert facts.sentence("{ReposX} and {Missing}") is None
    assert "ReposX" in facts and "Missing" not in facts


def test_the_registry_refuses_a_name_twice_or_not_made_of_letters() -> None:
    facts = Facts()
    facts.add(_share())
    with pytest.raises(ValueError, match="computed twice"):
        facts.add(_share())
    with pytest.raises(ValueError, match="letters only"):
        facts.add(_share(name="Repos2"))


def test_not_measured_names_the_command() -> None:
    sentence = not_measured("Re-runs", "python cli.py rerun")
    assert sentence.text() == "Re-runs: not measured: run `python cli.py rerun`." and sentence.facts == ()


def test_facts_frame_has_a_row_per_fact_with_its_columns() -> None:
    facts = Facts()
    facts.add(_share())
    facts.add(_share(name="Sites", n=1, of=4, interval=False))
    facts.add(Number("Bytes", 6986.0808, "B", "s.csv", "t", "d"))
    facts.add(Label("Top", "mlflow.log_metric", "u.csv", "t-u", "d"))
    rows = {r["name"]: r for r in facts_frame(facts).to_dict("records")}
    low, high = wilson(41, 57)
    assert (rows["ReposX"]["n"], rows["ReposX"]["of"], rows["ReposX"]["share"]) == (41, 57, round(41 / 57, 4))
    assert math.isclose(rows["ReposX"]["ci_low"], round(low, 4)) and math.isclose(rows["ReposX"]["ci_high"],
                                                                                  round(high, 4))
    assert rows["Sites"]["ci_low"] == rows["Sites"]["ci_high"] == ""  # no interval
    assert (rows["Bytes"]["value"], rows["Bytes"]["unit"], rows["Bytes"]["text"]) == (6986.0808, "B", "6,986 B")
    assert rows["Top"]["value"] == "mlflow.log_metric" and rows["Top"]["n"] == ""


def test_quoted_facts_are_those_of_the_findings_and_the_kpis() -> None:
    quoted, kpi_fact, unused = _share(), _share(name="Kpi"), _share(name="Unused")
    findings = [Finding("storage", "Storage", (Sentence("{ReposX}", (quoted,)),))]
    kpis = [Kpi("k", "m", Sentence("{Kpi}", (kpi_fact,)), "corpus code")]
    assert set(quoted_facts(findings, kpis)) == {"ReposX", "Kpi"} and unused.name not in quoted_facts(findings, kpis)


def test_backend_names_are_fact_name_suffixes() -> None:
    assert [backend_name(b) for b in ("file", "sqlite", "postgresql", "mssql+pyodbc")] == [
        "File", "Sqlite", "Postgresql", "Other"]


def test_a_share_over_nothing_is_not_measured_never_zero() -> None:
    empty = Share("RerunSame", 0, 0, "re-runs with committed metrics to compare", "rerun.csv", "t-rerun", "d")
    assert not empty.measured
    assert empty.text() == empty.pct() == "not measured (none could be compared)"
    assert "0%" not in fact_text(empty, "pct")
    row = facts_frame(_facts(empty)).iloc[0]
    assert (row["n"], row["of"], row["share"], row["ci_low"], row["ci_method"]) == (0, 0, "", "", "")


def _facts(*facts: Share | Number | Label) -> Facts:
    out = Facts()
    for fact in facts:
        out.add(fact)
    return out


def test_a_clustered_share_tells_the_largest_repository_and_the_figure_without_it() -> None:
    from analysis.statistics.clusters import ClusterCount, clustered

    view = clustered([ClusterCount("big/one", 110, 332), *(ClusterCount(f"small/{i}", 1, 23) for i in range(6))])
    failed = Share("RunsFailed", int(view.k), view.n, "runs", "store_statistics.csv", "t-stores", "d",
                   interval=view.low is not None, cluster=view)
    text = failed.text()
    assert text.startswith("116 of 470 runs (25%, ") and " by repository; in 7 of 7 repositories" in text
    assert "one repository holds 332 of the 470 runs: without it 6 of 138 (4%)" in text
    assert failed.short().endswith("; one repository holds 332 of them: without it 6 of 138, 4%)")
    low, high = failed.ci
    wilson_low, wilson_high = wilson(116, 470)  # 21-29%, as if the runs were independent
    assert (low, high) == (view.low, view.high) and high - low > 3 * (wilson_high - wilson_low)
    assert low < 0.05  # a draw without the big repository fails about one run in 23
    row = facts_frame(_facts(failed)).iloc[0]
    assert (row["ci_method"], row["largest_cluster"], row["largest_cluster_units"], row["of_without_largest"]) == (
        "cluster bootstrap", "big/one", 332, 138)


def test_a_ratio_of_clustered_units_tells_the_figure_without_the_largest_repository() -> None:
    from analysis.statistics.clusters import ClusterCount, clustered

    view = clustered([ClusterCount("big/one", 60_000_000.0, 332),
                      *(ClusterCount(f"small/{i}", 460_000.0, 23) for i in range(6))])
    size = Number("StoreBytesPerRun", view.k / view.n, "B", "store_statistics.csv", "t-stores", "d", cluster=view,
                  per="runs")
    assert size.text().startswith("133,532 B (")
    assert "one repository holds 332 of the 470 runs: without it 20,000 B)" in size.text()
