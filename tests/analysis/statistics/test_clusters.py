"""Shares over units that cluster in repositories: the bootstrap over repositories, the per-repository
view and the concentration."""

from __future__ import annotations

import pytest

from analysis.statistics.clusters import (
    MIN_CLUSTERS,
    ClusterCount,
    by_cluster,
    cluster_cells,
    clustered,
)
from analysis.statistics.shares import wilson


def _corpus(big_k: int, big_n: int, small: int = 6) -> list[ClusterCount]:
    """One repository with ``big_n`` runs (``big_k`` failed) and ``small`` with 10 runs, 1 failed, each."""
    return [ClusterCount("big/one", big_k, big_n)] + [ClusterCount(f"small/{i}", 1, 10) for i in range(small)]


def test_one_repository_holding_most_units_widens_the_interval_and_is_told() -> None:
    view = clustered(_corpus(300, 330))
    assert (view.k, view.n) == (306, 390)
    assert view.concentrated and view.largest == "big/one" and view.largest_units == 330
    assert (view.k_without, view.n_without) == (6, 60)
    assert view.share_without == pytest.approx(0.1)
    assert (view.n_clusters, view.with_any) == (7, 7)
    assert view.median == pytest.approx(0.1)  # six of seven repositories fail one run in ten
    assert view.low is not None and view.high is not None
    wilson_low, wilson_high = wilson(306, 390)
    # the Wilson interval treats 390 runs as independent; over seven repositories the bootstrap is far wider
    assert view.high - view.low > 5 * (wilson_high - wilson_low)
    assert view.low <= 0.1 + 1e-9 and view.high >= 0.85


def test_the_interval_is_the_same_on_every_run() -> None:
    assert clustered(_corpus(30, 60)) == clustered(list(reversed(_corpus(30, 60))))


def test_too_few_repositories_give_no_interval() -> None:
    view = clustered(_corpus(3, 10, small=MIN_CLUSTERS - 2))
    assert view.n_clusters == MIN_CLUSTERS - 1 and view.low is None and view.high is None
    assert cluster_cells(view)["ci_method"] == "none"
    # and no median of four values: each repository listed
    assert view.median is None
    assert view.listed == "big/one 3 of 10; small/0 1 of 10; small/1 1 of 10; small/2 1 of 10"


def test_units_spread_evenly_are_not_concentrated() -> None:
    view = clustered(_corpus(1, 10))
    assert not view.concentrated and view.largest_share == pytest.approx(10 / 70)


def test_a_repository_without_units_is_no_cluster_but_its_total_counts() -> None:
    view = clustered([ClusterCount("a/a", 500.0, 0), *(ClusterCount(f"b/{i}", 100.0, 1) for i in range(5))])
    assert view.n_clusters == 5 and view.k == 1000 and view.n == 5


def test_unit_rows_are_summed_per_repository() -> None:
    counts = sorted(by_cluster(["a/a", "b/b", "a/a", "a/a"], [1, 0, 0, 1]), key=lambda c: c.cluster)
    assert counts == [ClusterCount("a/a", 2.0, 3), ClusterCount("b/b", 0.0, 1)]
    cells = cluster_cells(clustered(counts))
    assert cells["largest_cluster"] == "a/a" and cells["numerator_without_largest"] == 0
    assert cells["denominator_without_largest"] == 1 and cells["clusters_with_any"] == 1


@pytest.mark.parametrize("k", [0, 3])
def test_units_all_alike_get_the_repositories_wilson_interval_not_a_point(k: int) -> None:
    """Every draw of repositories whose shares are all 0 (or all 1) gives that share: the bootstrap's bounds
    would be one value. The interval is Wilson's over the repositories, each once."""
    view = clustered([ClusterCount(f"r{i}", k, 3) for i in range(12)])
    assert view.method == "wilson over repositories" and (view.low, view.high) == wilson(k // 3 * 12, 12)
    assert view.high - view.low > 0.2 and cluster_cells(view)["ci_method"] == "wilson over repositories"
    mixed = clustered([ClusterCount(f"r{i}", i % 2, 3) for i in range(12)])
    assert mixed.method == "cluster bootstrap"
    sizes = clustered([ClusterCount(f"r{i}", 0.0, 3) for i in range(3)])  # too few repositories: no interval
    assert (sizes.low, sizes.method) == (None, "none")
