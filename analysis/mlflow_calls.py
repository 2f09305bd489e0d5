"""Finds MLflow API calls, integrations and tracking URIs in one Python module, in one traversal.

Names are resolved by a small import/alias gatherer of our own instead of LibCST's
``QualifiedNameProvider`` (measured at ~50x ``ast.parse``). It keeps one scope per module,
class and function; imports, assignments and parameters bind names in the scope where they
occur. Calls at module level are resolved with the bindings made so far; calls inside a
function are resolved when the traversal ends, against each scope's final bindings, so a
function may use a module-level import written below it (common in scripts that import in
``if __name__ == "__main__":``). Assigning ``None`` never unbinds an MLflow import (the
guarded-import idiom ``try: import mlflow / except ImportError: mlflow = None``).

The traversal is ``cst_walk.Walker`` (LibCST's own ``visit`` rebuilds every node it passes), and
positions come from the module's ``ast`` scan (``ast_positions``). ``may_use_mlflow`` tells from
that scan alone whether this pass can find anything in a module, so most modules that merely
mention mlflow are never parsed by LibCST.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from analysis.astscan import ModuleScan, ast_dotted, parse, scan_source
from analysis.catalog import CLIENT_API, CLIENT_CLASS_PATHS, Catalog, is_mlflow
from analysis.cst_walk import Walker
from analysis.ftypes import CallSite, FileContext, FileFindings, Integration, SourceError, TrackingUri
from analysis.uris import classify_uri

CLIENT = "<client>"
RUN = "<run>"
OTHER = "<other>"
NONE = "<none>"
CLIENT_GUESS = "<client?>"  # an unannotated parameter named like a client, in a module using MLflow
CLIENT_PARAM = re.compile(r"(?i)^(mlflow_?|ml_)?client$")

KEY_KEYWORDS = ("key", "params", "metrics", "tags")
# Where ``step`` sits positionally in the signatures that take it.
STEP_POSITIONS: Mapping[str, int] = {
    "mlflow.log_metric": 2, "mlflow.log_metrics": 1, f"{CLIENT_API}.log_metric": 4,
}
# Third-party loggers and callbacks that write to MLflow: roots of their packages.
INTEGRATION_ROOTS: Mapping[str, str] = {
    "pytorch_lightning": "lightning", "lightning": "lightning", "optuna": "optuna",
    "optuna_integration": "optuna", "ray": "ray", "transformers": "huggingface",
    "ultralytics": "ultralytics", "keras": "keras", "tensorflow": "keras", "catalyst": "catalyst",
    "ignite": "ignite", "composer": "composer", "fastai": "fastai", "sagemaker": "sagemaker",
    "zenml": "zenml", "kedro_mlflow": "kedro", "hydra_plugins": "hydra",
}
INTEGRATION_NAME = re.compile(r"(?i)^(ml_?flow\w*(logger|callback|tracker|mixin)|setup_mlflow|mlflow_mixin)$")
TRACKING_ENV = "MLFLOW_TRACKING_URI"
ENVIRON_SETTERS = frozenset({"os.environ.setdefault", "os.environ.update", "os.putenv"})


Entry = Union[str, tuple[str, object, "Scope"]]


@dataclass
class Scope:
    """Names bound in one module, class or function body."""

    kind: str  # module | class | function
    parent: Scope | None
    names: dict[str, Entry] = field(default_factory=dict)
    star_mlflow: bool = False

    def bind(self, name: str, entry: Entry) -> None:
        current = self.names.get(name)
        if entry == NONE and isinstance(current, str) and is_mlflow(current):
            return  # `mlflow = None` in an except branch keeps the import
        self.names[name] = entry


@dataclass
class _Pending:
    node: cst.BaseExpression  # the call, or a decorator's expression
    func: cst.BaseExpression
    scope: Scope
    enclosing: str
    in_loop: bool
    run_contexts: tuple[tuple[cst.BaseExpression, Scope], ...]


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _attr_chain(node: cst.BaseExpression) -> str | None:
    """``self.client`` style dotted text of an attribute target."""
    return _dotted(node) if isinstance(node, cst.Attribute) else None


def _string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def key_kind(node: cst.BaseExpression | None) -> tuple[str, str]:
    """How a key argument is written: (kind, literal value or '')."""
    if node is None:
        return "none", ""
    literal = _string_value(node)
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


class _Visitor(Walker):
    def __init__(self, catalog_aliases: Mapping[str, str], top_level: frozenset[str],
                 local_mlflow: bool, cell_of_line: Mapping[int, tuple[int, int]] | None,
                 implicit_mlflow: bool = False, reexports: frozenset[str] = frozenset()) -> None:
        self.aliases = catalog_aliases
        self.top_level = top_level
        self.local_mlflow = local_mlflow
        self.implicit_mlflow = implicit_mlflow
        self.reexports = reexports
        self.returns: dict[str, list[tuple[cst.BaseExpression, Scope]]] = {}
        self.cell_of_line = cell_of_line
        self.module = Scope("module", None)
        self.scope = self.module
        self.attrs: dict[str, tuple[cst.BaseExpression, Scope]] = {}
        self.names: list[str] = []
        self.loop_depth: list[int] = [0]
        self.run_contexts: list[tuple[cst.BaseExpression, Scope]] = []
        self.pending: list[_Pending] = []
        self.integrations: list[Integration] = []
        self.uris: list[tuple[cst.CSTNode, str, cst.BaseExpression | None, Scope]] = []
        self.report_to: list[cst.Call] = []
        self.calls: list[cst.Call] = []
        self.bare_decorators: list[cst.BaseExpression] = []
        self.needs_provider = False  # a finding at a node the ast matching does not cover
        self.positions: dict[int, tuple[int, int]] = {}

    # ---- positions ------------------------------------------------------------------------
    def _where(self, node: cst.CSTNode) -> tuple[int | None, int, int]:
        line, col = self.positions[id(node)]
        if self.cell_of_line is not None:
            cell, first = self.cell_of_line.get(line, (0, 1))
            return cell, line - first + 1, col
        return None, line, col

    # ---- resolution ------------------------------------------------------------------------
    def lookup(self, name: str, scope: Scope) -> Entry | None:
        current: Scope | None = scope
        first = True
        while current is not None:
            if (first or current.kind != "class") and name in current.names:
                return current.names[name]
            first = False
            current = current.parent
        if self.module.star_mlflow and name in self.top_level:
            return f"mlflow.{name}"
        if self.implicit_mlflow and name == "mlflow":
            return "mlflow"  # brought by `%run` of another notebook
        return None

    def qualify(self, node: cst.BaseExpression, scope: Scope, depth: int = 0) -> str | None:
        """A qualified name (``mlflow.sklearn.log_model``), a marker, or None."""
        if depth > 20:
            return None
        if isinstance(node, cst.Name):
            entry = self.lookup(node.value, scope)
            return self._entry(entry, depth) if entry is not None else None
        if isinstance(node, cst.Attribute):
            base = self.qualify(node.value, scope, depth + 1)
            if base == CLIENT_GUESS:
                method = f"{CLIENT_API}.{node.attr.value}"
                return f"{CLIENT}.{node.attr.value}" if method in self.catalog_rows else None
            if base is not None and base not in (OTHER, NONE, RUN):
                return f"{base}.{node.attr.value}"
            chain = _attr_chain(node)
            if chain is not None and chain in self.attrs:
                value, where = self.attrs[chain]
                return self._value(value, where, depth + 1)
            return None
        if isinstance(node, cst.Call):
            func = self.qualify(node.func, scope, depth + 1)
            api = self.canonical(func) if func else None
            if func in CLIENT_CLASS_PATHS or api == CLIENT_API:
                return CLIENT
            if api == "mlflow.start_run":
                return RUN
            if func is None and self._returns_client(node.func, depth):
                return CLIENT
            return None
        return None

    def _returns_client(self, func: cst.BaseExpression, depth: int) -> bool:
        """A call of this module's own function or method that returns an MlflowClient."""
        if isinstance(func, cst.Name):
            name = func.value
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            name = func.attr.value
        else:
            return False
        returned = self.returns.get(name, [])
        return bool(returned) and all(self.qualify(v, s, depth + 1) == CLIENT for v, s in returned)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self.names:
            self.returns.setdefault(self.names[-1], []).append((node.value, self.scope))

    def _entry(self, entry: Entry, depth: int) -> str | None:
        if isinstance(entry, str):
            return entry
        kind, payload, where = entry
        if kind == "expr" and isinstance(payload, cst.BaseExpression):
            return self._value(payload, where, depth + 1)
        if kind == "param" and isinstance(payload, cst.BaseExpression):
            annotated = self.qualify(payload, where, depth + 1)
            return CLIENT if annotated in CLIENT_CLASS_PATHS else OTHER
        if kind == "param" and isinstance(payload, str) and CLIENT_PARAM.match(payload) and self._uses_mlflow():
            return CLIENT_GUESS
        return OTHER

    def _uses_mlflow(self) -> bool:
        """True when the module binds MLflow anywhere at top level (a client parameter is then likely one)."""
        return any(isinstance(v, str) and is_mlflow(v) for v in self.module.names.values()) or self.implicit_mlflow

    def _value(self, value: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        if isinstance(value, (cst.Name, cst.Attribute, cst.Call)):
            return self.qualify(value, scope, depth) or OTHER
        return OTHER

    def canonical(self, qualified: str) -> str:
        if qualified.startswith(CLIENT + "."):
            return CLIENT_API + qualified[len(CLIENT):]
        if qualified in CLIENT_CLASS_PATHS:
            return CLIENT_API
        return self.aliases.get(qualified, qualified)

    # ---- scopes ---------------------------------------------------------------------------
    def _enter(self, kind: str, name: str) -> None:
        self.scope = Scope(kind, self.scope)
        self.names.append(name)
        if kind == "function":
            self.loop_depth.append(0)

    def _leave(self, kind: str) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent
        self.names.pop()
        if kind == "function":
            self.loop_depth.pop()

    def _visit_params(self, params: cst.Parameters) -> None:
        """Annotations and defaults, in source order (the ast position matching relies on it)."""
        ordered: list[cst.Param | cst.ParamStar | cst.MaybeSentinel] = [
            *params.posonly_params, *params.params, params.star_arg, *params.kwonly_params]
        if params.star_kwarg is not None:
            ordered.append(params.star_kwarg)
        for param in ordered:
            if isinstance(param, cst.Param):
                if param.annotation is not None:
                    self.walk(param.annotation)
                if param.default is not None:
                    self.walk(param.default)

    def _bind_params(self, params: cst.Parameters) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            ann = param.annotation.annotation if param.annotation else param.name.value
            self.scope.bind(param.name.value, ("param", ann, self.scope.parent or self.module))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.scope.bind(star.name.value, OTHER)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        for dec in node.decorators:
            self.walk(dec)
        self._visit_params(node.params)
        if node.returns is not None:
            self.walk(node.returns)
        self.scope.bind(node.name.value, OTHER)
        self._enter("function", node.name.value)
        self._bind_params(node.params)
        self.walk(node.body)
        self._leave("function")
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._visit_params(node.params)
        self._enter("function", self.names[-1] if self.names else "<lambda>")
        self._bind_params(node.params)
        self.walk(node.body)
        self._leave("function")
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for dec in node.decorators:
            self.walk(dec)
        for arg in (*node.bases, *node.keywords):
            self.walk(arg)
        self.scope.bind(node.name.value, OTHER)
        self._enter("class", node.name.value)
        self.walk(node.body)
        self._leave("class")
        return False

    def _enter_loop(self, node: cst.CSTNode) -> None:
        self.loop_depth[-1] += 1

    def _leave_loop(self, original_node: cst.CSTNode) -> None:
        self.loop_depth[-1] -= 1

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, None)
        self._enter_loop(node)

    visit_While = visit_CompFor = _enter_loop
    leave_For = leave_While = leave_CompFor = _leave_loop

    def visit_With(self, node: cst.With) -> bool:
        pushed = 0
        for item in node.items:
            self.walk(item.item)
            if item.asname is not None:
                self._bind_target(item.asname.name, item.item)
            if isinstance(item.item, cst.Call):
                self.run_contexts.append((item.item, self.scope))
                pushed += 1
        self.walk(node.body)
        for _ in range(pushed):
            self.run_contexts.pop()
        return False

    # ---- bindings -------------------------------------------------------------------------
    def _is_local_module(self, module: str) -> bool:
        return self.local_mlflow and module.split(".")[0] == "mlflow"

    def _rename(self, qualified: str) -> str:
        """A project module that re-exports MLflow (``from mlflow import *``) stands for ``mlflow``."""
        for module in self.reexports:
            if qualified == module or qualified.startswith(module + "."):
                return "mlflow" + qualified[len(module):]
        return qualified

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = _dotted(alias.name) or ""
            local = self._is_local_module(module)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.scope.bind(alias.asname.name.value, OTHER if local else self._rename(module))
            else:
                top = module.split(".")[0]
                self.scope.bind(top, OTHER if local else top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = _dotted(node.module) if node.module is not None else ""
        relative = bool(node.relative)
        local = relative or self._is_local_module(module or "")
        if isinstance(node.names, cst.ImportStar):
            if not local and module == "mlflow":
                self.module.star_mlflow = True
            return
        for alias in node.names:
            name = _dotted(alias.name) or ""
            bound = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self.scope.bind(bound, OTHER if local else self._rename(f"{module}.{name}"))

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            if value is None:
                self.scope.bind(target.value, OTHER)
            elif isinstance(value, cst.Name) and value.value == "None":
                self.scope.bind(target.value, NONE)
            else:
                self.scope.bind(target.value, ("expr", value, self.scope))
        elif isinstance(target, cst.Attribute) and value is not None:
            chain = _attr_chain(target)
            if chain is not None:
                self.attrs[chain] = (value, self.scope)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value)
            self._environ_assignment(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value)
        elif isinstance(node.target, cst.Name):
            self.scope.bind(node.target.value, ("param", node.annotation.annotation, self.scope))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        return None

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node.value)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.scope.bind(node.name.name.value, OTHER)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.scope.names.pop(item.name.value, None)

    # ---- findings -------------------------------------------------------------------------
    def _environ_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
            return
        index = target.slice[0].slice
        if isinstance(index, cst.Index) and _string_value(index.value) == TRACKING_ENV:
            base = self.qualify(target.value, self.scope)
            if base == "os.environ":
                self.needs_provider = True
                self.uris.append((target, "environ", value, self.scope))

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if not isinstance(node.decorator, cst.Call):
            self.bare_decorators.append(node.decorator)
            self._pend(node.decorator, node.decorator)

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        self._pend(node, node.func)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "report_to":
                text = _string_value(arg.value)
                values = [text] if text is not None else [
                    _string_value(e.value) for e in getattr(arg.value, "elements", ()) if hasattr(e, "value")
                ]
                if any(v is not None and v.lower() == "mlflow" for v in values):
                    self.report_to.append(node)

    def _pend(self, node: cst.BaseExpression, func: cst.BaseExpression) -> None:
        self.pending.append(_Pending(
            node, func, self.scope, ".".join(self.names), self.loop_depth[-1] > 0, tuple(self.run_contexts),
        ))

    def findings(self) -> FileFindings:
        """Resolve every pending call now that all bindings are known."""
        sites: list[CallSite] = []
        uris: list[TrackingUri] = []
        for p in self.pending:
            site, uri = self._site(p)
            if site is not None:
                sites.append(site)
            if uri is not None:
                uris.append(uri)
        for node, via, value, scope in self.uris:
            cell, line, _col = self._where(node)
            uris.append(self._uri(line, cell, via, value, scope))
        for call in self.report_to:
            cell, line, col = self._where(call)
            self.integrations.append(Integration(cell, line, col, "huggingface", _dotted(call.func) or "?",
                                                 'report_to="mlflow"'))
        self.integrations.sort(key=lambda i: (i.cell or 0, i.line, i.col))
        return FileFindings(tuple(sites), tuple(self.integrations), tuple(uris))

    def _uri(self, line: int, cell: int | None, via: str, value: cst.BaseExpression | None, scope: Scope) -> TrackingUri:
        text = _string_value(value) if value is not None else None
        if text is not None:
            scheme, host = classify_uri(text)
        elif value is not None and isinstance(value, cst.Call) and (
                self.qualify(value.func, scope) in ("os.environ.get", "os.getenv")):
            scheme, host, text = "env-only", "none", ""
        else:
            scheme, host, text = "computed", "none", ""
        return TrackingUri(line, "notebook" if cell is not None else "code", via, text, scheme, host, cell)

    def _environ_call(self, qualified: str, args: Sequence[cst.Arg], p: _Pending) -> TrackingUri | None:
        """``os.environ.setdefault(KEY, v)``, ``os.putenv(KEY, v)``, ``os.environ.update({KEY: v})``
        or ``os.environ.update(KEY=v)`` with KEY ``MLFLOW_TRACKING_URI``."""
        value: cst.BaseExpression | None = None
        first = self._arg(args, 0, None if qualified == "os.environ.update" else "key")
        if qualified == "os.environ.update":
            value = self._arg(args, None, TRACKING_ENV)
            if value is None and isinstance(first, cst.Dict):
                value = next((e.value for e in first.elements if isinstance(e, cst.DictElement)
                              and _string_value(e.key) == TRACKING_ENV), None)
        elif first is not None and _string_value(first) == TRACKING_ENV:
            value = self._arg(args, 1, "value" if qualified == "os.putenv" else "default")
        if value is None:
            return None
        cell, line, _col = self._where(p.node)
        return self._uri(line, cell, "environ", value, p.scope)

    def _site(self, p: _Pending) -> tuple[CallSite | None, TrackingUri | None]:
        func = p.func
        qualified = self.qualify(func, p.scope)
        node = p.node
        args = node.args if isinstance(node, cst.Call) else ()
        note = ""
        if (qualified is None and isinstance(func, cst.Call) and isinstance(func.func, cst.Name)
                and func.func.value == "getattr" and self.lookup("getattr", p.scope) is None and func.args):
            target = self.qualify(func.args[0].value, p.scope)
            if target is None or not (is_mlflow(target) or target == CLIENT):
                return None, None
            name = _string_value(func.args[1].value) if len(func.args) > 1 else None
            if name is None:
                api = (CLIENT_API if target == CLIENT else self.canonical(target)) + ".<dynamic>"
                cell, line, col = self._where(p.node)
                site = CallSite(cell, line, col, api, "other", "unresolved", p.enclosing, p.in_loop,
                                False, "none", "", False, len(args), "getattr with a computed name")
                return site, None
            qualified, note = f"{target}.{name}", "getattr with a literal name"
        if qualified is None:
            return None, None
        self._integration(qualified, p)
        if qualified in ENVIRON_SETTERS:
            return None, self._environ_call(qualified, args, p)
        if not (qualified.startswith("mlflow.") or qualified.startswith(CLIENT + ".")):
            return None, None
        owner = qualified.rpartition(".")[0]
        if owner not in self.modules and any(part.startswith("_") for part in owner.split(".")[1:]):
            return None, None  # a method of a private object (`fluent._active_run_stack.get`), not an API
        api = self.canonical(qualified)
        if isinstance(func, cst.Attribute) and self.qualify(func.value, p.scope) == CLIENT_GUESS:
            note = "client inferred from a parameter name"
        style = self._style(api)
        in_run = any(self.qualify(expr, scope) == RUN for expr, scope in p.run_contexts)
        key_arg = self._key_arg(args, style, api)
        kind, key = key_kind(key_arg)
        step_pos = STEP_POSITIONS.get(api)
        positional = [a for a in args if a.keyword is None and not a.star]
        has_step = any(a.keyword is not None and a.keyword.value == "step" for a in args) or (
            step_pos is not None and len(positional) > step_pos)
        cell, line, col = self._where(p.node)
        if api == "mlflow.start_run" and any(a.keyword is not None and a.keyword.value == "nested"
                                             and isinstance(a.value, cst.Name) and a.value.value == "True" for a in args):
            note = "nested=True"
        registered = self._registered_name(api, args)
        if registered:
            note = f"registered_model_name={registered}"
        site = CallSite(cell, line, col, api, self._category(api), style, p.enclosing, p.in_loop,
                        in_run, kind, key, has_step, len(args), note)
        uri = None
        if api == "mlflow.set_tracking_uri" or (api == CLIENT_API and args):
            value = self._arg(args, 0, "uri" if api == "mlflow.set_tracking_uri" else "tracking_uri")
            if value is not None:
                via = "set_tracking_uri" if api == "mlflow.set_tracking_uri" else "MlflowClient"
                uri = self._uri(line, cell, via, value, p.scope)
        return site, uri

    def _registered_name(self, api: str, args: Sequence[cst.Arg]) -> str:
        """The registered model name of ``log_model(..., registered_model_name=...)`` or ``register_model``."""
        if api.endswith(".log_model"):
            value = self._arg(args, None, "registered_model_name")
        elif api == "mlflow.register_model":
            value = self._arg(args, 1, "name")
        else:
            return ""
        return (_string_value(value) or "<computed>") if value is not None else ""

    def _integration(self, qualified: str, p: _Pending) -> None:
        root = qualified.split(".")[0]
        last = qualified.rsplit(".", 1)[-1]
        if root in INTEGRATION_ROOTS and INTEGRATION_NAME.match(last):
            cell, line, col = self._where(p.node)
            self.integrations.append(Integration(cell, line, col, INTEGRATION_ROOTS[root], qualified, "call"))
            if isinstance(p.node, cst.Call):
                value = self._arg(p.node.args, None, "tracking_uri")
                if value is not None:
                    self.uris.append((p.node, last, value, p.scope))

    @staticmethod
    def _arg(args: Sequence[cst.Arg], position: int | None, keyword: str | None) -> cst.BaseExpression | None:
        """The argument given by ``keyword``, else the one at ``position`` among positional arguments."""
        for arg in args:
            if keyword is not None and arg.keyword is not None and arg.keyword.value == keyword:
                return arg.value
        positional = [a for a in args if a.keyword is None and not a.star]
        if position is not None and len(positional) > position:
            return positional[position].value
        return None

    def _key_arg(self, args: Sequence[cst.Arg], style: str, api: str) -> cst.BaseExpression | None:
        for arg in args:
            if arg.keyword is not None and arg.keyword.value in KEY_KEYWORDS:
                return arg.value
        position = 1 if style == "client" and self._category(api) in ("param", "metric", "tag") else 0
        return self._arg(args, position, None)

    def _category(self, api: str) -> str:
        row = self.catalog_rows.get(api)
        return row["category"] if row else "other"

    def _style(self, api: str) -> str:
        if api.startswith(CLIENT_API):
            return "client"
        row = self.catalog_rows.get(api)
        if row is not None:
            return {"function": "fluent", "flavor_function": "flavor", "client_method": "client"}[row["kind"]]
        return "fluent" if api.count(".") == 1 else "other"

    catalog_rows: Mapping[str, Mapping[str, str]] = {}
    modules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Resolver:
    """What the pass needs from the catalog, precomputed once per run."""

    aliases: Mapping[str, str]
    top_level: frozenset[str]
    rows: Mapping[str, Mapping[str, str]]
    modules: frozenset[str]  # MLflow modules known to define catalog APIs, with their packages

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Resolver:
        rows = catalog.by_api
        top = frozenset(api.split(".", 1)[1] for api, r in rows.items() if r["kind"] == "function")
        modules: set[str] = set()
        for row in rows.values():
            parts = row["module"].split(".")
            modules.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return cls(catalog.aliases(), top, rows, frozenset(modules))


