"""The probe: MLflow's known storage facts, rediscovered from the probe's own output.

Four real targets: the MLflow of the test environment (``current``, small scale, FileStore and
SQLite), MLflow 1.30.1 in an environment built by uv (cached under the env cache between runs;
marker ``uv_env``), and a PostgreSQL and a MariaDB server started here on loopback ports (markers
``postgres``, ``mysql``).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from packaging.version import Version
from typer.testing import CliRunner

from analysis.probe import ProbeError, ProbeSettings, ProbeSummary, probe, read_probe, summarize
from analysis.probe import run as probe_run
from analysis.probe.ftypes import COLUMNS, ProbeRow
from analysis.probe.run import fit_exponent, python_for, redact
from analysis.uv_env import EnvBuildError, default_cache
from cli import Exit, app
from tests.conftest import tmpfs_dir

import probe_common
import probe_store

# the tests of the module fixture `current` on one worker, which runs it once; the others anywhere
CURRENT = pytest.mark.xdist_group("probe-current")
MAX_FLOAT = "1.7976931348623157e+308"
runner = CliRunner()


@contextmanager
def _stores_on_tmpfs() -> Iterator[None]:
    """The probe's temporary stores (the system's temporary directory) on tmpfs, when there is one.

    A small probe's SQLite store spends most of its time in the disk's syncs; see ``tmpfs_dir``.
    """
    with tmpfs_dir("probe-stores-") as where, pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(where))
        yield


def _one(summary: ProbeSummary | list[ProbeRow], backend: str, probe_name: str, parameter: str) -> ProbeRow:
    rows = summary.rows if isinstance(summary, ProbeSummary) else summary
    found = [r for r in rows if (r.backend, r.probe, r.parameter) == (backend, probe_name, parameter)]
    assert len(found) == 1, (backend, probe_name, parameter, found)
    return found[0]


# --- pure parts -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("points", "slope"), [
    pytest.param([(10, 0.1), (100, 1.0), (1000, 10.0)], 1.0, id="linear"),
    pytest.param([(10, 1.0), (100, 100.0)], 2.0, id="quadratic"),
    pytest.param([(100, 0.5), (1000, 0.5), (10000, 0.5)], 0.0, id="flat"),
    pytest.param([(10, 0.1), (10, 0.2)], None, id="one-size"),
    pytest.param([(10, 0.0), (100, 1.0)], None, id="zero-latency-dropped"),
])
def test_fit_exponent(points: list[tuple[float, float]], slope: float | None) -> None:
    got = fit_exponent(points)
    assert got == slope if slope is None else got == pytest.approx(slope)


@pytest.mark.parametrize(("release", "python"), [("1.0.0", "3.8"), ("1.30.1", "3.8"), ("2.11.0", "3.9"),
                                                 ("3.18.0", "3.11")])
def test_python_for_release(release: str, python: str) -> None:
    assert python_for(release) == python


def test_redact_hides_the_password_only() -> None:
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize("settings", [
    pytest.param({"scale": "huge"}, id="scale"),
    pytest.param({"backends": ("oracle://x",)}, id="backend"),
    pytest.param({"releases": ("not-a-version",)}, id="release"),
    pytest.param({"releases": ("0.9.1",)}, id="before-1.0"),
    pytest.param({"probes": ("speed",)}, id="probe"),
])
def test_bad_settings_raise_before_anything_runs(tmp_path: Path, settings: dict[str, object]) -> None:
    with pytest.raises(ProbeError):
        probe(ProbeSettings(out_dir=tmp_path / "out", env_cache=tmp_path / "envs", **settings))  # type: ignore[arg-type]
    assert not (tmp_path / "envs").exists()


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


def test_workload_imports_nothing_of_this_project_and_parses_as_python_3_8() -> None:
    files = sorted(probe_run.WORKLOAD.glob("*.py"))
    siblings = {f.stem for f in files}
    assert "__main__" in siblings and len(files) > 2
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"), feature_version=(3, 8))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level], file.name
        assert not imported & {"analysis", "miner", "cli"}, file.name
        # mlflow and sqlalchemy: importlib, by name; the siblings by their probe_ names
        assert imported - set(sys.stdlib_module_names) - siblings <= {"numpy"}, file.name
        assert all(name.startswith("probe_") for name in imported & siblings), file.name


def test_a_failing_probe_step_is_an_error_row() -> None:
    rows = probe_common._guarded("search_runs", lambda: [] if 1 / 0 else [])
    assert [(r["probe"], r["outcome"]) for r in rows] == [("search_runs", "error")]
    assert "ZeroDivisionError" in rows[0]["detail"]


def test_an_environment_that_cannot_be_built_is_an_error_row_and_exit_1(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_env(*args: object, **kwargs: object) -> None:
        raise EnvBuildError("package not found", "there is no version of mlflow==1.99.0")

    monkeypatch.setattr(probe_run, "ensure_env", no_env)
    result = runner.invoke(app, ["probe", "--mlflow", "1.99.0", "--backend", "sqlite", "--out", str(tmp_path)])
    assert result.exit_code == Exit.SOME_FAILED, result.output
    rows = read_probe(tmp_path)
    assert [(r["release"], r["backend"], r["probe"], r["outcome"]) for r in rows] == [
        ("1.99.0", "sqlite", "environment", "error")]
    assert "package not found" in rows[0]["detail"]


def test_summary_condenses_rows() -> None:
    def row(release: str, backend: str, probe_name: str, parameter: str, value: str, outcome: str) -> dict[str, str]:
        return {"release": release, "backend": backend, "probe": probe_name, "parameter": parameter, "value": value,
                "unit": "", "n": "", "spread": "", "outcome": outcome, "detail": ""}

    rows = [row("2.11.0", "sqlite", "search_runs", "latency at 10000 runs", "0.2", "measured"),
            row("2.11.0", "file", "search_runs", "latency at 10000 runs", "1.0", "measured"),
            row("2.11.0", "file", "search_runs", "latency at 100 runs", "0.01", "measured"),
            row("1.30.1", "sqlite", "precision metric", "+inf", MAX_FLOAT, "changed"),
            row("2.11.0", "sqlite", "precision metric", "+inf", MAX_FLOAT, "changed"),
            row("2.11.0", "sqlite", "precision metric", "0.1", "0.1", "exact"),
            row("1.30.1", "sqlite", "metric point repeated", "twice", "1", "dropped"),
            row("2.11.0", "sqlite", "metric point repeated", "twice", "1", "dropped")]
    table = {(s["section"], s["backend"], s["item"]): s["result"] for s in summarize(rows)}
    assert table[("efficiency", "file", "search_runs at 10,000 runs, MLflow 2.11.0")] == "1000.0 ms (5x SQLite's)"
    assert table[("precision", "sqlite", "metric +inf")] == f"changed ({MAX_FLOAT}) in 1.30.1, 2.11.0"
    assert ("precision", "sqlite", "metric 0.1") not in table  # exact everywhere: nothing to say
    assert table[("integrity", "sqlite", "metric point repeated: twice")] == "dropped in 1.30.1, 2.11.0"


# --- the MLflow of the test environment -----------------------------------------------------------

@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> ProbeSummary:
    out = tmp_path_factory.mktemp("probe-current")
    with _stores_on_tmpfs():
        return probe(ProbeSettings(out_dir=out, env_cache=out / "envs", releases=("current",),
                                   backends=("file", "sqlite"), scale="small"))


@CURRENT
def test_current_runs_every_probe_without_failure(current: ProbeSummary) -> None:
    assert current.failures == ()
    # a step that raised is an error row without a parameter; integrity errors (a torn file) are findings
    assert not [r for r in current.rows if r.outcome == "error" and not r.parameter]


@CURRENT
def test_sql_store_keeps_nan_but_clamps_infinities_the_file_store_keeps_them(current: ProbeSummary) -> None:
    for value in ("nan", "numpy float64 nan"):
        assert _one(current, "sqlite", "precision metric", value).outcome == "exact"
        assert _one(current, "file", "precision metric", value).outcome == "exact"
    for value, clamped in (("+inf", MAX_FLOAT), ("-inf", "-" + MAX_FLOAT)):
        sql = _one(current, "sqlite", "precision metric", value)
        assert (sql.outcome, sql.value) == ("changed", clamped)
        kept = _one(current, "file", "precision metric", value)
        assert (kept.outcome, kept.value) == ("exact", value.lstrip("+"))


@CURRENT
def test_integers_beyond_2_53_change_and_sqlite_refuses_int64_overflow(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        big = _one(current, backend, "precision metric", "int 2**53+1")
        assert (big.outcome, big.value) == ("changed", "9007199254740992.0")
    assert _one(current, "sqlite", "precision metric", "step 2**63").outcome == "rejected"
    assert _one(current, "file", "precision metric", "step 2**63").outcome == "exact"


@CURRENT
def test_sql_store_drops_a_repeated_metric_point_the_file_store_appends_it(current: ProbeSummary) -> None:
    sql = _one(current, "sqlite", "metric point repeated", "same key, value, timestamp and step twice")
    assert (sql.outcome, sql.value) == ("dropped", "1")
    kept = _one(current, "file", "metric point repeated", "same key, value, timestamp and step twice")
    assert (kept.outcome, kept.value) == ("kept", "2")


@CURRENT
def test_a_param_cannot_be_relogged_with_another_value(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        row = _one(current, backend, "param re-logged", "another value")
        assert (row.outcome, row.value) == ("rejected", "1")
        assert _one(current, backend, "param re-logged", "the same value").outcome == "accepted"


@CURRENT
def test_param_keys_differing_only_in_case_are_two_keys(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        assert _one(current, backend, "precision param", "key in lower case").outcome == "exact"
        assert _one(current, backend, "precision param", "the same key in upper case").outcome == "exact"


def _release(summary: ProbeSummary) -> Version:
    (release,) = {r.release for r in summary.rows}
    return Version(release)


@CURRENT
def test_param_limit_and_truncation_since_2_11(current: ProbeSummary) -> None:
    assert _release(current) >= Version("2.8")  # the test extra asks mlflow-skinny>=2.10
    for backend in ("file", "sqlite"):
        assert _one(current, backend, "precision", "MAX_PARAM_VAL_LENGTH").value == "6000"
        assert _one(current, backend, "precision param", "value at MAX_PARAM_VAL_LENGTH").outcome == "exact"
        past = _one(current, backend, "precision param", "value at MAX_PARAM_VAL_LENGTH+1")
        if _release(current) >= Version("2.11"):
            assert (past.outcome, past.value) == ("changed", "6000")
            assert "truncated to 6000 chars; warned:" in past.detail
        else:
            assert past.outcome == "rejected"


@CURRENT
def test_file_store_refused_without_the_variable_since_3_13(current: ProbeSummary) -> None:
    gate = _one(current, "file", "file store gate", "without MLFLOW_ALLOW_FILE_STORE")
    if _release(current) >= Version("3.13"):
        assert gate.outcome == "refused" and "MLFLOW_ALLOW_FILE_STORE" in gate.detail
    else:
        assert gate.outcome == "accepted"
    assert not [r for r in current.rows if r.backend == "sqlite" and r.probe == "file store gate"]


@CURRENT
def test_sqlite_batch_is_atomic_when_its_client_is_killed(current: ProbeSummary) -> None:
    assert _one(current, "sqlite", "client killed mid-log_batch",
                "points of the interrupted batch stored").outcome == "atomic"
    assert _one(current, "file", "client killed mid-log_batch",
                "points of the interrupted batch stored").outcome in ("atomic", "partial")


@CURRENT
def test_half_written_files_break_reads_of_the_file_store(current: ProbeSummary) -> None:
    torn = _one(current, "file", "half-written file", "metric file with a torn last line: get_metric_history")
    assert torn.outcome == "error" and "malformed" in torn.detail


@CURRENT
def test_capacity_figures_are_medians_with_spread_and_growth_is_fitted(current: ProbeSummary) -> None:
    for backend in ("file", "sqlite"):
        for size in (10, 30, 100):
            row = _one(current, backend, "search_runs", f"latency at {size} runs")
            assert row.outcome == "measured" and row.unit == "s" and row.n == "3"
            assert float(row.value) > 0 and float(row.spread) >= 0
        fit = _one(current, backend, "search_runs", "growth exponent (latency ~ runs^b)")
        assert fit.outcome == "fit" and fit.n == "3"
        assert float(_one(current, backend, "disk", "bytes per run").value) > 0
        assert float(_one(current, backend, "log_batch", "metrics per second").value) > 0
    assert _one(current, "file", "disk", "files per run").value in ("2", "3", "4")


@CURRENT
def test_outputs_csv_provenance_raw_and_figure(current: ProbeSummary) -> None:
    rows = read_probe(current.out_dir)
    assert list(rows[0]) == list(COLUMNS) and len(rows) == len(current.rows)
    provenance = json.loads((current.out_dir / "probe.csv.provenance.json").read_text())
    assert provenance["machine"]["cores"] == os.cpu_count()
    assert {r["backend"] for r in provenance["runs"]} == {"file", "sqlite"}
    assert all(r["facts"].get("sqlalchemy") for r in provenance["runs"])
    assert (current.out_dir / "raw" / f"{rows[0]['release']}-sqlite.json").is_file()
    assert current.figure is not None and current.figure.read_bytes()[:4] == b"\x89PNG"
    table = summarize(rows)
    assert {s["section"] for s in table} >= {"efficiency", "precision", "integrity"}


def test_cli_probe(tmp_path: Path) -> None:
    help_text = runner.invoke(app, ["probe", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--mlflow", "--backend", "--scale", "--out", "--envs", "--probe"):
        assert option in help_text
    bad = runner.invoke(app, ["probe", "--scale", "huge", "--out", str(tmp_path)])
    assert bad.exit_code == Exit.BAD_INPUT and "scale" in bad.output
    with _stores_on_tmpfs():
        result = runner.invoke(app, ["probe", "--mlflow", "current", "--backend", "sqlite", "--probe", "precision",
                                     "--out", str(tmp_path)])
    assert result.exit_code == Exit.OK, result.output
    rows = read_probe(tmp_path)
    assert {r["probe"] for r in rows} == {"precision", "precision metric", "precision param"}


# --- an old release, in an environment built by uv -----------------------------------------------

def _built_or_skip(summary: ProbeSummary) -> None:
    for failure in summary.failures:
        if failure.stage == "env" and failure.reason.startswith("network"):
            pytest.skip(f"the environment could not be downloaded: {failure.reason}")
    assert summary.failures == ()


@pytest.mark.uv_env
def test_mlflow_1_30_rejects_over_long_params_at_500_and_keeps_the_storage_facts(tmp_path: Path) -> None:
    with _stores_on_tmpfs():
        summary = probe(ProbeSettings(out_dir=tmp_path, env_cache=default_cache(), releases=("1.30.1",),
                                      backends=("file", "sqlite"), scale="small", probes=("precision",)))
    _built_or_skip(summary)
    assert {r.release for r in summary.rows} == {"1.30.1"}
    for backend in ("file", "sqlite"):
        assert _one(summary, backend, "precision", "MAX_PARAM_VAL_LENGTH").value == "500"
        past = _one(summary, backend, "precision param", "value at MAX_PARAM_VAL_LENGTH+1")
        assert past.outcome == "rejected" and "length" in past.detail
    assert _one(summary, "file", "file store gate", "without MLFLOW_ALLOW_FILE_STORE").outcome == "accepted"
    assert _one(summary, "sqlite", "precision metric", "+inf").value == MAX_FLOAT
    assert _one(summary, "file", "precision metric", "+inf").outcome == "exact"
    assert _one(summary, "sqlite", "precision metric", "nan").outcome == "exact"


# --- PostgreSQL, a real server on a loopback port -------------------------------------------------

def _pg_bin(name: str) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return installed[-1] if installed else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of our own (initdb + pg_ctl), trust auth on 127.0.0.1; its URI."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (.ci/run installs Debian's postgresql)")
    # PostgreSQL refuses to run as root: as root, run it as nobody in a directory nobody owns
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    home = Path(tempfile.mkdtemp(prefix="probe-pg-"))
    if as_user:
        shutil.chown(home, "nobody")
    data, port = home / "data", _free_port()
    run = {"cwd": home, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run([*as_user, str(initdb), "-D", str(data), "-U", "probe", "--auth=trust", "-E", "UTF8",
                    "--no-sync"], check=True, **run)  # type: ignore[call-overload]
    subprocess.run([*as_user, str(pg_ctl), "-D", str(data), "-l", str(home / "log"), "-w", "-o",
                    f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, **run)  # type: ignore[call-overload]
    try:
        yield f"postgresql://probe@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "stop"], **run)  # type: ignore[call-overload]
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.postgres
def test_postgresql_store_facts(postgres: str, tmp_path: Path) -> None:
    summary = probe(ProbeSettings(out_dir=tmp_path, env_cache=tmp_path / "envs", releases=("current",),
                                  backends=(postgres,), scale="small", probes=("precision", "integrity")))
    assert summary.failures == ()
    assert "fresh database mlflow_probe_" in str(summary.runs[0]["store"])
    assert "PostgreSQL" in str(summary.runs[0]["facts"])
    nan = _one(summary, "postgresql", "precision metric", "nan")
    assert nan.outcome == "exact"
    inf = _one(summary, "postgresql", "precision metric", "+inf")
    assert (inf.outcome, inf.value) == ("changed", MAX_FLOAT)
    repeated = _one(summary, "postgresql", "metric point repeated", "same key, value, timestamp and step twice")
    assert (repeated.outcome, repeated.value) == ("dropped", "1")
    assert _one(summary, "postgresql", "param re-logged", "another value").outcome == "rejected"
    assert _one(summary, "postgresql", "client killed mid-log_batch",
                "points of the interrupted batch stored").outcome == "atomic"
    assert _one(summary, "postgresql", "concurrent writers, one run", "points lost").outcome == "complete"
    assert _one(summary, "postgresql", "precision param", "the same key in upper case").outcome == "exact"


# --- MySQL (MariaDB), a real server on a loopback port --------------------------------------------

MYSQL = pytest.mark.xdist_group("probe-mysql")  # the tests of one server on one worker


def _mysql_bin(*names: str) -> Path | None:
    for name in names:  # Debian puts the server in /usr/sbin, which a user's PATH may lack
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return Path(found)
    return None


@pytest.fixture(scope="module")
def mysql() -> Iterator[str]:
    """A MariaDB server of our own (mariadb-install-db + mariadbd) on 127.0.0.1 only; its URI.

    ``--no-defaults``: no configuration of the machine is read, so the server keeps its compiled-in
    latin1 default (Debian's configuration would set utf8mb4) and the probe must ask for utf8mb4.
    A user ``probe`` with every right, no password, from 127.0.0.1; commits are not synced.
    """
    pymysql = pytest.importorskip("pymysql")
    install, server = _mysql_bin("mariadb-install-db", "mysql_install_db"), _mysql_bin("mariadbd", "mysqld")
    if install is None or server is None:
        pytest.skip("MariaDB's mariadb-install-db/mariadbd are not installed (.ci/run installs Debian's mariadb-server)")
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []  # as PostgreSQL: not as root
    home = Path(tempfile.mkdtemp(prefix="probe-my-"))
    if as_user:
        shutil.chown(home, "nobody")
    data, port = home / "data", _free_port()
    (home / "init.sql").write_text("CREATE USER probe@'127.0.0.1';\n"
                                   "GRANT ALL PRIVILEGES ON *.* TO probe@'127.0.0.1';\n"
                                   "CREATE DATABASE probe;\n")
    subprocess.run([*as_user, str(install), "--no-defaults", f"--datadir={data}", "--skip-test-db"],
                   cwd=home, check=True, capture_output=True, text=True, timeout=120)
    process = subprocess.Popen(
        [*as_user, str(server), "--no-defaults", f"--datadir={data}", f"--port={port}", "--bind-address=127.0.0.1",
         f"--socket={home / 'sock'}", f"--pid-file={home / 'pid'}", f"--log-error={home / 'log'}",
         f"--init-file={home / 'init.sql'}", "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
         "--innodb-doublewrite=0", "--innodb-buffer-pool-size=64M"],
        cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=port, user="probe", database="probe", connect_timeout=2).close()
                break
            except pymysql.err.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (home / "log").read_text(errors="replace")[-2000:] if (home / "log").exists() else ""
                    raise RuntimeError(f"mariadbd did not start (exit {process.poll()}): {log}") from None
                time.sleep(0.2)
        yield f"mysql://probe@127.0.0.1:{port}/probe"
    finally:
        process.terminate()  # SIGTERM: a clean shutdown
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


def _mysql_query(uri: str, query: str) -> list[tuple[object, ...]]:
    import pymysql

    parts = urllib.parse.urlsplit(uri)
    conn = pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username, database=parts.path[1:],
                           autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall())
    finally:
        conn.close()


@pytest.mark.mysql
@MYSQL
def test_mysql_store_facts(mysql: str, tmp_path: Path) -> None:
    summary = probe(ProbeSettings(out_dir=tmp_path, env_cache=tmp_path / "envs", releases=("current",),
                                  backends=(mysql,), scale="small", probes=("precision", "integrity")))
    assert summary.failures == ()
    assert not [r for r in summary.rows if r.outcome == "error"]
    assert "fresh database mlflow_probe_" in str(summary.runs[0]["store"])
    assert _mysql_query(mysql, r"SHOW DATABASES LIKE 'mlflow\_probe\_%'") == []  # dropped afterwards
    facts = summary.runs[0]["facts"]
    assert isinstance(facts, dict) and "MariaDB" in facts["server"]
    # the server defaults to latin1 (the fixture reads no configuration): the probe's database is utf8mb4
    assert facts["collation"].startswith("utf8mb4_") and facts["collation"].endswith("_ci")

    def one(probe_name: str, parameter: str) -> ProbeRow:
        return _one(summary, "mysql", probe_name, parameter)

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
    if _release(summary) >= Version("2.11"):
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


@pytest.mark.mysql
@MYSQL
def test_mysql_store_size_is_counted_after_analyze(mysql: str) -> None:
    """InnoDB's sizes in information_schema are statistics: without ANALYZE TABLE they stayed 0."""
    store = probe_store.Store(mysql)
    store.make_fresh()
    try:
        _mysql_query(store.uri, "CREATE TABLE t (k INT PRIMARY KEY, v VARCHAR(200))")
        empty = store.bytes_used()
        rows = ", ".join(f"({i}, '{'x' * 200}')" for i in range(2000))
        _mysql_query(store.uri, f"INSERT INTO t VALUES {rows}")
        assert store.bytes_used() - empty >= 2000 * 200
    finally:
        store.drop()
    assert _mysql_query(mysql, r"SHOW DATABASES LIKE 'mlflow\_probe\_%'") == []
