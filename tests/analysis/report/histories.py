"""A small results folder with the history's tables (history.csv, history_api_usage.csv, evolution.csv), written
through ``analysis.tables``' registry and row types, for the Evolution section's facts and tables.

Four repositories, 2021 to 2023 (three calendar years: periods are years):

- ``r/a``: a plain commit (2021-01), adopts MLflow in 2021-03 (log_metric; pins mlflow==1.30.0 and adds an
  MLproject: a co-change), then in 2023-05 adds autolog in a notebook and pins mlflow==2.9.2;
- ``r/b``: adopts at its first commit in 2022-07 (log_param, declares mlflow unpinned: a co-change), abandons it
  in 2023-02;
- ``r/c``: never calls MLflow (a code commit, then one changing no code);
- ``r/d``: a shallow history of one commit in 2023-09, calling log_param and log_metric, declaring mlflow>=2 with
  an MLproject (a co-change), and an API a release deprecated.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from analysis.history_rows import EvolutionRow, HistoryApiUsageRow, HistoryRow
from analysis.rows import CatalogRow, ReproducibilityRow
from analysis.tables import CATALOG, HISTORY, TABLES, cells, flat
from miner.fileio import write_csv

REPOS = ("r/a", "r/b", "r/c", "r/d")


def _commit(repo: str, commit: str, parent: str, at: str, calls: dict[str, int], requirement: str, code: bool,
            env: bool, mlproject: int) -> HistoryRow:
    return HistoryRow(repo=repo, commit=commit, parent=parent, committed_at=at, n_py_files=1, n_notebooks=0,
                      n_call_sites=sum(calls.values()), n_mlproject_files=mlproject, mlflow_requirement=requirement,
                      changes_code=code, changes_mlproject_env=env, **{f"n_{c}": n for c, n in calls.items()})


HISTORY_ROWS = [
    _commit("r/a", "a1", "", "2021-01-10T10:00:00+00:00", {}, "", True, False, 0),
    _commit("r/a", "a2", "a1", "2021-03-05T10:00:00+02:00", {"metric": 1}, "mlflow==1.30.0", True, True, 1),
    _commit("r/a", "a3", "a2", "2023-05-01T23:30:00-02:00", {"metric": 1, "autolog": 1}, "mlflow==2.9.2", True, False, 1),
    _commit("r/b", "b1", "", "2022-07-01T12:00:00+00:00", {"param": 1}, "mlflow", True, True, 0),
    _commit("r/b", "b2", "b1", "2023-02-01T12:00:00+00:00", {}, "mlflow", True, False, 0),
    _commit("r/c", "c1", "", "2021-06-01T12:00:00+00:00", {}, "", True, False, 0),
    _commit("r/c", "c2", "c1", "2022-01-01T12:00:00+00:00", {}, "", False, False, 0),
    _commit("r/d", "d1", "", "2023-09-15T12:00:00+00:00", {"param": 1, "metric": 1}, "mlflow>=2", True, True, 1),
]
USAGE_ROWS = [
    HistoryApiUsageRow("r/a", "a2", "mlflow.log_metric", "code", 1),
    HistoryApiUsageRow("r/a", "a3", "mlflow.log_metric", "code", 1),
    HistoryApiUsageRow("r/a", "a3", "mlflow.autolog", "notebook", 1),
    HistoryApiUsageRow("r/b", "b1", "mlflow.log_param", "code", 1),
    HistoryApiUsageRow("r/d", "d1", "mlflow.log_param", "code", 1),
    HistoryApiUsageRow("r/d", "d1", "mlflow.log_metric", "code", 1),
]


def _evolution(repo: str, history: str, commits: list[str], adopted: str, last_use: str, head_uses: bool, code: int,
               cochange: int, added: str = "", removed: str = "", deprecated: str = "", pinned: int = 0,
               **dated: Any) -> EvolutionRow:
    at = {r.commit: r.committed_at for r in HISTORY_ROWS}
    row = EvolutionRow(repo=repo, history=history, n_commits=len(commits), first_commit=commits[0],
                        first_committed_at=at[commits[0]], adopted_commit=adopted, adopted_at=at.get(adopted, ""),
                        last_use_commit=last_use, last_use_at=at.get(last_use, ""), head_uses_mlflow=head_uses,
                        n_code_commits=code, n_cochange_commits=cochange,
                        cochange_share=round(cochange / code, 4) if code else None, apis_added=added,
                        apis_removed=removed, deprecated_apis=deprecated, n_deprecated_after_pin=0,
                        n_deprecated_after_release=None, deprecated_use="", deprecated_use_days=None,
                        mlflow_requirement_head="", pinned_head="", newest_release_head="", releases_behind_head=None,
                        days_behind_head=None, n_pinned_commits=pinned, n_pin_dated_commits=None,
                        n_pin_behind_commits=None, max_releases_behind=None, max_days_behind=None, release_dates="",
                        note="")
    return replace(row, **dated)


EVOLUTION_ROWS = [
    _evolution("r/a", "complete", ["a1", "a2", "a3"], "a2", "a3", True, 3, 1, added="mlflow.autolog", pinned=2,
               n_deprecated_after_release=0, pinned_head="2.9.2", newest_release_head="2.12.0", releases_behind_head=3,
               days_behind_head=120, n_pin_dated_commits=2, n_pin_behind_commits=1, max_releases_behind=3,
               max_days_behind=120),
    _evolution("r/b", "complete", ["b1", "b2"], "b1", "b1", False, 2, 1, removed="mlflow.log_param"),
    _evolution("r/c", "complete", ["c1", "c2"], "", "", False, 1, 0),
    _evolution("r/d", "shallow", ["d1"], "d1", "d1", True, 1, 1, deprecated="mlflow.log_param@2.0.0",
               n_deprecated_after_release=1, deprecated_use="mlflow.log_param@2.0.0:300d", deprecated_use_days=300),
]
CATALOG_ROWS = [CatalogRow(api=api, kind="function", module="mlflow", category=category, first_version="1.0.0",
                           last_version="3.18.0", n_releases=73, deprecated_since="")
                for api, category in (("mlflow.log_metric", "metric"), ("mlflow.log_param", "param"),
                                      ("mlflow.autolog", "autolog"))]


def _write(path: Path, columns: tuple[str, ...], rows: list[Any]) -> None:
    write_csv(path, columns, (cells(flat(r)) for r in rows))


def write_histories(results: Path, history: bool = True) -> Path:
    """The results folder: the four repositories analyzed (reproducibility.csv), the API catalog, and with
    ``history`` the history's three tables."""
    results.mkdir(parents=True, exist_ok=True)
    repro = [ReproducibilityRow(repo=r, has_mlproject=False, env_spec="none", pinned_share=0.0, n_deps=0,
                                python_pinned=False, mlflow_pinned=False, docker_pinned_by_digest="", seeds_set=False,
                                data_logged=False, params_logged=False, readiness=0.0) for r in REPOS]
    _write(results / "reproducibility.csv", TABLES["reproducibility"].columns, repro)
    _write(results / CATALOG.file, CATALOG.columns, CATALOG_ROWS)
    if history:
        for name, rows in (("history", HISTORY_ROWS), ("history_api_usage", USAGE_ROWS), ("evolution", EVOLUTION_ROWS)):
            _write(results / HISTORY[name].file, HISTORY[name].columns, rows)
    return results
