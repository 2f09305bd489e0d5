"""The miner's value types: manifest rows as CSV cells, and what a run's summary says about it."""

from __future__ import annotations

from pathlib import Path

from miner.ftypes import MANIFEST_COLUMNS, ManifestRow, MineSummary, MlflowRelease, RepoStatus


def test_a_manifest_row_as_cells() -> None:
    row = ManifestRow("o/r", "github", stars=0, is_fork=False, archived=True)
    cells = row.as_dict()
    assert list(cells) == list(MANIFEST_COLUMNS)
    assert (cells["stars"], cells["forks"], cells["is_fork"], cells["archived"]) == ("0", "", "false", "true")
    changed = row.replace(status="failed", reason="clone failed: x")
    assert (changed.status, changed.reason, row.status) == ("failed", "clone failed: x", "ok")


def _summary(rows: tuple[ManifestRow, ...], releases: tuple[MlflowRelease, ...] = (), complete: bool = True) -> MineSummary:
    return MineSummary(Path("corpus"), rows, (), releases, (), None, complete)


def test_a_summary_counts_and_says_when_the_run_failed() -> None:
    ok, dup = ManifestRow("a/b", "local"), ManifestRow("c/d", "local", duplicate_of="a/b")
    assert _summary((ok, dup)).count(RepoStatus.OK) == 2 and _summary((ok, dup)).n_duplicates == 1
    assert not _summary((ok, dup)).failed
    assert _summary((ok, ok.replace(status=RepoStatus.FAILED.value))).failed
    assert _summary((ok,), releases=(MlflowRelease("2.9.2", "pypi", "", "", status="failed"),)).failed
    assert _summary((ok,), complete=False).failed  # an incomplete search is a failed run
