"""Shares and ratios over units that cluster in repositories (runs, metric histories, call sites, files).

Units of one repository are not independent draws: one repository may hold most of the runs. A Wilson
interval over the pooled units would then claim a precision the corpus does not have. Here the
repository is the unit of sampling:

- the interval is a **cluster bootstrap**: repositories drawn with replacement (``DRAWS`` times, a fixed
  ``SEED``, so every run gives the same bounds), the pooled ratio of each draw, and its 2.5th and
  97.5th percentiles; with fewer than ``MIN_CLUSTERS`` repositories there is no interval;
- where **every unit is alike** (a share of 0 or of 1: each repository's ``k`` is 0, or its ``n``),
  every draw gives the same ratio and the bootstrap's bounds would be that one value, a certainty the
  corpus does not have; the interval is then the Wilson interval of the repositories (``with_any`` of
  ``n_clusters``): each repository counted once, as if its units were one draw, the widest the
  clustering allows (``ci_method`` says ``wilson over repositories``);
- the **per-repository view**: how many repositories have any unit that counts (``with_any`` of
  ``n_clusters``) and the median over repositories of their own share (with fewer than five
  repositories, each one's count instead: ``listed``);
- the **concentration**: the repository holding the most units, its share of the units, and the
  figure without it (the report says both where it holds over ``CONCENTRATED`` of the units).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from analysis.statistics.shares import FEWEST_FOR_QUANTILES, wilson

DRAWS = 2000
SEED = 20  # any fixed seed: the bounds are the same on every run
BOOTSTRAP, ALIKE, NO_INTERVAL = "cluster bootstrap", "wilson over repositories", "none"  # ci_method's values
MIN_CLUSTERS = 5  # fewer repositories: too few distinct draws for an interval
CONCENTRATED = 1 / 3  # the largest repository holds more than this share of the units: the figure without it is told


@dataclass(frozen=True)
class ClusterCount:
    """One repository's part: ``k`` of its ``n`` units count (for a ratio, ``k`` is the repository's total)."""

    cluster: str
    k: float
    n: int


@dataclass(frozen=True)
class ClusteredShare:
    """``k`` of ``n`` units pooled over repositories, with the cluster view of it (see the module)."""

    k: float
    n: int
    low: float | None  # cluster bootstrap 95% bounds, None with fewer than MIN_CLUSTERS repositories
    high: float | None
    n_clusters: int  # repositories with at least one unit
    with_any: int  # of them, repositories with k above 0
    median: float | None  # median over repositories of k/n
    largest: str  # the repository holding the most units ('' when none)
    largest_units: int
    k_without: float  # the pooled figure without the largest repository
    n_without: int
    listed: str = ""  # fewer than FEWEST_FOR_QUANTILES repositories: each one's k of n, not a median
    method: str = NO_INTERVAL  # how low and high were had: BOOTSTRAP, ALIKE (every unit alike), NO_INTERVAL

    @property
    def share(self) -> float:
        return self.k / self.n if self.n else 0.0

    @property
    def largest_share(self) -> float:
        """The largest repository's share of the units."""
        return self.largest_units / self.n if self.n else 0.0

    @property
    def concentrated(self) -> bool:
        """One repository holds more than ``CONCENTRATED`` of the units, among three or more (of two, one always
        holds half: each is listed instead)."""
        return self.n_clusters > 2 and self.largest_share > CONCENTRATED

    @property
    def share_without(self) -> float:
        return self.k_without / self.n_without if self.n_without else 0.0


