"""The row types of every output table, in one leaf module: a table's columns are its row type's fields.

A row type is a dataclass whose fields are the table's columns in order; a field that holds a
finding (``CallSite``, ``Integration``, ``TrackingUri``, ``Parameter``) contributes the finding's own
fields in its place. ``analysis.tables`` registers them; the passes, the stores and the releases
build them; nothing here imports a domain module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from analysis.ftypes import CallSite, Integration, Parameter, TrackingUri
from analysis.versions import version_key
from miner.corpus import ProblemRow as ProblemRow  # one row type for problems.csv, the corpus's and analyze's


class FileStatus(StrEnum):
    """What became of a file (``files.csv`` ``status``)."""

    ANALYZED = "analyzed"
    PROBLEM = "problem"
    SKIPPED = "skipped"
    NOT_ANALYZED = "not-analyzed"
    NO_MLFLOW = "no-mlflow"
    NO_MLFLOW_USE = "no-mlflow-use"


class Stage(StrEnum):
    """Where analysis met a problem (``problems.csv`` ``stage``; ``mine`` adds its own)."""

    READ = "read"
    PARSE = "parse"
    MLPROJECT = "mlproject"
    ENVIRONMENT = "environment"
    STORE = "store"
    ANALYZE = "analyze"


@dataclass
class FileRow:
    """A row of ``files.csv``: every file of a checkout, and what became of it."""

    repo: str
    path: str
    kind: str
    size: int | str = ""
    status: str = ""
    reason: str = ""
    cached: bool = False


@dataclass(frozen=True)
class CallSiteRow:
    """A row of ``call_sites.csv``."""

    repo: str
    path: str
    site: CallSite


@dataclass(frozen=True)
class IntegrationRow:
    """A row of ``integrations.csv``."""

    repo: str
    path: str
    integration: Integration


@dataclass(frozen=True)
class TrackingUriRow:
    """A row of ``tracking_uris.csv`` (its ``cell`` column comes first, after the path)."""

    repo: str
    path: str
    uri: TrackingUri


@dataclass(frozen=True)
class MlprojectRow:
    """A row of ``mlprojects.csv``."""

    repo: str
    path: str
    name: str | None
    env_type: str
    env_declared: str
    env_file: str
    docker_image: str
    docker_pinned: str
    databricks_spark_job: bool
    n_entry_points: int
    valid: bool
    error: str


@dataclass(frozen=True)
class EntryPointRow:
    """A row of ``entry_points.csv``."""

    repo: str
    mlproject_path: str
    entry_point: str
    command: str
    script: str
    n_params: int


@dataclass(frozen=True)
class ParameterRow:
    """A row of ``parameters.csv``."""

    repo: str
    mlproject_path: str
    entry_point: str
    parameter: Parameter


@dataclass(frozen=True)
class DependencyRow:
    """A row of ``dependencies.csv``."""

    repo: str
    path: str
    line: int | None
    file: str
    kind: str
    manager: str
    name: str
    spec: str
    pin_class: str
    marker: str
    origin: str


@dataclass(frozen=True)
class EnvironmentRow:
    """A row of ``environments.csv``."""

    repo: str
    path: str
    kind: str
    n_deps: int
    exact_share: float | str
    python_version: str
    mlflow_pinned: bool | str
    referenced_by_mlproject: bool
    origin: str


@dataclass(frozen=True)
class CatalogRow:
    """A row of ``api_catalog.csv``: one API over the releases read (its columns are these fields)."""

    api: str
    kind: str  # function | client_method | flavor_function (in the last release it was found in)
    module: str  # the module defining it, in the last release it was found in
    category: str
    first_version: str
    last_version: str
    n_releases: int
    deprecated_since: str  # the first release where it carries ``@deprecated``; "" if none

    def text(self) -> dict[str, str]:
        """The row's CSV cells as text (what the snapshot and the corpus's cache hold)."""
        return {f.name: str(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_text(cls, cells: Mapping[str, str]) -> CatalogRow:
        """The inverse of ``text``: a row of the shipped snapshot or of the corpus's cache."""
        values: dict[str, Any] = {f.name: cells[f.name] for f in dataclasses.fields(cls)}
        values["n_releases"] = int(values["n_releases"])
        return cls(**values)


@dataclass(frozen=True)
class StorageRow:
    """A row of ``mlflow_storage.csv``: one element of one release's storage model (its columns are these fields)."""

    release: str
    kind: str  # entity | sql_table | sql_column | *_scheme | file_store | limit | default | gate
    name: str
    detail: str


