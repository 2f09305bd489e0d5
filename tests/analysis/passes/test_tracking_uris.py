"""Tracking URIs: where code and other files set them, and how a URI is classified."""

from __future__ import annotations

import textwrap

import pytest

from analysis.passes.mlflow_calls import find_in_module
from analysis.passes.tracking_uris import TrackingUris, classify_uri, config_source, scan_text
from tests.analysis.passes.finders import RESOLVER, run_alone


def uris(code: str) -> list[tuple[int, str, str, str, str]]:
    """What the finder finds, run alone in the walk: (line, via, value, scheme, host kind)."""
    return [(u.line, u.via, u.value, u.scheme, u.host_kind) for u in run_alone(TrackingUris, code)]


FINDS = [
    pytest.param("""\
        import mlflow
        mlflow.set_tracking_uri("http://localhost:5000")
        """, [(2, "set_tracking_uri", "http://localhost:5000", "http", "localhost")], id="set-tracking-uri"),
    pytest.param("""\
        from mlflow import set_tracking_uri
        set_tracking_uri(uri="databricks")
        """, [(2, "set_tracking_uri", "databricks", "databricks", "remote")], id="keyword"),
    pytest.param("""\
        import os
        import mlflow
        mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI"))
        mlflow.set_tracking_uri(make_uri())
        """, [(3, "set_tracking_uri", "", "env-only", "none"), (4, "set_tracking_uri", "", "computed", "none")],
        id="from-environment-or-computed"),
    pytest.param("""\
        from mlflow.tracking import MlflowClient
        client = MlflowClient(tracking_uri="sqlite:///mlflow.db")
        other = MlflowClient("https://mlflow.example.org")
        """, [(2, "MlflowClient", "sqlite:///mlflow.db", "sqlite", "none"),
              (3, "MlflowClient", "https://mlflow.example.org", "https", "remote")], id="client"),
    pytest.param("""\
        import os
        os.environ["MLFLOW_TRACKING_URI"] = "file:./mlruns"
        """, [(2, "environ", "file:./mlruns", "file", "none")], id="environ-assignment"),
    pytest.param("""\
        import os
        os.environ.setdefault("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
        os.environ.update({"MLFLOW_TRACKING_URI": "postgresql://db.example.org/mlflow"})
        os.environ.update(MLFLOW_TRACKING_URI="mysql://localhost/m")
        os.putenv("MLFLOW_TRACKING_URI", "s3://bucket")
        """, [(2, "environ", "http://127.0.0.1:5000", "http", "localhost"),
              (3, "environ", "postgresql://db.example.org/mlflow", "postgresql", "remote"),
              (4, "environ", "mysql://localhost/m", "mysql", "localhost"),
              (5, "environ", "s3://bucket", "s3", "remote")], id="environ-calls"),
    pytest.param("""\
        from pytorch_lightning.loggers import MLFlowLogger
        logger = MLFlowLogger(experiment_name="e", tracking_uri="https://mlflow.example.org")
        """, [(2, "MLFlowLogger", "https://mlflow.example.org", "https", "remote")], id="integration-keyword"),
    pytest.param("""\
        import os
        from pytorch_lightning.loggers import MLFlowLogger
        logger = MLFlowLogger(tracking_uri="http://a")
        os.environ["MLFLOW_TRACKING_URI"] = "http://b"
        os.environ.setdefault("MLFLOW_TRACKING_URI", "http://c")
        """, [(5, "environ", "http://c", "http", "remote"), (4, "environ", "http://b", "http", "remote"),
              (3, "MLFlowLogger", "http://a", "http", "remote")], id="calls-then-assignments-then-integrations"),
]


@pytest.mark.parametrize(("code", "expected"), FINDS)
def test_finds(code: str, expected: list[tuple[int, str, str, str, str]]) -> None:
    assert uris(code) == expected


