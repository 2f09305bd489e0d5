"""Tests of analysis/history/evolution.py: a repository's history summed up, with and without release dates."""

from __future__ import annotations

from pathlib import Path

from analysis.history.commits import HistoryResult
from analysis.history.evolution import NO_DATES, current_release, evolution_row, release_dates
from analysis.history_rows import HistoryApiUsageRow, HistoryRow
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


def test_without_release_dates() -> None:
    row = evolution_row(_history(), CATALOG, {})
    assert (row.n_commits, row.first_commit, row.adopted_commit, row.adopted_at, row.last_use_commit) == (
        4, "c1", "c2", "2022-06-01T00:00:00+00:00", "c4")
    assert row.head_uses_mlflow
    assert (row.n_code_commits, row.n_cochange_commits, row.cochange_share) == (3, 1, 0.3333)
    assert (row.apis_added, row.apis_removed) == ("mlflow.list_experiments", "mlflow.log_param")
    assert row.deprecated_apis == "mlflow.list_experiments@1.29.0"
    assert row.n_deprecated_after_pin == 2  # c3 and c4 pin 1.29.0, the release that deprecated it
    assert (row.n_pinned_commits, row.n_pin_behind_commits, row.deprecated_use_days) == (3, None, None)
    assert row.note == f"history shallow: it may begin later than the repository's; {NO_DATES}"


def test_with_release_dates(tmp_path: Path) -> None:
    table = tmp_path / "releases.csv"
    table.write_text("version,source,released_at\n1.28.0,pypi,2022-08-09T00:00:00+00:00\n"
                     "1.29.0,pypi,2022-09-16T00:00:00+00:00\n1.30.0,pypi,2022-10-19T00:00:00+00:00\n")
    released = release_dates(table)
    assert current_release(released, "2022-10-01T00:00:00+00:00") == "1.29.0"
    assert current_release(released, "2021-01-01T00:00:00+00:00") == ""
    row = evolution_row(_history(), CATALOG, released)
    # c2 pins 1.28.0 before it was released (nothing newer then); c3 and c4 pin 1.29.0 after 1.30.0
    assert row.n_pin_behind_commits == 2
    assert row.deprecated_use_days == 166  # 2022-09-16 to the last call on 2023-03-01
    assert row.note == "history shallow: it may begin later than the repository's"
    assert release_dates(tmp_path / "none.csv") == {}


def test_no_commit_analyzed() -> None:
    row = evolution_row(HistoryResult("o/r", state="complete"), CATALOG, {})
    assert row.n_commits == 0 and row.note.startswith("no commit analyzed")
