"""Capacity: medians with spread, growth fitted, bytes and files per entity."""

from __future__ import annotations


import pytest

from analysis.probe import ProbeSummary
from tests.analysis.probe.support import CURRENT, only_row


@pytest.mark.slow
@CURRENT
def test_capacity_figures_are_medians_with_spread_and_growth_is_fitted(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        for size in (10, 30, 100):
            row = only_row(current, backend, "search_runs", f"latency at {size} runs")
            assert row.outcome == "measured" and row.unit == "s" and row.n == "3"
            assert float(row.value) > 0 and float(row.spread) >= 0
        fit = only_row(current, backend, "search_runs", "growth exponent (latency ~ runs^b)")
        assert fit.outcome == "fit" and fit.n == "3"
        assert float(only_row(current, backend, "disk", "bytes per run").value) > 0
        assert float(only_row(current, backend, "log_batch", "metrics per second").value) > 0
    assert only_row(current, "file", "disk", "files per run").value in ("2", "3", "4")
