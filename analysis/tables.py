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
from typing import Any

from analysis.rows import (
    CallSiteRow,
    CatalogRow,
    DependencyRow,
    EntryPointRow,
    EnvironmentRow,
    FileRow,
    IntegrationRow,
    MlprojectRow,
    ParameterRow,
    ProblemRow,
    ReproducibilityRow,
    StorageRow,
    Store,
    StoredExperiment,
    StoredInput,
    StoredMetric,
    StoredParam,
    StoredRun,
    StoredTag,
    TraceabilityRow,
    TrackingUriRow,
)


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