def may_use_mlflow(found: ModuleScan, source: str, context: FileContext, implicit_mlflow: bool = False) -> bool:
    """False when the LibCST pass cannot find anything in this module, decided from its ``ast`` scan.

    Every name the pass resolves starts at an import (``lookup`` only returns what imports,
    assignments of imported names and parameters annotated with them bind), so a module that
    imports neither MLflow nor a package of ``INTEGRATION_ROOTS`` has no call site and no
    integration call. The findings that need no import are looked for in the text: the
    ``report_to`` keyword and ``MLFLOW_TRACKING_URI``. ``%run`` of another notebook and the
    project's own modules re-exporting MLflow (``from .tracking import *``) count as imports.
    """
    if implicit_mlflow or context.reexports or "report_to" in source or TRACKING_ENV in source:
        return True
    for node in found.imports:
        if isinstance(node, ast.ImportFrom):
            modules = [] if node.level else [node.module or ""]
        else:
            modules = [alias.name for alias in node.names]
        if any(m.split(".")[0] == "mlflow" or m.split(".")[0] in INTEGRATION_ROOTS for m in modules):
            return True
    return False


def find_in_module(source: str, resolver: Resolver, *, context: FileContext = FileContext(),
                   cell_of_line: Mapping[int, tuple[int, int]] | None = None,
                   implicit_mlflow: bool = False, found: ModuleScan | None = None) -> FileFindings:
    """Parse one module with libcst and return its MLflow findings; raise SourceError if it can't.

    ``found`` is the module's ``ast`` scan when the caller has one (of this same ``source``).
    """
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as err:
        raise SourceError(f"syntax error: {err.message}", python_error_line(source, err.raw_line)) from err
    except (RecursionError, ValueError) as err:
        raise SourceError(f"cannot parse: {type(err).__name__}") from err
    visitor = _Visitor(resolver.aliases, resolver.top_level, context.local_mlflow, cell_of_line, implicit_mlflow,
                       context.reexports)
    visitor.catalog_rows = resolver.rows
    visitor.modules = resolver.modules
    try:
        visitor.walk(module)
    except RecursionError as err:
        raise SourceError("cannot analyze: nested too deeply") from err
    positions = None if visitor.needs_provider else ast_positions(source, visitor.calls, visitor.bare_decorators, found)
    if positions is None:
        # LibCST's own positions: exact, but a second full pass over the tree (about 2x the parse)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        resolved = wrapper.resolve(PositionProvider)
        positions = {id(node): (pos.start.line, pos.start.column) for node, pos in resolved.items()}
    visitor.positions = positions
    return visitor.findings()