IGNORES = [
    pytest.param("""\
        import os
        os.environ["OTHER"] = "http://x"
        os.environ.setdefault("OTHER", "http://x")
        env = {}
        env["MLFLOW_TRACKING_URI"] = "http://x"
        """, id="other-key-or-other-mapping"),
    pytest.param("""\
        import mlflow
        mlflow.set_experiment("http://x")
        mlflow.set_tracking_uri()
        """, id="other-call-or-no-argument"),
    pytest.param("""\
        from mlflow.tracking import MlflowClient
        client = MlflowClient()
        """, id="client-without-uri"),
    pytest.param("""\
        def set_tracking_uri(uri):
            pass
        set_tracking_uri("http://x")
        """, id="local-function"),
    pytest.param("""\
        from mylib.loggers import MLFlowLogger
        MLFlowLogger(tracking_uri="http://x")
        """, id="not-an-integration"),
    pytest.param("""\
        # mlflow.set_tracking_uri("http://x")
        s = "MLFLOW_TRACKING_URI=http://x"
        """, id="comments-and-strings"),
]


@pytest.mark.parametrize("code", IGNORES)
def test_ignores(code: str) -> None:
    assert uris(code) == []


@pytest.mark.parametrize("code", [p.values[0] for p in FINDS])
def test_alone_as_in_the_pass(code: str) -> None:
    found = find_in_module(textwrap.dedent(code), RESOLVER).tracking_uris
    assert [(u.line, u.via, u.value, u.scheme, u.host_kind) for u in found] == uris(code)


CLASSIFIES = [
    pytest.param("http://localhost:5000", ("http", "localhost"), id="http-local"),
    pytest.param("https://mlflow.example.org", ("https", "remote"), id="https-remote"),
    pytest.param("databricks", ("databricks", "remote"), id="databricks"),
    pytest.param("databricks-uc://profile", ("databricks", "remote"), id="databricks-uc"),
    pytest.param("sqlite:///mlflow.db", ("sqlite", "none"), id="sqlite"),
    pytest.param("postgresql+psycopg2://u@db:5432/m", ("postgresql", "remote"), id="db-driver"),
    pytest.param("mysql://127.0.0.1/m", ("mysql", "localhost"), id="db-local"),
    pytest.param("./mlruns", ("file", "none"), id="path"),
    pytest.param("C:\\mlruns", ("file", "none"), id="windows-path"),
    pytest.param("${MLFLOW_URI}", ("env-only", "none"), id="env-reference"),
    pytest.param("", ("none", "none"), id="empty"),
    pytest.param("s3://bucket/path", ("s3", "remote"), id="other-scheme"),
]


@pytest.mark.parametrize(("value", "expected"), CLASSIFIES)
def test_classify_uri(value: str, expected: tuple[str, str]) -> None:
    assert classify_uri(value) == expected


def test_config_files() -> None:
    assert [config_source(p) for p in (".env", "run.sh", "Makefile", "Dockerfile", "docker-compose.yml",
                                       ".github/workflows/ci.yml", "config.yaml")] == [
        "env-file", "shell", "makefile", "dockerfile", "compose", "ci", None]
    text = "# MLFLOW_TRACKING_URI=http://old\nexport MLFLOW_TRACKING_URI=http://localhost:5000\n  MLFLOW_TRACKING_URI: \"\"\n"
    assert [(u.line, u.value, u.scheme, u.host_kind, u.via) for u in scan_text(text, "shell")] == [
        (2, "http://localhost:5000", "http", "localhost", "assignment")]


def test_a_shell_line_continuation_is_not_part_of_the_value() -> None:
    text = ("docker run \\\n -e MLFLOW_TRACKING_URI=$MLFLOW_TRACKING_URI\\\n -e X=1 img\n"
            "export MLFLOW_TRACKING_URI=http://h:5000 \\\n  && mlflow run .\n")
    assert [(u.line, u.value, u.scheme) for u in scan_text(text, "shell")] == [
        (2, "$MLFLOW_TRACKING_URI", "env-only"), (4, "http://h:5000", "http")]
