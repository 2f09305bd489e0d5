"""The probe's workload, run by the target interpreter: measures one MLflow store, writes JSON rows.

``python workload.py --backend URI --scale small --probes capacity,precision,integrity --out result.json``

This file is copied into nothing and imports nothing from mlflow-census: it runs under Python 3.8+
with whatever MLflow release the interpreter has (1.x, 2.x, 3.x), feature-detecting the APIs it
needs. A probe that fails in a release becomes a row with ``outcome = error`` and the message; the
script itself only fails on bad arguments. Each row: ``probe, parameter, value, unit, n, spread,
outcome, detail`` and, for series the driver fits, ``size``.

The same file is also its own helper processes: a fresh interpreter that measures client start-up
(``--worker startup``), and processes that read values back or log concurrently with their
siblings, forked from a copy of the workload made once it has imported MLflow (``_Zygote``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import multiprocessing.reduction
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import uuid
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

Row = Dict[str, Any]

# Sizes per scale. "large" holds the sizes the issue names; "small" runs in seconds for tests (one
# start-up sample: a fresh interpreter importing MLflow is the dearest thing it does).
SCALES: Dict[str, Dict[str, Any]] = {
    "small": {"runs": (10, 30, 100), "points": (100, 1000), "reps": 3, "per_point": 20, "batches": 3,
              "workers": 2, "per_worker": 20, "startups": 1, "params": 100},
    "medium": {"runs": (100, 1000, 3000), "points": (1000, 10000, 30000), "reps": 5, "per_point": 100,
               "batches": 5, "workers": 4, "per_worker": 100, "startups": 3, "params": 500},
    "large": {"runs": (100, 1000, 10000), "points": (1000, 10000, 100000), "reps": 5, "per_point": 200,
              "batches": 5, "workers": 8, "per_worker": 200, "startups": 5, "params": 1000},
}
PROBES = ("capacity", "precision", "integrity")
FILTER = "metrics.m > 0.5 and params.p = 'x'"
ORDER_BY = ["metrics.m DESC"]
BATCH = 1000  # MAX_METRICS_PER_BATCH in every release
TIMESTAMP = 1700000000000


def _mlflow() -> Any:
    return importlib.import_module("mlflow")


def _client(uri: str) -> Any:
    return importlib.import_module("mlflow.tracking").MlflowClient(tracking_uri=uri)


def _entities() -> Any:
    return importlib.import_module("mlflow.entities")


def _message(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return "%s: %s" % (type(err).__name__, text[:limit])


def _row(probe: str, parameter: str, value: Any = "", unit: str = "", n: Any = "", spread: Any = "",
         outcome: str = "measured", detail: str = "", size: Any = None) -> Row:
    row = {"probe": probe, "parameter": parameter, "value": value, "unit": unit, "n": n, "spread": spread,
           "outcome": outcome, "detail": detail}
    if size is not None:
        row["size"] = size
    return row


def _stats(samples: Sequence[float]) -> Tuple[float, float]:
    """Median and interquartile range (0 for fewer than 2 samples)."""
    med = statistics.median(samples)
    if len(samples) < 2:
        return med, 0.0
    q = statistics.quantiles(samples, n=4, method="inclusive")
    return med, q[2] - q[0]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measured(probe: str, parameter: str, samples: Sequence[float], unit: str, detail: str = "",
              size: Any = None, scale: float = 1.0) -> Row:
    med, spread = _stats([s * scale for s in samples])
    return _row(probe, parameter, _g(med), unit, len(samples), _g(spread), "measured", detail, size)


def _g(x: float) -> float:
    return float("%.6g" % x)


def _metric(key: str, value: Any, timestamp: int, step: int) -> Any:
    return _entities().Metric(key, value, timestamp, step)


def _param(key: str, value: str) -> Any:
    return _entities().Param(key, value)


def _new_experiment(client: Any, prefix: str) -> str:
    return str(client.create_experiment("%s-%s" % (prefix, uuid.uuid4().hex[:8])))


def _search(client: Any, experiment_id: str, max_results: int = 100) -> List[Any]:
    return list(client.search_runs([experiment_id], FILTER, max_results=max_results, order_by=ORDER_BY))


def _all_runs(client: Any, experiment_id: str) -> List[Any]:
    runs: List[Any] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], "", max_results=1000, page_token=token)
        runs.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return runs


class _Captured(logging.Handler):
    """Warnings MLflow logs (truncation says so through its logger, not ``warnings``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _Warned:
    """Collects what MLflow warns, through ``logging`` or ``warnings``, while the block runs."""

    def __enter__(self) -> "_Warned":
        self.handler = _Captured()
        logging.getLogger("mlflow").addHandler(self.handler)
        self.catcher = warnings.catch_warnings(record=True)
        self.caught = self.catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.catcher.__exit__(*exc)
        logging.getLogger("mlflow").removeHandler(self.handler)

    def text(self) -> str:
        found = self.handler.messages + [str(w.message) for w in self.caught if "pkg_resources" not in str(w.message)]
        return " | ".join(" ".join(m.split())[:200] for m in found)


# --- backends -------------------------------------------------------------------------------------

class Store:
    """The store under test: its URI and how to measure its size on disk."""

    def __init__(self, uri: str) -> None:
        self.uri = _with_driver(uri)
        self.scheme = urllib.parse.urlsplit(uri).scheme.split("+")[0] or "file"
        self.created_db = ""  # a database made for this probe on a server, dropped at the end
        self.server_uri = ""

    @property
    def file_root(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.uri).path)

    def bytes_used(self, allocated: bool = False) -> int:
        """Bytes the store holds; ``allocated``: for a FileStore, the blocks its files take on disk."""
        if self.scheme == "file":
            total = 0
            for folder, _, files in os.walk(self.file_root):
                for name in files:
                    info = os.stat(os.path.join(folder, name))
                    total += info.st_blocks * 512 if allocated else info.st_size
            return total
        if self.scheme == "sqlite":
            path = self.uri[len("sqlite:///"):]
            return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-journal") if os.path.exists(p))
        if self.scheme == "mysql":
            return _mysql_bytes(self.uri)
        query = {"postgresql": "SELECT pg_database_size(current_database())",
                 "mssql": "SELECT SUM(size) * 8192 FROM sys.database_files"}[self.scheme]
        return int(_sql_scalar(self.uri, query))

    def files_used(self) -> int:
        return sum(len(files) for _, _, files in os.walk(self.file_root))

    def facts(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        if self.scheme == "sqlite":
            import sqlite3
            out["sqlite"] = sqlite3.sqlite_version
        elif self.scheme == "postgresql":
            out["server"] = str(_sql_scalar(self.uri, "SELECT version()"))
        elif self.scheme == "mysql":
            version = str(_sql_scalar(self.uri, "SELECT VERSION()"))
            out["server"] = version if "MariaDB" in version else "MySQL " + version
            out["collation"] = str(_sql_scalar(self.uri, "SELECT @@collation_database"))
        try:
            out["sqlalchemy"] = importlib.import_module("sqlalchemy").__version__
        except ImportError:
            pass
        return out

    def make_fresh(self) -> str:
        """For a server URI, a new database on the same server; returns what was done."""
        if self.scheme not in ("postgresql", "mysql"):
            return ""
        parts = urllib.parse.urlsplit(self.uri)
        name = "mlflow_probe_%s" % uuid.uuid4().hex[:12]
        try:
            _sql_execute(self.uri, create_database(self.scheme, name))
        except Exception as err:  # no CREATEDB right: use the database given, say so
            return "could not create a database (%s); used the given one, which may hold earlier data" % _message(err)
        self.server_uri, self.created_db = self.uri, name
        self.uri = urllib.parse.urlunsplit(parts._replace(path="/" + name))
        return "fresh database %s on the given server, dropped afterwards" % name

    def drop(self) -> None:
        if self.created_db:
            _dispose_engines()  # a server refuses to drop a database in use (PostgreSQL: after 5 s)
            try:
                _sql_execute(self.server_uri, "DROP DATABASE %s" % self.created_db)
            except Exception as err:
                sys.stderr.write("could not drop %s: %s\n" % (self.created_db, _message(err)))


# scheme -> (module, SQLAlchemy's driver name) in the order tried: the driver the release's environment
# gets first (pymysql for MySQL: a plain mysql:// makes SQLAlchemy import MySQLdb, which it lacks)
DRIVERS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "postgresql": (("psycopg2", "psycopg2"), ("psycopg", "psycopg")),
    "mysql": (("pymysql", "pymysql"), ("MySQLdb", "mysqldb")),
}


