"""The seeded sample: strata by stars, shares in proportion, the same draw on every run."""

from __future__ import annotations

from collections import Counter

import pytest

from miner.sample import allocate, draw, stratum


@pytest.mark.parametrize(("stars", "expected"), [(None, "unknown"), (0, "0"), (1, "1-9"), (9, "1-9"), (10, "10-99"),
                                                 (99, "10-99"), (100, "100+"), (54_000, "100+")])
def test_strata_are_0_1_to_9_10_to_99_and_100_up(stars: int | None, expected: str) -> None:
    assert stratum(stars) == expected


def test_allocation_is_proportional_by_largest_remainders_and_sums_to_n() -> None:
    assert allocate({"0": 600, "1-9": 300, "10-99": 90, "100+": 10}, 100) == {"0": 60, "1-9": 30, "10-99": 9, "100+": 1}
    # 10 of 3 equal strata: 3.33 each; the one left over goes to the earlier stratum
    assert allocate({"0": 5, "1-9": 5, "10-99": 5}, 10) == {"0": 4, "1-9": 3, "10-99": 3}
    assert allocate({"0": 3, "100+": 2}, 9) == {"0": 3, "100+": 2}  # n over the candidates: all of them


def _candidates() -> list[tuple[str, int | None]]:
    stars = [0] * 500 + [3] * 300 + [42] * 150 + [500] * 50
    return [(f"owner{i % 37}/repo-{i}", s) for i, s in enumerate(stars)]


def test_the_draw_is_stratified_and_the_same_for_the_same_seed() -> None:
    candidates = _candidates()
    first = draw(candidates, 100, seed=7)
    assert len(first.repos) == 100
    by_stratum = Counter(stratum(dict(candidates)[r]) for r in first.repos)
    assert by_stratum == {"0": 50, "1-9": 30, "10-99": 15, "100+": 5}
    assert first.strata == {"0": (500, 50), "1-9": (300, 30), "10-99": (150, 15), "100+": (50, 5)}
    assert draw(list(reversed(candidates)), 100, seed=7).repos == first.repos  # the order given does not matter
    assert draw(candidates, 100, seed=8).repos != first.repos
    record = first.record(100, 7)
    assert record["strata"] == {"0": {"candidates": 500, "drawn": 50}, "1-9": {"candidates": 300, "drawn": 30},
                                "10-99": {"candidates": 150, "drawn": 15}, "100+": {"candidates": 50, "drawn": 5}}


def test_a_candidate_added_changes_the_draw_by_one_at_most() -> None:
    candidates = _candidates()
    before = draw(candidates, 100, seed=7).repos
    after = draw([*candidates, ("new/one", 0)], 100, seed=7).repos
    assert len(before - after) <= 1
