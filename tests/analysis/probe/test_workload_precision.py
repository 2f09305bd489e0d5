"""Precision: MLflow's known facts of values read back, rediscovered by a probe of the current MLflow."""

from __future__ import annotations


import pytest
from packaging.version import Version

from analysis.probe import ProbeSummary
from tests.analysis.probe.support import CURRENT, MAX_FLOAT, only_row, release_of


@pytest.mark.slow
@CURRENT
def test_sql_store_keeps_nan_but_clamps_infinities_the_file_store_keeps_them(current: ProbeSummary) -> None:
    for value in ("nan", "numpy float64 nan"):
        assert only_row(current, "sqlite", "precision metric", value).outcome == "exact"
        assert only_row(current, "file", "precision metric", value).outcome == "exact"
    for value, clamped in (("+inf", MAX_FLOAT), ("-inf", "-" + MAX_FLOAT)):
        sql = only_row(current, "sqlite", "precision metric", value)
        assert (sql.outcome, sql.value) == ("changed", clamped)
        kept = only_row(current, "file", "precision metric", value)
        assert (kept.outcome, kept.value) == ("exact", value.lstrip("+"))


@pytest.mark.slow
@CURRENT
def test_integers_beyond_2_53_change_and_sqlite_refuses_int64_overflow(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        big = only_row(current, backend, "precision metric", "int 2**53+1")
        assert (big.outcome, big.value) == ("changed", "9007199254740992.0")
    assert only_row(current, "sqlite", "precision metric", "step 2**63").outcome == "rejected"
    assert only_row(current, "file", "precision metric", "step 2**63").outcome == "exact"


@pytest.mark.slow
@CURRENT
def test_param_keys_differing_only_in_case_are_two_keys(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        assert only_row(current, backend, "precision param", "key in lower case").outcome == "exact"
        assert only_row(current, backend, "precision param", "the same key in upper case").outcome == "exact"


@pytest.mark.slow
@CURRENT
def test_param_limit_and_truncation_since_2_11(current: ProbeSummary) -> None:
    assert release_of(current) >= Version("2.8")  # the test extra asks mlflow-skinny>=2.10
    for backend in ("file", "sqlite"):
        assert only_row(current, backend, "precision", "MAX_PARAM_VAL_LENGTH").value == "6000"
        assert only_row(current, backend, "precision param", "value at MAX_PARAM_VAL_LENGTH").outcome == "exact"
        past = only_row(current, backend, "precision param", "value at MAX_PARAM_VAL_LENGTH+1")
        if release_of(current) >= Version("2.11"):
            assert (past.outcome, past.value) == ("changed", "6000")
            assert "truncated to 6000 chars; warned:" in past.detail
        else:
            assert past.outcome == "rejected"
