"""rerun.job: small MLprojects built here, re-run in the sandbox; what escapes, what is measured, what is compared.

The corpus is made of git repositories written by the tests, mined and analyzed with the real
commands. Runs need one environment holding MLflow (``mlflow-skinny``, from PyPI): it is built once
into ``~/.cache/mlflow-census/test-envs/rerun`` and kept between sessions; without PyPI the runs are
skipped. Every test here is ``slow``: each runs the sandbox, builds an environment or runs MLflow. The
pure parts (parameters, conda conversion, failure classes, comparison, statistics) have their own
files, beside this one, as the modules of ``analysis/rerun/``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.rerun.driver_env import DRIVER_SPEC
from analysis.rerun.ftypes import RerunError
from analysis.rerun.job import rerun
from analysis.rerun.sandbox import probe
from analysis.isolated.uv_env import find_interpreters, venv_seed
from cli import Exit, app
from miner.fileio import read_csv
from tests.analysis.rerun.conftest import make_corpus, rerun_settings

PY = "%d.%d.%d" % sys.version_info[:3]  # conda pins it fully: the same interpreter, the same environment
MLFLOW = DRIVER_SPEC.requirements[0]  # the driver's release (the project's environment is seeded, the driver's not)
MARKER = f"4242.{os.getpid()}"  # the background process's sleep argument: found in /proc if it survived
SECRET = f"TOPSECRET-{uuid.uuid4().hex}"
ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()
pytestmark = pytest.mark.slow
# The tests of the module fixture `outcome` on one worker, which re-runs every target once; the
# tests that run the endless loop on one worker, since each looks for it among all processes; the
# others anywhere (each worker builds the corpus, in a fraction of a second).
OUTCOME = pytest.mark.xdist_group("rerun-outcome")
LOOP = pytest.mark.xdist_group("rerun-loop")


# ------------------------------------------------------------------------------------------------ sandboxed runs

def _committed(root: Path, run_id: str, entry_point: str, params: dict[str, str], metrics: dict[str, float]) -> dict[str, str]:
    """FileStore files of one committed run (as ``mlflow run`` leaves them in ``mlruns/``)."""
    files = {
        f"{root}/0/meta.yaml": "artifact_location: mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n",
        f"{root}/0/{run_id}/meta.yaml": (f"run_id: {run_id}\nrun_uuid: {run_id}\nexperiment_id: '0'\nstatus: 3\n"
                                        "start_time: 1700000000000\nend_time: 1700000001000\nlifecycle_stage: active\n"
                                        "user_id: someone\nartifact_uri: mlruns/0/x/artifacts\n"),
        f"{root}/0/{run_id}/tags/mlflow.project.entryPoint": entry_point,
    }
    files.update({f"{root}/0/{run_id}/params/{k}": v for k, v in params.items()})
    files.update({f"{root}/0/{run_id}/metrics/{k}": f"1700000000500 {v} 0\n" for k, v in metrics.items()})
    return files


def _mlproject(entry_points: str, env: str = "") -> str:
    return f"name: t\n{env}entry_points:\n{entry_points}"


LOGS = "import mlflow, sys\nalpha = float(sys.argv[1])\nwith mlflow.start_run():\n"
PYTHON_ENV = f"dependencies:\n  - {MLFLOW}\n"
SEED = ("import pkg_resources, setuptools, pip  # setuptools first: pip imports the standard library's distutils\n"
        "print('SEED', 'pip', pip.__version__, 'setuptools', setuptools.__version__)\n")


def _cases(tmp: Path) -> dict[str, dict[str, str | bytes]]:
    outside = tmp / "outside"
    secret = tmp / "secret.txt"
    secret.write_text(SECRET)
    good_id, drift_id, close_id, needs_id = (uuid.uuid4().hex for _ in range(4))
    return {
        "case/good": {
            "MLproject": _mlproject("  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n"
                                    "    command: python train.py {alpha}\n", "python_env: python_env.yaml\n"),
            "python_env.yaml": PYTHON_ENV,
            "train.py": LOGS + "    mlflow.log_metric('score', alpha * 2)\n    mlflow.log_metric('nan', float('nan'))\n"
                               "    mlflow.log_metric('inf', float('inf'))\n",
            **_committed("mlruns", good_id, "main", {"alpha": "0.5"}, {"score": 1.0, "nan": math.nan, "inf": math.inf}),
        },
        "case/drift": {
            "MLproject": _mlproject("  main:\n    parameters:\n      alpha: {type: float, default: 0.5}\n"
                                    "    command: python train.py {alpha}\n"
                                    "  close:\n    parameters:\n      alpha: {type: float, default: 0.5}\n"
                                    "    command: python train.py {alpha} close\n"),
            "python_env.yaml": PYTHON_ENV,
            "train.py": LOGS + "    mlflow.log_metric('score', alpha * 2 * (1.001 if len(sys.argv) > 2 else 1.5))\n",
            **_committed("mlruns", drift_id, "main", {"alpha": "0.5"}, {"score": 1.0}),
            **_committed("mlruns", close_id, "close", {"alpha": "0.5"}, {"score": 1.0}),
        },
        "case/plain": {  # no environment file: MLflow's bare environment, so the code cannot import mlflow
            "MLproject": _mlproject("  nomodule:\n    command: python nomodule.py\n"
                                    "  nodata:\n    command: python nodata.py\n"
                                    "  nopath:\n    parameters:\n      data: {type: path, default: data/train.csv}\n"
                                    "    command: python nodata.py {data}\n"
                                    "  network:\n    command: python network.py\n"
                                    "  daemon:\n    command: python daemon.py\n"
                                    "  loop:\n    command: \"python -c 'while True: pass'\"\n"
                                    "  memory:\n    command: python memory.py\n"
                                    "  forkbomb:\n    command: python forkbomb.py\n"
                                    f"  escape:\n    parameters:\n      outside: {{type: string, default: '{outside}'}}\n"
                                    "    command: python escape.py {outside}\n"
                                    f"  snoop:\n    parameters:\n      secret: {{type: string, default: '{secret}'}}\n"
                                    "    command: python snoop.py {secret}\n"),
            "nomodule.py": "import sklearn_but_not_installed_zz\n",
            "nodata.py": "import sys\nopen(sys.argv[1] if len(sys.argv) > 1 else 'data/train.csv').read()\n",
            "network.py": "import urllib.request\nurllib.request.urlopen('https://pypi.org/simple/', timeout=10).read()\n",
            "daemon.py": ("import subprocess\nsubprocess.Popen(['sleep', '" + MARKER + "'], start_new_session=True,\n"
                          "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nprint('left a sleeper')\n"),
            "memory.py": "hog = []\nwhile True:\n    hog.append(bytearray(64 << 20))\n",
            "forkbomb.py": ("import os, time\nfor i in range(400):\n    if os.fork() == 0:\n        time.sleep(60)\n"
                            "        os._exit(0)\nprint('forked 400')\n"),
            "escape.py": ("import os, sys\nfor path in [sys.argv[1] + '/x.txt', '/tmp/escape-" + MARKER + "', '../../escape.txt',"
                          " '/etc/escape.txt', '/root/escape.txt', os.path.join(sys.prefix, 'escape.txt'),"
                          " '/usr/escape.txt']:\n"
                          "    try:\n        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)\n"
                          "        open(path, 'w').write('escaped')\n        print('WROTE', path)\n"
                          "    except OSError as err:\n        print('DENIED', path, type(err).__name__)\n"),
            "snoop.py": ("import os, sys\nfor path in [sys.argv[1], '/etc/shadow', '/etc/passwd', '/root/.ssh/id_rsa',"
                         " os.path.expanduser('~/.ssh/id_rsa'), '/proc/1/environ']:\n"
                         "    try:\n        text = open(path).read()\n        print('READ', path, text[:200])\n"
                         "    except OSError as err:\n        print('DENIED', path, type(err).__name__)\n"
                         "print('PIDS', len([p for p in os.listdir('/proc') if p.isdigit()]))\n"),
        },
        "case/conda": {
            "MLproject": _mlproject("  main:\n    parameters:\n      n: int\n    command: python -c 'print({n})'\n"
                                    "  orphan:\n    parameters:\n      m: int\n    command: python -c 'print({m})'\n",
                                    "conda_env: conda.yaml\n"),
            "conda.yaml": f"dependencies:\n  - python={PY}\n  - numpy=1.26\n  - pip:\n    - {MLFLOW}\n",
            **_committed("mlruns", needs_id, "main", {"n": "3"}, {}),
        },
        "case/docker": {"MLproject": _mlproject("  main:\n    command: python t.py\n",
                                                "docker_env:\n  image: python:3.11\n"), "t.py": "print(1)\n"},
        # MLflow's virtualenv manager seeds its environments as python -m venv does: setuptools below 3.12 only
        "case/seed310": {"MLproject": _mlproject("  pkgres:\n    command: python seed.py\n", "python_env: env.yaml\n"),
                         "env.yaml": "python: '3.10'\n", "seed.py": SEED},
        "case/seed312": {"MLproject": _mlproject("  pkgres:\n    command: python seed.py\n", "python_env: env.yaml\n"),
                         "env.yaml": "python: '3.12'\n", "seed.py": SEED},
        "case/badpin": {"MLproject": _mlproject("  main:\n    command: python t.py\n"), "t.py": "print(1)\n",
                        "python_env.yaml": "dependencies:\n  - mlflow-census-no-such-package-zz==1.0\n"},
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(corpus, results, tmp) of the cases above, mined and analyzed."""
    tmp = tmp_path_factory.mktemp("rerun")
    return make_corpus(tmp, _cases(tmp))