def bootstrap_interval(k: np.ndarray, n: np.ndarray, draws: int = DRAWS, seed: int = SEED) -> tuple[float, float]:
    """The 95% percentile interval of sum(k)/sum(n) over repositories drawn with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(k), size=(draws, len(k)))
    ks, ns = k[picks].sum(axis=1), n[picks].sum(axis=1)
    ratios = ks[ns > 0] / ns[ns > 0]
    low, high = np.percentile(ratios, [2.5, 97.5])
    return float(low), float(high)


def clustered(counts: Iterable[ClusterCount]) -> ClusteredShare:
    """The clustered share of ``counts``. A repository with no unit is no cluster (it holds nothing to draw);
    its ``k`` (bytes of a store without runs, say) still counts in the pooled figure."""
    every = list(counts)
    parts = sorted((c for c in every if c.n > 0), key=lambda c: c.cluster)
    k = np.array([c.k for c in parts], dtype=float)
    n = np.array([c.n for c in parts], dtype=float)
    total_k, total_n = float(sum(c.k for c in every)), int(n.sum())
    low = high = None
    method = NO_INTERVAL
    if len(parts) >= MIN_CLUSTERS:
        unit_counts = bool((k == np.round(k)).all() and (k <= n).all())  # counts of units, not a ratio of sizes
        if unit_counts and ((k == 0).all() or (k == n).all()):  # a share of 0 or 1: every draw the same
            low, high = wilson(int((k > 0).sum()), len(parts))
            method = ALIKE
        else:
            low, high = bootstrap_interval(k, n)
            method = BOOTSTRAP
    largest = max(parts, key=lambda c: (c.n, c.k), default=None)  # ties: the first by name
    few = 0 < len(parts) < FEWEST_FOR_QUANTILES
    median = float(np.median(k / n)) if parts and not few else None
    listed = "; ".join(f"{c.cluster} {_count(c.k)} of {c.n:,}" for c in parts) if few else ""
    return ClusteredShare(
        k=int(total_k) if total_k.is_integer() else total_k, n=total_n, low=low, high=high, n_clusters=len(parts),
        with_any=int((k > 0).sum()), median=median, largest=largest.cluster if largest else "",
        largest_units=largest.n if largest else 0,
        k_without=(total_k - largest.k) if largest else 0.0, n_without=(total_n - largest.n) if largest else 0,
        listed=listed, method=method)


def _count(k: float) -> str:
    return f"{int(k):,}" if float(k).is_integer() else f"{k:,.0f}"


def by_cluster(clusters: Iterable[str], hits: Iterable[float]) -> list[ClusterCount]:
    """Unit rows (the repository of each unit, and 1/0 or a value for each) summed per repository."""
    k: dict[str, float] = {}
    n: dict[str, int] = {}
    for cluster, hit in zip(clusters, hits):
        k[cluster] = k.get(cluster, 0.0) + float(hit)
        n[cluster] = n.get(cluster, 0) + 1
    return [ClusterCount(c, k[c], n[c]) for c in n]


def from_totals(k: Mapping[str, float], n: Mapping[str, int]) -> list[ClusterCount]:
    """Per-repository totals (``k`` may miss repositories that count nothing) as counts."""
    return [ClusterCount(c, float(k.get(c, 0.0)), int(units)) for c, units in n.items()]


CLUSTER_COLUMNS = ("ci_method", "n_clusters", "clusters_with_any", "median_per_cluster", "per_cluster", "largest_cluster",
                   "largest_cluster_units", "numerator_without_largest", "denominator_without_largest",
                   "share_without_largest")


def cluster_cells(share: ClusteredShare, digits: int = 4) -> dict[str, object]:
    """The cluster columns of a statistics row (``CLUSTER_COLUMNS``)."""
    def r(x: float | None) -> float | None:
        return None if x is None or math.isnan(x) else round(x, digits)

    return {"ci_method": share.method, "n_clusters": share.n_clusters,
            "clusters_with_any": share.with_any, "median_per_cluster": r(share.median), "per_cluster": share.listed,
            "largest_cluster": share.largest, "largest_cluster_units": share.largest_units,
            "numerator_without_largest": share.k_without if not float(share.k_without).is_integer()
            else int(share.k_without), "denominator_without_largest": share.n_without,
            "share_without_largest": r(share.share_without) if share.n_without else None}


def from_cells(row: Mapping[str, object]) -> ClusteredShare | None:
    """The clustered share a statistics row holds (``cluster_cells`` and its numerator, denominator and bounds),
    None for a row of repositories (Wilson)."""
    if row.get("ci_method") not in (BOOTSTRAP, ALIKE, NO_INTERVAL):
        return None

    def number(name: str) -> float | None:
        value = row.get(name)
        if value is None or value == "":
            return None
        out = float(str(value))
        return None if math.isnan(out) else out

    k, k_without = number("numerator") or 0.0, number("numerator_without_largest") or 0.0
    return ClusteredShare(
        k=int(k) if k.is_integer() else k, n=int(number("denominator") or 0), low=number("ci_low"),
        high=number("ci_high"), n_clusters=int(number("n_clusters") or 0), with_any=int(number("clusters_with_any") or 0),
        median=number("median_per_cluster"), largest=str(row.get("largest_cluster") or ""),
        largest_units=int(number("largest_cluster_units") or 0),
        k_without=int(k_without) if k_without.is_integer() else k_without,
        n_without=int(number("denominator_without_largest") or 0), listed=str(row.get("per_cluster") or ""),
        method=str(row.get("ci_method")))
