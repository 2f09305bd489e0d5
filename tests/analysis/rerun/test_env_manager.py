"""rerun --env-manager: a conda file's package only a conda channel has runs with conda and not with virtualenv.

Slow: it mines and analyzes repositories, links conda environments from a local channel the test writes
(``tests/analysis/isolated/conda_channel.py``: noarch packages and a stand-in ``python`` starting this
machine's interpreter) and runs sandboxes. No conda channel of the internet is asked: the other channel
is a loopback port nobody listens on.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from analysis.rerun.job import rerun
from miner.fileio import read_csv
from tests.analysis.isolated.conda_channel import HOST_MINOR, HOST_VERSION, wheel_of_tinycmd, write_channel
from tests.analysis.rerun.conftest import make_corpus, rerun_settings

TRAIN = ("import censustestpkg, os, sys, tinycmd\n"
         "print('VALUE', censustestpkg.VALUE, sys.prefix, os.environ['CONDA_PREFIX'], tinycmd.__file__)\n")


def _project(channel: str, tmp: Path) -> dict[str, str | bytes]:
    """A conda file needing the channel's ``censustestpkg``, and a wheel of the repository in its ``pip:`` list."""
    (tmp / "wheel").mkdir(exist_ok=True)
    wheel = wheel_of_tinycmd(tmp / "wheel")
    return {"MLproject": "name: t\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: python train.py\n",
            "conda.yaml": f"channels: [{channel}]\ndependencies:\n  - python={HOST_MINOR}\n  - censustestpkg\n"
                          f"  - pip:\n    - ./{wheel.name}\n",
            "train.py": TRAIN, wheel.name: wheel.read_bytes()}


def _remove_conda_envs(cache: Path, channel: str) -> None:
    """The environments this test linked from its channel (the cache is shared by every run of the tests)."""
    for done in cache.glob("*/.mlflow-census-env.json"):
        made = json.loads(done.read_text())
        if made.get("kind") == "conda" and any(str(r).startswith(channel) for r in made.get("records", [])):
            shutil.rmtree(done.parent, ignore_errors=True)


def test_a_conda_package_runs_with_the_conda_manager_and_is_dropped_by_virtualenv(tmp_path: Path,
                                                                                  env_cache: Path) -> None:
    channel = write_channel(tmp_path / "channel", {"censustestpkg": "VALUE = 42\n"})
    corpus = make_corpus(tmp_path, {"conda/needs-pkg": _project(channel, tmp_path), "plain/no-env": {
        "MLproject": "name: t\nentry_points:\n  main:\n    command: python -c 'print(1)'\n"}})
    log = corpus[1] / "rerun" / "logs" / "conda__needs-pkg__MLproject__main.run.log"
    try:
        first = rerun(rerun_settings(corpus, env_cache))  # the default: conda for conda_env, virtualenv for none
        rows = {r["repo"]: r for r in read_csv(corpus[1] / "rerun.csv")}
        conda = rows["conda/needs-pkg"]
        assert (conda["env_manager"], conda["env_kind"], conda["env_build"], conda["status"]) == \
            ("conda", "conda_env", "ok", "succeeded"), conda["message"]
        assert (conda["python_requested"], conda["python_used"], conda["conda_packages_dropped"]) == \
            (HOST_MINOR, HOST_VERSION, "")
        prefix = log.read_text().split("VALUE 42 ", 1)[1].split()[0]  # the package imported in the conda prefix
        assert log.read_text().count(f"{prefix} {prefix} {prefix}/lib/python{HOST_MINOR}/site-packages/tinycmd/") == 1
        assert Path(prefix).parent == env_cache  # the pip: wheel too, installed in the build sandbox
        assert (rows["plain/no-env"]["env_manager"], rows["plain/no-env"]["status"]) == ("virtualenv", "succeeded")
        assert first.n_run == 2

        again = rerun(rerun_settings(corpus, env_cache, env_manager="virtualenv"))
        assert (again.n_already, again.n_run) == (1, 1)  # the none project was made by virtualenv already
        row = next(r for r in read_csv(corpus[1] / "rerun.csv") if r["repo"] == "conda/needs-pkg")
        assert (row["env_manager"], row["env_build"], row["status"], row["failure_class"]) == \
            ("virtualenv", "ok", "failed", "ModuleNotFoundError")
        assert row["conda_packages_dropped"] == "censustestpkg" and "censustestpkg" in row["message"]

        refused = rerun(rerun_settings(corpus, env_cache, env_manager="conda"))
        assert (refused.n_already, refused.n_run) == (0, 2)
        rows = {r["repo"]: r for r in read_csv(corpus[1] / "rerun.csv")}
        assert (rows["plain/no-env"]["status"], rows["plain/no-env"]["failure_class"]) == \
            ("not-attempted", "env manager")  # MLflow runs no python_env project with conda
        assert "cannot be executed using conda" in rows["plain/no-env"]["message"]
        assert rows["conda/needs-pkg"]["status"] == "succeeded"
        rates = {r["name"]: r for r in read_csv(corpus[1] / "rerun_summary.csv") if r["section"] == "rate"}
        assert (rates["ran"]["n"], rates["ran"]["n_eligible"]) == ("1", "1")  # the refusal is in no rate
    finally:
        _remove_conda_envs(env_cache, channel)


