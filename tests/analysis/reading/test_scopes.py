"""Scopes and bindings: assigning None never unbinds a name, annotations stay, global/nonlocal hand bindings up."""

from __future__ import annotations

import libcst as cst

from analysis.reading.scopes import CLIENT, NONE, Scope, holds_none, is_none, rebind


def test_none_never_unbinds_a_name() -> None:
    module = Scope("module", None)
    module.bind("mlflow", "mlflow")
    module.bind("mlflow", NONE)  # ``except ImportError: mlflow = None``
    assert module.names == {"mlflow": "mlflow"}
    module.bind("fresh", NONE)  # a name bound to None first holds None
    assert module.names["fresh"] == NONE


def test_an_annotation_stays_with_its_name() -> None:
    module = Scope("module", None)
    annotated = ("annotated", (cst.Name("MlflowClient"), cst.Name("None")), module)
    assert holds_none(annotated)
    module.bind("CLIENT", annotated)
    value = cst.Call(cst.Name("connect"))
    module.bind("CLIENT", ("expr", value, module))
    kind, (annotation, bound, _scope), owner = module.names["CLIENT"]  # type: ignore[misc]
    assert (kind, annotation.value, bound, owner) == ("annotated", "MlflowClient", value, module)
    assert rebind(None, CLIENT) == CLIENT


def test_global_sends_a_functions_binding_to_the_module() -> None:
    module = Scope("module", None)
    function = Scope("function", module, declared={"CLIENT": module})
    function.bind("CLIENT", CLIENT)
    assert module.names == {"CLIENT": CLIENT} and function.names == {}


def test_is_none() -> None:
    assert is_none(cst.Name("None")) and not is_none(cst.Name("none")) and not is_none(None)
