"""rerun.driver_env: which MLflow creates a run (the release an environment file pins exactly, else the tool's),
its environments, and the journal's record of each target under each choice (rerun.job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analysis.isolated.uv_env import BuiltEnv, EnvBuildError, EnvSpec
from analysis.probe.run import python_for
from analysis.rerun import target_run
from analysis.rerun.driver_env import DRIVER_RELEASE, DRIVER_SPEC, Driver, choose_driver, driver_specs, pinned_mlflow
from analysis.rerun.job import _finished, finished_under, record_key
from miner.fileio import Journal

PY_ENV = "python_env.yaml"


def _deps(*lines: str, key: str = "dependencies") -> str:
    return f"python: '3.9'\n{key}:\n" + "".join(f"  - '{line}'\n" for line in lines)


def _conda(*specs: str, pip: tuple[str, ...] = ()) -> str:
    pip_part = "  - pip:\n" + "".join(f"    - '{line}'\n" for line in pip) if pip else ""
    return "dependencies:\n  - python=3.9\n" + "".join(f"  - '{s}'\n" for s in specs) + pip_part


@pytest.mark.parametrize(("env_type", "files", "pinned"), [
    pytest.param("python_env", {PY_ENV: _deps("mlflow==2.9.2")}, "2.9.2", id="mlflow"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow-skinny==1.30.1")}, "1.30.1", id="skinny"),
    pytest.param("python_env", {PY_ENV: _deps("MLflow === 1.27.0")}, "1.27.0", id="arbitrary-equality"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow==1.30.1", key="build_dependencies")}, "1.30.1",
                 id="build-dependency"),
    pytest.param("python_env", {PY_ENV: _deps("-r requirements.txt"),
                                "requirements.txt": "pandas\nmlflow[extras]==2.11.0  # pinned\n"}, "2.11.0",
                 id="include"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow==2.9.2", "mlflow-skinny==2.9.2")}, "2.9.2", id="both-same"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow==2.9.2", "mlflow>=2")}, "2.9.2", id="range-beside-pin"),
    pytest.param("conda_env", {"conda.yaml": _conda("pip", pip=("mlflow==1.30.1",))}, "1.30.1", id="conda-pip"),
    pytest.param("conda_env", {"conda.yaml": _conda("mlflow=1.30.1")}, "1.30.1", id="conda-package"),
    pytest.param("conda_env", {"conda.yaml": _conda("conda-forge::mlflow=2.9.2=pyhd8ed1ab_0")}, "2.9.2",
                 id="conda-build-pinned"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow==0.9.1")}, "0.9.1", id="before-1.0-is-read"),
])
def test_an_exact_pin_is_found(tmp_path: Path, env_type: str, files: dict[str, str], pinned: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert pinned_mlflow(env_type, next(iter(files)), tmp_path) == pinned


@pytest.mark.parametrize(("env_type", "files"), [
    pytest.param("python_env", {PY_ENV: _deps("mlflow>=2")}, id="range"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow~=2.9.2")}, id="compatible"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow==2.*")}, id="wildcard"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow")}, id="unpinned"),
    pytest.param("python_env", {PY_ENV: _deps("mlflow==2.9.2", "mlflow-skinny==2.10.0")}, id="two-releases"),
    pytest.param("python_env", {PY_ENV: _deps("mlflowx==1.0", "scikit-learn==1.3.0")}, id="other-packages"),
    pytest.param("python_env", {PY_ENV: _deps("-c constraints.txt", "mlflow"),
                                "constraints.txt": "mlflow==1.30.1\n"}, id="constraint"),
    pytest.param("conda_env", {"conda.yaml": _conda("mlflow=1.30")}, id="conda-prefix"),
    pytest.param("python_env", {PY_ENV: "python: [\n"}, id="not-yaml"),
])
def test_no_exact_pin(tmp_path: Path, env_type: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert pinned_mlflow(env_type, next(iter(files)), tmp_path) == ""


def test_no_file_docker_and_an_include_out_of_the_copy_pin_nothing(tmp_path: Path) -> None:
    copy, outside = tmp_path / "copy", tmp_path / "outside.txt"
    copy.mkdir()
    outside.write_text("mlflow==1.30.1\n")
    (copy / "requirements.txt").symlink_to(outside)
    (copy / PY_ENV).write_text(_deps("-r requirements.txt"))
    assert pinned_mlflow("python_env", PY_ENV, copy) == ""  # the symlink leaves the copy: not followed
    assert pinned_mlflow("python_env", "", copy) == pinned_mlflow("docker_env", "Dockerfile", copy) == ""
    assert pinned_mlflow("python_env", "missing.yaml", copy) == ""


@pytest.mark.parametrize(("asked", "pinned", "driver"), [
    ("declared", "1.30.1", Driver("declared", "1.30.1")),
    ("declared", "", Driver("current", DRIVER_RELEASE)),
    ("declared", "0.9.1", Driver("current", DRIVER_RELEASE)),  # driver.py's client methods are 1.0's
    ("current", "1.30.1", Driver("current", DRIVER_RELEASE)),
    ("declared", DRIVER_RELEASE, Driver("declared", DRIVER_RELEASE)),
])
def test_the_driver_chosen(asked: str, pinned: str, driver: Driver) -> None:
    assert choose_driver(asked, pinned) == driver


def test_the_labels_rows_carry() -> None:
    assert choose_driver("declared", "1.30.1").label == "declared 1.30.1"
    assert choose_driver("current", "1.30.1").label == f"current {DRIVER_RELEASE}"


def test_a_declared_release_is_built_with_the_probes_python_and_pins_skinny_first() -> None:
    skinny, full = driver_specs(Driver("declared", "1.30.1"))
    assert skinny.python == full.python == python_for("1.30.1") == "3.8"
    assert skinny.requirements == ("mlflow-skinny==1.30.1", "setuptools<81")  # a FileStore: no SQLAlchemy
    assert full.requirements == ("mlflow==1.30.1", "setuptools<81", "sqlalchemy<2")  # no server drivers
    assert [s.requirements[0] for s in driver_specs(Driver("declared", "2.22.5"))] == ["mlflow-skinny==2.22.5",
                                                                                       "mlflow==2.22.5"]
    # the tool's own release, declared or current: the environment the job builds at its start
    assert driver_specs(Driver("declared", DRIVER_RELEASE)) == driver_specs(Driver("current", DRIVER_RELEASE)) == (
        DRIVER_SPEC,)


def test_a_release_pypi_has_no_skinny_of_is_built_with_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def build(_context: object, spec: EnvSpec, _using: object = None) -> BuiltEnv:
        asked.append(spec.requirements[0])
        if spec.requirements[0].startswith("mlflow-skinny"):
            raise EnvBuildError("package not found", "mlflow-skinny==1.9.1 not found")
        return BuiltEnv(Path("/env"), Path("/env/bin/python"), "3.8.18", False, 0.0, True)

    monkeypatch.setattr(target_run, "build", build)
    built = target_run._driver_env(None, Driver("declared", "1.9.1"), None)  # type: ignore[arg-type]
    assert (asked, built.root) == (["mlflow-skinny==1.9.1", "mlflow==1.9.1"], Path("/env"))
    asked.clear()

    def unreachable(_context: object, spec: EnvSpec, _using: object = None) -> BuiltEnv:
        asked.append(spec.requirements[0])
        raise EnvBuildError("network", "index unreachable")

    monkeypatch.setattr(target_run, "build", unreachable)
    with pytest.raises(EnvBuildError, match="network"):  # another failure is not a missing release: no fallback
        target_run._driver_env(None, Driver("declared", "1.9.1"), None)  # type: ignore[arg-type]
    assert asked == ["mlflow-skinny==1.9.1"]


# ------------------------------------------------------------------ the journal: one record per target and choice

KEY = "o/r\0MLproject\0main"


def _record(driver: str, pinned: str | None, commit: str = "c1") -> dict[str, Any]:
    row: dict[str, Any] = {"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main", "status": "failed",
                           "driver_mlflow": driver}
    if pinned is not None:
        row["mlflow_pinned"] = pinned
    return {"key": record_key(KEY, row), "commit": commit, "row": row}


def test_the_key_holds_the_choice_and_old_records_were_made_by_the_current_driver(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    old = {"key": KEY, "commit": "c1", "row": {"repo": "o/r", "status": "failed"}}  # before --driver-mlflow
    journal.append(old)
    journal.append(_record("declared 1.30.1", "1.30.1"))
    assert set(_finished(journal)) == {f"{KEY}\0current", f"{KEY}\0declared"}
    assert _finished(journal)[f"{KEY}\0current"] == old
    # a row refused before any driver was chosen (docker, a required parameter) is the current choice's
    assert record_key(KEY, {"driver_mlflow": ""}) == f"{KEY}\0current"


def test_a_target_finished_under_the_other_choice_is_run_again() -> None:
    current, declared = _record("current 3.17.2", "1.30.1"), _record("declared 1.30.1", "1.30.1")
    both = {current["key"]: current, declared["key"]: declared}
    assert finished_under(both, KEY, "current") is current
    assert finished_under(both, KEY, "declared") is declared
    assert finished_under({current["key"]: current}, KEY, "declared") is None  # it pins 1.30.1: run it by 1.30.1
    assert finished_under({declared["key"]: declared}, KEY, "current") is None


@pytest.mark.parametrize(("pinned", "same"), [
    pytest.param("", True, id="no-pin"),
    pytest.param("0.9.1", True, id="before-1.0"),
    pytest.param("2.9.2", False, id="pinned"),
    pytest.param(None, False, id="journaled-before-the-column"),
])
def test_under_declared_a_current_run_counts_where_declared_would_choose_current(pinned: str | None,
                                                                                 same: bool) -> None:
    current = _record("current 3.17.2", pinned)
    assert (finished_under({current["key"]: current}, KEY, "declared") is current) is same