@dataclass(frozen=True)
class ReproducibilityRow:
    """A row of ``reproducibility.csv``: one repository's signals and readiness score."""

    repo: str
    has_mlproject: bool
    env_spec: str
    pinned_share: float
    n_deps: int
    python_pinned: bool
    mlflow_pinned: bool
    docker_pinned_by_digest: bool | str  # '' when the repository names no image
    seeds_set: bool
    data_logged: bool
    params_logged: bool
    readiness: float


@dataclass(frozen=True)
class TraceabilityRow:
    """A row of ``traceability.csv``: what one repository's graph says can be traced."""

    repo: str
    n_entry_points: int
    n_declared_params: int
    declared_params_logged: int
    declared_params_logged_share: float | str  # '' without declared parameters
    params_logged_by_mlflow_run: bool
    n_metric_sites: int
    metric_sites_reachable: int
    metric_reachable_share: float | str  # '' without metric sites
    n_model_sites: int
    models_in_run: int
    data_linked: bool
    env_linked: bool
    code_version_linked: bool
    implicit_run_sites: int
    orphan_logging_sites: int
    n_nodes: int
    n_edges: int
    # the call graph's edges, by what they say of it (the report's validity section quotes them)
    n_call_edges: int  # kind calls
    n_by_name_edges: int  # calls to a method reached by its name only (over-approximation)
    n_inferred_edges: int  # calls inferred from a function passed as an argument
    n_unresolved_edges: int  # kind unresolved: a call through a variable, a dynamic import (under-approximation)


@dataclass(frozen=True)
class StoredRun:
    """One run of a committed store (a row of ``stored_runs.csv``)."""

    repo: str
    store: str
    store_kind: str  # file | sqlite
    experiment_id: str
    experiment_name: str
    run_id: str
    run_name: str
    status: str
    lifecycle_stage: str
    start_time: int | None  # ms, as stored
    end_time: int | None
    source_type: str
    source_name: str
    entry_point: str
    git_commit: str
    user: str
    parent_run_id: str
    n_params: int
    n_metrics: int
    n_metric_points: int
    n_tags: int
    n_artifacts: int
    artifact_bytes: int
    model_flavors: str  # ';'-joined, sorted
    mlflow_version: str  # from an MLmodel, else the log-model history tag, else the SQL schema ('>=X')
    artifact_uri: str
    artifact_uri_kind: str  # relative | absolute-local | remote | ''
    git_commit_in_history: str  # yes | no | unknown | '' (no commit recorded)
    source_in_repo: str  # yes | no | '' (no source recorded)
    source_path: str = ""  # the checkout file the recorded source matched
    n_datasets: int = 0
    artifacts_found: bool = False  # the run's artifact directory was found in the checkout
    # the MLprojects ``declared_at_recorded_commit`` read: recorded (its commit's), else HEAD's, saying why
    mlproject_at: str = ""  # recorded | not-in-history | no-commit | unknown-history | unreadable
    mlproject_commit: str = ""  # the commit they were read at


@dataclass(frozen=True)
class StoredParam:
    """A run parameter (a row of ``stored_params.csv``)."""

    repo: str
    store: str
    run_id: str
    key: str
    value: str
    declared_in_mlproject: str  # yes | no | unknown (no entry point recorded, or none declared it)
    value_len: int
    declared_at_recorded_commit: str = ""  # the same, at the run's mlproject_commit (its recorded one, else HEAD)


@dataclass(frozen=True)
class StoredMetric:
    """A run metric's history summarised (a row of ``stored_metrics.csv``)."""

    repo: str
    store: str
    run_id: str
    key: str
    n_points: int
    latest_value: float
    latest_step: int
    min_step: int
    max_step: int
    n_nan: int
    n_inf: int
    steps_monotonic: bool  # steps never decrease in logging order
    duplicate_points: int  # points equal (step, timestamp, value) to an earlier one
    latest_timestamp: int = 0
    repeated_steps: int = 0  # points whose step was already logged


@dataclass(frozen=True)
class StoredTag:
    """A run tag, system tags included (a row of ``stored_tags.csv``)."""

    repo: str
    store: str
    run_id: str
    key: str
    value: str


@dataclass(frozen=True)
class StoredInput:
    """A dataset a run recorded as input (a row of ``stored_inputs.csv``)."""

    repo: str
    store: str
    run_id: str
    dataset_name: str
    digest: str
    source_type: str
    context: str


@dataclass(frozen=True)
class StoredExperiment:
    """An experiment of a committed store (a row of ``stored_experiments.csv``)."""

    repo: str
    store: str
    store_kind: str
    experiment_id: str
    name: str
    lifecycle_stage: str
    artifact_location: str
    creation_time: int | None
    last_update_time: int | None
    n_runs: int
    n_tags: int


