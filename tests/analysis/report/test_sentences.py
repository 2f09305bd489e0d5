"""The key findings and the KPI table: no number typed by hand, "not measured" with the command
where an input is missing, the probe's and the re-runs' sentences filled from their rows."""

from __future__ import annotations

import re
from pathlib import Path


def test_no_number_of_a_finding_is_typed_by_hand(analyzed: tuple[Path, Path], measured: Path) -> None:
    from analysis.report.findings import compute_facts
    from analysis.report.inputs import ReportInputs
    from analysis.report.methodology import add_threat_facts, threat_sentences
    from analysis.report.sentences import key_findings, kpi_table

    for results in (analyzed[0], measured):
        inputs = ReportInputs.locate(results)
        facts = compute_facts(inputs)
        add_threat_facts(facts, inputs)
        sentences = [s for f in key_findings(facts) for s in f.sentences] + [k.value for k in kpi_table(facts)]
        sentences += [s for _n, s in threat_sentences(facts, inputs)]
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
    assert "| reproducibility success rate | entry points re-run whose metrics equal the committed run's | " \
           "not measured: run `python cli.py rerun` | re-run |" in md
    assert "**re-run conditions**: Re-run conditions (sandbox, network, Python substituted): not measured" in md


def test_probe_and_rerun_rows_fill_their_sections(measured: Path) -> None:
    md = (measured / "report" / "report.md").read_text()
    assert "not measured: run `python cli.py probe" not in md and "not measured: run `python cli.py rerun`" not in md
    assert ("Probing MLflow 3.18.0 itself, a run takes 5,000 B in a FileStore, 2,000 B in SQLite; a filtered "
            "search_runs answers in 50.0 ms in a FileStore (over 100 runs), 20.0 ms in SQLite (over 100 runs).") in md
    assert ("Probing MLflow 3.18.0 (each backend counted apart), 2 of 4 value and key cases (50%, 15-85%) came back "
            "exactly as logged, and 1 of 2 integrity checks (50%, 9-91%) lost, duplicated or could not read data.") in md
    assert "| disk | bytes per run | B | file | 7000 | 5000 |" in md  # capacity: one column per release
    assert "| efficiency | file | search_runs at 100 runs, MLflow 3.18.0 | 50.0 ms (2.5x SQLite's) |" in md  # summarize
    assert ("Re-run in a sandbox, 2 of 4 entry points re-run (50%, 15-85%) had their environment built, 1 of 4 entry "
            "points re-run (25%, 5-70%) ran to the end and 1 of 4 entry points re-run (25%, 5-70%) gave the committed "
            "run's metrics; a successful re-run took 60.0 s (median, build and run).") in md
    assert "| ease of re-running | entry points re-run that ran, given their environment was built | 1 of 2 targets " \
           "built (50%, 9-91%) | re-run |" in md
    assert "**re-run conditions**: Re-runs were sandboxed (bubblewrap)" in md and "1 of 2 targets asking" in md
    assert "| built | 2 | 4 | 0.5 |" in md  # the re-run rates table (analysis/rerun/statistics.py)
    assert "[probe.csv](../probe/probe.csv)" in md and "[rerun.csv](../rerun.csv)" in md