def create_database(scheme: str, name: str) -> str:
    """The statement making a fresh database: on MySQL in utf8mb4, whatever the server's default.

    MLflow's schema assumes utf8mb4; a server still defaulting to latin1 (MariaDB before 11.6
    without Debian's configuration, MySQL 5.7) refuses every non-Latin-1 param in a comparison.
    The collation is left to the server: its case rules are what users get.
    """
    return "CREATE DATABASE %s%s" % (name, " CHARACTER SET utf8mb4" if scheme == "mysql" else "")


def _with_driver(uri: str) -> str:
    """A server URI with its driver named (``postgresql+psycopg2://``, ``mysql+pymysql://``), if it names none.

    SQLAlchemy 2.1 defaults ``postgresql://`` to psycopg 3, older ones to psycopg2; every release
    defaults ``mysql://`` to MySQLdb (mysqlclient).
    """
    scheme, sep, rest = uri.partition("://")
    for module, driver in DRIVERS.get(scheme, ()) if sep else ():
        try:
            importlib.import_module(module)
            return "%s+%s://%s" % (scheme, driver, rest)
        except ImportError:
            continue
    return uri


def _dispose_engines() -> None:
    """Close the connections of every SQLAlchemy engine of this process (MLflow's stores keep their pools)."""
    try:
        engine_class = importlib.import_module("sqlalchemy.engine").Engine
    except ImportError:
        return
    for obj in gc.get_objects():
        if isinstance(obj, engine_class):
            obj.dispose()


def _engine(uri: str) -> Any:
    sqlalchemy = importlib.import_module("sqlalchemy")
    return sqlalchemy.create_engine(uri, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)


def _sql_scalar(uri: str, query: str) -> Any:
    sqlalchemy = importlib.import_module("sqlalchemy")
    engine = _engine(uri)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(query)).scalar()
    finally:
        engine.dispose()


MYSQL_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
MYSQL_BYTES = "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = DATABASE()"


def _mysql_bytes(uri: str) -> int:
    """The pages of the database's tables and indexes, counted afresh.

    InnoDB's ``information_schema.tables`` sizes are statistics, refreshed in the background (and
    cached for a day by MySQL 8): without ``ANALYZE TABLE`` a probe's inserts showed 0 bytes.
    """
    sqlalchemy = importlib.import_module("sqlalchemy")
    engine = _engine(uri)
    try:
        with engine.connect() as conn:
            tables = [row[0] for row in conn.execute(sqlalchemy.text(MYSQL_TABLES))]
            if tables:
                conn.execute(sqlalchemy.text("ANALYZE TABLE " + ", ".join("`%s`" % t for t in tables))).fetchall()
            return int(conn.execute(sqlalchemy.text(MYSQL_BYTES)).scalar() or 0)
    finally:
        engine.dispose()


def _sql_execute(uri: str, statement: str) -> None:
    sqlalchemy = importlib.import_module("sqlalchemy")
    engine = _engine(uri)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()


# --- helper processes -----------------------------------------------------------------------------

def _spawn(kind: str, args: Dict[str, Any], timeout: float = 600.0) -> Dict[str, Any]:
    """Run this file as a fresh interpreter doing ``kind``; its JSON answer.

    Only what measures a fresh interpreter (``startup``) is spawned; every other helper is forked
    (``_Helper``).
    """
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--args", json.dumps(args)]
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          universal_newlines=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["exit %d" % done.returncode]
        raise RuntimeError("helper %s failed: %s" % (kind, tail[0][:300]))
    answer: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answer["wall"] = wall
    return answer


# The store modules a helper needs, imported before the helpers' parent is forked.
STORE_MODULES = {"file": "mlflow.store.tracking.file_store", "sql": "mlflow.store.tracking.sqlalchemy_store"}
_ZYGOTE: List["_Zygote"] = []  # the process helpers are forked from, once made


