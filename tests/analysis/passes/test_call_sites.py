"""Call sites of MLflow's API: what the finder finds, where, and what it must ignore."""

from __future__ import annotations

import textwrap

import pytest

from analysis.releases.catalog import load_snapshot
from analysis.ftypes import FileContext
from analysis.passes.mlflow_calls import Resolver, find_in_module

RESOLVER = Resolver.from_catalog(load_snapshot())


def sites(code: str, **kw: object) -> list[tuple[int, str]]:
    found = find_in_module(textwrap.dedent(code), RESOLVER, **kw)  # type: ignore[arg-type]
    return [(s.line, s.api) for s in found.call_sites]


FINDS = [
    pytest.param("""\
        import mlflow
        mlflow.start_run()
        mlflow.log_metric("acc", 0.9)
        mlflow.end_run()
        """, [(2, "mlflow.start_run"), (3, "mlflow.log_metric"), (4, "mlflow.end_run")], id="import-mlflow"),
    pytest.param("""\
        import mlflow as mf
        mf.log_param("a", 1)
        """, [(2, "mlflow.log_param")], id="alias"),
    pytest.param("""\
        import mlflow.sklearn
        mlflow.sklearn.log_model(m, "model")
        mlflow.sklearn.autolog()
        """, [(2, "mlflow.sklearn.log_model"), (3, "mlflow.sklearn.autolog")], id="submodule-import"),
    pytest.param("""\
        import mlflow.sklearn as mls
        mls.save_model(m, "path")
        """, [(2, "mlflow.sklearn.save_model")], id="submodule-alias"),
    pytest.param("""\
        from mlflow import log_metric as lm, log_params
        lm("loss", 1.0, step=3)
        log_params(vars(args))
        """, [(2, "mlflow.log_metric"), (3, "mlflow.log_params")], id="from-import-as"),
    pytest.param("""\
        from mlflow.tracking.fluent import log_metric
        log_metric("x", 1)
        """, [(2, "mlflow.log_metric")], id="defining-module-canonicalized"),
    pytest.param("""\
        from mlflow.tracking import MlflowClient
        client = MlflowClient()
        client.log_metric(run_id, "k", 1.0)
        """, [(2, "mlflow.MlflowClient"), (3, "mlflow.MlflowClient.log_metric")], id="client-from-tracking"),
    pytest.param("""\
        from mlflow import MlflowClient
        MlflowClient().set_tag(rid, "k", "v")
        """, [(2, "mlflow.MlflowClient.set_tag"), (2, "mlflow.MlflowClient")], id="client-from-mlflow-chained"),
    pytest.param("""\
        import mlflow
        c = mlflow.tracking.MlflowClient(tracking_uri="http://x")
        c.log_batch(rid, metrics=[m])
        """, [(2, "mlflow.MlflowClient"), (3, "mlflow.MlflowClient.log_batch")], id="client-attribute-path"),
    pytest.param("""\
        import mlflow
        class Tracker:
            def __init__(self):
                self.client = mlflow.MlflowClient()
            def log(self, rid):
                self.client.log_param(rid, "a", 1)
        """, [(4, "mlflow.MlflowClient"), (6, "mlflow.MlflowClient.log_param")], id="client-on-self"),
    pytest.param("""\
        from mlflow.client import MlflowClient
        def f(client: MlflowClient):
            client.create_run("0")
        """, [(3, "mlflow.MlflowClient.create_run")], id="client-annotated-parameter"),
    pytest.param("""\
        import mlflow
        def register(client, name):
            client.create_registered_model(name)
        """, [(3, "mlflow.MlflowClient.create_registered_model")], id="client-named-parameter"),
    pytest.param("""\
        import mlflow
        with mlflow.start_run() as run:
            mlflow.log_param("a", run.info.run_id)
        """, [(2, "mlflow.start_run"), (3, "mlflow.log_param")], id="with-start-run"),
    pytest.param("""\
        import mlflow
        @mlflow.trace
        def predict(x):
            return x
        @mlflow.trace(name="p")
        def other(x):
            return x
        """, [(2, "mlflow.trace"), (5, "mlflow.trace")], id="decorators"),
    pytest.param("""\
        try:
            import mlflow
        except ImportError:
            mlflow = None
        if mlflow:
            mlflow.log_metric("a", 1)
        """, [(6, "mlflow.log_metric")], id="guarded-import"),
    pytest.param("""\
        def train():
            import mlflow
            mlflow.log_metric("a", 1)
        """, [(3, "mlflow.log_metric")], id="function-level-import"),
    pytest.param("""\
        def train():
            mlflow.autolog()
        if __name__ == "__main__":
            import mlflow
            train()
        """, [(2, "mlflow.autolog")], id="import-below-use"),
    pytest.param("""\
        mlflow = None
        import mlflow as m
        mlflow = m
        mlflow.set_experiment("e")
        """, [(4, "mlflow.set_experiment")], id="late-binding"),
    pytest.param("""\
        import mlflow
        mlflow.log_metric(
            "loss",
            1.0,
        )
        """, [(2, "mlflow.log_metric")], id="multiline-first-line"),
    pytest.param("""\
        from mlflow import *
        log_param("a", 1)
        """, [(2, "mlflow.log_param")], id="star-import"),
    pytest.param("""\
        import mlflow
        getattr(mlflow, "log_metric")("a", 1)
        getattr(mlflow, "log_" + kind)("a", 1)
        """, [(2, "mlflow.log_metric"), (3, "mlflow.<dynamic>")], id="getattr"),
    pytest.param("""\
        import mlflow
        x = f"{mlflow.log_metric('a', 1)}"
        """, [(2, "mlflow.log_metric")], id="inside-fstring"),
    # clients kept in a module's globals, assigned in one function and used in others
    pytest.param("""\
        from mlflow import MlflowClient
        CLIENT: MlflowClient = None
        def setup():
            global CLIENT
            CLIENT = MlflowClient(tracking_uri="http://x")
        def log(rid):
            CLIENT.log_metric(rid, "k", 1.0)
        """, [(5, "mlflow.MlflowClient"), (7, "mlflow.MlflowClient.log_metric")], id="annotated-global-set-in-a-function"),
    pytest.param("""\
        import mlflow
        client = None
        def log(rid):
            client.set_tag(rid, "k", "v")
        def init():
            global client
            if client is None:
                client = mlflow.tracking.MlflowClient()
        """, [(4, "mlflow.MlflowClient.set_tag"), (8, "mlflow.MlflowClient")], id="global-set-in-a-function"),
    pytest.param("""\
        import mlflow
        def init():
            global _client
            _client = mlflow.MlflowClient()
        def log(rid):
            _client.log_param(rid, "a", 1)
        """, [(4, "mlflow.MlflowClient"), (6, "mlflow.MlflowClient.log_param")], id="global-bound-only-in-a-function"),
    pytest.param("""\
        from typing import Optional
        from mlflow.tracking import MlflowClient
        from project.tracking import connect
        CLIENT: Optional[MlflowClient] = None
        def setup():
            global CLIENT
            CLIENT = connect()
        def log(rid):
            CLIENT.log_batch(rid, metrics=[])
        """, [(9, "mlflow.MlflowClient.log_batch")], id="optional-annotation-outlives-an-opaque-value"),
    pytest.param("""\
        import mlflow
        CLIENT: mlflow.MlflowClient | None = None
        OTHER: "MlflowClient"
        def log(rid):
            CLIENT.create_run("0")
        """, [(5, "mlflow.MlflowClient.create_run")], id="union-annotation"),
    pytest.param("""\
        from mlflow import MlflowClient
        CLIENT: "MlflowClient" = None
        def log(rid):
            CLIENT.create_run("0")
        """, [(4, "mlflow.MlflowClient.create_run")], id="quoted-annotation"),
    pytest.param("""\
        import mlflow
        def outer():
            client = None
            def connect():
                nonlocal client
                client = mlflow.MlflowClient()
            connect()
            client.set_terminated(rid)
        """, [(6, "mlflow.MlflowClient"), (8, "mlflow.MlflowClient.set_terminated")], id="nonlocal"),
    # clients kept on a class
    pytest.param("""\
        from mlflow import MlflowClient
        class Tracker:
            client = MlflowClient()
            def log(self, rid):
                self.client.log_metric(rid, "k", 1.0)
            @classmethod
            def tag(cls, rid):
                cls.client.set_tag(rid, "k", "v")
        Tracker.client.log_param(rid, "a", 1)
        """, [(3, "mlflow.MlflowClient"), (5, "mlflow.MlflowClient.log_metric"), (8, "mlflow.MlflowClient.set_tag"),
              (9, "mlflow.MlflowClient.log_param")], id="class-attribute"),
    pytest.param("""\
        from typing import Optional
        import mlflow
        class Tracker:
            client: Optional[mlflow.MlflowClient] = None
            def __init__(self, uri):
                self.client = make_client(uri)
            def log(self, rid):
                self.client.log_metric(rid, "k", 1.0)
        """, [(8, "mlflow.MlflowClient.log_metric")], id="annotated-class-attribute"),
    pytest.param("""\
        import mlflow
        class Tracker:
            def __init__(self):
                self.client = None
            def connect(self):
                self.client = mlflow.MlflowClient()
            def log(self, rid):
                self.client.log_param(rid, "a", 1)
        """, [(6, "mlflow.MlflowClient"), (8, "mlflow.MlflowClient.log_param")], id="client-on-self-after-none"),
    pytest.param("""\
        import mlflow
        class Tracker:
            def __init__(self):
                self.client: mlflow.MlflowClient = None
            def log(self, rid):
                self.client.log_param(rid, "a", 1)
        """, [(6, "mlflow.MlflowClient.log_param")], id="annotated-attribute-on-self"),
    pytest.param("""\
        import mlflow
        def get_client():
            return mlflow.MlflowClient()
        get_client().create_experiment("e")
        """, [(3, "mlflow.MlflowClient"), (4, "mlflow.MlflowClient.create_experiment")],
        id="function-returning-a-client"),
    pytest.param("""\
        from mlflow.tracking import MlflowClient
        from project import connect
        def get_client() -> MlflowClient:
            return connect()
        get_client().create_experiment("e")
        """, [(5, "mlflow.MlflowClient.create_experiment")], id="function-annotated-to-return-a-client"),
    pytest.param("""\
        from mlflow.tracking import MlflowClient
        class Helper:
            _client: MlflowClient = None
            @property
            def client(self):
                if self._client is None:
                    self._client = MlflowClient()
                return self._client
            @client.setter
            def client(self, value):
                self._client = value
            def upload(self, rid, path):
                self.client.log_artifacts(rid, path)
        """, [(7, "mlflow.MlflowClient"), (13, "mlflow.MlflowClient.log_artifacts")], id="property-returning-a-client"),
]


