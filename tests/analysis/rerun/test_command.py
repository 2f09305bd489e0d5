"""rerun.command: the command and logged parameters MLflow computes, and its refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.rerun.command import ParameterError, compute_command, logged_parameters
from analysis.rerun.ftypes import ParamDecl

DECLARED = (ParamDecl("alpha", "float", "0.5"), ParamDecl("name", "string", None), ParamDecl("data", "path", "d.csv"),
            ParamDecl("where", "uri", "s3://b/k"))


@pytest.mark.parametrize("given", [
    pytest.param({"name": "plain"}, id="defaults"),
    pytest.param({"name": "a b; rm -rf /", "alpha": "1e-3"}, id="quoted"),
    pytest.param({"name": "x", "extra key": "v w"}, id="extra-appended"),
])
def test_command_is_the_one_mlflow_computes(tmp_path: Path, given: dict[str, str]) -> None:
    from mlflow.projects._project_spec import EntryPoint

    (tmp_path / "d.csv").write_text("1\n")
    template = "python train.py --alpha {alpha} --name {name} --data {data} --where {where}"
    spec = {"alpha": {"type": "float", "default": 0.5}, "name": "string", "data": {"type": "path", "default": "d.csv"},
            "where": {"type": "uri", "default": "s3://b/k"}}
    here = os.getcwd()
    os.chdir(tmp_path)  # MLflow makes relative paths absolute against the current directory
    try:
        theirs = EntryPoint("main", spec, template).compute_command(dict(given), str(tmp_path))
        their_params = EntryPoint("main", spec, template).compute_parameters(dict(given), None)
    finally:
        os.chdir(here)
    assert compute_command(template, DECLARED, given, os.path.exists, str(tmp_path)) == theirs
    assert logged_parameters(DECLARED, given) == {**their_params[0], **their_params[1]}


@pytest.mark.parametrize(("given", "words"), [
    pytest.param({}, "No value given for missing parameters: 'name'", id="required"),
    pytest.param({"name": "n", "data": "nope.csv"}, "but no such file or directory was found", id="missing-path"),
    pytest.param({"name": "n", "where": "no-scheme"}, "Expected URI for parameter where", id="bad-uri"),
    pytest.param({"name": "n", "data": "s3://bucket/d.csv"}, "no network in the sandbox", id="remote-path"),
])
def test_refused_parameters_say_what_mlflow_says(tmp_path: Path, given: dict[str, str], words: str) -> None:
    (tmp_path / "d.csv").write_text("1\n")
    with pytest.raises(ParameterError, match=words.replace("(", r"\(")):
        compute_command("python t.py", DECLARED, given, os.path.exists, str(tmp_path))

