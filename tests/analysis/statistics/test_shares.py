"""The one share builder: k of n, its share and Wilson interval, under each table's column names and rounding."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.statistics.shares import (
    API_USAGE,
    PRACTICE,
    RERUN_RATE,
    STORE_STATISTIC,
    Rounding,
    ShareColumns,
    ShareInterval,
    rounded,
    wilson,
)


def test_cells_under_a_table_vocabulary_rounded_to_four_decimals() -> None:
    # 39 of 57: the dev corpus's "logs params" row of practices.csv
    assert ShareInterval(39, 57).cells(PRACTICE) == {"n_repos": 39, "n_eligible": 57, "share": 0.6842,
                                                     "ci_low": 0.5552, "ci_high": 0.79}
    assert ShareInterval(83, 99).cells(STORE_STATISTIC) == {"numerator": 83, "denominator": 99, "share": 0.8384,
                                                            "ci_low": 0.7535, "ci_high": 0.898}
    assert list(ShareInterval(1, 2).cells(API_USAGE)) == ["n_repos", "n_eligible", "share_repos", "ci_low", "ci_high"]


def test_unrounded_cells_are_the_share_and_the_wilson_bounds() -> None:
    cells = ShareInterval(2, 3).cells(RERUN_RATE, digits=None)
    low, high = wilson(2, 3)
    assert (cells["n"], cells["n_eligible"]) == (2, 3)
    assert cells["share"] == 2 / 3 and (cells["ci_low"], cells["ci_high"]) == (low, high)
    assert 0 < low < 2 / 3 < high < 1


def test_no_denominator_is_no_share_in_a_table() -> None:
    share = ShareInterval(0, 0)
    assert (share.share, share.interval) == (0.0, (0.0, 0.0))  # what arithmetic on it gets
    # a table's cells: the counts, and no share or interval (written empty: 0 of 0 is not 0%)
    assert share.cells(ShareColumns("k", "n")) == {"k": 0, "n": 0, "share": None, "ci_low": None, "ci_high": None}


def test_all_and_none_reach_the_bounds() -> None:
    assert math.isclose(ShareInterval(10, 10).interval[1], 1.0) and ShareInterval(0, 10).interval[0] == 0.0
    assert math.isclose(ShareInterval(10, 10).interval[0], 0.7225, abs_tol=1e-4)


@pytest.mark.parametrize(("x", "decimal", "scaled"), [(1 / 160, 0.0063, 0.0062), (2 / 3, 0.6667, 0.6667), (0.5, 0.5, 0.5)])
def test_the_two_roundings_differ_only_half_way(x: float, decimal: float, scaled: float) -> None:
    assert rounded(x, 4) == decimal
    assert rounded(x, 4, Rounding.SCALED) == scaled
    assert rounded(x, None) == x


def test_scaled_rounding_is_pandas_series_round() -> None:
    """api_usage.csv's share_repos was pandas' Series.round(4): the builder gives the same bytes."""
    shares = [k / n for n in range(1, 400) for k in range(n + 1)]
    by_pandas = pd.Series(shares).round(4).tolist()
    assert [rounded(x, 4, Rounding.SCALED) for x in shares] == by_pandas
    assert any(rounded(x, 4) != p for x, p in zip(shares, by_pandas))  # Python's round is another rounding


def test_wilson_bounds_are_exactly_0_and_1_at_the_ends() -> None:
    assert [wilson(0, n)[0] for n in (1, 7, 14, 129)] == [0.0] * 4  # not 1.4e-17
    assert [wilson(n, n)[1] for n in (1, 7, 14, 129)] == [1.0] * 4