@pytest.mark.parametrize(("code", "expected"), FINDS)
def test_finds(code: str, expected: list[tuple[int, str]]) -> None:
    assert sites(code) == expected


IGNORES = [
    pytest.param("""\
        from . import mlflow
        mlflow.log_metric("a", 1)
        """, id="relative-import-named-mlflow"),
    pytest.param("""\
        from app.integrations import mlflow as mlflow_integration
        mlflow_integration.log_metric("a", 1)
        """, id="other-package-module-named-mlflow"),
    pytest.param("""\
        def log_metric(k, v):
            print(k, v)
        log_metric("a", 1)
        """, id="local-log-metric"),
    pytest.param("""\
        import wandb
        wandb.log_metric("a", 1)
        logger.log_metric("a", 1)
        """, id="unrelated-log-metric"),
    pytest.param("""\
        import mlflow
        def f(mlflow):
            mlflow.log_metric("a", 1)
        """, id="parameter-shadows"),
    pytest.param("""\
        import mlflow
        class MLFlowLogger:
            def log_metric(self, k, v):
                pass
        MLFlowLogger().log_metric("a", 1)
        """, id="local-class-shadowing"),
    pytest.param("""\
        # mlflow.log_metric("a", 1)
        s = "mlflow.log_metric('a', 1)"
        """, id="comments-and-strings"),
    pytest.param("""\
        import boto3
        client = boto3.client("s3")
        client.log_batch("x")
        """, id="other-client"),
    pytest.param("""\
        from mlflow_export_import.common import utils
        def copy(client, run_id):
            client.log_batch(run_id)
        """, id="client-parameter-in-module-importing-a-package-named-mlflow_-only"),
    pytest.param("""\
        import mlflow_utils
        getattr(mlflow_utils, "log_" + kind)("a", 1)
        """, id="getattr-on-a-package-named-mlflow_"),
    pytest.param("""\
        try:
            import mlflowx as mlflow
        except ImportError:
            mlflow = None
        mlflow.log_metric("a", 1)
        """, id="guarded-import-of-a-look-alike"),
    pytest.param("""\
        import boto3
        import mlflow
        client = None
        def setup():
            global client
            client = boto3.client("s3")
        def upload():
            client.log_batch("x")
        """, id="global-named-client-bound-to-another-client"),
    pytest.param("""\
        import boto3
        from mlflow import MlflowClient
        CLIENT: MlflowClient = None
        def upload():
            CLIENT = boto3.client("s3")
            CLIENT.log_batch("x")
        """, id="local-shadows-an-annotated-global"),
    pytest.param("""\
        import boto3
        from typing import Optional
        CLIENT: Optional[boto3.client] = None
        def upload():
            CLIENT.log_batch("x")
        """, id="global-annotated-with-another-type"),
    pytest.param("""\
        import boto3
        import mlflow
        class Uploader:
            client = boto3.client("s3")
            def upload(self):
                self.client.log_batch("x")
        Uploader.client.log_batch("y")
        """, id="class-attribute-bound-to-another-client"),
    pytest.param("""\
        import boto3
        import mlflow
        class Uploader:
            @property
            def client(self):
                return boto3.client("s3")
            def upload(self):
                self.client.log_batch("x")
        """, id="property-returning-another-client"),
]


