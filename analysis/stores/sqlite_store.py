"""Reading an SQLite tracking database committed to a checkout into raw records: opened read-only
and immutable (no lock, no WAL replay, no migration), tables read by column name so every schema
from MLflow 1.0 on reads the same way."""

from __future__ import annotations

import math
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.stores.raw import (
    SQLITE_HEADER,
    Checkout,
    RawExperiment,
    RawInput,
    RawRun,
    RawStore,
    StoreProblem,
    int_field,
    is_lfs_pointer,
    read_bounded,
    str_field,
)


def sqlite_uri(path: Path) -> str:
    """A read-only, immutable SQLite URI: no lock taken, no journal or WAL replayed, nothing written."""
    return f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&immutable=1"


def mlflow_tables(path: Path) -> frozenset[str] | None:
    """The table names of an SQLite file, or None when it cannot be opened as one."""
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True)
    except sqlite3.Error:
        return None
    try:
        return frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def is_mlflow_schema(tables: frozenset[str]) -> bool:
    """MLflow's tracking tables (every release from 1.0 on has them)."""
    return {"alembic_version", "experiments", "runs"} <= tables


def read_sqlite(root: Path, rel: str) -> RawStore:
    """An SQLite tracking database at ``rel`` of the checkout ``root``."""
    checkout = Checkout(root)
    path = root / rel
    store = RawStore("sqlite")

    def fail(reason: str) -> RawStore:
        store.problems.append(StoreProblem(rel, None, reason))
        return store

    if path.is_symlink() and not checkout.inside(path):
        return fail(f"symlink leaving the repository (-> {os.readlink(path)})")
    try:
        store.n_bytes = path.stat().st_size
        head, _more = read_bounded(path, 100)
    except OSError as err:
        return fail(f"cannot read: {err.strerror}")
    store.n_files = 1
    if is_lfs_pointer(head):
        return fail("Git LFS pointer in place of the database")
    if not head.startswith(SQLITE_HEADER):
        return fail("not an SQLite database (no SQLite header: another format, or encrypted)")
    for suffix in ("-wal", "-journal"):
        if Path(f"{path}{suffix}").exists():
            store.problems.append(StoreProblem(rel + suffix, None, "journal beside the database: not replayed "
                                               "(the database is read as committed)"))
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True)
    except sqlite3.Error as err:
        return fail(f"cannot open the database: {err}")
    try:
        conn.execute("PRAGMA query_only = ON")
        _SqlReader(conn, store).read()
    except sqlite3.Error as err:
        return fail(f"database unreadable (truncated or corrupt?): {err}")
    finally:
        conn.close()
    return store


