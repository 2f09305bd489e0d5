"""rerun.envplan: a conda file converted to a Python environment as MLflow converts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.rerun.envplan import EnvInvalid, from_conda, plan_environment

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
