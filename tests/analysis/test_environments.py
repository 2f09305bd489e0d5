"""Environment files: pip and conda specs, includes, and bad input as problems."""

from __future__ import annotations

import pytest

from analysis.environments import (
    conda_pin_class,
    decode_env_file,
    env_file_kind,
    parse_conda,
    parse_pip_line,
    parse_python_env,
    parse_requirements,
)
from analysis.environments import Dependency


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
     ("environment.yml", "conda"), ("python_env.yaml", "python_env"), ("setup.py", None), ("data.yaml", None)],
)
def test_env_file_kind(path: str, kind: str | None) -> None:
    assert env_file_kind(path) == kind


def test_utf16_requirements_decode_like_pip() -> None:
    assert decode_env_file("numpy==1.0\n".encode("utf-16")) == "numpy==1.0\n"
    with pytest.raises(UnicodeDecodeError):
        decode_env_file(b"numpy==1.0\n\xff\xfe\xfa")
