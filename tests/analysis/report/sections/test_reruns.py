"""The re-runs of section 4: rates, what stopped the targets, their times; "not measured" without rerun.csv."""

from __future__ import annotations

from pathlib import Path

from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.reruns import rerun
from analysis.report.writer import Doc
from tests.analysis.report.sample import RERUN, RERUN_COLUMNS, write_csv


def test_rerun_rows_give_rates_failures_and_times(tmp_path: Path) -> None:
    write_csv(tmp_path / "rerun.csv", RERUN_COLUMNS, RERUN[:4])  # the population's rows (no results here to tell it)
    report = Drawing(ReportInputs(tmp_path, rerun=tmp_path), Doc(lambda source: source))
    rerun(report)
    text = "\n".join(report.doc.md)
    # built: over the three targets with an environment to build (the docker_env one's was not tried); targets
    # cluster in repositories, and three repositories are too few for a bootstrap interval: each one is listed
    assert ("| built | 2 | 3 | 0.6667 |  |  | none (fewer than 5 repositories) | 2 of 3 | alice/project 1 of 1; "
            "bob/server 0 of 1; carol/mlflow-tutorial 1 of 1 | 1 of 3 | 1 of 2 |") in text
    assert "| ran given built | 1 | 2 | 0.5 |" in text
    assert "| failed | ModuleNotFoundError | 1 | 0.25 |" in text and "| not-attempted | docker | 1 | 0.25 |" in text
    # one target succeeded: its own seconds (build 50 s, run 10 s), no quantiles of one value
    assert "| alice/project main | 50.0 | 10.0 | 60.0 |" in text and "| median |" not in text
    assert "AUC" not in text  # no reproducibility.csv: no readiness score to check


def test_without_rerun_rows_the_section_says_what_to_run(tmp_path: Path) -> None:
    report = Drawing(ReportInputs(tmp_path), Doc(lambda source: source))
    rerun(report)
    assert report.doc.md == [("Re-runs (entry points executed in a sandbox and compared with their committed runs): not "
                             "measured: run `python cli.py rerun`.\n")]


def test_a_target_run_under_both_drivers_counts_once_and_the_choices_are_compared(tmp_path: Path) -> None:
    columns = (*RERUN_COLUMNS, "driver_mlflow", "mlflow_pinned")
    old = RERUN[1][:9] + ("failed", "TypeError", "missing run_uuid") + RERUN[1][12:]  # carol's, MLflow 3's run
    new = RERUN[1][:9] + ("succeeded", "", "") + RERUN[1][12:]  # the same target, its own MLflow's run
    rows = [(*RERUN[0], "current 3.17.2", ""), (*old, "current 3.17.2", "1.30.1"), (*new, "declared 1.30.1", "1.30.1")]
    write_csv(tmp_path / "rerun.csv", columns, rows)
    report = Drawing(ReportInputs(tmp_path, rerun=tmp_path), Doc(lambda source: source))
    rerun(report)
    text = "\n".join(report.doc.md)
    assert "`--driver-mlflow`" in text and "current 3.17.2 (1), declared 1.30.1 (1)" in text
    assert "| ran | 2 | 2 | 1.0 |" in text  # carol's target once, with its declared row
    assert "| ran: current | 0 | 1 | 0.0 |" in text and "| ran: declared | 1 | 1 | 1.0 |" in text
    assert "TypeError" not in text  # the current row is in the comparison only, not in the failures
