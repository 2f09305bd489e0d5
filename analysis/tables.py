"""The per-repository output tables: typed rows, their columns (derived from the row types) and cells.

A row type is a frozen dataclass whose fields are the table's columns in order; a field that
holds a finding (``CallSite``, ``Integration``, ``TrackingUri``) contributes the finding's own
fields in its place, so no column list restates a type. ``TABLES`` lists every table a
repository result holds, in the order ``analyze`` writes them; ``CATALOG`` and ``STORAGE`` are the
corpus-level tables made from MLflow's releases.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from analysis.releases.catalog import CatalogRow
from analysis.ftypes import CallSite, Integration, TrackingUri
from analysis.releases.storage import StorageRow
from analysis.passes.mlproject import Parameter
from analysis.passes.reproducibility import ReproducibilityRow
from analysis.passes.traceability import TraceabilityRow
from analysis.stores.stored_runs import Store, StoredExperiment, StoredInput, StoredMetric, StoredParam, StoredRun, StoredTag
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
class Table:
    """One output table: its file, its row type and its columns."""

    file: str
    row_type: type
    lead: tuple[str, ...] = ()  # columns moved to the front (after nothing else), in this order

    @property
    def columns(self) -> tuple[str, ...]:
        names = _flat_names(self.row_type)
        return (*self.lead, *(n for n in names if n not in self.lead))


_NESTED: dict[type, dict[str, type]] = {}


def _nested(row_type: type) -> dict[str, type]:
    """Fields of ``row_type`` that hold a finding dataclass, with its type (worked out once per type)."""
    if row_type in _NESTED:
        return _NESTED[row_type]
    hints = typing.get_type_hints(row_type)
    found = _NESTED[row_type] = {f.name: hints[f.name] for f in dataclasses.fields(row_type)
                                 if isinstance(hints[f.name], type) and dataclasses.is_dataclass(hints[f.name])}
    return found


def _flat_names(row_type: type) -> tuple[str, ...]:
    nested = _nested(row_type)
    out: list[str] = []
    for f in dataclasses.fields(row_type):
        out.extend(_flat_names(nested[f.name]) if f.name in nested else [f.name])
    return tuple(out)


_PLANS: dict[type, tuple[tuple[str, bool], ...]] = {}


def flat(row: Any) -> dict[str, Any]:
    """A row as column -> value (findings' fields in place of the finding)."""
    kind = type(row)
    plan = _PLANS.get(kind)
    if plan is None:  # once per row type: which fields hold a finding
        nested = _nested(kind)
        plan = _PLANS[kind] = tuple((f.name, f.name in nested) for f in dataclasses.fields(kind))
    out: dict[str, Any] = {}
    for name, nested_finding in plan:
        if nested_finding:
            out.update(vars(getattr(row, name)))  # findings are flat dataclasses: their fields, in order
        else:
            out[name] = getattr(row, name)
    return out


def unflat(row_type: type, cells: dict[str, Any]) -> Any:
    """The row of ``row_type`` whose ``flat`` is ``cells`` (for rows read back from the cache)."""
    nested = _nested(row_type)
    kwargs = {f.name: unflat(nested[f.name], cells) if f.name in nested else cells[f.name]
              for f in dataclasses.fields(row_type)}
    return row_type(**kwargs)


def cells(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells of a flat row: booleans as ``true``/``false``."""
    return {k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()}


TABLES: dict[str, Table] = {
    "call_sites": Table("call_sites.csv", CallSiteRow),
    "integrations": Table("integrations.csv", IntegrationRow),
    "uris": Table("tracking_uris.csv", TrackingUriRow, lead=("repo", "path", "cell")),
    "problems": Table("problems.csv", ProblemRow),
    "files": Table("files.csv", FileRow),
    "mlprojects": Table("mlprojects.csv", MlprojectRow),
    "entry_points": Table("entry_points.csv", EntryPointRow),
    "parameters": Table("parameters.csv", ParameterRow),
    "dependencies": Table("dependencies.csv", DependencyRow),
    "environments": Table("environments.csv", EnvironmentRow),
    "reproducibility": Table("reproducibility.csv", ReproducibilityRow),
    "traceability": Table("traceability.csv", TraceabilityRow),
    "stores": Table("stores.csv", Store),
    "stored_experiments": Table("stored_experiments.csv", StoredExperiment),
    "stored_runs": Table("stored_runs.csv", StoredRun),
    "stored_params": Table("stored_params.csv", StoredParam),
    "stored_metrics": Table("stored_metrics.csv", StoredMetric),
    "stored_tags": Table("stored_tags.csv", StoredTag),
    "stored_inputs": Table("stored_inputs.csv", StoredInput),
}
# corpus level, one table each for the whole corpus (from its MLflow releases, not from a repository)
CATALOG = Table("api_catalog.csv", CatalogRow)
STORAGE = Table("mlflow_storage.csv", StorageRow)