class _Zygote:
    """A fork of the workload made once it has imported MLflow and before it touches the store.

    Every helper is a fork of it: a process of its own that has made no client and opened no store
    (its reads come from the store, not from anything the workload holds; its connections are its
    own), without the seconds a fresh interpreter takes to import MLflow.
    """

    def __init__(self) -> None:
        self.conn, theirs = multiprocessing.Pipe()
        self.pid = os.fork()
        if self.pid == 0:
            self.conn.close()
            _zygote_main(theirs)
        theirs.close()

    def fork(self, kind: str, args: Dict[str, Any]) -> Tuple[int, Any]:
        """A new helper doing ``kind``: its pid and the workload's end of the pipe to it."""
        mine, theirs = multiprocessing.Pipe()
        self.conn.send((kind, args))
        multiprocessing.reduction.send_handle(self.conn, theirs.fileno(), self.pid)
        theirs.close()
        pid: int = self.conn.recv()
        return pid, mine


def _zygote_main(conn: Any) -> None:
    """Fork a helper for each request, until the workload closes the pipe (it exits)."""
    while True:
        try:
            kind, args = conn.recv()
            fd = multiprocessing.reduction.recv_handle(conn)
        except EOFError:
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            conn.close()
            code = 1
            try:
                _helper_main(kind, args, multiprocessing.connection.Connection(fd))
                code = 0
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # not the workload's exit handlers
        os.close(fd)
        conn.send(pid)
        while True:  # reap the helpers that ended
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


def _fork_helpers(store: Store) -> None:
    """Import the store's module, then make the process helpers are forked from (where there is fork)."""
    if not hasattr(os, "fork"):
        return  # each helper is spawned
    try:
        importlib.import_module(STORE_MODULES["file" if store.scheme == "file" else "sql"])
    except ImportError:
        pass  # the helpers import what they need
    _ZYGOTE.append(_Zygote())


class _Forked:
    """A helper forked from the zygote: not this process's child, so it is known by its pid and pipe."""

    def __init__(self, pid: int, conn: Any) -> None:
        self.pid, self.conn = pid, conn
        self.exitcode = None

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def join(self, timeout: float = 60.0) -> None:
        """Wait until it has ended: its end of the pipe closed."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self.conn.poll(max(0.0, deadline - time.monotonic())):
                self.conn.recv_bytes()
        except (EOFError, OSError):
            pass


class _Helper:
    """A helper process doing ``kind`` and the pipe to it: it sends messages, then its answer."""

    def __init__(self, kind: str, store: Store, args: Dict[str, Any]) -> None:
        self.kind = kind
        # the variables the workload has now (it sets MLFLOW_ALLOW_FILE_STORE after the fork)
        args = dict(args, env={k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")})
        self.process: Any
        if _ZYGOTE:
            pid, self.conn = _ZYGOTE[0].fork(kind, args)
            self.process = _Forked(pid, self.conn)
        else:
            context = multiprocessing.get_context("spawn")
            self.conn, child = context.Pipe()
            self.process = context.Process(target=_helper_main, args=(kind, args, child), daemon=True)
            self.process.start()
            child.close()

    def receive(self, timeout: float = 600.0) -> Any:
        """The helper's next message; RuntimeError when it failed, died or said nothing in time."""
        if not self.conn.poll(timeout):
            self.process.kill()
            raise RuntimeError("helper %s said nothing in %.0f s" % (self.kind, timeout))
        try:
            message = self.conn.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError("helper %s died%s" % (
                self.kind, "" if self.process.exitcode is None else ": exit %s" % self.process.exitcode))
        if message[0] == "failed":
            self.process.join()
            raise RuntimeError("helper %s failed: %s" % (self.kind, message[1]))
        return message

    def send(self, message: Any) -> None:
        self.conn.send(message)

    def answer(self) -> Dict[str, Any]:
        """Its answer (after any messages it sends first, which are dropped); the process is reaped."""
        while True:
            message = self.receive()
            if message[0] == "done":
                self.process.join()
                self.conn.close()
                answer: Dict[str, Any] = message[1]
                return answer

    def kill(self) -> None:
        """SIGKILL; returns once it has ended."""
        self.process.kill()
        self.process.join()
        self.conn.close()


def _helper_main(kind: str, args: Dict[str, Any], conn: Any) -> None:
    """The helper process: runs ``HELPERS[kind]`` and sends ``("done", answer)`` or ``("failed", message)``."""
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:  # as the workload has them now
        del os.environ[key]
    os.environ.update(args.pop("env", {}))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        answer = HELPERS[kind](args, conn)
    except Exception as err:
        sys.stderr.write(traceback.format_exc())
        conn.send(("failed", _message(err)))
        return
    conn.send(("done", answer))


def _worker_startup(args: Dict[str, Any]) -> Dict[str, Any]:
    start = time.perf_counter()
    _mlflow()
    imported = time.perf_counter()
    client = _client(args["uri"])
    client.get_experiment_by_name("Default")
    return {"import": imported - start, "first_call": time.perf_counter() - imported}


def _float_text(x: Any) -> str:
    return repr(float(x)) if isinstance(x, (int, float)) else repr(x)


def _plain(x: Any) -> Any:
    """An int as it is, anything else (bytes from a store that kept a numpy scalar) as its repr."""
    return x if isinstance(x, int) else repr(x)