# the conda case measures MLflow's conversion of a conda file (conda_packages_dropped), which the virtualenv
# manager makes; the conda manager's channels are not on this machine (test_env_manager.py tests that manager)
_settings = functools.partial(rerun_settings, env_manager="virtualenv")


def _sleepers() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and MARKER in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(entry.name)
        except OSError:
            pass
    return found


@contextlib.contextmanager
def _empty_index(root: Path) -> Iterator[str]:
    """A package index on the loopback that has no package: uv's "not found" without leaving the machine."""
    root.mkdir(exist_ok=True)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def outcome(corpus: tuple[Path, Path, Path], env_cache: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Every target re-run once (the endless loop apart); rows by (repo, entry point)."""
    checkout = corpus[0] / "repos"
    before = {p: p.stat().st_mtime_ns for p in checkout.rglob("*")}
    targets = ("main", "close", "orphan", "nomodule", "nodata", "nopath", "network", "daemon", "memory", "forkbomb",
               "escape", "snoop", "pkgres")
    # every environment but the one that cannot be built is in the cache: the index is asked only for that one
    with _empty_index(corpus[2] / "index") as index, pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_INDEX_URL", index)
        summary = rerun(_settings(corpus, env_cache, entry_points=targets))
    assert not summary.errors, summary.errors
    assert {p: p.stat().st_mtime_ns for p in checkout.rglob("*")} == before  # the corpus is never written
    return {(r["repo"], r["entry_point"]): r for r in read_csv(corpus[1] / "rerun.csv")}


@OUTCOME
def test_a_run_that_reproduces_its_committed_run(outcome: dict[tuple[str, str], dict[str, str]]) -> None:
    row = outcome[("case/good", "main")]
    assert (row["status"], row["env_kind"], row["env_build"]) == ("succeeded", "python_env", "ok")
    assert row["python_used"].startswith(PY) and json.loads(row["parameters"]) == {"alpha": "0.5"}
    assert (row["n_runs_logged"], row["n_metrics_logged"]) == ("1", "3")
    assert row["compared_with"] and (row["params_equal"], row["metrics_equal"], row["metrics_close"]) == \
        ("true", "true", "true")


@OUTCOME
def test_runs_with_other_metrics_differ_or_are_close(outcome: dict[tuple[str, str], dict[str, str]]) -> None:
    differ, close = outcome[("case/drift", "main")], outcome[("case/drift", "close")]
    assert differ["status"] == close["status"] == "succeeded"
    assert (differ["metrics_equal"], differ["metrics_close"], differ["metrics_differ"]) == ("false", "false", "score")
    assert (close["metrics_equal"], close["metrics_close"], close["metrics_differ"]) == ("false", "true", "")
    assert differ["compared_with"] != close["compared_with"]  # each entry point's own committed run


@OUTCOME
def test_a_missing_module_is_measured_without_mlflow_in_the_project(
        outcome: dict[tuple[str, str], dict[str, str]]) -> None:
    row = outcome[("case/plain", "nomodule")]
    assert (row["env_kind"], row["status"], row["failure_class"]) == ("none", "failed", "ModuleNotFoundError")
    assert "sklearn_but_not_installed_zz" in row["message"]
    assert row["n_runs_logged"] == "1"  # the run mlflow run creates, though the code never imports mlflow


@OUTCOME
def test_missing_data(outcome: dict[tuple[str, str], dict[str, str]]) -> None:
    assert (outcome[("case/plain", "nodata")]["status"], outcome[("case/plain", "nodata")]["failure_class"]) == \
        ("failed", "FileNotFoundError")
    nopath = outcome[("case/plain", "nopath")]
    assert (nopath["failure_class"], nopath["run_seconds"]) == ("ExecutionException", "")
    assert "no such file or directory was found" in nopath["message"]


@OUTCOME
def test_the_network_is_refused(outcome: dict[tuple[str, str], dict[str, str]]) -> None:
    row = outcome[("case/plain", "network")]
    assert (row["status"], row["failure_class"]) == ("failed", "network refused")


CONTAINED = ("memory", "forkbomb", "escape", "snoop", "daemon")  # what the sandbox keeps in, with or without network
POLICIES = pytest.mark.parametrize("network", ["none", "all"])


@pytest.fixture(scope="module")
def under(outcome: dict[tuple[str, str], dict[str, str]], corpus: tuple[Path, Path, Path],
          env_cache: Path) -> dict[str, tuple[dict[tuple[str, str], dict[str, str]], Path]]:
    """Rows and results directory of the containment targets under each network policy: ``none`` (``outcome``'s)
    and ``all`` (run again with the host's network: nothing else of the sandbox may loosen)."""
    out = corpus[2] / "out-all"
    shutil.copytree(corpus[1], out, ignore=shutil.ignore_patterns("rerun*"))
    summary = rerun(_settings(corpus, env_cache, out_dir=out, entry_points=CONTAINED, network="all"))
    assert not summary.errors, summary.errors
    rows = {(r["repo"], r["entry_point"]): r for r in read_csv(out / "rerun.csv")}
    assert {r["network"] for r in rows.values()} == {"all"}
    return {"none": (outcome, corpus[1]), "all": (rows, out)}


@OUTCOME
@POLICIES
def test_memory_is_limited(under: dict[str, tuple[dict[tuple[str, str], dict[str, str]], Path]], network: str) -> None:
    row = under[network][0][("case/plain", "memory")]
    assert (row["status"], row["failure_class"], row["network"]) == ("killed-memory", "MemoryError", network)


@OUTCOME
@POLICIES
def test_processes_are_limited(under: dict[str, tuple[dict[tuple[str, str], dict[str, str]], Path]], network: str,
                               env_cache: Path) -> None:
    if probe().process_limit.startswith("none"):
        pytest.skip("no process limit on this machine (root without a writable pids cgroup)")
    row = under[network][0][("case/plain", "forkbomb")]
    assert (row["status"], row["failure_class"]) == ("failed", "process limit")
    assert not _sleepers()


@OUTCOME
@POLICIES
def test_nothing_written_outside(under: dict[str, tuple[dict[tuple[str, str], dict[str, str]], Path]], network: str,
                                 corpus: tuple[Path, Path, Path], env_cache: Path) -> None:
    rows, out = under[network]
    assert rows[("case/plain", "escape")]["status"] == "succeeded"
    log = (out / "rerun" / "logs" / "case__plain__MLproject__escape.run.log").read_text()
    assert log.count("DENIED") == 5, log  # the sandbox's root (../../ leaves the copy), /etc, /root, environment, /usr
    assert f"WROTE {corpus[2]}/outside" in log and "WROTE /tmp/escape" in log  # into its own /tmp: the scratch's
    assert not (corpus[2] / "outside").exists()
    assert not Path(f"/tmp/escape-{MARKER}").exists() and not Path("/escape.txt").exists()
    assert not list(env_cache.glob("*/escape.txt"))


@OUTCOME
@POLICIES
def test_host_files_are_not_readable(under: dict[str, tuple[dict[tuple[str, str], dict[str, str]], Path]],
                                     network: str) -> None:
    rows, out = under[network]
    log = (out / "rerun" / "logs" / "case__plain__MLproject__snoop.run.log").read_text()
    assert rows[("case/plain", "snoop")]["status"] == "succeeded"
    for path in ("secret.txt", "/etc/shadow", "/root/.ssh/id_rsa", "/rerun/scratch/home/.ssh/id_rsa"):
        assert any(line.startswith("DENIED") and path in line for line in log.splitlines()), (path, log)
    assert "READ /etc/passwd rerun:x:1000" in log  # the sandbox's own passwd, not the host's
    pids = int(log.split("PIDS ")[1].split()[0])
    assert pids < 10  # its own processes only
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


@OUTCOME
@POLICIES
def test_background_processes_die_with_the_run(under: dict[str, tuple[dict[tuple[str, str], dict[str, str]], Path]],
                                               network: str) -> None:
    assert under[network][0][("case/plain", "daemon")]["status"] == "succeeded"
    assert not _sleepers()


@OUTCOME
def test_environments_and_parameters_mlflow_would_not_run(outcome: dict[tuple[str, str], dict[str, str]]) -> None:
    conda = outcome[("case/conda", "main")]
    assert (conda["env_kind"], conda["conda_packages_dropped"], conda["python_requested"]) == ("conda_env", "numpy=1.26", PY)
    assert json.loads(conda["parameters"]) == {"n": "3"} and conda["status"] == "succeeded"  # n from the committed run
    orphan = outcome[("case/conda", "orphan")]
    assert (orphan["status"], orphan["failure_class"]) == ("not-attempted", "required parameter")
    docker = outcome[("case/docker", "main")]
    assert (docker["status"], docker["failure_class"]) == ("not-attempted", "docker")
    bad = outcome[("case/badpin", "main")]
    assert (bad["env_build"], bad["status"], bad["failure_class"]) == ("failed: package not found", "not-attempted",
                                                                        "env build")


@OUTCOME
@pytest.mark.parametrize("minor", ["3.10", "3.12"])
def test_environments_are_seeded_as_python_m_venv_seeds_them(outcome: dict[tuple[str, str], dict[str, str]],
                                                             corpus: tuple[Path, Path, Path], minor: str) -> None:
    """``import pkg_resources`` works on 3.10, as in MLflow's virtualenv environments, and fails on 3.12 as it does there."""
    interpreters = {v: p for v, p in find_interpreters().items() if v.startswith(minor + ".")}
    if not interpreters:
        pytest.skip(f"no Python {minor} on this machine")
    version = max(interpreters, key=lambda v: [int(x) for x in v.split(".")])
    row = outcome[(f"case/seed{minor.replace('.', '')}", "pkgres")]
    assert (row["env_build"], row["python_used"]) == ("ok", version)
    log = (corpus[1] / "rerun" / "logs" / f"case__seed{minor.replace('.', '')}__MLproject__pkgres.run.log").read_text()
    seed = {name: ver for name, ver, _wheel in venv_seed(interpreters[version], version)}
    if minor == "3.10":
        assert row["status"] == "succeeded", log
        assert f"SEED pip {seed['pip']} setuptools {seed['setuptools']}" in log  # the interpreter's own ensurepip wheels
    else:
        assert "setuptools" not in seed
        assert (row["status"], row["failure_class"]) == ("failed", "ModuleNotFoundError")
        assert "pkg_resources" in row["message"]


@LOOP
def test_an_endless_loop_times_out(corpus: tuple[Path, Path, Path], env_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(corpus[1], out, ignore=shutil.ignore_patterns("rerun*"))
    summary = rerun(_settings(corpus, env_cache, out_dir=out, entry_points=("loop",), timeout=3, jobs=1))
    (row,) = read_csv(out / "rerun.csv")
    assert (row["status"], row["failure_class"]) == ("timeout", "timeout")
    assert 3 <= float(row["run_seconds"]) < 15 and summary.n_run == 1


@OUTCOME
def test_finished_targets_are_not_rerun_and_summary_is_written(
        outcome: dict[tuple[str, str], dict[str, str]], corpus: tuple[Path, Path, Path], env_cache: Path) -> None:
    before = (corpus[1] / "rerun.csv").read_text()
    summary = rerun(_settings(corpus, env_cache, repos=("case/good",)))
    assert (summary.n_selected, summary.n_already, summary.n_run) == (1, 1, 0)
    assert (corpus[1] / "rerun.csv").read_text() == before
    prov = json.loads((corpus[1] / "rerun.csv.provenance.json").read_text())
    assert prov["sandbox"].startswith("bubblewrap") and prov["commits"]["case/good"]
    rates = {r["name"]: r for r in read_csv(corpus[1] / "rerun_summary.csv") if r["section"] == "rate"}
    assert int(rates["ran"]["n"]) >= 6 and rates["same given compared"]["n"] == "1"


def test_the_budget_starts_nothing_new(corpus: tuple[Path, Path, Path], env_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(corpus[1], out, ignore=shutil.ignore_patterns("rerun*"))
    summary = rerun(_settings(corpus, env_cache, out_dir=out, repos=("case/docker", "case/good"), budget=0))
    assert (summary.n_run, summary.n_budget) == (0, 2)
    assert read_csv(out / "rerun.csv") == []


def test_no_sandbox_runs_and_warns(corpus: tuple[Path, Path, Path], env_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(corpus[1], out, ignore=shutil.ignore_patterns("rerun*"))
    result = runner.invoke(app, ["rerun", "--corpus", str(corpus[0]), "--out", str(out), "--env-cache", str(env_cache),
                                 "--repo", "case/plain", "--entry-point", "nomodule", "--no-sandbox",
                                 "--work-dir", str(tmp_path / "work")])
    assert result.exit_code == Exit.OK, result.output
    assert result.output.count("WARNING") == 2 and "sandbox: none" in result.output
    (row,) = read_csv(out / "rerun.csv")
    assert (row["status"], row["failure_class"]) == ("failed", "ModuleNotFoundError")


def test_a_dask_cluster_gives_the_same_rows(corpus: tuple[Path, Path, Path], env_cache: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    picked = ("case/good", "case/docker", "case/conda")  # succeeded, not attempted; no network needed
    rows = {}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for name, scheduler in (("local", None), ("dask", cluster.scheduler_address)):
            out = tmp_path / name
            shutil.copytree(corpus[1], out, ignore=shutil.ignore_patterns("rerun*"))
            summary = rerun(_settings(corpus, env_cache, out_dir=out, repos=picked, scheduler=scheduler))
            assert not summary.errors and summary.n_run == 4
            rows[name] = [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in read_csv(out / "rerun.csv")]
    assert rows["local"] == rows["dask"] and len(rows["local"]) == 4


LOOP_TEXT = "while True: pass"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _loops_under(root: int) -> list[int]:
    """The endless loops among the descendants of ``root`` (the host's /proc sees into the sandbox's PID namespace).

    Its own, not any on the machine: another test run on this machine (or a load generator) may run
    the same loop, and a Ctrl-C sent when that one shows up would reach the tool before it ran anything.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        except (OSError, IndexError, ValueError):
            pass
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if LOOP_TEXT in _cmdline(child):
                found.append(child)
    return found


@LOOP
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_runs_leave_nothing_running_and_resume(corpus: tuple[Path, Path, Path], env_cache: Path,
                                                           tmp_path: Path, how: signal.Signals) -> None:
    out = tmp_path / "out"
    shutil.copytree(corpus[1], out, ignore=shutil.ignore_patterns("rerun*"))
    cmd = [sys.executable, str(ROOT / "cli.py"), "rerun", "--corpus", str(corpus[0]), "--out", str(out),
           "--env-cache", str(env_cache), "--repo", "case/plain", "--entry-point", "nomodule", "--entry-point", "loop",
           "--timeout", "120", "--work-dir", str(tmp_path / "work")]
    # as from a terminal: SIGINT not ignored, whether or not this test's process ignores it (a `pytest &` in a script)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (loops := _loops_under(proc.pid)) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert loops, "the endless loop never started"
    os.killpg(proc.pid, how) if how == signal.SIGINT else proc.send_signal(how)  # Ctrl-C reaches the whole group
    code = proc.wait(timeout=30)
    assert proc.stdout is not None
    assert code == (Exit.INTERRUPTED if how == signal.SIGINT else -signal.SIGKILL), proc.stdout.read().decode()
    time.sleep(0.5)
    assert not [pid for pid in loops if LOOP_TEXT in _cmdline(pid)]  # the sandbox died with the tool
    (row,) = read_csv(out / "rerun.csv")  # nomodule, finished before the loop started, was kept
    assert row["entry_point"] == "nomodule"
    again = rerun(_settings(corpus, env_cache, out_dir=out, repos=("case/plain",), entry_points=("nomodule", "loop"),
                            timeout=2, jobs=1))
    assert (again.n_already, again.n_run) == (1, 1)
    parent = probe().pids_cgroup
    if parent:  # the killed run's cgroup is removed by the next run
        assert not list(Path(parent).glob(f"mlflow-census-{proc.pid}-*"))


def test_a_filter_matching_nothing_is_bad_input(corpus: tuple[Path, Path, Path], env_cache: Path) -> None:
    with pytest.raises(RerunError, match="no target matches"):
        rerun(_settings(corpus, env_cache, repos=("no/such-repo",)))
