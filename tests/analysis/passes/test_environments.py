"""Environment files: pip and conda specs, includes, and bad input as problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.passes import environments
from analysis.passes.environments import env_file_kind, parse_dockerfile, parse_pyproject, parse_setup_cfg, \
    parse_setup_py
from analysis.reading.env_files import (
    Dependency,
    conda_pin_class,
    decode_env_file,
    parse_conda,
    parse_pip_line,
    parse_python_env,
    parse_requirements,
    python_version,
)
from analysis.repo_state import RepoResult
from analysis.rows import MlprojectRow
from tests.analysis.passes.checkouts import checkout_of, source_file


def reader(files: dict[str, str]):  # type: ignore[no-untyped-def]
    return files.get


@pytest.mark.parametrize(
    ("line", "name", "pin"),
    [
        ("numpy==1.21.0", "numpy", "exact"), ("numpy===1.21.0", "numpy", "exact"), ("numpy==1.*", "numpy", "range"),
        ("numpy>=1.2,<2", "numpy", "range"), ("Scikit_Learn", "scikit-learn", "unpinned"),
        ("pkg @ https://x.org/p.whl", "pkg", "url"), ("git+https://github.com/a/b.git#egg=B_c", "b-c", "vcs"),
        ("./local/pkg", "", "local"), ("https://files.example.org/x.tar.gz", "", "url"),
        ("mlflow[extras]~=2.9; python_version >= '3.8'", "mlflow", "range"),
    ],
)
def test_pip_lines(line: str, name: str, pin: str) -> None:
    dep = parse_pip_line(line, "requirements.txt", 1, "requirements")
    assert isinstance(dep, Dependency)
    assert (dep.name, dep.pin_class) == (name, pin)


def test_marker_is_kept() -> None:
    dep = parse_pip_line("torch==2.0; sys_platform == 'linux'", "r.txt", 3, "requirements")
    assert isinstance(dep, Dependency) and dep.marker == 'sys_platform == "linux"'


def test_what_packaging_rejects_is_a_problem_with_its_line() -> None:
    deps, problems = parse_requirements("numpy==1.0\n{{ dep }}\n", "r.txt", reader({}))
    assert [d.name for d in deps] == ["numpy"]
    assert [(p.path, p.line) for p in problems] == [("r.txt", 2)]


@pytest.mark.parametrize(
    ("rest", "pin"),
    [("=1.21", "range"), ("==1.21.0", "exact"), ("=1.21.0=py39_0", "exact"), ("=3.10.0", "exact"),
     (">=1.2", "range"), ("", "unpinned"), ("1.21.*", "range"), ("=1.1.1n", "exact")],
)
def test_conda_match_specs(rest: str, pin: str) -> None:
    assert conda_pin_class(rest)[1] == pin


def test_requirements_with_includes_options_and_continuations() -> None:
    files = {
        "req/base.txt": "-c constraints.txt\nrequests==2.0  # pinned\n",
        "req/constraints.txt": "urllib3<2\n",
    }
    text = "--index-url https://pypi.org/simple\n-r base.txt\npandas>=1 \\\n  --hash=sha256:abc\n-e .\n"
    deps, problems = parse_requirements(text, "req/requirements.txt", reader(files))
    assert [(d.path, d.line, d.kind, d.name, d.pin_class) for d in deps] == [
        ("req/constraints.txt", 1, "constraints", "urllib3", "range"),
        ("req/base.txt", 2, "requirements", "requests", "exact"),
        ("req/requirements.txt", 3, "requirements", "pandas", "range"),
        ("req/requirements.txt", 5, "requirements", "", "local"),
    ]
    assert problems == []


def test_recursive_and_escaping_includes_are_problems() -> None:
    files = {"a.txt": "-r b.txt\nx==1\n", "b.txt": "-r a.txt\ny==1\n"}
    deps, problems = parse_requirements(files["a.txt"], "a.txt", reader(files))
    assert {d.name for d in deps} == {"x", "y"}
    assert [(p.path, p.line, p.reason) for p in problems] == [("b.txt", 1, "recursive include of a.txt")]
    deps, problems = parse_requirements("-r ../../etc/passwd\n-r /etc/passwd\n-r missing.txt\n", "r.txt", reader({}))
    assert [p.reason for p in problems] == ["include leaves the repository: ../../etc/passwd",
                                            "include leaves the repository: /etc/passwd",
                                            "included file not found: missing.txt"]


def test_conda_file_with_pip_section() -> None:
    text = "name: e\nchannels: [conda-forge]\ndependencies:\n  - python=3.9\n  - conda-forge::numpy=1.21.0=py39_0\n" \
           "  - pip\n  - pip:\n    - mlflow==2.9.2\n    - -r requirements.txt\n"
    deps, problems, python = parse_conda(text, "conda.yaml", reader({"requirements.txt": "torch\n"}))
    assert python == "=3.9"
    assert [(d.kind, d.manager, d.name, d.pin_class) for d in deps] == [
        ("conda", "conda", "python", "range"), ("conda", "conda", "numpy", "exact"),
        ("conda", "conda", "pip", "unpinned"), ("conda-pip", "pip", "mlflow", "exact"),
        ("conda-pip", "pip", "torch", "unpinned")]
    assert problems == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [("dependencies: [a\n", "YAML error"), ("- a\n- b\n", "not a YAML mapping"), ("dependencies: 3\n", "not a list"),
     ("a: &x [1]\n" + "b: [" + ", ".join(["*x"] * 1500) + "]\n", "alias references"),
     ("dependencies:\n\t- numpy\n", "YAML error")],
)
def test_bad_conda_files_are_problems(text: str, reason: str) -> None:
    deps, problems, _ = parse_conda(text, "environment.yml", reader({}))
    assert deps == [] and len(problems) == 1 and reason in problems[0].reason


def test_python_env_file() -> None:
    deps, problems, python = parse_python_env("python: 3.10.12\nbuild_dependencies: [pip==23.0]\n"
                                              "dependencies: [mlflow>=2, -r requirements.txt]\n",
                                              "python_env.yaml", reader({"requirements.txt": "numpy==1.0\n"}))
    assert python == "3.10.12"
    assert [(d.kind, d.name, d.pin_class) for d in deps] == [
        ("python_env-python", "python", "exact"), ("python_env-build", "pip", "exact"),
        ("python_env", "mlflow", "range"), ("python_env", "numpy", "exact")]


@pytest.mark.parametrize(
    ("path", "kind"),
    [("requirements.txt", "requirements"), ("req/requirements-dev.txt", "requirements"), ("conda.yaml", "conda"),
     ("environment.yml", "conda"), ("python_env.yaml", "python_env"), ("setup.py", "setup.py"), ("pyproject.toml", "pyproject.toml"),
     ("docker/Dockerfile", "dockerfile"), ("data.yaml", None)],
)
def test_env_file_kind(path: str, kind: str | None) -> None:
    assert env_file_kind(path) == kind


def test_utf16_requirements_decode_like_pip() -> None:
    assert decode_env_file("numpy==1.0\n".encode("utf-16")) == "numpy==1.0\n"
    with pytest.raises(UnicodeDecodeError):
        decode_env_file(b"numpy==1.0\n\xff\xfe\xfa")


def test_pyproject_pep621_and_poetry() -> None:
    text = """