@dataclass(frozen=True)
class Store:
    """One committed store (a row of ``stores.csv``)."""

    repo: str
    store: str
    kind: str  # file | sqlite | registry
    schema_revision: str
    first_mlflow_release: str  # first release whose migration head is the revision ('' unknown or FileStore)
    n_experiments: int
    n_runs: int
    bytes: int
    files: int
    n_registered_models: int = 0
    n_model_versions: int = 0
    n_problems: int = 0
    skipped_runs: int = 0  # run directories MLflow skips or fails on
    skipped_metric_lines: int = 0
    n_metric_points: int = 0
    metric_bytes: int = 0  # FileStore metric files (a database does not say how its bytes divide)


@dataclass(frozen=True)
class PopulationRow:
    """A row of ``populations.csv``: the one population a repository is counted in, the rule that put it
    there and the evidence (``analysis/passes/project_kind.py``)."""

    repo: str
    population: str  # teaching | library | application
    rule: str  # classroom | course-word | farm | mlflow-plugin | published-package | otherwise
    evidence: str  # path:line and what is there, or the manifest's words


@dataclass(frozen=True)
class PracticeRow:
    """A row of ``practices.csv``: a practice's share of one population of repositories."""

    population: str  # one-per-family | all | teaching | library | application
    practice: str
    n_repos: int
    n_eligible: int
    share: float | None  # none over no eligible repository (written empty), as its bounds
    ci_low: float | None
    ci_high: float | None
    definition: str


@dataclass(frozen=True)
class ApiUsageRow:
    """A row of ``api_usage.csv``: call sites and repositories of one API in one population
    (``one-per-family`` or ``all``), with the catalog's versions."""

    population: str
    api: str
    category: str
    n_call_sites: int
    n_repos: int
    n_eligible: int
    share_repos: float | None  # none over no repository
    ci_low: float | None
    ci_high: float | None
    first_version: str
    last_version: str
    deprecated_since: str
    removed_before_latest: bool


@dataclass(frozen=True)
class ApiCoUsageRow:
    """A row of ``api_co_usage.csv``: repositories calling both APIs."""

    api_a: str
    api_b: str
    n_repos: int


@dataclass(frozen=True)
class StoreStatisticRow:
    """A row of ``store_statistics.csv``: a share (with its interval) or a ratio (none) over one population."""

    population: str  # as in practices.csv
    statistic: str
    unit: str  # what is counted: repositories, runs, metric histories...
    numerator: int | float
    denominator: int
    share: float | None  # none over a denominator of 0 (written empty)
    ci_low: float | None  # none where the method gives none (written empty)
    ci_high: float | None
    ci_method: str  # wilson (repositories) | cluster bootstrap (units of repositories) | wilson over repositories
    # (units of repositories, every one alike: a share of 0 or 1) | none (too few repositories)
    n_clusters: int | None  # units of repositories: repositories holding a unit, and the cluster view
    clusters_with_any: int | None
    median_per_cluster: float | None  # none with fewer than 5 repositories: per_cluster lists them
    per_cluster: str  # fewer than 5 repositories: each one's "owner/name k of n", '; '-joined
    largest_cluster: str
    largest_cluster_units: int | None
    numerator_without_largest: int | float | None
    denominator_without_largest: int | None
    share_without_largest: float | None
    definition: str


@dataclass(frozen=True)
class AgreementRow:
    """A row of ``agreement.csv``: one unit where two measures of one thing meet, what each says, whether they agree."""

    pair: str  # code version | parameters (the report adds readiness, from rerun.csv)
    repo: str
    unit: str  # the repository, or a parameter key of an entry point (``MLproject:main:alpha``)
    measure_a: str  # yes | no: from the code | declared by the entry point | ready
    measure_b: str  # yes | no | unknown: from the committed runs | logged by the code it runs | re-ran
    agree: bool | str  # '' when the two cannot be compared
    category: str  # both yes | both no | code only | runs only; declared and logged | declared only | ...
    note: str  # what each measure rests on


@dataclass(frozen=True)
class Catalog:
    """The API catalog with the lookups the call-site pass needs."""

    rows: tuple[CatalogRow, ...]
    releases: tuple[str, ...]
    origin: str  # "corpus" or "snapshot"

    @property
    def by_api(self) -> dict[str, CatalogRow]:
        return {r.api: r for r in self.rows}

    def aliases(self) -> dict[str, str]:
        """Import paths of top-level functions (``mlflow.tracking.fluent.log_metric``) -> api."""
        out: dict[str, str] = {}
        for row in self.rows:
            if row.kind == "function":
                name = row.api.rsplit(".", 1)[1]
                out[f"{row.module}.{name}"] = row.api
        return out

    @property
    def latest(self) -> str:
        return max(self.releases, key=version_key) if self.releases else ""
