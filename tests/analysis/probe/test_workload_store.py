"""The store under test: drivers, a fresh database, its size, and real PostgreSQL and MariaDB servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from analysis.probe import ProbeSettings, probe
from analysis.probe.ftypes import ProbeRow
from tests.analysis.probe.support import MAX_FLOAT, mysql_query, only_row, release_of
import probe_store


@pytest.mark.parametrize(("uri", "named"), [
    pytest.param("postgresql://u@h:5432/db", "postgresql+psycopg2://u@h:5432/db", id="postgresql"),
    # a plain mysql:// made SQLAlchemy import MySQLdb, which no release environment has
    pytest.param("mysql://u@h:3306/db", "mysql+pymysql://u@h:3306/db", id="mysql"),
    pytest.param("mysql+mysqldb://u@h/db", "mysql+mysqldb://u@h/db", id="driver-named"),
    pytest.param("sqlite:////tmp/x.db", "sqlite:////tmp/x.db", id="sqlite"),
    pytest.param("file:///tmp/mlruns", "file:///tmp/mlruns", id="file"),
])
def test_server_uris_get_the_driver_the_environments_install(uri: str, named: str) -> None:
    assert probe_store._with_driver(uri) == named


def test_a_fresh_mysql_database_is_utf8mb4_whatever_the_server_default() -> None:
    assert probe_store.create_database("mysql", "mlflow_probe_x") == "CREATE DATABASE mlflow_probe_x CHARACTER SET utf8mb4"
    assert probe_store.create_database("postgresql", "mlflow_probe_x") == "CREATE DATABASE mlflow_probe_x"


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_store_facts(postgres: str, tmp_path: Path) -> None:
    summary = probe(ProbeSettings(out_dir=tmp_path, env_cache=tmp_path / "envs", releases=("current",),
                                  backends=(postgres,), scale="small", probes=("precision", "integrity")))
    assert summary.failures == ()
    assert "fresh database mlflow_probe_" in str(summary.runs[0]["store"])
    assert "PostgreSQL" in str(summary.runs[0]["facts"])
    nan = only_row(summary, "postgresql", "precision metric", "nan")
    assert nan.outcome == "exact"
    inf = only_row(summary, "postgresql", "precision metric", "+inf")
    assert (inf.outcome, inf.value) == ("changed", MAX_FLOAT)
    repeated = only_row(summary, "postgresql", "metric point repeated", "same key, value, timestamp and step twice")
    assert (repeated.outcome, repeated.value) == ("dropped", "1")
    assert only_row(summary, "postgresql", "param re-logged", "another value").outcome == "rejected"
    assert only_row(summary, "postgresql", "client killed mid-log_batch",
                "points of the interrupted batch stored").outcome == "atomic"
    assert only_row(summary, "postgresql", "concurrent writers, one run", "points lost").outcome == "complete"
    assert only_row(summary, "postgresql", "precision param", "the same key in upper case").outcome == "exact"


MYSQL = pytest.mark.xdist_group("probe-mysql")  # the tests of one server on one worker


@pytest.mark.slow
@pytest.mark.mysql
@MYSQL
def test_mysql_store_facts(mysql: str, tmp_path: Path) -> None:
    summary = probe(ProbeSettings(out_dir=tmp_path, env_cache=tmp_path / "envs", releases=("current",),
                                  backends=(mysql,), scale="small", probes=("precision", "integrity")))
    assert summary.failures == ()
    assert not [r for r in summary.rows if r.outcome == "error"]
    assert "fresh database mlflow_probe_" in str(summary.runs[0]["store"])
    assert mysql_query(mysql, r"SHOW DATABASES LIKE 'mlflow\_probe\_%'") == []  # dropped afterwards
    facts = summary.runs[0]["facts"]
    assert isinstance(facts, dict) and "MariaDB" in facts["server"]
    # the server defaults to latin1 (the fixture reads no configuration): the probe's database is utf8mb4
    assert facts["collation"].startswith("utf8mb4_") and facts["collation"].endswith("_ci")

    def one(probe_name: str, parameter: str) -> ProbeRow:
        return only_row(summary, "mysql", probe_name, parameter)

    # as SQLite and PostgreSQL: NaN kept (MLflow's is_nan column), +-inf clamped, -0.0 loses its sign
    for value in ("nan", "numpy float64 nan"):
        assert one("precision metric", value).outcome == "exact"
    for value, clamped in (("+inf", MAX_FLOAT), ("-inf", "-" + MAX_FLOAT)):
        assert (one("precision metric", value).outcome, one("precision metric", value).value) == ("changed", clamped)
    assert (one("precision metric", "-0.0").outcome, one("precision metric", "-0.0").value) == ("changed", "0.0")
    for value in ("float64 max", "float64 min subnormal", "0.1", "1/3"):  # DOUBLE holds every float64
        assert one("precision metric", value).outcome == "exact"
    assert one("precision metric", "int 2**53+1").value == "9007199254740992.0"
    # BIGINT steps and timestamps; 2**63 is refused ("Out of range") on a strict connection, but
    # clamped to 2**63-1 on the one MLflow left with sql_mode='' after creating the Default experiment
    for value in ("step -2**63", "step 2**63-1", "timestamp 2**63-1"):
        assert one("precision metric", value).outcome == "exact"
    for value in ("step 2**63", "timestamp 2**63"):
        past = one("precision metric", value)
        assert (past.outcome == "rejected" and "Out of range value" in past.detail) or (
            past.outcome, past.value) == ("changed", "9223372036854775807"), past
    # pymysql sends a numpy int64 step as a number (SQLite stores its bytes, psycopg2 refuses it)
    assert one("precision metric", "numpy step int64").outcome == "exact"
    for value in ("unicode value", "unicode key", "newline in value", "empty value", "key of 250 chars",
                  "value at MAX_PARAM_VAL_LENGTH", "key in lower case"):
        assert one("precision param", value).outcome == "exact", value
    # the collation is case-blind: a key differing only in case is the same row of the primary key
    upper = one("precision param", "the same key in upper case")
    assert upper.outcome == "rejected" and "Duplicate entry" in upper.detail
    if release_of(summary) >= Version("2.11"):
        assert one("precision param", "value at MAX_PARAM_VAL_LENGTH+1").value == "6000"

    repeated = one("metric point repeated", "same key, value, timestamp and step twice")
    assert (repeated.outcome, repeated.value) == ("dropped", "1")
    assert one("metric point repeated", "twice in one log_batch").outcome == "dropped"
    assert (one("param re-logged", "another value").outcome, one("param re-logged", "another value").value) == (
        "rejected", "1")
    assert one("param re-logged", "the same value").outcome == "accepted"
    assert one("client killed mid-log_batch", "points of the interrupted batch stored").outcome == "atomic"
    assert one("client killed mid-log_batch", "run readable after the kill").outcome == "readable"
    assert one("concurrent writers, one run", "points lost").outcome == "complete"
    assert one("concurrent writers, one experiment", "runs lost").outcome == "complete"


@pytest.mark.slow
@pytest.mark.mysql
@MYSQL
def test_mysql_store_size_is_counted_after_analyze(mysql: str) -> None:
    """InnoDB's sizes in information_schema are statistics: without ANALYZE TABLE they stayed 0."""
    store = probe_store.Store(mysql)
    store.make_fresh()
    try:
        mysql_query(store.uri, "CREATE TABLE t (k INT PRIMARY KEY, v VARCHAR(200))")
        empty = store.bytes_used()
        rows = ", ".join(f"({i}, '{'x' * 200}')" for i in range(2000))
        mysql_query(store.uri, f"INSERT INTO t VALUES {rows}")
        assert store.bytes_used() - empty >= 2000 * 200
    finally:
        store.drop()
    assert mysql_query(mysql, r"SHOW DATABASES LIKE 'mlflow\_probe\_%'") == []
