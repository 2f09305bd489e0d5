"""The SQLite reader: databases that are not SQLite, cut short or locked, and a hand-made tracking schema."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from analysis.stores.discovery import find_stores
from analysis.stores.sqlite_store import is_mlflow_schema, mlflow_tables, read_sqlite
from analysis.stores.stored_runs import read_store
from tests.analysis.stores.makers import paths_of


def test_db_that_is_not_sqlite_truncated_or_locked(new_stores: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    src = new_stores[0] / "mlflow.db"
    (tmp_path / "mlflow.db").write_bytes(os.urandom(4096))  # encrypted or another format
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "mlflow.db").write_bytes(src.read_bytes()[:8192])
    (tmp_path / "locked").mkdir()
    shutil.copy(src, tmp_path / "locked" / "tracking.sqlite")
    holder = sqlite3.connect(tmp_path / "locked" / "tracking.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        refs = {r.path: r for r in find_stores(tmp_path, paths_of(tmp_path))}
        assert set(refs) == {"mlflow.db", "cut/mlflow.db", "locked/tracking.sqlite"}
        garbage = read_store("o/r", tmp_path, refs["mlflow.db"])
        assert [(p.path, "no SQLite header" in p.reason) for p in garbage.problems] == [("mlflow.db", True)]
        cut = read_store("o/r", tmp_path, refs["cut/mlflow.db"])
        assert cut.runs == () and [p.path for p in cut.problems] == ["cut/mlflow.db"]
        locked = read_store("o/r", tmp_path, refs["locked/tracking.sqlite"])
        assert len(locked.runs) == len(new_stores[1]["mlflow.db"]["runs"]) and locked.problems == ()
    finally:
        holder.rollback()
        holder.close()


def _tracking_db(path: Path, *, with_step: bool) -> None:
    """A hand-made tracking database with the tables MLflow's readers need (1.0 schemas had no step)."""
    conn = sqlite3.connect(path)
    step = ", step INTEGER" if with_step else ""
    conn.executescript(f"""
        CREATE TABLE alembic_version (version_num TEXT);
        INSERT INTO alembic_version VALUES ('abc123');
        CREATE TABLE experiments (experiment_id INTEGER, name TEXT, lifecycle_stage TEXT, artifact_location TEXT);
        INSERT INTO experiments VALUES (0, 'Default', 'active', './mlruns/0');
        CREATE TABLE runs (run_uuid TEXT, experiment_id INTEGER, status TEXT, lifecycle_stage TEXT,
                           start_time INTEGER, end_time INTEGER, artifact_uri TEXT, user_id TEXT);
        INSERT INTO runs VALUES ('r1', 0, 'FINISHED', 'active', 10, 20, './mlruns/0/r1/artifacts', 'me');
        CREATE TABLE params (run_uuid TEXT, key TEXT, value TEXT);
        INSERT INTO params VALUES ('r1', 'lr', '0.1'), ('gone', 'lr', '9');
        CREATE TABLE metrics (run_uuid TEXT, key TEXT, value REAL, timestamp INTEGER{step});
    """)
    rows = [("r1", "loss", 2.0, 1, 0), ("r1", "loss", 1.0, 2, 1)]
    if with_step:
        conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)
    else:
        conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", [r[:4] for r in rows])
    conn.commit()
    conn.close()


@pytest.mark.parametrize("with_step", [True, False])
def test_hand_made_tracking_database(tmp_path: Path, with_step: bool) -> None:
    _tracking_db(tmp_path / "mlflow.db", with_step=with_step)
    assert is_mlflow_schema(mlflow_tables(tmp_path / "mlflow.db") or frozenset())
    store = read_sqlite(tmp_path, "mlflow.db")
    assert (store.kind, store.schema_revision, store.problems) == ("sqlite", "abc123", [])
    assert [(e.experiment_id, e.name) for e in store.experiments] == [("0", "Default")]
    (run,) = store.runs
    assert (run.run_id, run.status, run.start_time, run.params) == ("r1", "FINISHED", 10, {"lr": "0.1"})
    assert run.metrics == {"loss": [(1, 2.0, 0), (2, 1.0, 1 if with_step else 0)]}


def test_not_a_tracking_database(tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "optuna.db")
    other.execute("CREATE TABLE studies (id INTEGER)")
    other.commit()
    other.close()
    (tmp_path / "notes.txt").write_text("not a database at all, longer than the SQLite header\n")
    assert mlflow_tables(tmp_path / "optuna.db") == frozenset({"studies"})
    assert mlflow_tables(tmp_path / "notes.txt") is None
    store = read_sqlite(tmp_path, "optuna.db")
    assert store.runs == [] and [p.reason for p in store.problems] == ["not an MLflow tracking database"]
