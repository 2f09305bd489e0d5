"""The row types of the history tables (``history.csv``, ``history_api_usage.csv``, ``evolution.csv``,
``history_problems.csv``), registered in ``analysis.tables.HISTORY``: a table's columns are its row type's
fields, as for every table. A leaf module beside ``rows.py``: the history writes these rows, the report
reads them back typed (``analysis.report.inputs``), and neither imports the other's room."""

from __future__ import annotations

from dataclasses import dataclass

# the API categories of the catalog (``releases.catalog.CATEGORY_RULES``) and ``other``: a column each
CATEGORIES = ("autolog", "tracing", "registry", "dataset", "param", "metric", "tag", "model", "artifact",
              "experiment", "config", "run", "other")


@dataclass(frozen=True)
class HistoryRow:
    """A row of ``history.csv``: one analyzed commit."""

    repo: str
    commit: str
    parent: str
    committed_at: str
    n_py_files: int
    n_notebooks: int
    n_call_sites: int
    n_mlproject_files: int
    mlflow_requirement: str
    changes_code: bool
    changes_mlproject_env: bool
    n_autolog: int = 0
    n_tracing: int = 0
    n_registry: int = 0
    n_dataset: int = 0
    n_param: int = 0
    n_metric: int = 0
    n_tag: int = 0
    n_model: int = 0
    n_artifact: int = 0
    n_experiment: int = 0
    n_config: int = 0
    n_run: int = 0
    n_other: int = 0
    # against MLflow's releases published by the commit's date (``history.evolution.dated_history``)
    mlflow_pinned: str = ""  # the one release ``mlflow_requirement`` pins exactly
    newest_release: str = ""  # the newest final release published by then
    pin_releases_behind: int | None = None
    pin_days_behind: int | None = None
    n_apis_deprecated_by_then: int | None = None  # APIs called here whose deprecating release was out


@dataclass(frozen=True)
class HistoryApiUsageRow:
    """A row of ``history_api_usage.csv``: the call sites of one API in one kind of file at one commit."""

    repo: str
    commit: str
    api: str
    kind: str  # code | notebook
    n_call_sites: int


@dataclass(frozen=True)
class HistoryProblemRow:
    """A row of ``history_problems.csv``: a blob that could not be read or parsed (once, at the first
    analyzed commit holding it), or a commit or path the history could not analyze."""

    repo: str
    commit: str
    path: str
    blob: str
    line: int | None
    stage: str  # read | parse | history
    reason: str


@dataclass(frozen=True)
class EvolutionRow:
    """A row of ``evolution.csv``: one repository's MLflow usage over its analyzed history."""

    repo: str
    history: str
    n_commits: int
    first_commit: str
    first_committed_at: str
    adopted_commit: str
    adopted_at: str
    last_use_commit: str
    last_use_at: str
    head_uses_mlflow: bool
    n_code_commits: int
    n_cochange_commits: int
    cochange_share: float | None
    apis_added: str
    apis_removed: str
    deprecated_apis: str
    n_deprecated_after_pin: int
    n_deprecated_after_release: int | None
    deprecated_use: str
    deprecated_use_days: int | None
    mlflow_requirement_head: str
    pinned_head: str
    newest_release_head: str
    releases_behind_head: int | None
    days_behind_head: int | None
    n_pinned_commits: int
    n_pin_dated_commits: int | None
    n_pin_behind_commits: int | None
    max_releases_behind: int | None
    max_days_behind: int | None
    release_dates: str
    note: str