@pytest.mark.parametrize("code", IGNORES)
def test_ignores(code: str) -> None:
    assert sites(code) == []


def test_an_attribute_of_self_resolves_through_its_own_class() -> None:
    code = """\
        import boto3
        import mlflow
        class Uploader:
            def __init__(self):
                self.client = boto3.client("s3")
            def upload(self):
                self.client.log_batch("x")
        class Tracker:
            def __init__(self):
                self.client = mlflow.MlflowClient()
        """
    assert sites(code) == [(10, "mlflow.MlflowClient")]  # not Uploader's log_batch (line 7)


def test_local_module_named_mlflow_shadows_when_told() -> None:
    code = "import mlflow\nmlflow.log_metric('a', 1)\n"
    assert sites(code, context=FileContext(local_mlflow=True)) == []
    assert sites(code) == [(2, "mlflow.log_metric")]


def test_project_module_reexporting_mlflow() -> None:
    code = "from mylib import mlflow\nmlflow.start_run()\n"
    assert sites(code, context=FileContext(reexports=frozenset({"mylib.mlflow"}))) == [(2, "mlflow.start_run")]
    assert sites(code) == []


def test_implicit_mlflow_from_run_magic() -> None:
    assert sites("mlflow.log_param('a', 1)\n", implicit_mlflow=True) == [(1, "mlflow.log_param")]
    assert sites("mlflow.log_param('a', 1)\n") == []


