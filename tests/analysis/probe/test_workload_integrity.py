"""Integrity: MLflow's known facts of re-logging, repeats, killed clients and torn files, rediscovered."""

from __future__ import annotations


import pytest

from analysis.probe import ProbeSummary
from tests.analysis.probe.support import CURRENT, only_row


@pytest.mark.slow
@CURRENT
def test_sql_store_drops_a_repeated_metric_point_the_file_store_appends_it(current: ProbeSummary) -> None:
    sql = only_row(current, "sqlite", "metric point repeated", "same key, value, timestamp and step twice")
    assert (sql.outcome, sql.value) == ("dropped", "1")
    kept = only_row(current, "file", "metric point repeated", "same key, value, timestamp and step twice")
    assert (kept.outcome, kept.value) == ("kept", "2")


@pytest.mark.slow
@CURRENT
def test_a_param_cannot_be_relogged_with_another_value(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        row = only_row(current, backend, "param re-logged", "another value")
        assert (row.outcome, row.value) == ("rejected", "1")
        assert only_row(current, backend, "param re-logged", "the same value").outcome == "accepted"


@pytest.mark.slow
@CURRENT
def test_sqlite_batch_is_atomic_when_its_client_is_killed(current: ProbeSummary) -> None:
    assert only_row(current, "sqlite", "client killed mid-log_batch",
                "points of the interrupted batch stored").outcome == "atomic"
    assert only_row(current, "file", "client killed mid-log_batch",
                "points of the interrupted batch stored").outcome in ("atomic", "partial")


@pytest.mark.slow
@CURRENT
def test_half_written_files_break_reads_of_the_file_store(current: ProbeSummary) -> None:
    torn = only_row(current, "file", "half-written file", "metric file with a torn last line: get_metric_history")
    assert torn.outcome == "error" and "malformed" in torn.detail
