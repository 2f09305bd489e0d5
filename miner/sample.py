"""A seeded sample of the candidates the rules keep, stratified by stars.

The strata are GitHub's stars: ``0``, ``1-9``, ``10-99``, ``100+`` (and ``unknown`` for a candidate
whose stars no source told: a local clone). Each stratum gets its share of ``n`` in proportion to its
size (largest remainders, ties to the earlier stratum), and within a stratum the candidates drawn are
those of smallest ``sha256("<seed>:<owner/name in lower case>")``: the same spec and candidates give the
same sample on every run and every machine, and a candidate added later displaces at most one other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

STRATA = ("0", "1-9", "10-99", "100+", "unknown")


def stratum(stars: int | None) -> str:
    """The stars stratum of a candidate."""
    if stars is None:
        return "unknown"
    if stars <= 0:
        return "0"
    return "1-9" if stars < 10 else "10-99" if stars < 100 else "100+"


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """How many of ``n`` each stratum gets: in proportion to its size, largest remainders first (ties: the
    earlier stratum of ``STRATA``); never more than its size."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    exact = {s: n * size / total for s, size in sizes.items()}
    out = {s: int(q) for s, q in exact.items()}
    order = sorted(sizes, key=lambda s: (-(exact[s] - out[s]), STRATA.index(s) if s in STRATA else len(STRATA)))
    for s in order[: n - sum(out.values())]:
        out[s] += 1
    return out


def rank(seed: int, repo: str) -> str:
    """A candidate's place in the draw: smaller is drawn first."""
    return hashlib.sha256(f"{seed}:{repo.lower()}".encode()).hexdigest()


@dataclass(frozen=True)
class Drawn:
    """A sample: the repositories drawn, and per stratum (candidates, drawn)."""

    repos: frozenset[str]
    strata: dict[str, tuple[int, int]]

    def record(self, n: int, seed: int) -> dict[str, object]:
        """What the lock's and selection.csv's provenance say of the sample."""
        return {"n": n, "seed": seed, "stratified_by": "stars", "population": sum(c for c, _ in self.strata.values()),
                "drawn": len(self.repos),
                "strata": {s: {"candidates": c, "drawn": d} for s, (c, d) in self.strata.items()}}


def draw(candidates: Sequence[tuple[str, int | None]], n: int, seed: int) -> Drawn:
    """``n`` of the ``(owner/name, stars)`` candidates, stratified by stars (all of them when there are no more)."""
    groups: dict[str, list[str]] = {}
    for repo, stars in candidates:
        groups.setdefault(stratum(stars), []).append(repo)
    groups = {s: groups[s] for s in STRATA if s in groups}
    quota = allocate({s: len(g) for s, g in groups.items()}, n)
    drawn: set[str] = set()
    for s, repos in groups.items():
        drawn.update(sorted(repos, key=lambda r: (rank(seed, r), r))[: quota[s]])
    return Drawn(frozenset(drawn), {s: (len(g), quota[s]) for s, g in groups.items()})
