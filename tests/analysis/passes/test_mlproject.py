"""MLproject parsing, checked fixture by fixture against MLflow's own loader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.passes import mlproject
from analysis.reading.mlproject import docker_pinning, parse_mlproject, script_of
from analysis.repo_state import RepoResult
from tests.analysis.passes.checkouts import checkout_of, source_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mlprojects"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
_PATHISH = re.compile(r"[^\s,]*/[^\s,]*|[^\s,]+\.ya?ml")


def _ours(case: str):  # type: ignore[no-untyped-def]
    root = FIXTURES / case
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    name = next(p for p in files if p.lower() == "mlproject")
    return parse_mlproject((root / name).read_text(), name, files)


@pytest.mark.parametrize("case", CASES)
def test_same_as_mlflows_loader(case: str) -> None:
    spec_module = pytest.importorskip("mlflow.projects._project_spec")
    root = FIXTURES / case
    ours = _ours(case)
    try:
        project = spec_module.load_project(str(root))
    except Exception as err:  # MLflow's refusals and its crashes alike
        assert not ours.valid, f"MLflow refused ({err}), we accepted"
        if type(err).__name__ in ("ExecutionException", "MlflowException"):
            assert _PATHISH.sub("<path>", ours.error) == _PATHISH.sub("<path>", err.message)
        return
    assert ours.valid, ours.error
    assert ours.name == project.name
    assert ours.env_type == (project.env_type or "")
    expected_env = Path(project.env_config_path).relative_to(root).as_posix() if project.env_config_path else ""
    assert ours.env_file == expected_env
    assert ours.databricks_spark_job == (project.databricks_spark_job_spec is not None)
    if project.docker_env:
        assert ours.docker_image == project.docker_env["image"]
    mlflow_eps = project._entry_points or {}
    assert [e.name for e in ours.entry_points] == list(mlflow_eps)
    for ep in ours.entry_points:
        theirs = mlflow_eps[ep.name]
        assert ep.command == theirs.command
        assert [p.name for p in ep.parameters] == list(theirs.parameters)
        for p in ep.parameters:
            assert p.type == theirs.parameters[p.name].type
            default = theirs.parameters[p.name].default
            assert p.default == (None if default is None else str(default))
            assert p.required == (default is None)


def test_fixture_details() -> None:
    conda = _ours("conda_declared")
    main = conda.entry_points[0]
    assert (conda.env_type, conda.env_declared, conda.env_file) == ("conda_env", "conda_env", "conda.yaml")
    assert main.script == "train.py"
    assert [(p.name, p.type, p.default, p.required, p.used_in_command) for p in main.parameters] == [
        ("alpha", "float", "0.5", False, True), ("l1_ratio", "float", "0.1", False, True), ("data", "path", None, True, False)]
    assert conda.entry_points[1].script == "pkg/validate.py"
    fallback = _ours("python_env_fallback")
    assert (fallback.env_type, fallback.env_declared, fallback.env_file) == ("python_env", "", "python_env.yaml")
    assert fallback.entry_points[0].script == "train.R"
    assert _ours("no_env").env_type == "python_env" and _ours("no_env").env_file == ""
    docker = _ours("docker_ok")
    assert (docker.docker_pinned, docker.docker_volumes, docker.docker_environment) == ("digest", ("/a:/b",), ("K", "HOME"))
    assert _ours("empty").error.startswith("MLproject is empty")
    assert "line 3" in _ours("tabs").error


def test_alias_bomb_is_refused_bounded() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join(['*a' + (str(i - 1) if i > 1 else '')] * 10)}]")
    lines.append("entry_points: {main: {command: '*a8'}}")
    spec = parse_mlproject("\n".join(lines) + "\n" + "\n".join(f"k{j}: [*a8, *a8]" for j in range(600)), "MLproject", set())
    assert not spec.valid and "alias references" in spec.error


def test_huge_file_is_refused() -> None:
    spec = parse_mlproject("name: x\n" + "# pad\n" * 400_000, "MLproject", set())
    assert not spec.valid and spec.error.startswith("file too large")


@pytest.mark.parametrize(
    ("command", "script"),
    [
        ("python train.py --alpha {alpha}", "proj/train.py"),
        ("python3 -u src/train.py", "proj/src/train.py"),
        ("python -m pkg.mod --x 1", "proj/pkg/mod.py"),
        ("Rscript ../r/train.R", "r/train.R"),
        ("bash scripts/run.sh {n}", "proj/scripts/run.sh"),
        ("./run.sh", "proj/run.sh"),
        ("python /opt/app/main.py", "/opt/app/main.py"),
        ("echo hello", ""),
        ("python \\\n  train.py", "proj/train.py"),
    ],
)
def test_script_of(command: str, script: str) -> None:
    assert script_of(command, "proj") == script


@pytest.mark.parametrize(
    ("image", "pinned"),
    [("img", "none"), ("img:latest", "latest"), ("img:1.2", "tag"), ("host:5000/img", "none"),
     ("host:5000/img:2", "tag"), ("img@sha256:" + "0" * 64, "digest")],
)
def test_docker_pinning(image: str, pinned: str) -> None:
    assert docker_pinning(image) == pinned


def test_the_pass_fills_the_three_mlproject_tables(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {
        "MLproject": "name: p\nentry_points:\n  main:\n    parameters:\n      alpha: float\n    command: python train.py {alpha}\n",
        "sub/MLproject": "name: q\nconda_env: missing.yaml\nentry_points: {}\n",
        "train.py": "print(1)\n"})
    result = RepoResult("o/r")
    for rel in ("MLproject", "sub/MLproject"):
        mlproject.file_pass(source_file(checkout, result, rel), checkout, result)
    assert [(m.path, m.name, m.valid) for m in result.mlprojects] == [("MLproject", "p", True), ("sub/MLproject", None, False)]
    assert [(e.mlproject_path, e.entry_point, e.script, e.n_params) for e in result.entry_points] == [
        ("MLproject", "main", "train.py", 1)]
    assert [(p.entry_point, p.parameter.name, p.parameter.type) for p in result.parameters] == [("main", "alpha", "float")]
    assert [(f.path, f.status) for f in result.files] == [("MLproject", "analyzed"), ("sub/MLproject", "problem")]
    assert [(p.path, p.stage) for p in result.problems] == [("sub/MLproject", "mlproject")]
