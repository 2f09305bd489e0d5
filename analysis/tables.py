"""The per-repository output tables: typed rows, their columns (derived from the row types) and cells.

A row type is a frozen dataclass whose fields are the table's columns in order; a field that
holds a finding (``CallSite``, ``Integration``, ``TrackingUri``) contributes the finding's own
fields in its place, so no column list restates a type. ``TABLES`` lists every table a
repository result holds, in the order ``analyze`` writes them; ``CATALOG`` and ``STORAGE`` are the
corpus-level tables made from MLflow's releases; ``STATISTICS`` the statistics tables and ``HISTORY``
those of ``analyze --history``.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
    PopulationRow,
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
from miner.ftypes import FALSE as FALSE, TRUE as TRUE  # a CSV cell's boolean: ``cells`` writes, ``read_table`` reads

if TYPE_CHECKING:
    import pandas as pd

R = TypeVar("R")


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


_UNPLANS: dict[type, tuple[tuple[str, type | None], ...]] = {}


def unflat(row_type: type, cells: dict[str, Any]) -> Any:
    """The row of ``row_type`` whose ``flat`` is ``cells`` (for rows read back from the cache)."""
    plan = _UNPLANS.get(row_type)
    if plan is None:  # once per row type, as for ``flat``
        nested = _nested(row_type)
        plan = _UNPLANS[row_type] = tuple((f.name, nested.get(f.name)) for f in dataclasses.fields(row_type))
    return row_type(**{name: cells[name] if inner is None else unflat(inner, cells) for name, inner in plan})


def cells(row: dict[str, Any]) -> dict[str, Any]:
    """CSV cells of a flat row: booleans as ``true``/``false``."""
    return {k: (TRUE if v is True else FALSE if v is False else v) for k, v in row.items()}


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
    "populations": Table("populations.csv", PopulationRow),
}
# corpus level, one table each for the whole corpus (from its MLflow releases, not from a repository)
CATALOG = Table("api_catalog.csv", CatalogRow)
STORAGE = Table("mlflow_storage.csv", StorageRow)


_READERS: dict[type, dict[str, tuple[type, ...]]] = {}


def _cell_types(row_type: type) -> dict[str, tuple[type, ...]]:
    """Column -> the types its annotation allows (``int | None`` is ``(int, NoneType)``), nested findings flattened."""
    if row_type not in _READERS:
        hints = typing.get_type_hints(row_type)
        nested = _nested(row_type)
        out: dict[str, tuple[type, ...]] = {}
        for f in dataclasses.fields(row_type):
            if f.name in nested:
                out.update(_cell_types(nested[f.name]))
            else:
                hint = hints[f.name]
                out[f.name] = typing.get_args(hint) if typing.get_args(hint) else (hint,)
        _READERS[row_type] = out
    return _READERS[row_type]


def typed_cell(text: str, allowed: tuple[type, ...]) -> Any:
    """A CSV cell as its annotation's type: the first of ``allowed`` the text is written as (``''`` is None
    where None is allowed, else the empty text); a cell no allowed type reads raises ``ValueError``."""
    if text == "" and type(None) in allowed:
        return None
    for kind in allowed:
        if kind is bool:
            if text in (TRUE, FALSE):
                return text == TRUE
        elif kind is int:
            try:
                return int(text)
            except ValueError:
                pass
        elif kind is float:
            try:
                return float(text)
            except ValueError:
                pass
        elif kind is str:
            return text
    raise ValueError(f"{text!r} is none of {', '.join(k.__name__ for k in allowed)}")


def read_table(path: Path, row_type: type[R]) -> list[R]:
    """The rows of a CSV this tool wrote, as ``row_type`` with booleans, ints and floats restored from its
    annotations (the inverse of ``cells(flat(row))``); a cell that does not read raises ``ValueError`` naming
    the file, line and column."""
    return [unflat(row_type, cells_) for cells_ in read_cells(path, row_type)]


def read_cells(path: Path, row_type: type) -> Iterator[dict[str, Any]]:
    """Each row of a CSV this tool wrote as column -> typed cell (``flat`` of the row ``read_table`` reads)."""
    kinds = _cell_types(row_type)
    with path.open(newline="", encoding="utf-8") as fh:
        for line, raw in enumerate(csv.DictReader(fh), start=2):
            try:
                yield {name: typed_cell(raw.get(name) or "", allowed) for name, allowed in kinds.items()}
            except ValueError as err:
                bad = next(n for n, a in kinds.items() if not _reads(raw.get(n) or "", a))
                raise ValueError(f"{path}:{line}: column {bad}: {err}") from err


def _reads(text: str, allowed: tuple[type, ...]) -> bool:
    try:
        typed_cell(text, allowed)
    except ValueError:
        return False
    return True


def read_columns(path: Path, row_type: type) -> dict[str, list[Any]]:
    """Each column of a CSV this tool wrote, as its typed cells: the cells ``read_cells`` reads, a column at
    a time (a table's text read at once, each column typed by one converter: files.csv's 13,607 rows in a
    fifth of the time). A cell that does not read raises ``read_cells``' ``ValueError``."""
    kinds = _cell_types(row_type)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        body = [record for record in reader if record]  # csv.DictReader skips empty records too
    at = {name: i for i, name in enumerate(header)}  # as DictReader: the last of a repeated name
    width = len(header)
    if body and all(len(record) == width for record in body):
        transposed = list(zip(*body))
        column_text = {name: list(transposed[at[name]]) if name in at else [""] * len(body) for name in kinds}
    else:  # a record shorter (missing cells are empty) or longer (extra cells are dropped) than the header
        column_text = {name: [record[at[name]] if at[name] < len(record) else "" for record in body] if name in at
                       else [""] * len(body) for name in kinds}
    try:
        return {name: _typed_column(column_text[name], allowed) for name, allowed in kinds.items()}
    except ValueError:
        list(read_cells(path, row_type))  # the error, naming the first bad row and column
        raise


