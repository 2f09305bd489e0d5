"""The store under test: its URI, its size on disk or on a server, a fresh database and the SQL it takes."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import urllib.parse
import uuid
from typing import Any, Dict, Tuple

from probe_common import _message


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
