"""Shares with their intervals: the one place a share row (k of n, its share and 95% Wilson interval) is built."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

Z95 = 1.959963984540054
DIGITS = 4  # the decimals of a share and its bounds in the statistics tables
FEWEST_FOR_QUANTILES = 5  # fewer values than this are listed, not summarized by a median or quantiles


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (0, 0 when n is 0)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exactly 0 with no success and 1 with no failure (the formula leaves a rounding error of 1e-17 there)
    return (0.0 if successes == 0 else max(0.0, centre - half)), (1.0 if successes == n else min(1.0, centre + half))


class Rounding(Enum):
    """How a number is rounded to ``DIGITS`` decimals (the two differ only half-way: 1/160 is 0.0063 or 0.0062)."""

    DECIMAL = "decimal"  # Python's round(x, d): the nearest of the exact binary value
    SCALED = "scaled"  # pandas' Series.round: x * 10**d to the nearest integer, ties to even, then / 10**d


def rounded(x: float, digits: int | None, how: Rounding = Rounding.DECIMAL) -> float:
    """``x`` to ``digits`` decimals (``None``: as it is)."""
    if digits is None:
        return x
    if how is Rounding.SCALED:
        scale = float(10**digits)
        return round(x * scale) / scale
    return round(x, digits)


@dataclass(frozen=True)
class ShareColumns:
    """The names a table gives the five cells of a share."""

    k: str
    n: str
    share: str = "share"
    ci_low: str = "ci_low"
    ci_high: str = "ci_high"


# the vocabularies of the tables (the report's findings say ``Share``, with fields of these meanings)
PRACTICE = ShareColumns("n_repos", "n_eligible")
API_USAGE = ShareColumns("n_repos", "n_eligible", share="share_repos")
STORE_STATISTIC = ShareColumns("numerator", "denominator")
RERUN_RATE = ShareColumns("n", "n_eligible")
REPORT_SHARE = ShareColumns("n", "of")  # the report's tables of measures


@dataclass(frozen=True)
class ShareInterval:
    """``k`` of ``n``: the share (0 when ``n`` is 0) and its 95% Wilson interval; in a table's cells a share of
    nothing has no value and no interval (written empty, not 0)."""

    k: int
    n: int

    @property
    def share(self) -> float:
        return self.k / self.n if self.n else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.k, self.n)

    def cells(self, columns: ShareColumns, digits: int | None = DIGITS,
              share_rounding: Rounding = Rounding.DECIMAL) -> dict[str, int | float | None]:
        """The five cells under ``columns``' names, share and bounds to ``digits`` decimals (``None``: unrounded);
        ``share_rounding`` is the share's rounding (the bounds are rounded as Python rounds). Over ``n`` 0 the
        share and its bounds are None."""
        if not self.n:
            return {columns.k: self.k, columns.n: self.n, columns.share: None, columns.ci_low: None,
                    columns.ci_high: None}
        low, high = self.interval
        return {columns.k: self.k, columns.n: self.n, columns.share: rounded(self.share, digits, share_rounding),
                columns.ci_low: rounded(low, digits), columns.ci_high: rounded(high, digits)}