def _helper_readback(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    client = _client(args["uri"])
    out: Dict[str, Any] = {"metrics": {}, "params": {}}
    for key in args["metrics"]:
        try:
            history = client.get_metric_history(args["run_id"], key)
            out["metrics"][key] = [[_float_text(m.value), _plain(m.timestamp), _plain(m.step)]
                                  for m in history]
        except Exception as err:
            out["metrics"][key] = _message(err)
    params = client.get_run(args["run_id"]).data.params
    for key in args["params"]:
        out["params"][key] = params.get(key)
    return out


def _helper_log_points(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """One of N processes logging to one run at once (distinct steps per process)."""
    client = _client(args["uri"])
    errors: List[str] = []
    base = args["index"] * args["count"]
    _ready_set_go(conn)
    for i in range(args["count"]):
        try:
            client.log_metric(args["run_id"], "c", float(base + i), timestamp=TIMESTAMP + base + i, step=base + i)
        except Exception as err:
            errors.append(_message(err))
    return {"errors": errors}


def _helper_create_runs(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """One of N processes creating runs in one experiment at once."""
    client = _client(args["uri"])
    errors: List[str] = []
    _ready_set_go(conn)
    for i in range(args["count"]):
        try:
            run = client.create_run(args["experiment_id"])
            client.log_metric(run.info.run_id, "w", float(args["index"]), timestamp=TIMESTAMP, step=i)
        except Exception as err:
            errors.append(_message(err))
    return {"errors": errors}


def _ready_set_go(conn: Any) -> None:
    """Say the client is ready, then wait for the parent's word, so that every helper starts at once."""
    conn.send(("ready",))
    conn.recv()


def _helper_batches(args: Dict[str, Any], conn: Any) -> Dict[str, Any]:
    """Log batches of 1,000 metrics forever, saying when each starts and ends."""
    client = _client(args["uri"])
    i = 0
    while True:
        metrics = [_metric("b%d_%d" % (i, j), float(j), TIMESTAMP, 0) for j in range(BATCH)]
        conn.send(("start", i, time.time()))
        start = time.perf_counter()
        client.log_batch(args["run_id"], metrics=metrics)
        conn.send(("end", i, time.perf_counter() - start))
        i += 1


WORKERS: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]] = {"startup": _worker_startup}  # spawned
HELPERS: Dict[str, Callable[[Dict[str, Any], Any], Dict[str, Any]]] = {
    "readback": _helper_readback, "log-points": _helper_log_points, "create-runs": _helper_create_runs,
    "batches": _helper_batches,
}


# --- capacity and efficiency ----------------------------------------------------------------------

def probe_capacity(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    """Throughput, latency at growing sizes, bytes and files per entity, client start-up."""
    rows: List[Row] = []
    reps = scale["reps"]
    steps: List[Tuple[str, Callable[[], List[Row]]]] = [
        ("startup", lambda: _startup(store, scale)),
        ("create_run", lambda: _create_runs(client, scale)),
        ("log_metric", lambda: _log_metric(client, scale)),
        ("log_batch", lambda: _log_batch(client, reps)),
        ("search_runs", lambda: _search_growth(store, client, scale)),
        ("get_metric_history", lambda: _history_growth(store, client, scale)),
        ("disk", lambda: _disk(store, client, scale)),
    ]
    for name, step in steps:
        rows.extend(_guarded(name, step))
    return rows


SECONDS: Dict[str, float] = {}  # wall time of each probe step, for the document


def _guarded(name: str, step: Callable[[], List[Row]]) -> List[Row]:
    """The step's rows; an exception is one ``error`` row (the other steps go on)."""
    start = time.perf_counter()
    try:
        return step()
    except Exception as err:
        sys.stderr.write(traceback.format_exc())
        return [_row(name, "", outcome="error", detail=_message(err))]
    finally:
        SECONDS[name] = round(time.perf_counter() - start, 3)


def _startup(store: Store, scale: Dict[str, Any]) -> List[Row]:
    answers = [_spawn("startup", {"uri": store.uri}) for _ in range(scale["startups"])]
    return [
        _measured("startup", "import mlflow", [a["import"] for a in answers], "s"),
        _measured("startup", "first call (get_experiment_by_name)", [a["first_call"] for a in answers], "s",
                  "client construction and the store's first query, in a fresh process"),
        _measured("startup", "process wall time", [a["wall"] for a in answers], "s",
                  "interpreter start to answer, including the two above"),
    ]


def _create_runs(client: Any, scale: Dict[str, Any]) -> List[Row]:
    exp = _new_experiment(client, "create")
    count = scale["per_point"]
    samples = [count / _timed(lambda: [client.create_run(exp) for _ in range(count)]) for _ in range(scale["reps"])]
    return [_measured("create_run", "runs created per second", samples, "runs/s", "%d runs per repetition" % count)]


def _log_metric(client: Any, scale: Dict[str, Any]) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "log-metric")).info.run_id
    count = scale["per_point"]
    samples = []
    for rep in range(scale["reps"]):
        samples.append(_timed(lambda: [client.log_metric(run_id, "m", 0.5, timestamp=TIMESTAMP + i,
                                                         step=rep * count + i) for i in range(count)]) / count)
    return [_measured("log_metric", "seconds per point", samples, "s", "%d calls per repetition, one key" % count)]


def _log_batch(client: Any, reps: int) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "log-batch")).info.run_id
    samples = []
    for rep in range(reps):
        metrics = [_metric("k%d" % j, float(j), TIMESTAMP, rep) for j in range(BATCH)]
        samples.append(_timed(lambda: client.log_batch(run_id, metrics=metrics)))
    return [_measured("log_batch", "seconds per batch of 1,000 metrics", samples, "s", "1,000 keys, one step each"),
            _measured("log_batch", "metrics per second", [BATCH / s for s in samples], "metrics/s")]


