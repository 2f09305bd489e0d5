"""Call sites of MLflow's API: which API, how it is called and where (a finder of the ``mlflow_calls`` pass)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst

from analysis.ftypes import CLIENT_API, CallSite
from analysis.reading.calls import Call, Callee, Where, argument, string_value
from analysis.reading.names import ModuleNames
from analysis.reading.scopes import CLIENT, CLIENT_GUESS, RUN, is_none

KEY_KEYWORDS = ("key", "params", "metrics", "tags")
# Where ``step`` sits positionally in the signatures that take it.
STEP_POSITIONS: Mapping[str, int] = {
    "mlflow.log_metric": 2, "mlflow.log_metrics": 1, f"{CLIENT_API}.log_metric": 4,
}
STYLES: Mapping[str, str] = {"function": "fluent", "flavor_function": "flavor", "client_method": "client"}


def key_kind(node: cst.BaseExpression | None) -> tuple[str, str]:
    """How a key argument is written: (kind, literal value or '')."""
    if node is None:
        return "none", ""
    literal = string_value(node)
    if literal is not None:
        return "literal", literal
    if isinstance(node, cst.FormattedString):
        return "fstring", ""
    if isinstance(node, (cst.Name, cst.Attribute)):
        return "name", ""
    if isinstance(node, (cst.Dict, cst.DictComp)):
        return "dict", ""
    if isinstance(node, cst.Call):
        return "call", ""
    return "other", ""


class CallSites:
    """Finds the calls of MLflow's API among a module's calls; needs no hook in the walk."""

    needs_positions = False  # its rows sit at calls

    def __init__(self, names: ModuleNames) -> None:
        self.names = names
        self.rows = names.resolver.rows

    def findings(self, calls: Sequence[tuple[Call, Callee]], where: Where) -> list[CallSite]:
        """A row per call of an MLflow API, in source order."""
        sites = (self._site(call, callee, where) for call, callee in calls)
        return [site for site in sites if site is not None]

    def _site(self, call: Call, callee: Callee, where: Where) -> CallSite | None:
        names, resolver = self.names, self.names.resolver
        args = call.node.args if isinstance(call.node, cst.Call) else ()
        if callee.dynamic:
            unresolved = (CLIENT_API if callee.qualified == CLIENT else resolver.canonical(callee.qualified)) + ".<dynamic>"
            cell, line, col = where(call.node)
            return CallSite(cell, line, col, unresolved, "other", "unresolved", call.enclosing, call.in_loop,
                            False, "none", "", False, len(args), "getattr with a computed name")
        api = resolver.api(callee.qualified)
        if api is None:
            return None
        note = "getattr with a literal name" if callee.via_getattr else ""
        if isinstance(call.func, cst.Attribute) and names.qualify(call.func.value, call.scope) == CLIENT_GUESS:
            note = "client inferred from a parameter name"
        style = self._style(api)
        in_run = any(names.qualify(expr, scope) == RUN for expr, scope in call.run_contexts)
        kind, key = key_kind(self._key_arg(args, style, api))
        step_pos = STEP_POSITIONS.get(api)
        positional = [a for a in args if a.keyword is None and not a.star]
        has_step = any(a.keyword is not None and a.keyword.value == "step" for a in args) or (
            step_pos is not None and len(positional) > step_pos)
        cell, line, col = where(call.node)
        if api == "mlflow.start_run" and any(a.keyword is not None and a.keyword.value == "nested"
                                             and isinstance(a.value, cst.Name) and a.value.value == "True" for a in args):
            note = "nested=True"
        registered = self._registered_name(api, args)
        if registered:
            note = f"registered_model_name={registered}"
        return CallSite(cell, line, col, api, self._category(api), style, call.enclosing, call.in_loop,
                        in_run, kind, key, has_step, len(args), note)

    @staticmethod
    def _registered_name(api: str, args: Sequence[cst.Arg]) -> str:
        """The registered model name of ``log_model(..., registered_model_name=...)`` or ``register_model``."""
        if api.endswith(".log_model"):
            value = argument(args, None, "registered_model_name")
        elif api == "mlflow.register_model":
            value = argument(args, 1, "name")
        else:
            return ""
        if value is None or is_none(value):  # `registered_model_name=None` registers nothing
            return ""
        return string_value(value) or "<computed>"

    def _key_arg(self, args: Sequence[cst.Arg], style: str, api: str) -> cst.BaseExpression | None:
        for arg in args:
            if arg.keyword is not None and arg.keyword.value in KEY_KEYWORDS:
                return arg.value
        position = 1 if style == "client" and self._category(api) in ("param", "metric", "tag") else 0
        return argument(args, position, None)

    def _category(self, api: str) -> str:
        row = self.rows.get(api)
        return row.category if row else "other"

    def _style(self, api: str) -> str:
        if api.startswith(CLIENT_API):
            return "client"
        row = self.rows.get(api)
        if row is not None:
            return STYLES[row.kind]
        return "fluent" if api.count(".") == 1 else "other"