[project]
dependencies = ["mlflow==2.9.2", "numpy>=1"]
[project.optional-dependencies]
dev = ["pytest"]
[tool.poetry.dependencies]
python = "^3.10"
pandas = "2.1.0"
torch = {version = "^2.0"}
mylib = {git = "https://example.org/x.git"}
"""
    deps, problems = parse_pyproject(text, "pyproject.toml")
    assert [(d.kind, d.name, d.pin_class) for d in deps] == [
        ("pyproject", "mlflow", "exact"), ("pyproject", "numpy", "range"), ("pyproject", "pytest", "unpinned"),
        ("pyproject-poetry", "python", "range"), ("pyproject-poetry", "pandas", "exact"),
        ("pyproject-poetry", "torch", "range"), ("pyproject-poetry", "mylib", "vcs")]
    assert problems == []
    assert parse_pyproject("[project\n", "pyproject.toml")[1][0].reason.startswith("TOML error")


def test_setup_cfg_and_setup_py_are_read_not_run() -> None:
    cfg = "[options]\ninstall_requires =\n    mlflow>=2\n    scikit-learn==1.3.0\n"
    assert [(d.name, d.pin_class) for d in parse_setup_cfg(cfg, "setup.cfg")[0]] == [
        ("mlflow", "range"), ("scikit-learn", "exact")]
    py = ("import os\nREQS = ['mlflow==2.0', 'pandas']\nos.system('rm -rf /')\n"
          "setup(name='x', install_requires=REQS, extras_require={'t': ['pytest>=7']})\n")
    deps, problems = parse_setup_py(py, "setup.py")
    assert [(d.line, d.name, d.pin_class) for d in deps] == [(2, "mlflow", "exact"), (2, "pandas", "unpinned"),
                                                              (4, "pytest", "range")]
    computed = parse_setup_py("setup(install_requires=open('r.txt').read().split())\n", "setup.py")
    assert computed[0] == [] and "computed" in computed[1][0].reason


def test_dockerfile_from_and_pip_install() -> None:
    text = "FROM python:3.10-slim AS base\nFROM repo/img@sha256:" + "a" * 64 + "\nFROM ubuntu\n" \
           "RUN pip install --no-cache-dir mlflow==2.9.2 \\\n    numpy && echo ok\n" \
           "RUN pip install -r requirements.txt  # comment\nCMD [\"python\", \"x.py\"]\n"
    deps, problems = parse_dockerfile(text, "Dockerfile")
    assert [(d.kind, d.line, d.spec, d.pin_class) for d in deps if d.kind == "dockerfile-from"] == [
        ("dockerfile-from", 1, "python:3.10-slim", "range"), ("dockerfile-from", 2, "repo/img@sha256:" + "a" * 64, "exact"),
        ("dockerfile-from", 3, "ubuntu", "unpinned")]
    assert [(d.name, d.pin_class) for d in deps if d.kind == "dockerfile-pip"] == [("mlflow", "exact"), ("numpy", "unpinned")]
    assert problems == []


@pytest.mark.parametrize(
    ("text", "parse", "version"),
    [
        pytest.param("dependencies: [python=3.10.12]\n", "conda", "3.10.12", id="conda-prefix-operator"),
        pytest.param("dependencies: [python==3.10]\n", "conda", "3.10", id="conda-exact"),
        pytest.param("dependencies: ['python 3.9.*']\n", "conda", "3.9", id="conda-space-and-wildcard"),
        pytest.param("dependencies: [python=3.10.12=h1234_0]\n", "conda", "3.10.12", id="conda-build-string"),
        pytest.param("dependencies: ['python>=3.8,<3.11']\n", "conda", ">=3.8,<3.11", id="conda-range-keeps-operators"),
        pytest.param("dependencies: [python]\n", "conda", "", id="conda-unpinned"),
        pytest.param("python: 3.10.12\n", "python_env", "3.10.12", id="python-env"),
        pytest.param("python: '3.9'\n", "python_env", "3.9", id="python-env-minor"),
        pytest.param('[tool.poetry.dependencies]\npython = "^3.9"\n', "pyproject", "^3.9", id="poetry-range"),
        pytest.param('[tool.poetry.dependencies]\npython = "3.10"\n', "pyproject", "3.10", id="poetry-version"),
        pytest.param("FROM python:3.9-slim\n", "dockerfile", "3.9", id="docker-tag"),
        pytest.param("FROM python:3.11.4@sha256:" + "0" * 64 + "\n", "dockerfile", "3.11.4", id="docker-tag-and-digest"),
        pytest.param("FROM python:latest\n", "dockerfile", "", id="docker-latest-names-no-version"),
        pytest.param("FROM python\n", "dockerfile", "", id="docker-untagged"),
        pytest.param("FROM ubuntu:22.04\n", "dockerfile", "", id="docker-other-image"),
    ],
)
def test_python_version_has_one_form(text: str, parse: str, version: str) -> None:
    if parse == "conda":
        deps, _problems, python = parse_conda(text, "conda.yaml", reader({}))
    elif parse == "python_env":
        deps, _problems, python = parse_python_env(text, "python_env.yaml", reader({}))
    elif parse == "pyproject":
        (deps, _problems), python = parse_pyproject(text, "pyproject.toml"), ""
    else:
        (deps, _problems), python = parse_dockerfile(text, "Dockerfile"), ""
    assert python_version(python, deps) == version


def test_the_file_pass_keeps_environment_files_and_setup_py_only(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {"requirements.txt": "x\n", "setup.py": "setup()\n", "train.py": "x = 1\n",
                                      "mysetup.py": "x = 1\n"})
    result = RepoResult("o/r")
    for rel in checkout.paths:
        environments.file_pass(source_file(checkout, result, rel), checkout, result)
    assert [rel for rel, _data, _row in checkout.env_files] == ["requirements.txt", "setup.py"]


def test_the_repository_pass_alone_reads_kept_and_referenced_files(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {
        "requirements.txt": "mlflow==2.9.0\nnumpy>=1.0\n",
        "env/deps.yaml": "dependencies: [python=3.10, {pip: [pandas]}]\n",  # not an environment by name
        "Dockerfile": "FROM python:3.10\nENV MLFLOW_TRACKING_URI=http://tracking:5000\n",
    })
    result = RepoResult("o/r")
    for rel in checkout.paths:
        environments.file_pass(source_file(checkout, result, rel), checkout, result)
    result.mlprojects.append(MlprojectRow("o/r", "MLproject", "p", "conda_env", "conda_env", "env/deps.yaml", "", "", False,
                                          0, True, ""))  # as the MLproject pass leaves it
    environments.repo_pass(checkout, result)
    assert [(d.path, d.line, d.name, d.pin_class) for d in result.dependencies] == [
        ("Dockerfile", 1, "python", "range"), ("requirements.txt", 1, "mlflow", "exact"),
        ("requirements.txt", 2, "numpy", "range"), ("env/deps.yaml", None, "python", "range"),
        ("env/deps.yaml", None, "pandas", "unpinned")]
    assert [(e.path, e.kind, e.n_deps, e.mlflow_pinned, e.referenced_by_mlproject) for e in result.environments] == [
        ("Dockerfile", "dockerfile", 0, "", False), ("requirements.txt", "requirements", 2, True, False),
        ("env/deps.yaml", "conda", 1, "", True)]
    assert [(u.path, u.uri.scheme) for u in result.uris] == [("Dockerfile", "http")]
    assert {f.path: (f.kind, f.status) for f in result.files} == {
        "Dockerfile": ("environment", "analyzed"), "requirements.txt": ("environment", "analyzed"),
        "env/deps.yaml": ("environment", "analyzed")}  # read because the MLproject names it