class _SqlReader:
    def __init__(self, conn: sqlite3.Connection, store: RawStore) -> None:
        self.conn = conn
        self.store = store
        self.tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def columns(self, table: str) -> set[str]:
        return {r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')} if table in self.tables else set()

    def select(self, table: str, wanted: tuple[str, ...], order: str = "") -> Iterator[dict[str, Any]]:
        """Rows of a table as dicts; columns the schema lacks read as None."""
        have = self.columns(table)
        present = [c for c in wanted if c in have]
        if not present:
            return
        sql = f'SELECT {", ".join(chr(34) + c + chr(34) for c in present)} FROM "{table}"' + (f" ORDER BY {order}" if order else "")
        for row in self.conn.execute(sql):
            values = dict(zip(present, row))
            yield {c: _text(values.get(c)) for c in wanted}

    def read(self) -> None:
        store = self.store
        if not is_mlflow_schema(frozenset(self.tables)):
            store.problems.append(StoreProblem("", None, "not an MLflow tracking database"))
            return
        store.schema_revision = ";".join(sorted(str(r[0]) for r in self.conn.execute("SELECT version_num FROM alembic_version")))
        exp_tags: dict[str, dict[str, str]] = {}
        for row in self.select("experiment_tags", ("key", "value", "experiment_id")):
            exp_tags.setdefault(str(row["experiment_id"]), {})[str_field(row["key"])] = str_field(row["value"])
        for row in self.select("experiments", ("experiment_id", "name", "lifecycle_stage", "artifact_location",
                                               "creation_time", "last_update_time"), "experiment_id"):
            exp_id = str(row["experiment_id"])
            store.experiments.append(RawExperiment(exp_id, str_field(row["name"]), str_field(row["lifecycle_stage"]),
                                                   str_field(row["artifact_location"]), int_field(row["creation_time"]),
                                                   int_field(row["last_update_time"]), exp_tags.get(exp_id, {})))
        runs: dict[str, RawRun] = {}
        for row in self.select("runs", ("run_uuid", "experiment_id", "name", "status", "lifecycle_stage",
                                        "start_time", "end_time", "artifact_uri", "user_id"), "start_time, run_uuid"):
            run = RawRun(str_field(row["run_uuid"]), str_field(row["experiment_id"]), str_field(row["name"]), str_field(row["status"]),
                         str_field(row["lifecycle_stage"]), int_field(row["start_time"]), int_field(row["end_time"]),
                         str_field(row["artifact_uri"]), str_field(row["user_id"]))
            runs[run.run_id] = run
        for table, attr in (("params", "params"), ("tags", "tags")):
            for row in self.select(table, ("run_uuid", "key", "value")):
                run_or_none = runs.get(str_field(row["run_uuid"]))
                if run_or_none is not None:
                    getattr(run_or_none, attr)[str_field(row["key"])] = str_field(row["value"])
        self._metrics(runs)
        self._inputs(runs)
        store.runs = list(runs.values())
        if "registered_models" in self.tables:
            store.n_registered_models = self.conn.execute("SELECT count(*) FROM registered_models").fetchone()[0]
        if "model_versions" in self.tables:
            store.n_model_versions = self.conn.execute("SELECT count(*) FROM model_versions").fetchone()[0]

    def _metrics(self, runs: dict[str, RawRun]) -> None:
        """Metric histories (in rowid order: the order of logging, which 'steps_monotonic' reads) and
        the ``latest_metrics`` rows MLflow returns as a run's metrics. Read as tuples: 100k rows."""
        for table, latest in (("metrics", False), ("latest_metrics", True)):
            have = self.columns(table)
            if not {"run_uuid", "key", "value"} <= have:
                continue
            step = '"step"' if "step" in have else "0"  # 1.0 schemas had no step, no is_nan
            is_nan = '"is_nan"' if "is_nan" in have else "0"
            order = "" if latest else " ORDER BY rowid"
            sql = f'SELECT run_uuid, key, "timestamp", value, {step}, {is_nan} FROM "{table}"{order}'
            for run_uuid, key, timestamp, value, step_value, nan in self.conn.execute(sql):
                run = runs.get(_text(run_uuid))
                if run is None:
                    continue
                point = (int_field(timestamp) or 0, math.nan if nan or value is None else float(value), int_field(step_value) or 0)
                if latest:
                    run.latest[_text(key)] = point
                else:
                    run.metrics.setdefault(_text(key), []).append(point)

    def _inputs(self, runs: dict[str, RawRun]) -> None:
        if not {"datasets", "inputs"} <= self.tables:
            return
        datasets = {row["dataset_uuid"]: row for row in
                    self.select("datasets", ("dataset_uuid", "name", "digest", "dataset_source_type"))}
        context = {row["input_uuid"]: str_field(row["value"]) for row in self.select("input_tags", ("input_uuid", "name", "value"))
                   if row["name"] == "mlflow.data.context"}
        for row in self.select("inputs", ("input_uuid", "source_type", "source_id", "destination_type",
                                          "destination_id")):
            dataset = datasets.get(row["source_id"])
            run = runs.get(str_field(row["destination_id"]))
            if row["source_type"] != "DATASET" or row["destination_type"] != "RUN" or dataset is None or run is None:
                continue
            run.inputs.append(RawInput(str_field(dataset["name"]), str_field(dataset["digest"]),
                                       str_field(dataset["dataset_source_type"]), context.get(row["input_uuid"], "")))


def _text(value: object) -> Any:
    """SQLite values as MLflow's models read them (a BLOB in a text column is decoded)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