_NONE = type(None)


def _typed_column(texts: list[str], allowed: tuple[type, ...]) -> list[Any]:
    """``typed_cell`` of each text, one converter for the column where its annotation allows one."""
    if allowed == (str,):
        return texts
    if allowed in ((str, _NONE), (_NONE, str)):
        return [text or None for text in texts]
    if allowed == (int,):
        return [int(text) for text in texts]
    if allowed == (float,):
        return [float(text) for text in texts]
    if allowed in ((int, _NONE), (_NONE, int)):
        return [int(text) if text else None for text in texts]
    if allowed in ((float, _NONE), (_NONE, float)):
        return [float(text) if text else None for text in texts]
    if allowed == (bool,):
        if not all(text in (TRUE, FALSE) for text in texts):
            raise ValueError("a cell is neither true nor false")
        return [text == TRUE for text in texts]
    return [typed_cell(text, allowed) for text in texts]


def table_frame(path: Path, row_type: type) -> pd.DataFrame:
    """``read_table`` as a DataFrame: one column per CSV column, in order, typed; no rows when the file is absent."""
    import pandas as pd

    columns = list(_flat_names(row_type))  # the typed cells as the rows' ``flat``, without making the rows
    cells_ = read_columns(path, row_type) if path.is_file() else {}
    if not any(cells_.values()):  # no rows: object columns, as a frame of no records has
        return pd.DataFrame([], columns=columns)
    return pd.DataFrame(cells_, columns=columns)


# the statistics tables, computed from the row tables above (``analysis.statistics``; api_co_usage from the usage graph)
from analysis.rows import AgreementRow, ApiCoUsageRow, ApiUsageRow, PracticeRow, StoreStatisticRow  # noqa: E402

STATISTICS: dict[str, Table] = {
    "practices": Table("practices.csv", PracticeRow),
    "api_usage": Table("api_usage.csv", ApiUsageRow),
    "api_co_usage": Table("api_co_usage.csv", ApiCoUsageRow),
    "store_statistics": Table("store_statistics.csv", StoreStatisticRow),
    "agreement": Table("agreement.csv", AgreementRow),
}

# the statistics tables ``analyze`` writes, and the row tables each is computed from
_COMMUNITY_FROM = ("call_sites.csv", "tracking_uris.csv", "reproducibility.csv", "api_catalog.csv", "manifest.csv")
STATISTICS_FROM = {
    "practices.csv": (*_COMMUNITY_FROM, "populations.csv"),
    "api_usage.csv": _COMMUNITY_FROM,
    "store_statistics.csv": ("stores.csv", "stored_runs.csv", "stored_params.csv", "stored_metrics.csv",
                             "populations.csv"),
    "agreement.csv": ("traceability.csv", "stored_runs.csv", "mlprojects.csv", "entry_points.csv", "parameters.csv",
                      "call_sites.csv", "graphs/"),
}


# the history's tables (``analyze --history``: ``analysis.history.run`` writes them, the report reads them)
from analysis.history_rows import EvolutionRow, HistoryApiUsageRow, HistoryProblemRow, HistoryRow  # noqa: E402

HISTORY: dict[str, Table] = {
    "history": Table("history.csv", HistoryRow),
    "history_api_usage": Table("history_api_usage.csv", HistoryApiUsageRow),
    "evolution": Table("evolution.csv", EvolutionRow),
    "history_problems": Table("history_problems.csv", HistoryProblemRow),
}


def typed_frame(frame: pd.DataFrame, row_type: type) -> pd.DataFrame:
    """``frame``'s columns of ``row_type`` typed as ``table_frame`` types them, where a cell is still CSV text (a
    frame read with ``dtype=str, keep_default_na=False``); cells already typed are kept, other columns too."""
    kinds = _cell_types(row_type)
    out = frame.copy()
    for column in frame.columns:
        if column in kinds:
            out[column] = [typed_cell(v, kinds[column]) if isinstance(v, str) else v for v in frame[column]]
    return out


def graph_name(repo: str) -> str:
    """The GraphML file name of a repository's traceability graph (in ``graphs/``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", repo.replace("/", "__")) + ".graphml"
