"""Speed of reading committed stores, as ratios to a plain loop over the same bytes in this run.

    python benchmarks/stored_runs.py [--points 100000] [--runs 10] [--metrics 10]

Builds, in a temporary directory, a FileStore ``mlruns/`` and an SQLite database in MLflow's
layout and schema (written directly, without MLflow) holding ``--points`` metric points spread over
``--runs`` runs of ``--metrics`` metrics each, then times ``find_stores`` + ``read_store`` on each
(best of 3). The baseline is the floor of any reader of those bytes: for the FileStore, opening
every metric file and splitting its lines into fields with a plain loop; for SQLite, one
``SELECT`` of every metric row. Prints seconds, points per second and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.stores.discovery import find_stores  # noqa: E402
from analysis.stores.stored_runs import read_store  # noqa: E402


def build_file_store(root: Path, runs: int, metrics: int, per_metric: int) -> None:
    """``mlruns/1`` with ``runs`` runs, each with ``metrics`` metric files of ``per_metric`` lines."""
    exp = root / "mlruns" / "1"
    exp.mkdir(parents=True)
    (exp / "meta.yaml").write_text("artifact_location: mlruns/1\nexperiment_id: '1'\nlifecycle_stage: active\nname: b\n")
    for r in range(runs):
        run_id = f"{r:032x}"
        run = exp / run_id
        for sub in ("metrics", "params", "tags", "artifacts"):
            (run / sub).mkdir(parents=True)
        (run / "meta.yaml").write_text(f"run_id: {run_id}\nexperiment_id: '1'\nstatus: 3\nstart_time: 1\n"
                                       f"end_time: 2\nuser_id: u\nlifecycle_stage: active\n"
                                       f"artifact_uri: mlruns/1/{run_id}/artifacts\n")
        (run / "params" / "lr").write_text("0.1")
        (run / "tags" / "mlflow.source.name").write_text("train.py")
        for m in range(metrics):
            (run / "metrics" / f"m{m}").write_text(
                "".join(f"{1700000000000 + i} {i * 0.001!r} {i}\n" for i in range(per_metric)))


def build_sqlite(path: Path, runs: int, metrics: int, per_metric: int) -> None:
    """The tables of MLflow's schema the reader uses, with the same content as the FileStore."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);
        INSERT INTO alembic_version VALUES ('97727af70f4d');
        CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256), artifact_location VARCHAR(256),
            lifecycle_stage VARCHAR(32), creation_time BIGINT, last_update_time BIGINT);
        INSERT INTO experiments VALUES (1, 'b', 'mlruns/1', 'active', 1, 1);
        CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, name VARCHAR(250), status VARCHAR(9), start_time BIGINT,
            end_time BIGINT, lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200), experiment_id INTEGER,
            user_id VARCHAR(256));
        CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));
        CREATE TABLE tags (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));
        CREATE TABLE metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, run_uuid VARCHAR(32), step BIGINT,
            is_nan BOOLEAN);
        CREATE TABLE latest_metrics (key VARCHAR(250), value FLOAT, timestamp BIGINT, step BIGINT, is_nan BOOLEAN,
            run_uuid VARCHAR(32));
    """)
    for r in range(runs):
        run_id = f"{r:032x}"
        conn.execute("INSERT INTO runs VALUES (?, 'r', 'FINISHED', 1, 2, 'active', ?, 1, 'u')",
                     (run_id, f"mlruns/1/{run_id}/artifacts"))
        for m in range(metrics):
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, 0)",
                             [(f"m{m}", i * 0.001, 1700000000000 + i, run_id, i) for i in range(per_metric)])
            last = per_metric - 1
            conn.execute("INSERT INTO latest_metrics VALUES (?, ?, ?, ?, 0, ?)",
                         (f"m{m}", last * 0.001, 1700000000000 + last, last, run_id))
    conn.commit()
    conn.close()


def best_of(n: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def plain_file_loop(root: Path) -> int:
    n = 0
    for path in sorted((root / "mlruns").glob("1/*/metrics/*")):
        for line in path.read_bytes().decode("utf-8").splitlines():
            n += len(line.split(" ")) > 0
    return n


def plain_sql_loop(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    rows = conn.execute("SELECT run_uuid, key, timestamp, value, step, is_nan FROM metrics").fetchall()
    conn.close()
    return len(rows)


def read_all(root: Path, paths: list[str]) -> int:
    return sum(r.store.n_metric_points for r in (read_store("b/b", root, ref) for ref in find_stores(root, paths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--metrics", type=int, default=10)
    args = parser.parse_args()
    per_metric = args.points // (args.runs * args.metrics)
    with tempfile.TemporaryDirectory() as tmp:
        file_root, sql_root = Path(tmp) / "file", Path(tmp) / "sql"
        build_file_store(file_root, args.runs, args.metrics, per_metric)
        sql_root.mkdir()
        build_sqlite(sql_root / "mlflow.db", args.runs, args.metrics, per_metric)
        for name, root, baseline in (("FileStore", file_root, lambda: plain_file_loop(file_root)),
                                     ("SQLite", sql_root, lambda: plain_sql_loop(sql_root / "mlflow.db"))):
            paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
            points = read_all(root, paths)
            ours = best_of(3, lambda: read_all(root, paths))
            floor = best_of(3, baseline)
            print(f"{name:9s} {points:,} points: read in {ours:.3f} s ({points / ours:,.0f} points/s); "
                  f"plain loop over the same bytes {floor:.3f} s; ratio {ours / floor:.1f}x")


if __name__ == "__main__":
    main()