def _search_growth(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    exp = _new_experiment(client, "search")
    rows: List[Row] = []
    made = 0
    fill: List[float] = []
    for size in scale["runs"]:
        start = time.perf_counter()
        while made < size:
            run_id = client.create_run(exp).info.run_id
            client.log_batch(run_id, metrics=[_metric("m", (made * 37 % 100) / 100.0, TIMESTAMP, 0)],
                             params=[_param("p", "x" if made % 2 else "y")])
            made += 1
        if made:
            fill.append((time.perf_counter() - start))
        found: List[int] = []

        def once() -> None:
            found.append(len(_search(client, exp)))
        samples = [_timed(once) for _ in range(scale["reps"])]
        rows.append(_measured("search_runs", "latency at %d runs" % size, samples, "s",
                              "filter %r, order by %s, max_results 100; %d runs returned" % (FILTER, ORDER_BY[0], found[0]),
                              size=size))
    rows.append(_row("search_runs", "runs filled (create_run + log_batch each)", _g(made / sum(fill)), "runs/s",
                     made, "", "measured", "one pass, no repetitions"))
    return rows


def _history_growth(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    for size in scale["points"]:
        run_id = client.create_run(_new_experiment(client, "history")).info.run_id
        for first in range(0, size, BATCH):
            client.log_batch(run_id, metrics=[_metric("h", float(i), TIMESTAMP + i, i)
                                              for i in range(first, min(size, first + BATCH))])
        got: List[int] = []

        def once() -> None:
            got.append(len(client.get_metric_history(run_id, "h")))
        samples = [_timed(once) for _ in range(scale["reps"])]
        rows.append(_measured("get_metric_history", "latency at %d points" % size, samples, "s",
                              "one key; %d points returned" % got[0], size=size))
    return rows


def _disk(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    rows = _bytes_and_files(store, client, scale, allocated=False)
    if store.scheme == "file":
        rows += [dict(r, parameter=r["parameter"].replace("bytes", "allocated bytes"),
                      detail="st_blocks x 512 of the files: what the file system gives them")
                 for r in _bytes_and_files(store, client, scale, allocated=True) if r["unit"] == "B"]
    return rows


def _bytes_and_files(store: Store, client: Any, scale: Dict[str, Any], allocated: bool) -> List[Row]:
    rows: List[Row] = []
    count = scale["params"]
    exp = _new_experiment(client, "disk")
    before = store.bytes_used(allocated)
    files_before = store.files_used() if store.scheme == "file" else 0
    run_ids = [client.create_run(exp).info.run_id for _ in range(count)]
    after_runs = store.bytes_used(allocated)
    rows.append(_row("disk", "bytes per run", _g((after_runs - before) / count), "B", count, "", "measured",
                     "a run with the tags the client sets, no data"))
    if store.scheme == "file":
        rows.append(_row("disk", "files per run", _g((store.files_used() - files_before) / count), "files", count,
                         "", "measured", "meta.yaml and one file per tag"))
    run_id = run_ids[0]
    files_mid = store.files_used() if store.scheme == "file" else 0
    for first in range(0, count, 100):  # MAX_PARAMS_TAGS_PER_BATCH
        client.log_batch(run_id, params=[_param("param_%05d" % i, "v%05d" % i) for i in range(first, first + 100)])
    after_params = store.bytes_used(allocated)
    rows.append(_row("disk", "bytes per param", _g((after_params - after_runs) / count), "B", count, "", "measured",
                     "key param_NNNNN, value vNNNNN"))
    if store.scheme == "file":
        rows.append(_row("disk", "files per param", _g((store.files_used() - files_mid) / count), "files", count,
                         "", "measured"))
    points = scale["points"][-1]
    for first in range(0, points, BATCH):
        client.log_batch(run_id, metrics=[_metric("d", i * 0.001, TIMESTAMP + i, i)
                                          for i in range(first, min(points, first + BATCH))])
    rows.append(_row("disk", "bytes per metric point", _g((store.bytes_used(allocated) - after_params) / points), "B", points,
                     "", "measured", "one key, values i/1000, steps 0..n-1"))
    if store.scheme == "sqlite":
        rows[-1]["detail"] += "; SQLite grows by pages and never shrinks"
    if store.scheme == "mysql":
        for row in rows:  # InnoDB allocates 16 KiB pages, then 1 MiB extents: steps, not bytes
            row["detail"] += "; InnoDB's pages after ANALYZE TABLE: coarse at small counts"
    return rows


# --- precision ------------------------------------------------------------------------------------

def _metric_cases() -> List[Tuple[str, Any, int, Any]]:
    """(name, value, timestamp, step) of every metric round trip."""
    cases: List[Tuple[str, Any, int, Any]] = [
        ("float64 max", sys.float_info.max, TIMESTAMP, 0),
        ("float64 min normal", sys.float_info.min, TIMESTAMP, 0),
        ("float64 min subnormal", 5e-324, TIMESTAMP, 0),
        ("-0.0", -0.0, TIMESTAMP, 0),
        ("0.1", 0.1, TIMESTAMP, 0),
        ("1/3", 1 / 3, TIMESTAMP, 0),
        ("nan", float("nan"), TIMESTAMP, 0),
        ("+inf", float("inf"), TIMESTAMP, 0),
        ("-inf", float("-inf"), TIMESTAMP, 0),
        ("int 2**53+1", 2 ** 53 + 1, TIMESTAMP, 0),
        ("int 2**64", 2 ** 64, TIMESTAMP, 0),
        ("bool True", True, TIMESTAMP, 0),
        ("timestamp 0", 1.0, 0, 0),
        ("timestamp -1", 1.0, -1, 0),
        ("timestamp 2**63-1", 1.0, 2 ** 63 - 1, 0),
        ("timestamp 2**63", 1.0, 2 ** 63, 0),
        ("step -2**63", 1.0, TIMESTAMP, -2 ** 63),
        ("step 2**63-1", 1.0, TIMESTAMP, 2 ** 63 - 1),
        ("step 2**63", 1.0, TIMESTAMP, 2 ** 63),
    ]
    try:
        import numpy as np
    except ImportError:
        return cases
    cases += [
        ("numpy float32 0.1", np.float32(0.1), TIMESTAMP, 0),
        ("numpy float16 0.1", np.float16(0.1), TIMESTAMP, 0),
        ("numpy int64 2**62+1", np.int64(2 ** 62 + 1), TIMESTAMP, 0),
        ("numpy 0-d array 0.1", np.array(0.1), TIMESTAMP, 0),
        ("numpy float64 nan", np.float64("nan"), TIMESTAMP, 0),
        ("numpy step int64", 1.0, TIMESTAMP, np.int64(7)),
    ]
    return cases


def _exact_value(value: Any) -> Any:
    """What the caller meant, as an exact Python number (numpy scalars and 0-d arrays unwrapped)."""
    if hasattr(value, "item"):
        return value.item()
    return value


def _same_number(stored_text: str, meant: Any) -> bool:
    try:
        stored = float(stored_text)
    except ValueError:
        return False
    if isinstance(meant, float) and math.isnan(meant):
        return math.isnan(stored)
    if stored != meant:
        return False
    return not (stored == 0 and math.copysign(1, stored) != math.copysign(1, float(meant)))


def _max_param_length() -> Optional[int]:
    try:
        return int(importlib.import_module("mlflow.utils.validation").MAX_PARAM_VAL_LENGTH)
    except (ImportError, AttributeError):
        return None


def _param_cases(limit: Optional[int]) -> List[Tuple[str, str, str]]:
    """(name, key, value) of every param round trip."""
    cases = [
        ("unicode value", "unicode_value", "na\u00efve \u2713 \u65e5\u672c\u8a9e \U0001F680"),
        ("newline in value", "newline_value", "line1\nline2"),
        ("empty value", "empty_value", ""),
        ("key with space", "with space", "v"),
        ("key with slash", "with/slash", "v"),
        ("key with colon", "with:colon", "v"),
        ("key with dots and dash", "dots.and-dash_", "v"),
        ("unicode key", "cl\u00e9_\u043a\u043b\u044e\u0447", "v"),
        ("key in lower case", "case_key", "lower"),
        ("the same key in upper case", "CASE_KEY", "upper"),  # one key under a case-blind collation
        ("key ../escape", "../escape", "v"),
        ("key with double slash", "a//b", "v"),
        ("key of 250 chars", "k" * 250, "v"),
        ("key of 251 chars", "k" * 251, "v"),
        ("empty key", "", "v"),
    ]
    if limit:
        cases += [("value at MAX_PARAM_VAL_LENGTH", "at_limit", "a" * limit),
                  ("value at MAX_PARAM_VAL_LENGTH+1", "past_limit", "b" * (limit + 1))]
    return cases


def probe_precision(store: Store, client: Any) -> List[Row]:
    """Log each value, read it back from a fresh process (a helper: its own client), compare."""
    rows: List[Row] = []
    limit = _max_param_length()
    rows.append(_row("precision", "MAX_PARAM_VAL_LENGTH", limit if limit is not None else "", "chars", "", "",
                     "measured" if limit is not None else "error", "mlflow.utils.validation"))
    run_id = client.create_run(_new_experiment(client, "precision")).info.run_id
    metric_keys: Dict[str, str] = {}
    logged: Dict[str, Tuple[str, str]] = {}  # name -> (error, warning)
    cases = _metric_cases()
    for i, (name, value, timestamp, step) in enumerate(cases):
        key = "p%02d" % i
        metric_keys[name] = key
        with _Warned() as warned:
            try:
                client.log_metric(run_id, key, value, timestamp=timestamp, step=step)
                logged[name] = ("", warned.text())
            except Exception as err:
                logged[name] = (_message(err), warned.text())
    params = _param_cases(limit)
    if limit:  # log_param and log_batch validated differently in some releases
        params.append(("value at MAX_PARAM_VAL_LENGTH+1 through log_batch", "past_limit_batch", "c" * (limit + 1)))
    for name, key, value in params:
        with _Warned() as warned:
            try:
                if "log_batch" in name:
                    client.log_batch(run_id, params=[_param(key, value)])
                else:
                    client.log_param(run_id, key, value)
                logged["param " + name] = ("", warned.text())
            except Exception as err:
                logged["param " + name] = (_message(err), warned.text())
    back = _Helper("readback", store, {"uri": store.uri, "run_id": run_id, "metrics": list(metric_keys.values()),
                                "params": [key for _, key, _ in params]}).answer()
    for name, value, timestamp, step in cases:
        error, warned_text = logged[name]
        history = back["metrics"][metric_keys[name]]
        rows.append(_metric_verdict(name, value, timestamp, step, error, warned_text, history))
    for name, key, value in params:
        error, warned_text = logged["param " + name]
        rows.append(_param_verdict(name, value, error, warned_text, back["params"].get(key), limit))
    return rows


def _metric_verdict(name: str, value: Any, timestamp: int, step: int, error: str, warned: str,
                    history: Any) -> Row:
    probe = "precision metric"
    if error:
        return _row(probe, name, "", "", 1, "", "rejected", error)
    if isinstance(history, str):
        return _row(probe, name, "", "", 1, "", "error", "logged, but reading back failed: " + history)
    if len(history) != 1:
        return _row(probe, name, "", "", 1, "", "changed", "logged once, read back %d points: %s" % (len(history), history))
    stored_text, stored_ts, stored_step = history[0]
    meant = _exact_value(value)
    differences: List[Tuple[str, Any]] = []  # (what differs, what was stored)
    if not _same_number(stored_text, meant):
        differences.append(("value %s stored as %s" % (_show(meant), stored_text), stored_text))
    if stored_ts != _exact_value(timestamp):
        differences.append(("timestamp %s stored as %s" % (timestamp, stored_ts), stored_ts))
    if stored_step != _exact_value(step):
        differences.append(("step %s stored as %s" % (step, stored_step), stored_step))
    detail = "; ".join(d for d, _ in differences) or "read back %s" % stored_text
    if warned:
        detail += "; warned: " + warned
    # the value cell holds what came back in place of what was meant: the value, else the timestamp or step
    shown = differences[0][1] if differences else stored_text
    return _row(probe, name, shown, "", 1, "", "changed" if differences else "exact", detail)


def _show(x: Any) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


def _param_verdict(name: str, value: str, error: str, warned: str, stored: Optional[str],
                   limit: Optional[int]) -> Row:
    probe = "precision param"
    if error:
        return _row(probe, name, "", "chars", 1, "", "rejected", error)
    if stored == value:
        return _row(probe, name, len(value), "chars", 1, "", "exact", ("warned: " + warned) if warned else "")
    if stored is None:
        return _row(probe, name, "", "chars", 1, "", "changed", "accepted, but not found under its key on reading back")
    how = "truncated to %d chars" % len(stored) if value.startswith(stored) else "stored as %r" % stored[:80]
    return _row(probe, name, len(stored), "chars", 1, "", "changed",
                how + ("; warned: " + warned if warned else "; no warning"))


# --- integrity ------------------------------------------------------------------------------------

def probe_integrity(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    for name, step in (("param re-logged", lambda: _relog(store, client)),
                       ("metric point repeated", lambda: _repeat_point(client)),
                       ("concurrent writers, one run", lambda: _concurrent_run(store, client, scale)),
                       ("concurrent writers, one experiment", lambda: _concurrent_experiment(store, client, scale)),
                       ("client killed mid-log_batch", lambda: _killed_batch(store, client)),
                       ("half-written file", lambda: _torn_files(store, client))):
        rows.extend(_guarded(name, step))
    return rows


def _relog(store: Store, client: Any) -> List[Row]:
    rows: List[Row] = []
    run_id = client.create_run(_new_experiment(client, "relog")).info.run_id
    for label, first, second in (("another value", "1", "2"), ("the same value", "1", "1")):
        key = "relog_" + label.split()[-2]
        client.log_param(run_id, key, first)
        try:
            client.log_param(run_id, key, second)
            error = ""
        except Exception as err:
            error = _message(err)
        stored = _client(store.uri).get_run(run_id).data.params.get(key)
        if error:
            outcome = "rejected"
        elif stored == second and first != second:
            outcome = "overwritten"
        else:
            outcome = "accepted" if first == second else "ignored"
        rows.append(_row("param re-logged", label, stored, "", 1, "", outcome,
                         "logged %r then %r; stored %r%s" % (first, second, stored, ("; " + error) if error else "")))
    return rows


def _repeat_point(client: Any) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "repeat")).info.run_id
    for _ in range(2):
        client.log_metric(run_id, "r", 0.5, timestamp=TIMESTAMP, step=3)
    history = client.get_metric_history(run_id, "r")
    outcome = "kept" if len(history) == 2 else "dropped" if len(history) == 1 else "changed"
    rows = [_row("metric point repeated", "same key, value, timestamp and step twice", len(history), "points", 2, "",
                 outcome, "history holds %d points" % len(history))]
    run_id = client.create_run(_new_experiment(client, "repeat-batch")).info.run_id
    try:
        client.log_batch(run_id, metrics=[_metric("r", 0.5, TIMESTAMP, 3)] * 2)
        history = client.get_metric_history(run_id, "r")
        outcome = "kept" if len(history) == 2 else "dropped" if len(history) == 1 else "changed"
        rows.append(_row("metric point repeated", "twice in one log_batch", len(history), "points", 2, "", outcome,
                         "history holds %d points" % len(history)))
    except Exception as err:
        rows.append(_row("metric point repeated", "twice in one log_batch", "", "points", 2, "", "rejected",
                         _message(err)))
    return rows


def _gather(kind: str, store: Store, common: Dict[str, Any], workers: int, count: int) -> List[str]:
    """Run ``workers`` helpers at once (all start at the same instant); their errors."""
    helpers = [_Helper(kind, store, dict(common, uri=store.uri, index=index, count=count)) for index in range(workers)]
    errors: List[str] = []
    ready = []
    for helper in helpers:  # every helper has made its client
        try:
            helper.receive()
            ready.append(helper)
        except RuntimeError as err:
            errors.append("process died: " + str(err)[:200])
    for helper in ready:
        helper.send("go")
    for helper in ready:
        try:
            errors.extend(helper.answer()["errors"])
        except RuntimeError as err:
            errors.append("process died: " + str(err)[:200])
    return errors


def _first_kinds(errors: List[str]) -> str:
    kinds: Dict[str, int] = {}
    for e in errors:
        kinds[e[:160]] = kinds.get(e[:160], 0) + 1
    return "; ".join("%dx %s" % (n, e) for e, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:3])


def _concurrent_run(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    workers, count = scale["workers"], scale["per_worker"]
    run_id = client.create_run(_new_experiment(client, "concurrent-run")).info.run_id
    errors = _gather("log-points", store, {"run_id": run_id}, workers, count)
    history = _client(store.uri).get_metric_history(run_id, "c")
    expected = workers * count
    steps = [m.step for m in history]
    distinct = len(set(steps))
    probe = "concurrent writers, one run"
    setting = "%d processes x %d log_metric calls, distinct steps" % (workers, count)
    return [
        _row(probe, "points expected", expected, "points", workers, "", "measured", setting),
        _row(probe, "points lost", expected - distinct, "points", workers, "",
             "lost" if expected > distinct else "complete", setting),
        _row(probe, "duplicate points", len(steps) - distinct, "points", workers, "",
             "duplicated" if len(steps) > distinct else "none"),
        _row(probe, "client errors", len(errors), "calls", workers, "", "errors" if errors else "none",
             _first_kinds(errors)),
    ]


def _concurrent_experiment(store: Store, client: Any, scale: Dict[str, Any]) -> List[Row]:
    workers, count = scale["workers"], scale["per_worker"]
    exp = _new_experiment(client, "concurrent-exp")
    errors = _gather("create-runs", store, {"experiment_id": exp}, workers, count)
    runs = _all_runs(_client(store.uri), exp)
    expected = workers * count
    with_metric = sum(1 for r in runs if "w" in r.data.metrics)
    probe = "concurrent writers, one experiment"
    setting = "%d processes x %d create_run + log_metric" % (workers, count)
    return [
        _row(probe, "runs expected", expected, "runs", workers, "", "measured", setting),
        _row(probe, "runs lost", expected - with_metric, "runs", workers, "",
             "lost" if with_metric < expected else "complete",
             "%d runs found, %d with their metric" % (len(runs), with_metric)),
        _row(probe, "client errors", len(errors), "calls", workers, "", "errors" if errors else "none",
             _first_kinds(errors)),
    ]


def _killed_batch(store: Store, client: Any) -> List[Row]:
    run_id = client.create_run(_new_experiment(client, "killed")).info.run_id
    helper = _Helper("batches", store, {"uri": store.uri, "run_id": run_id})
    durations: List[float] = []
    victim = -1
    delay = 0.0
    while True:
        try:
            word, index, number = helper.receive()
        except RuntimeError:
            break  # the loop ended: a batch raised, or the helper died
        if word == "end":
            durations.append(float(number))
        elif int(index) == 2:
            victim = 2
            delay = statistics.median(durations) / 2  # half-way through, by the two batches before
            time.sleep(delay)
            break
    helper.kill()  # SIGKILL
    if victim < 0:
        return [_row("client killed mid-log_batch", "", outcome="error", detail="the batch loop ended early")]
    probe = "client killed mid-log_batch"
    setting = "SIGKILL %.0f ms into a batch of 1,000 metrics (a batch took %.0f ms)" % (
        delay * 1000, statistics.median(durations) * 1000)
    rows: List[Row] = []
    try:
        keys = list(_client(store.uri).get_run(run_id).data.metrics)
        rows.append(_row(probe, "run readable after the kill", "", "", 1, "", "readable", setting))
    except Exception as err:
        rows.append(_row(probe, "run readable after the kill", "", "", 1, "", "error",
                         "get_run fails: " + _message(err)))
        if store.scheme != "file":
            return rows
        keys = _file_metric_keys(store, run_id)
    stored = sum(1 for k in keys if k.startswith("b%d_" % victim))
    earlier = sum(1 for k in keys if k.startswith(("b0_", "b1_")))
    outcome = "partial" if 0 < stored < BATCH else "atomic"
    rows.append(_row(probe, "points of the interrupted batch stored", stored, "points", BATCH, "", outcome,
                     "%s; the 2 batches before: %d of 2,000 points stored%s" % (
                         setting, earlier, "; counted from the metric files" if store.scheme == "file" else "")))
    return rows


def _file_metric_keys(store: Store, run_id: str) -> List[str]:
    """Metric keys whose file holds a whole line (a FileStore read past the client that cannot read it)."""
    for folder, _, files in os.walk(store.file_root):
        if os.path.basename(folder) == "metrics" and os.path.basename(os.path.dirname(folder)) == run_id:
            keys = []
            for name in files:
                with open(os.path.join(folder, name)) as fh:
                    if fh.read().endswith("\n"):
                        keys.append(name)
            return keys
    return []


def _torn_files(store: Store, client: Any) -> List[Row]:
    if store.scheme != "file":
        return []
    exp = _new_experiment(client, "torn")
    torn_metric, torn_meta, whole = (client.create_run(exp).info.run_id for _ in range(3))
    for run_id in (torn_metric, torn_meta, whole):
        client.log_batch(run_id, metrics=[_metric("t", float(i), TIMESTAMP + i, i) for i in range(10)])
    root = store.file_root
    metric_file = os.path.join(root, exp, torn_metric, "metrics", "t")
    with open(metric_file, "a") as fh:
        fh.write("17000000")  # a writer killed inside its line: no value, no step, no newline
    meta = os.path.join(root, exp, torn_meta, "meta.yaml")
    with open(meta, "rb") as fh:
        data = fh.read()
    with open(meta, "wb") as fh:
        fh.write(data[: len(data) // 2])
    rows: List[Row] = []
    fresh = _client(store.uri)
    probe = "half-written file"
    try:
        history = fresh.get_metric_history(torn_metric, "t")
        rows.append(_row(probe, "metric file with a torn last line: get_metric_history", len(history), "points", 10,
                         "", "read", "%d points read back of 10 whole lines" % len(history)))
    except Exception as err:
        rows.append(_row(probe, "metric file with a torn last line: get_metric_history", "", "points", 10, "",
                         "error", _message(err)))
    try:
        fresh.get_run(torn_meta)
        rows.append(_row(probe, "run meta.yaml cut in half: get_run", "", "", 1, "", "read", "no error"))
    except Exception as err:
        rows.append(_row(probe, "run meta.yaml cut in half: get_run", "", "", 1, "", "error", _message(err)))
    with _Warned() as warned:
        try:
            found = {r.info.run_id for r in _all_runs(fresh, exp)}
            seen = "the torn run %s" % ("listed" if torn_meta in found else "left out")
            outcome = "skipped" if torn_meta not in found and whole in found else "read"
            rows.append(_row(probe, "run meta.yaml cut in half: search_runs", len(found), "runs", 3, "", outcome,
                             "%d of 3 runs listed, %s%s" % (len(found), seen,
                                                            ("; warned: " + warned.text()) if warned.text() else "")))
        except Exception as err:
            rows.append(_row(probe, "run meta.yaml cut in half: search_runs", "", "runs", 3, "", "error",
                             "one torn run breaks the listing: " + _message(err)))
    return rows


# --- main -----------------------------------------------------------------------------------------

def _file_store_gate(store: Store) -> List[Row]:
    """Whether this release opens a FileStore without MLFLOW_ALLOW_FILE_STORE; then allow it."""
    if store.scheme != "file":
        return []
    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    probe_dir = tempfile.mkdtemp(prefix="gate-")
    try:
        _client("file://" + probe_dir).get_experiment_by_name("Default")
        row = _row("file store gate", "without MLFLOW_ALLOW_FILE_STORE", "", "", 1, "", "accepted",
                   "the FileStore opens without the variable")
    except Exception as err:
        row = _row("file store gate", "without MLFLOW_ALLOW_FILE_STORE", "", "", 1, "", "refused", _message(err, 1000))
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # so the probe goes on, here and in its helpers
    return [row]


def run(uri: str, scale_name: str, probes: Sequence[str]) -> Dict[str, Any]:
    """Every probe asked, on a fresh store at ``uri``; the JSON document."""
    started = time.perf_counter()
    scale = SCALES[scale_name]
    store = Store(uri)
    mlflow = _mlflow()
    if set(probes) & {"precision", "integrity"}:
        _fork_helpers(store)  # before the store is touched
    fresh = store.make_fresh()
    rows: List[Row] = []
    facts: Dict[str, str] = {}
    try:
        rows.extend(_file_store_gate(store))
        client = _client(store.uri)
        client.get_experiment_by_name("Default")  # creates the schema of a new SQL store
        facts = store.facts()
        if "capacity" in probes:
            rows.extend(probe_capacity(store, client, scale))
        if "precision" in probes:
            rows.extend(_guarded("precision", lambda: probe_precision(store, client)))
        if "integrity" in probes:
            rows.extend(probe_integrity(store, client, scale))
    finally:
        store.drop()
    return {"mlflow": mlflow.__version__, "python": "%d.%d.%d" % sys.version_info[:3], "scheme": store.scheme,
            "scale": scale_name, "store": fresh or "fresh store made by the driver", "facts": facts,
            "rows": rows, "seconds": time.perf_counter() - started, "seconds_by_step": SECONDS}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", help="tracking URI of a fresh store (file://, sqlite:///, postgresql://...)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--probes", default=",".join(PROBES))
    parser.add_argument("--out", help="where the JSON goes (default: stdout)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--args", default="{}", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if ns.worker:
        answer = WORKERS[ns.worker](json.loads(ns.args))
        print(json.dumps(answer))
        return 0
    if not ns.backend:
        parser.error("--backend is required")
    probes = [p for p in ns.probes.split(",") if p]
    unknown = set(probes) - set(PROBES)
    if unknown:
        parser.error("unknown probes: %s (choose from %s)" % (", ".join(sorted(unknown)), ", ".join(PROBES)))
    document = run(ns.backend, ns.scale, probes)
    text = json.dumps(document, indent=1)
    if ns.out:
        with open(ns.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
