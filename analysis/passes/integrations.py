"""Logging to MLflow through another library: its loggers and callbacks, and ``report_to="mlflow"``
(a finder of the ``mlflow_calls`` pass)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import libcst as cst

from analysis.ftypes import Integration
from analysis.reading.cst_walk import dotted
from analysis.reading.calls import Call, Callee, Where, string_value
from analysis.reading.names import ModuleNames

# Third-party loggers and callbacks that write to MLflow: roots of their packages.
INTEGRATION_ROOTS: Mapping[str, str] = {
    "pytorch_lightning": "lightning", "lightning": "lightning", "optuna": "optuna",
    "optuna_integration": "optuna", "ray": "ray", "transformers": "huggingface",
    "ultralytics": "ultralytics", "keras": "keras", "tensorflow": "keras", "catalyst": "catalyst",
    "ignite": "ignite", "composer": "composer", "fastai": "fastai", "sagemaker": "sagemaker",
    "zenml": "zenml", "kedro_mlflow": "kedro", "hydra_plugins": "hydra",
}
INTEGRATION_NAME = re.compile(r"(?i)^(ml_?flow\w*(logger|callback|tracker|mixin)|setup_mlflow|mlflow_mixin)$")


def framework(qualified: str) -> str | None:
    """The framework whose MLflow logger or callback ``qualified`` names, None when it names none."""
    root = qualified.split(".")[0]
    if root in INTEGRATION_ROOTS and INTEGRATION_NAME.match(qualified.rsplit(".", 1)[-1]):
        return INTEGRATION_ROOTS[root]
    return None


def reports_to_mlflow(node: cst.Call) -> bool:
    """``report_to="mlflow"`` or ``report_to=[..., "mlflow"]`` among the call's arguments."""
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "report_to":
            text = string_value(arg.value)
            values = [text] if text is not None else [
                string_value(e.value) for e in getattr(arg.value, "elements", ()) if hasattr(e, "value")
            ]
            if any(v is not None and v.lower() == "mlflow" for v in values):
                return True
    return False


class Integrations:
    """Finds integration loggers and callbacks among the resolved calls, and ``report_to`` during the walk."""

    needs_positions = False  # its rows sit at calls

    def __init__(self, names: ModuleNames) -> None:
        self.report_to: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if node.args and reports_to_mlflow(node):
            self.report_to.append(node)

    def findings(self, calls: Sequence[tuple[Call, Callee]], where: Where) -> list[Integration]:
        """A row per integration, in source order."""
        out = []
        for call, callee in calls:
            found = None if callee.dynamic else framework(callee.qualified)
            if found is not None:
                out.append(Integration(*where(call.node), found, callee.qualified, "call"))
        for node in self.report_to:
            out.append(Integration(*where(node), "huggingface", dotted(node.func) or "?", 'report_to="mlflow"'))
        out.sort(key=lambda i: (i.cell or 0, i.line, i.col))
        return out