def ast_positions(source: str, calls: list[cst.Call], decorators: list[cst.BaseExpression],
                  found_scan: ModuleScan | None = None) -> dict[int, tuple[int, int]] | None:
    """Positions of LibCST call nodes, taken from ``ast`` (a cheaper parse than LibCST's positions).

    Calls are paired in source order (start, then the outer call first) and checked name by name;
    any disagreement, or source ``ast`` cannot parse, returns None and the caller uses LibCST's own
    positions instead. Columns are converted from UTF-8 bytes (``ast``) to characters (LibCST).
    """
    found_scan = found_scan or scan_source(source)
    if found_scan is None:
        return None
    found = list(found_scan.calls)
    decos = list(found_scan.bare_decorators)
    if len(found) != len(calls) or len(decos) != len(decorators):
        return None
    order = lambda n: (n.lineno, n.col_offset, -(n.end_lineno or 0), -(n.end_col_offset or 0))  # noqa: E731
    found.sort(key=order)
    decos.sort(key=order)
    lines = source.split("\n")
    out: dict[int, tuple[int, int]] = {}
    for cst_nodes, ast_nodes in ((calls, found), (decorators, decos)):
        for cst_node, ast_node in zip(cst_nodes, ast_nodes):
            target = cst_node.func if isinstance(cst_node, cst.Call) else cst_node
            ast_target = ast_node.func if isinstance(ast_node, ast.Call) else ast_node
            if _dotted(target) != ast_dotted(ast_target):
                return None
            text = lines[ast_node.lineno - 1] if ast_node.lineno <= len(lines) else ""
            col = len(text.encode("utf-8")[: ast_node.col_offset].decode("utf-8", "replace"))
            out[id(cst_node)] = (ast_node.lineno, col)
    return out


def python_error_line(source: str, fallback: int) -> int:
    """The line CPython's own parser blames (more precise than LibCST's), else LibCST's."""
    try:
        parse(source)
    except SyntaxError as err:
        return err.lineno or fallback
    except (ValueError, RecursionError, MemoryError):
        pass
    return fallback
