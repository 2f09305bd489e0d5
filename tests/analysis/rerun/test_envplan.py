"""rerun.envplan: the manager ``mlflow run`` chooses; a conda file made by conda, or converted as MLflow converts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.isolated.conda_env import ANACONDA_DEFAULTS, CondaSpec, channel_urls
from analysis.rerun.envplan import EnvInvalid, choose_manager, from_conda, manager_refusal, plan_environment

CONDA = """
name: x
channels: [conda-forge]
dependencies:
  - python=3.8.13
  - pip=23.1
  - numpy=1.21
  - conda-forge::scikit-learn
  - wheel
  - pip:
      - mlflow==2.9.2
      - -r requirements.txt
"""


def test_conda_file_converted_as_mlflow_converts_it(tmp_path: Path) -> None:
    from mlflow.utils.environment import _PythonEnv

    (tmp_path / "conda.yaml").write_text(CONDA)
    theirs = _PythonEnv.get_dependencies_from_conda_yaml(str(tmp_path / "conda.yaml"))
    python, build, deps, dropped = from_conda(CONDA, "conda.yaml")
    assert (python, list(build), list(deps)) == (theirs["python"], theirs["build_dependencies"], theirs["dependencies"])
    assert dropped == ("numpy=1.21", "conda-forge::scikit-learn")


@pytest.mark.parametrize(("python", "words"), [
    pytest.param("python", "It must be pinned", id="unpinned"),
    pytest.param("python<3.9", "Invalid version comparator", id="upper-bound"),
])
def test_conda_python_mlflow_refuses(python: str, words: str) -> None:
    with pytest.raises(EnvInvalid, match=words):
        from_conda(f"dependencies: [{python}]", "conda.yaml")



@pytest.mark.parametrize(("env_type", "env_file", "text"), [
    pytest.param("python_env", "", "", id="none"),
    pytest.param("python_env", "python_env.yaml", "python: '3.10'\ndependencies: [six]\n", id="python_env"),
    pytest.param("conda_env", "conda.yaml", "dependencies: [python=3.10, {pip: [six]}]\n", id="conda_env"),
])
def test_every_environment_is_seeded_as_python_m_venv_seeds(tmp_path: Path, env_type: str, env_file: str,
                                                             text: str) -> None:
    if env_file:
        (tmp_path / env_file).write_text(text)
    assert plan_environment(env_type, env_file, tmp_path, "", "o/r@c:.").spec.seed


@pytest.mark.parametrize(("kind", "mlflow_type"), [
    pytest.param("conda_env", "conda_env", id="conda_env"),
    pytest.param("python_env", "python_env", id="python_env"),
    pytest.param("none", "python_env", id="none"),  # _project_spec: no environment file is a python_env project
])
def test_the_default_manager_is_the_one_mlflow_run_chooses(kind: str, mlflow_type: str) -> None:
    from mlflow.projects.backend.local import _env_type_to_env_manager

    assert choose_manager(kind) == _env_type_to_env_manager(mlflow_type)


@pytest.mark.parametrize(("kind", "asked", "manager"), [
    pytest.param("conda_env", "", "conda", id="conda_env-default"),
    pytest.param("python_env", "", "virtualenv", id="python_env-default"),
    pytest.param("none", "", "virtualenv", id="none-default"),
    pytest.param("docker_env", "", "", id="docker-default"),
    pytest.param("docker_env", "conda", "", id="docker-whatever-asked"),  # its image is its environment
    pytest.param("conda_env", "virtualenv", "virtualenv", id="conda_env-virtualenv"),
    pytest.param("conda_env", "uv", "uv", id="conda_env-uv"),
    pytest.param("python_env", "local", "local", id="python_env-local"),
    pytest.param("none", "conda", "conda", id="none-conda"),
])
def test_an_asked_manager_wins_but_for_docker(kind: str, asked: str, manager: str) -> None:
    assert choose_manager(kind, asked) == manager


def test_mlflow_refuses_conda_for_a_project_without_a_conda_file() -> None:
    assert "cannot be executed using conda" in manager_refusal("python_env", "conda")
    assert "cannot be executed using conda" in manager_refusal("none", "conda")
    assert manager_refusal("conda_env", "conda") == manager_refusal("python_env", "uv") == ""


def test_the_conda_manager_keeps_every_conda_package_and_the_pip_list(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "conda.yaml").write_text(CONDA)
    plan = plan_environment("conda_env", "sub/conda.yaml", tmp_path, "sub", "o/r@c:sub", manager="conda")
    assert (plan.kind, plan.manager, plan.python_requested, plan.dropped) == ("conda_env", "conda", "3.8.13", ())
    assert plan.conda == CondaSpec(("conda-forge",), ("python=3.8.13", "pip=23.1", "numpy=1.21",
                                                     "conda-forge::scikit-learn", "wheel"),
                                   ("mlflow==2.9.2", "-r requirements.txt"), tmp_path / "sub", "o/r@c:sub")


def test_uv_is_unseeded_and_local_builds_nothing(tmp_path: Path) -> None:
    (tmp_path / "conda.yaml").write_text(CONDA)
    uv = plan_environment("conda_env", "conda.yaml", tmp_path, "", "k", manager="uv")
    assert (uv.manager, uv.spec.seed, uv.dropped) == ("uv", False, ("numpy=1.21", "conda-forge::scikit-learn"))
    local = plan_environment("conda_env", "conda.yaml", tmp_path, "", "k", manager="local")
    assert (local.manager, local.conda, local.spec.requirements, local.python_requested) == ("local", None, (), "")


@pytest.mark.parametrize(("channels", "specs", "urls"), [
    pytest.param((), (), ["conda-forge", *ANACONDA_DEFAULTS], id="none-named"),
    pytest.param(("conda-forge", "nodefaults"), (), ["conda-forge"], id="nodefaults"),
    pytest.param(("defaults",), ("bioconda::samtools",), [*ANACONDA_DEFAULTS, "bioconda"], id="spec-channel"),
    pytest.param(("file:///ch",), ("x",), ["file:///ch"], id="a-url"),
])
def test_the_channels_solved_over(channels: tuple[str, ...], specs: tuple[str, ...], urls: list[str]) -> None:
    assert channel_urls(CondaSpec(channels, specs)) == urls


def test_a_target_made_with_another_manager_is_run_again() -> None:
    from analysis.rerun.job import _other_manager

    def made(kind: str, manager: str | None) -> dict[str, object]:
        row = {"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main", "env_kind": kind}
        return {"row": row if manager is None else {**row, "env_manager": manager}}

    assert not _other_manager(made("conda_env", "conda"), "")
    assert _other_manager(made("conda_env", None), "")  # journaled before the option: made as virtualenv makes it
    assert not _other_manager(made("conda_env", None), "virtualenv")
    assert _other_manager(made("python_env", "virtualenv"), "uv")
    assert not _other_manager(made("docker_env", ""), "conda")
