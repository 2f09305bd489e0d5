"""The key findings and the KPI table: no number typed by hand, "not measured" with the command
where an input is missing, the probe's and the re-runs' sentences filled from their rows."""

from __future__ import annotations

import re

import pytest
from pathlib import Path


def test_no_number_of_a_finding_is_typed_by_hand(analyzed: tuple[Path, Path], measured: Path) -> None:
    from analysis.report.evolution_facts import evolution_sentences
    from analysis.report.findings import compute_facts
    from analysis.report.inputs import ReportInputs
    from analysis.report.methodology import add_threat_facts, threat_sentences
    from analysis.report.sentences import key_findings, kpi_table

    for results in (analyzed[0], measured):
        inputs = ReportInputs.locate(results)
        facts = compute_facts(inputs)
        add_threat_facts(facts, inputs)
        sentences = [s for f in key_findings(facts) for s in (*f.sentences, *f.details)]
        sentences += [k.value for k in kpi_table(facts)]
        sentences += [s for _n, s in threat_sentences(facts, inputs)]
        evolution = evolution_sentences(facts)
        assert set(evolution) == {"adoption", "api", "pins", "cochange", "abandonment"}  # the sample has histories
        sentences += list(evolution.values())
        for sentence in sentences:
            words = re.sub(r"\{[A-Za-z]+(:\w+)?\}", "", sentence.template)
            assert not re.search(r"\d", words), sentence.template


def test_missing_inputs_say_not_measured(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert ("Capacity and access time of MLflow's stores (bytes per run, search latency): not measured: run "
            "`python cli.py probe --probe capacity`.") in md
    assert "not measured: run `python cli.py rerun`." in md
    assert "not measured: run `python cli.py report --reference DIR`" in md
    assert "| access-time efficiency | search_runs latency (filter and order-by) at the largest size probed | " \
           "not measured: run `python cli.py probe` | probe |" in md
    assert "| reproducibility success rate | re-runs whose metrics equal the committed run's, of those with metrics " \
           "to compare | not measured: run `python cli.py rerun` | re-run |" in md
    assert "**re-run conditions**: Re-run conditions (sandbox, network, Python substituted): not measured" in md


def test_probe_and_rerun_rows_fill_their_sections(measured: Path) -> None:
    md = (measured / "report" / "report.md").read_text()
    assert "not measured: run `python cli.py probe" not in md and "not measured: run `python cli.py rerun`" not in md
    assert ("Probing MLflow 3.18.0 itself, a run takes 5,000 B in a FileStore, 2,000 B in SQLite; a filtered "
            "search_runs answers in 50.0 ms in a FileStore (over 100 runs), 20.0 ms in SQLite (over 100 runs).") in md
    # hand-designed probe cases: counted by outcome and named, no interval
    assert ("Probing MLflow 3.18.0 with named cases (each backend counted apart), 2 of the 4 value and key cases came "
            "back exactly as logged, 1 changed (float16 0.1 (file)) and 1 rejected (empty value (sqlite)). Of its 2 "
            "integrity checks, 1 lost, duplicated or could not read data") in md
    assert "| disk | bytes per run | B | file | 7000 | 5000 |" in md  # capacity: one column per release
    assert "| efficiency | file | search_runs at 100 runs, MLflow 3.18.0 | 50.0 ms (2.5x SQLite's) |" in md  # summarize
    # targets cluster in repositories; three are too few for an interval: each repository's count instead; the
    # duplicate's re-run (bob/server-copy) is out of the population
    assert ("Re-run in a sandbox, 2 of 3 targets with an environment to build (67%; in 2 of 3 repositories "
            "(alice/project 1 of 1; bob/server 0 of 1; carol/mlflow-tutorial 1 of 1), too few repositories for an "
            "interval) had their environment built, 1 of 4 entry points re-run (25%; in 1 of 3 repositories") in md
    assert ("ran to the end, and of the re-runs with committed metrics to compare, 1 of 1 gave them (100%); the "
            "successful re-runs took 60.0 s (build and run; too few for a median).") in md
    assert "| ease of re-running | entry points re-run that ran, given their environment was built | 1 of 2 targets " \
           "built (50%; in 1 of 2 repositories (alice/project 1 of 1; carol/mlflow-tutorial 0 of 1), too few " \
           "repositories for an interval) | re-run |" in md
    assert "**re-run conditions**: Re-runs were sandboxed (bubblewrap) with no network while running" in md
    assert "1 of 2 targets asking" in md
    assert "The re-runs had no network while they ran (`--network none`)" in md  # the policy of the rates
    assert "Re-runs (network: none): rates over targets" in md
    assert "| built | 2 | 3 | 0.6667 |  |  | none (fewer than 5 repositories) |" in md  # the re-run rates table
    assert "[probe.csv](../probe/probe.csv)" in md and "[rerun.csv](../rerun.csv)" in md


def test_each_key_finding_says_what_it_means_then_three_numbers_at_most(analyzed: tuple[Path, Path],
                                                                       measured: Path) -> None:
    from analysis.report.findings import compute_facts
    from analysis.report.inputs import ReportInputs
    from analysis.report.sentences import key_findings

    for results in (analyzed[0], measured):
        findings = key_findings(compute_facts(ReportInputs.locate(results)))
        assert [f.question for f in findings] == ["storage", "tracking", "traceability", "reproducibility"]
        for finding in findings:
            meaning, *numbers = finding.sentences
            assert not meaning.facts and meaning.text()[0].isupper(), finding.question
            assert 1 <= len({fact.name for s in numbers for fact in s.facts}) <= 3, finding.question
            assert finding.details, finding.question  # the other numbers open the section


@pytest.mark.parametrize(("n", "of", "words"), [
    (45, 57, "most repositories"), (28, 57, "about half of the repositories"), (6, 57, "few repositories"),
    (15, 57, "a minority of the repositories"), (1, 3, "some repositories"), (2, 3, "many repositories"),
])
def test_the_words_of_a_key_finding_follow_the_interval(n: int, of: int, words: str) -> None:
    from analysis.report.facts import Share
    from analysis.report.sentences import quantified

    assert quantified(Share("X", n, of, "repositories", "s", "t", "d"), "repositories") == words