def test_a_channel_that_does_not_answer_is_said_and_in_no_rate(tmp_path: Path, env_cache: Path) -> None:
    with socket.socket() as probe:  # a loopback port, closed again: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    corpus = make_corpus(tmp_path, {
        "conda/unreachable": _project(f"http://127.0.0.1:{port}/channel", tmp_path),
        "plain/ok": {"MLproject": "name: t\nentry_points:\n  main:\n    command: python -c 'print(1)'\n"}})
    rerun(rerun_settings(corpus, env_cache))
    rows = {r["repo"]: r for r in read_csv(corpus[1] / "rerun.csv")}
    row = rows["conda/unreachable"]
    assert (row["env_manager"], row["env_build"], row["status"], row["failure_class"]) == \
        ("conda", "failed: channel unreachable", "not-attempted", "channel unreachable")
    assert f"127.0.0.1:{port}" in row["message"]
    summary = read_csv(corpus[1] / "rerun_summary.csv")
    rates = {r["name"]: r for r in summary if r["section"] == "rate"}
    assert (rates["ran"]["n"], rates["ran"]["n_eligible"]) == ("1", "1")  # the other target only
    assert rates["built"]["n_eligible"] == "0"  # nor in the environments built: it is the machine's failure
    assert {(r["name"], r["n"]) for r in summary if r["section"] == "failure"} == \
        {("not-attempted: channel unreachable", "1")}
    assert {(r["name"], r["n"]) for r in summary if r["section"] == "env_manager"} == {("conda", "1"),
                                                                                       ("virtualenv", "1")}
    again = rerun(rerun_settings(corpus, env_cache))
    assert (again.n_already, again.n_run) == (1, 1)  # a channel may answer another time: tried again



def test_uv_seeds_nothing_and_local_runs_in_the_environment_of_mlflow(tmp_path: Path, env_cache: Path) -> None:
    corpus = make_corpus(tmp_path, {"plain/imports": {"MLproject": (
        "name: t\nentry_points:\n  pip:\n    command: python -c 'import pip'\n"
        "  mlflow:\n    command: python -c 'import mlflow'\n")}})

    def rows(manager: str) -> dict[str, dict[str, str]]:
        rerun(rerun_settings(corpus, env_cache, env_manager=manager))
        return {r["entry_point"]: r for r in read_csv(corpus[1] / "rerun.csv")}

    made = rows("virtualenv")  # seeded as python -m venv seeds: pip; MLflow is no manager's to add
    assert [(made[e]["env_manager"], made[e]["status"]) for e in ("pip", "mlflow")] == \
        [("virtualenv", "succeeded"), ("virtualenv", "failed")]
    made = rows("uv")  # uv venv: nothing
    assert [(made[e]["env_manager"], made[e]["env_build"], made[e]["status"], made[e]["failure_class"])
            for e in ("pip", "mlflow")] == [("uv", "ok", "failed", "ModuleNotFoundError")] * 2
    made = rows("local")  # nothing built: the command runs where the MLflow that runs it is installed
    mlflow = made["mlflow"]
    assert (mlflow["env_manager"], mlflow["env_build"], mlflow["build_seconds"], mlflow["status"]) == \
        ("local", "", "", "succeeded")
    assert mlflow["python_used"] == HOST_VERSION  # the driver's environment is made on this interpreter
