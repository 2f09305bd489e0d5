"""Tests of analysis/history/evolution.py: a repository's history summed up, with and without release dates."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.history.commits import HistoryResult
from analysis.history.evolution import NO_DATES, dated_history, evolution_row, release_dates
from analysis.releases.dates import PinLag, ReleaseDates, utc
from analysis.history_rows import EvolutionRow, HistoryApiUsageRow, HistoryRow
from analysis.rows import Catalog, CatalogRow


def _row(commit: str, date: str, n: int, requirement: str = "", code: bool = True, env: bool = False) -> HistoryRow:
    return HistoryRow("o/r", commit, "", date, 1, 0, n, 0, requirement, code, env)


CATALOG = Catalog((CatalogRow("mlflow.list_experiments", "function", "m", "experiment", "1.18.0", "1.30.0", 13, "1.29.0"),
                   CatalogRow("mlflow.log_param", "function", "m", "param", "1.0.0", "3.0.0", 70, "")),
                  ("1.28.0", "1.29.0", "1.30.0"), "test")


def _history() -> HistoryResult:
    res = HistoryResult("o/r", state="shallow")
    res.history = [_row("c1", "2022-01-01T00:00:00+00:00", 0),
                   _row("c2", "2022-06-01T00:00:00+00:00", 1, "mlflow==1.28.0", env=True),
                   _row("c3", "2022-12-01T00:00:00+00:00", 2, "mlflow==1.29.0", code=False, env=True),
                   _row("c4", "2023-03-01T00:00:00+00:00", 1, "mlflow==1.29.0")]
    res.api_usage = [HistoryApiUsageRow("o/r", "c2", "mlflow.log_param", "code", 1),
                     HistoryApiUsageRow("o/r", "c3", "mlflow.log_param", "code", 1),
                     HistoryApiUsageRow("o/r", "c3", "mlflow.list_experiments", "notebook", 1),
                     HistoryApiUsageRow("o/r", "c4", "mlflow.list_experiments", "code", 1)]
    return res


def _summed(res: HistoryResult, released: ReleaseDates) -> EvolutionRow:
    """The evolution row as ``analyze --history`` makes it: from the rows dated first."""
    return evolution_row(replace(res, history=dated_history(res, CATALOG, released)), CATALOG, released)


def _dates(**extra: object) -> ReleaseDates:
    released = {"1.28.0": "2022-08-09T00:00:00Z", "1.29.0": "2022-09-16T00:00:00Z", "1.30.0": "2022-10-19T00:00:00Z"}
    return ReleaseDates({v: utc(d) for v, d in released.items()}, origin="test", **extra)  # type: ignore[arg-type]


def test_without_release_dates() -> None:
    row = _summed(_history(), ReleaseDates())
    assert (row.n_commits, row.first_commit, row.adopted_commit, row.adopted_at, row.last_use_commit) == (
        4, "c1", "c2", "2022-06-01T00:00:00+00:00", "c4")
    assert row.head_uses_mlflow
    assert (row.n_code_commits, row.n_cochange_commits, row.cochange_share) == (3, 1, 0.3333)
    assert (row.apis_added, row.apis_removed) == ("mlflow.list_experiments", "mlflow.log_param")
    assert row.deprecated_apis == "mlflow.list_experiments@1.29.0"
    assert row.n_deprecated_after_pin == 2  # c3 and c4 pin 1.29.0, the release that deprecated it
    assert (row.n_pinned_commits, row.n_pin_dated_commits, row.n_pin_behind_commits, row.deprecated_use_days) == (
        3, None, None, None)
    assert (row.n_deprecated_after_release, row.deprecated_use, row.pinned_head, row.newest_release_head) == (
        None, "", "1.29.0", "")
    assert row.note == f"history shallow: it may begin later than the repository's; {NO_DATES}"


def test_with_release_dates() -> None:
    released = _dates()
    assert released.newest_at(utc("2022-10-01T00:00:00+00:00")) == "1.29.0"
    assert released.newest_at(utc("2021-01-01T00:00:00+00:00")) == ""
    row = _summed(_history(), released)
    # c2 pins 1.28.0 before it was released (nothing newer then); c3 and c4 pin 1.29.0 after 1.30.0
    assert (row.n_pinned_commits, row.n_pin_dated_commits, row.n_pin_behind_commits) == (3, 3, 2)
    assert (row.max_releases_behind, row.max_days_behind) == (1, 33)  # 1.29.0 (09-16) against 1.30.0 (10-19)
    assert (row.pinned_head, row.newest_release_head, row.releases_behind_head, row.days_behind_head) == (
        "1.29.0", "1.30.0", 1, 33)
    # list_experiments, deprecated by 1.29.0 (2022-09-16), is called at c3 and c4, both after it
    assert (row.n_deprecated_after_release, row.deprecated_use) == (2, "mlflow.list_experiments@1.29.0:166d")
    assert row.deprecated_use_days == 166  # 2022-09-16 to the last call on 2023-03-01
    assert row.release_dates == "test (PyPI's first upload of each release)"
    assert row.note == "history shallow: it may begin later than the repository's"


def test_each_commit_is_dated_and_the_row_of_the_repository_sums_its_commits() -> None:
    released = _dates()
    rows = dated_history(_history(), CATALOG, released)
    assert [(r.commit, r.mlflow_pinned, r.newest_release, r.pin_releases_behind, r.pin_days_behind,
             r.n_apis_deprecated_by_then) for r in rows] == [
        ("c1", "", "", None, None, 0),  # nothing released yet, nothing pinned
        ("c2", "1.28.0", "", 0, 0, 0),  # pins 1.28.0 before its release: not behind
        ("c3", "1.29.0", "1.30.0", 1, 33, 1),  # list_experiments, deprecated by 1.29.0 (out since 2022-09-16)
        ("c4", "1.29.0", "1.30.0", 1, 33, 1)]
    row = _summed(_history(), released)
    assert row.n_pin_dated_commits == sum(r.pin_releases_behind is not None for r in rows)
    assert row.n_pin_behind_commits == sum(bool(r.pin_releases_behind) for r in rows)
    assert row.n_deprecated_after_release == sum(bool(r.n_apis_deprecated_by_then) for r in rows)
    assert (row.newest_release_head, row.releases_behind_head) == (rows[-1].newest_release, rows[-1].pin_releases_behind)
    # without dates the pins are named and nothing is compared; the dates fetched before a commit say nothing of it
    assert [(r.mlflow_pinned, r.newest_release, r.pin_releases_behind, r.n_apis_deprecated_by_then)
            for r in dated_history(_history(), CATALOG, ReleaseDates())] == [
        ("", "", None, None), ("1.28.0", "", None, None), ("1.29.0", "", None, None), ("1.29.0", "", None, None)]
    early = dated_history(_history(), CATALOG, _dates(as_of=utc("2022-12-31T00:00:00Z")))
    assert [(r.newest_release, r.pin_releases_behind, r.n_apis_deprecated_by_then) for r in early][2:] == [
        ("1.30.0", 1, 1), ("", None, None)]
    # the repository's row sums the same columns: c4, after the dates were fetched, is not compared, and said
    row = _summed(_history(), _dates(as_of=utc("2022-12-31T00:00:00Z")))
    assert row.n_deprecated_after_release == sum(bool(r.n_apis_deprecated_by_then) for r in early) == 1
    assert row.n_pin_dated_commits == sum(r.pin_releases_behind is not None for r in early) == 2
    assert (row.deprecated_use, row.deprecated_use_days) == ("mlflow.list_experiments@1.29.0:76d", 76)  # to c3
    assert row.note == ("history shallow: it may begin later than the repository's; 1 commit(s) calling a deprecated "
                        "API dated after the release dates were fetched, not compared; 1 pinning commit(s) dated "
                        "after the release dates were fetched, not compared")


def test_what_the_dates_cannot_tell_is_left_empty_and_said() -> None:
    # the dates were fetched before c4: its pin is not compared; 1.29.0 is unknown to them: nothing is dated
    released = ReleaseDates({"1.28.0": utc("2022-08-09T00:00:00Z")}, origin="test", as_of=utc("2023-01-01T00:00:00Z"))
    row = _summed(_history(), released)
    assert (row.n_pinned_commits, row.n_pin_dated_commits, row.n_pin_behind_commits) == (3, 1, 0)
    assert (row.deprecated_use_days, row.n_deprecated_after_release, row.newest_release_head) == (None, None, "")
    assert row.note == ("history shallow: it may begin later than the repository's; deprecating release(s) without a "
                        "date: 1.29.0; pinned release(s) without a date, not compared: 1.29.0")


@pytest.mark.parametrize(("pinned", "at", "lag"), [
    pytest.param("2.0.1", "2022-12-10", PinLag("2.0.1", "2.0.1", 0, 0), id="the-newest"),
    pytest.param("1.30.0", "2022-12-01", PinLag("1.30.0", "1.30.0", 0, 0), id="a-pre-release-never-counts"),
    pytest.param("1.30.0", "2022-12-10", PinLag("1.30.0", "2.0.1", 1, 46), id="a-major-behind"),
    pytest.param("2.0.1", "2023-02-01", PinLag("2.0.1", "2.1.1", 1, 22), id="a-yanked-release-never-counts"),
    pytest.param("1.30", "2022-12-10", PinLag("1.30", "2.0.1", 1, 46), id="1.30-is-1.30.0"),
    pytest.param("2.1.1", "2022-12-10", PinLag("2.1.1", "2.0.1", 0, 0), id="pinned-before-its-release"),
    pytest.param("2.1.0", "2023-01-01", PinLag("2.1.0", "2.1.1", 1, 5), id="a-yanked-pin-is-dated"),
    pytest.param("1.0.0", "2022-12-01", None, id="a-pin-without-a-date"),
    pytest.param("1.30.0", "2023-06-01", None, id="after-the-dates-were-fetched"),
])
def test_a_pin_against_the_newest_release(pinned: str, at: str, lag: PinLag | None) -> None:
    released = ReleaseDates({v: utc(d) for v, d in {
        "1.30.0": "2022-10-19T00:00:00Z", "2.0.0rc0": "2022-11-01T00:00:00Z", "2.0.1": "2022-12-04T00:00:00Z",
        "2.1.0": "2022-12-21T00:00:00Z", "2.1.1": "2022-12-26T00:00:00Z"}.items()},
        frozenset({"2.1.0"}), "test", utc("2023-03-01T00:00:00Z"))
    assert released.lag(pinned, utc(at + "T12:00:00Z")) == lag


def test_where_the_dates_come_from(tmp_path: Path) -> None:
    mlflow = tmp_path / "mlflow"
    mlflow.mkdir()
    (mlflow / "releases.csv").write_text("version,source,released_at\n1.28.0,pypi,2022-08-09T00:00:00+00:00\n")
    assert release_dates(mlflow / "releases.csv").origin == "corpus releases.csv"
    (mlflow / "release_dates.csv").write_text("version,released_at,n_files,yanked\n1.28.0,2022-08-09T00:00:00Z,2,"
                                              "false\n2.0.0,2022-11-14T00:00:00Z,2,true\n")
    (mlflow / "release_dates.csv.provenance.json").write_text(json.dumps({"fetched_at": "2026-01-02T00:00:00Z"}))
    corpus = release_dates(mlflow / "releases.csv")
    assert (corpus.origin, corpus.as_of, corpus.yanked) == ("corpus", utc("2026-01-02T00:00:00Z"), {"2.0.0"})
    assert corpus.newest_at(utc("2023-01-01T00:00:00Z")) == "1.28.0"  # 2.0.0 was yanked
    # a corpus without dates (mined with --no-mlflow, or from local releases): the shipped snapshot
    snapshot = release_dates(tmp_path / "none" / "releases.csv")
    assert snapshot.origin == "snapshot" and snapshot.as_of is not None
    assert snapshot.date_of("1.0.0") == utc("2019-06-04T00:56:41Z")  # its sdist, before its wheel
    assert snapshot.date_of("1.13") is not None and "2.0.0" in snapshot.yanked


def test_no_commit_analyzed() -> None:
    row = _summed(HistoryResult("o/r", state="complete"), ReleaseDates())
    assert row.n_commits == 0 and row.note.startswith("no commit analyzed")