def test_row_details() -> None:
    code = textwrap.dedent("""\
        import mlflow
        from mlflow.tracking import MlflowClient
        def train(epochs):
            client = MlflowClient()
            with mlflow.start_run():
                for epoch in range(epochs):
                    mlflow.log_metric("loss", 1.0, epoch)
                    mlflow.log_metric(f"loss_{epoch}", 1.0)
                mlflow.log_params({"a": 1})
                client.log_metric(rid, name, 1.0, 0, 5)
            mlflow.set_tag("k", make())
        """)
    found = {(s.line, s.api): s for s in find_in_module(code, RESOLVER).call_sites}
    loop = found[(7, "mlflow.log_metric")]
    assert (loop.in_loop, loop.in_run_context, loop.key_kind, loop.key, loop.has_step, loop.n_args) == (
        True, True, "literal", "loss", True, 3)
    assert (loop.enclosing_function, loop.style, loop.category, loop.col) == ("train", "fluent", "metric", 12)
    assert found[(8, "mlflow.log_metric")].key_kind == "fstring"
    assert not found[(8, "mlflow.log_metric")].has_step
    assert found[(9, "mlflow.log_params")].key_kind == "dict"
    client = found[(10, "mlflow.MlflowClient.log_metric")]
    assert (client.key_kind, client.has_step, client.style) == ("name", True, "client")
    tag = found[(11, "mlflow.set_tag")]
    assert (tag.in_run_context, tag.in_loop, tag.key_kind) == (False, False, "literal")


def test_methods_of_private_objects_are_not_api_calls() -> None:
    code = "from mlflow.tracking.fluent import _active_run_stack, _get_experiment_id\n_active_run_stack.get()\n_get_experiment_id()\n"
    assert sites(code) == [(3, "mlflow.tracking.fluent._get_experiment_id")]


def test_private_modules_of_mlflow_still_count() -> None:
    code = "from mlflow.tracking._tracking_service import utils\nutils._use_tracking_uri('x')\n"
    assert sites(code) == [(2, "mlflow.tracking._tracking_service.utils._use_tracking_uri")]


def test_nested_runs_are_noted() -> None:
    code = "import mlflow\nwith mlflow.start_run(nested=True):\n    pass\nmlflow.start_run(nested=False)\n"
    found = find_in_module(code, RESOLVER).call_sites
    assert [(s.line, s.note) for s in found] == [(2, "nested=True"), (4, "")]


def test_registered_model_names_are_noted() -> None:
    code = ("import mlflow\nmlflow.sklearn.log_model(m, 'model', registered_model_name='churn')\n"
            "mlflow.register_model(uri, name)\nmlflow.register_model(uri, 'fraud')\n"
            "mlflow.sklearn.log_model(m, 'model', registered_model_name=None)\n")
    found = find_in_module(code, RESOLVER).call_sites
    assert [(s.line, s.note) for s in found] == [(2, "registered_model_name=churn"),
                                                 (3, "registered_model_name=<computed>"),
                                                 (4, "registered_model_name=fraud"),
                                                 (5, "")]  # None, written out, registers nothing
