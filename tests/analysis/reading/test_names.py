"""Names in a module: what each call's function resolves to, through scopes and bindings."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from analysis.releases.catalog import load_snapshot
from analysis.ftypes import FileContext
from analysis.reading.names import ModuleNames
from analysis.reading.resolver import Resolver
from analysis.reading.scopes import CLIENT, OTHER

RESOLVER = Resolver.from_catalog(load_snapshot())


def callees(code: str, context: FileContext = FileContext(), implicit_mlflow: bool = False) -> list[tuple[str, str]]:
    """(function as written, what it resolves to) for every call that resolves, in source order."""
    names = ModuleNames(RESOLVER, context, implicit_mlflow)
    module = cst.parse_module(textwrap.dedent(code))
    names.walk(module)
    out = []
    for call in names.calls:
        callee = names.callee(call)
        if callee is not None:
            written = module.code_for_node(call.func)
            out.append((written, callee.qualified + (" <dynamic>" if callee.dynamic else "")))
    return out


RESOLVES = [
    pytest.param("import os\nos.path.join('a')\n", [("os.path.join", "os.path.join")], id="import"),
    pytest.param("import numpy as np\nnp.mean(x)\n", [("np.mean", "numpy.mean")], id="import-as"),
    pytest.param("from a.b import c as d\nd()\n", [("d", "a.b.c")], id="from-import-as"),
    pytest.param("""\
        def train():
            mlflow.autolog()
        if __name__ == "__main__":
            import mlflow
        """, [("mlflow.autolog", "mlflow.autolog")], id="module-import-below-a-function"),
    pytest.param("""\
        try:
            import mlflow
        except ImportError:
            mlflow = None
        mlflow.log_param("a", 1)
        """, [("mlflow.log_param", "mlflow.log_param")], id="guarded-import-keeps-the-import"),
    pytest.param("import mlflow\nm = mlflow\nlog = m.log_metric\nlog('a', 1)\n", [("log", "mlflow.log_metric")],
                 id="assignments-followed"),
    pytest.param("""\
        import mlflow
        class T:
            def __init__(self):
                self.c = mlflow.MlflowClient()
            def run(self):
                self.c.create_run("0")
        """, [("mlflow.MlflowClient", "mlflow.MlflowClient"), ("self.c.create_run", f"{CLIENT}.create_run")],
        id="client-on-an-attribute"),
    pytest.param("""\
        import mlflow
        class T:
            def client(self):
                return mlflow.MlflowClient()
            def run(self):
                self.client().get_run(rid)
        """, [("mlflow.MlflowClient", "mlflow.MlflowClient"), ("self.client().get_run", f"{CLIENT}.get_run"),
              ("self.client", OTHER)], id="method-returning-a-client"),
    pytest.param("import mlflow\ndef f():\n    global mlflow\n    mlflow.end_run()\n", [("mlflow.end_run", "mlflow.end_run")],
                 id="global-reads-the-module"),
    pytest.param("""\
        import mlflow
        with mlflow.start_run() as run:
            pass
        """, [("mlflow.start_run", "mlflow.start_run")], id="with-binds-its-target"),
    pytest.param("from mlflow import *\nlog_param('a', 1)\n", [("log_param", "mlflow.log_param")], id="star-import"),
    pytest.param("import mlflow\ngetattr(mlflow, 'log_param')('a', 1)\ngetattr(mlflow, name)('a', 1)\n",
                 [("getattr(mlflow, 'log_param')", "mlflow.log_param"), ("getattr(mlflow, name)", "mlflow <dynamic>")],
                 id="getattr"),
    pytest.param("import mlflow\nif (m := mlflow):\n    m.end_run()\n", [("m.end_run", "mlflow.end_run")], id="walrus"),
    pytest.param("import mlflow\ndef f():\n    global m\n    m = mlflow\ndef g():\n    m.end_run()\n",
                 [("m.end_run", "mlflow.end_run")], id="global-binds-in-the-module"),
    pytest.param("import mlflow\nclass K:\n    m = mlflow\n    def f(self):\n        self.m.end_run()\nK.m.end_run()\n",
                 [("self.m.end_run", "mlflow.end_run"), ("K.m.end_run", "mlflow.end_run")], id="class-attribute"),
]


@pytest.mark.parametrize(("code", "expected"), RESOLVES)
def test_resolves(code: str, expected: list[tuple[str, str]]) -> None:
    assert callees(code) == expected


DOES_NOT_RESOLVE = [
    pytest.param("print(x)\nlen(y)\n", id="builtins-and-unbound-names"),
    pytest.param("import mlflow\ndef f(mlflow):\n    mlflow.log_param('a', 1)\n", id="parameter-shadows"),
    pytest.param("import mlflow\nclass K:\n    mlflow = None\n    def m(self):\n        x = 1\n", id="nothing-called"),
    pytest.param("import mlflow\nfor mlflow in runs:\n    mlflow.log_param('a', 1)\n", id="loop-target-rebinds"),
    pytest.param("from . import mlflow\nmlflow.log_param('a', 1)\n", id="relative-import"),
    pytest.param("import importlib\nm = importlib.import_module('mlflow')\nm.log_param('a', 1)\n", id="dynamic-import"),
    pytest.param("import mlflow_utils\ngetattr(mlflow_utils, name)()\n", id="getattr-on-a-look-alike"),
    pytest.param("import mlflow\nX: \"u'a' b'b'\" = None\nX.log_param('a', 1)\n", id="quoted-annotation-that-is-no-python"),
    pytest.param("import mlflow\nclass K:\n    @property\n    def c(self):\n        return self.c\n    def f(self):\n"
                 "        self.c.log_param('a', 1)\n", id="property-returning-itself"),
]


@pytest.mark.parametrize("code", DOES_NOT_RESOLVE)
def test_does_not_resolve_to_mlflow(code: str) -> None:
    assert not any(q.startswith("mlflow") for _written, q in callees(code))


def test_class_body_names_are_not_seen_from_methods() -> None:
    code = "import os\nclass K:\n    import mlflow\n    def m(self):\n        mlflow.log_param('a', 1)\n"
    assert callees(code) == []


def test_what_the_repository_says_about_imports() -> None:
    code = "import mlflow\nfrom tools import track\nmlflow.end_run()\ntrack.log_param('a', 1)\n"
    assert callees(code, FileContext(local_mlflow=True)) == [("track.log_param", "tools.track.log_param")]  # mlflow is the project's
    assert callees(code, FileContext(reexports=frozenset({"tools.track"}))) == [
        ("mlflow.end_run", "mlflow.end_run"), ("track.log_param", "mlflow.log_param")]
    assert callees("mlflow.end_run()\n", implicit_mlflow=True) == [("mlflow.end_run", "mlflow.end_run")]
