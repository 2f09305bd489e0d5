"""The probe's fixtures: the workload's folder on sys.path, a probe of the current MLflow, PostgreSQL, MariaDB."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.probe import ProbeSettings, ProbeSummary, probe
from analysis.probe.run import WORKLOAD
from tests.analysis.probe.support import stores_on_tmpfs

if str(WORKLOAD) not in sys.path:  # the workload's modules by name, as the workload imports them
    sys.path.insert(0, str(WORKLOAD))


@pytest.fixture(scope="session")
def current(tmp_path_factory: pytest.TempPathFactory) -> ProbeSummary:
    out = tmp_path_factory.mktemp("probe-current")
    with stores_on_tmpfs():
        return probe(ProbeSettings(out_dir=out, env_cache=out / "envs", releases=("current",),
                                   backends=("file", "sqlite"), scale="small"))


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
