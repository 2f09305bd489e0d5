"""Names in one Python module (LibCST): scopes, what each name is bound to, and qualified names of expressions.

Names are resolved by a small import/alias gatherer of our own instead of LibCST's
``QualifiedNameProvider`` (measured at ~50x ``ast.parse``). ``ModuleNames`` keeps one scope per
module, class and function; imports, assignments and parameters bind names in the scope where
they occur. Calls are recorded during the walk with where they sit (``Call``) and resolved when
it ends (``ModuleNames.callee``), against each scope's final bindings, so a function may use a
module-level import written below it (common in scripts that import in
``if __name__ == "__main__":``). Assigning ``None`` never unbinds a name (the guarded-import idiom
``try: import mlflow / except ImportError: mlflow = None``; ``CLIENT = None`` at module level beside
``global CLIENT; CLIENT = MlflowClient()`` in a function). ``global`` and ``nonlocal`` send a
function's bindings of a name to the scope that owns it. Attributes of ``self``/``cls`` resolve
through their class (what its body binds, what its methods assign), before a module-wide
table of assigned attribute chains. An annotation ``MlflowClient`` (``Optional[...]``, ``... | None``,
quoted or not) on a parameter, a variable or an attribute is evidence of a client.

Two steps, two owners: ``ModuleNames`` turns an expression into a qualified name
(``mf.log_param`` -> ``mlflow.log_param``); ``Resolver``, made once per run from the API catalog,
turns a qualified name into the API it calls (``mlflow.tracking.fluent.log_metric`` ->
``mlflow.log_metric``). The finders (``call_sites``, ``integrations``, ``tracking_uris``) read both.
"""

from __future__ import annotations

import re

import libcst as cst

from analysis.ftypes import CLIENT_API, CLIENT_CLASS_PATHS, FileContext, is_mlflow
from analysis.reading.calls import Call, Callee, string_value
from analysis.reading.cst_walk import PARSE_LOCK, Walker, dotted
from analysis.reading.imports import cst_imported_names
from analysis.reading.resolver import Resolver
from analysis.reading.scopes import CLIENT, CLIENT_GUESS, NONE, OTHER, RUN, Entry, Scope, is_none, rebind

CLIENT_PARAM = re.compile(r"(?i)^(mlflow_?|ml_)?client$")
OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
UNION = frozenset({"typing.Union", "typing_extensions.Union"})
PROPERTIES = frozenset({"property", "cached_property"})  # decorators that make a method read as an attribute


class ModuleNames(Walker):
    """Scopes and bindings of one module, built by walking it; every call recorded in ``calls``.

    The finders of the call-site pass take part in the same walk (``Walker.listen``) and read
    ``scope`` (where the walk is) and ``qualify`` while it runs, ``calls`` and ``callee`` after.
    """

    def __init__(self, resolver: Resolver, context: FileContext = FileContext(),
                 implicit_mlflow: bool = False) -> None:
        self.resolver = resolver
        self.local_mlflow = context.local_mlflow
        self.reexports = context.reexports
        self.implicit_mlflow = implicit_mlflow
        self.module = Scope("module", None)
        self.scope = self.module
        self.attrs: dict[str, Entry] = {}  # an assigned attribute chain (``self.client``, ``T.c``) -> what it holds
        self.returns: dict[str, list[tuple[cst.BaseExpression, Scope]]] = {}
        self.return_types: dict[str, list[tuple[cst.BaseExpression, Scope]]] = {}  # function -> its `-> T`s
        self.enclosing: list[str] = []
        self.loop_depth: list[int] = [0]
        self.run_contexts: list[tuple[cst.BaseExpression, Scope]] = []
        self.calls: list[Call] = []

    # ---- resolution ------------------------------------------------------------------------
    def lookup(self, name: str, scope: Scope) -> Entry | None:
        """What ``name`` is bound to as seen from ``scope`` (class bodies are not seen from inside their methods)."""
        current: Scope | None = scope
        first = True
        while current is not None:
            visible = first or current.kind != "class"
            if visible and name in current.declared:  # `global name`: read where it is bound
                current, first = current.declared[name], True
                continue
            if visible and name in current.names:
                return current.names[name]
            first = False
            current = current.parent
        if self.module.star_mlflow and name in self.resolver.top_level:
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
                return f"{CLIENT}.{node.attr.value}" if method in self.resolver.rows else None
            if base is not None and base not in (OTHER, NONE, RUN):
                return f"{base}.{node.attr.value}"
            member = self._member(node, scope, depth)
            if member is not None:
                return self._entry(member, depth + 1)
            chain = dotted(node)
            if chain is not None and chain in self.attrs:
                return self._entry(self.attrs[chain], depth + 1)
            return None
        if isinstance(node, cst.Call):
            func = self.qualify(node.func, scope, depth + 1)
            api = self.resolver.canonical(func) if func else None
            if func in CLIENT_CLASS_PATHS or api == CLIENT_API:
                return CLIENT
            if api == "mlflow.start_run":
                return RUN
            if func in (None, OTHER) and self._returns_client(node.func, depth):
                return CLIENT
            return None
        return None

    def callee(self, call: Call) -> Callee | None:
        """What ``call`` calls, None when its function has no qualified name."""
        qualified = self.qualify(call.func, call.scope)
        if qualified is not None:
            return Callee(qualified)
        func = call.func
        if (isinstance(func, cst.Call) and isinstance(func.func, cst.Name) and func.func.value == "getattr"
                and self.lookup("getattr", call.scope) is None and func.args):
            target = self.qualify(func.args[0].value, call.scope)
            if target is None or not (is_mlflow(target) or target == CLIENT):
                return None
            name = string_value(func.args[1].value) if len(func.args) > 1 else None
            if name is None:
                return Callee(target, dynamic=True)
            return Callee(f"{target}.{name}", via_getattr=True)
        return None

    def _returns_client(self, func: cst.BaseExpression, depth: int) -> bool:
        """A call of this module's own function or method that returns an MlflowClient."""
        if isinstance(func, cst.Name):
            return self._gives_client(func.value, depth)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            return self._gives_client(func.attr.value, depth)
        return False

    def _gives_client(self, function: str, depth: int) -> bool:
        """Every function of this name is annotated to return a client, or returns one wherever it returns."""
        if depth > 20:
            return False
        annotated = self.return_types.get(function, [])
        if annotated and all(self._annotation(a, s, depth + 1) == "client" for a, s in annotated):
            return True
        returned = self.returns.get(function, [])
        return bool(returned) and all(self.qualify(v, s, depth + 1) == CLIENT for v, s in returned)

    def _class_of(self, owner: cst.BaseExpression, scope: Scope) -> Scope | None:
        """The body of the class ``owner`` names: ``self``/``cls`` in its methods, or the class's own name."""
        if not isinstance(owner, cst.Name):
            return None
        if owner.value in ("self", "cls"):
            current: Scope | None = scope
            while current is not None:  # the method around any nested function or lambda
                if current.kind == "function" and current.parent is not None and current.parent.kind == "class":
                    return current.parent
                current = current.parent
            return None
        entry = self.lookup(owner.value, scope)
        if isinstance(entry, tuple) and entry[0] == "class" and isinstance(entry[1], Scope):
            return entry[1]
        return None

    def _member(self, node: cst.Attribute, scope: Scope, depth: int) -> Entry | None:
        """What ``self.x``, ``cls.x`` or ``Class.x`` holds: what methods assign, else the class body's binding."""
        body = self._class_of(node.value, scope)
        if body is None:
            return None
        assigned, bound = body.attrs.get(node.attr.value), body.names.get(node.attr.value)
        if isinstance(bound, tuple) and bound[0] == "property":  # read as an attribute, it is what it returns
            return CLIENT if self._gives_client(node.attr.value, depth + 1) else OTHER
        if assigned is None or bound is None:
            return assigned or bound
        return rebind(bound, assigned) or bound  # a dataclass-style annotation in the body still holds

    def _annotation(self, node: cst.BaseExpression, scope: Scope, depth: int) -> str:
        """What an annotation admits: "client" (an MlflowClient, maybe None), "none", or "other"."""
        if depth > 20:
            return "other"
        if is_none(node):
            return "none"
        text = string_value(node)
        if text is not None:  # a quoted annotation; a long one is no class name (and costs a parse)
            try:
                if len(text) >= 200:
                    return "other"
                with PARSE_LOCK:
                    parsed = cst.parse_expression(text.strip())
                return self._annotation(parsed, scope, depth + 1)
            except (cst.ParserSyntaxError, SyntaxError, RecursionError, ValueError):
                return "other"
        members: list[cst.BaseExpression] = []
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            members = [node.left, node.right]
        elif isinstance(node, cst.Subscript):
            generic = self.qualify(node.value, scope, depth + 1)
            members = [s.slice.value for s in node.slice if isinstance(s.slice, cst.Index)]
            if generic in OPTIONAL:
                members.append(cst.Name("None"))
            elif generic not in UNION:
                return "other"
        else:
            return "client" if self.qualify(node, scope, depth + 1) in CLIENT_CLASS_PATHS else "other"
        kinds = {self._annotation(member, scope, depth + 1) for member in members}
        return "other" if "other" in kinds or not kinds else ("client" if "client" in kinds else "none")

    def _entry(self, entry: Entry, depth: int) -> str | None:
        if isinstance(entry, str):
            return entry
        kind, payload, where = entry
        if kind == "expr" and isinstance(payload, cst.BaseExpression):
            return self._value(payload, where, depth + 1)
        if kind == "annotated" and isinstance(payload, tuple):
            annotation, value, value_scope = payload
            if self._annotation(annotation, where, depth + 1) == "client":
                return CLIENT
            return NONE if value is None or is_none(value) else self._value(value, value_scope, depth + 1)
        if kind == "param" and isinstance(payload, cst.BaseExpression):
            return CLIENT if self._annotation(payload, where, depth + 1) == "client" else OTHER
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

    # ---- scopes ---------------------------------------------------------------------------
    def _enter(self, kind: str, name: str) -> None:
        self.scope = Scope(kind, self.scope)
        self.enclosing.append(name)
        if kind == "function":
            self.loop_depth.append(0)

    def _leave(self, kind: str) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent
        self.enclosing.pop()
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
            self.return_types.setdefault(node.name.value, []).append((node.returns.annotation, self.scope))
        decorators = [(dotted(d.decorator) or "").rpartition(".")[2] for d in node.decorators]
        if any(d in PROPERTIES for d in decorators):
            self.scope.bind(node.name.value, ("property", node.name.value, self.scope))
        elif not any(d in ("setter", "deleter") for d in decorators):  # `@client.setter` keeps the property
            self.scope.bind(node.name.value, OTHER)
        self._enter("function", node.name.value)
        self._bind_params(node.params)
        self.walk(node.body)
        self._leave("function")
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._visit_params(node.params)
        self._enter("function", self.enclosing[-1] if self.enclosing else "<lambda>")
        self._bind_params(node.params)
        self.walk(node.body)
        self._leave("function")
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        for dec in node.decorators:
            self.walk(dec)
        for arg in (*node.bases, *node.keywords):
            self.walk(arg)
        self._enter("class", node.name.value)
        assert self.scope.parent is not None
        self.scope.parent.bind(node.name.value, ("class", self.scope, self.scope.parent))
        self.walk(node.body)
        self._leave("class")
        return False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and self.enclosing:
            self.returns.setdefault(self.enclosing[-1], []).append((node.value, self.scope))

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
    def _rename(self, qualified: str) -> str:
        """A project module that re-exports MLflow (``from mlflow import *``) stands for ``mlflow``."""
        for module in self.reexports:
            if qualified == module or qualified.startswith(module + "."):
                return "mlflow" + qualified[len(module):]
        return qualified

    def _is_local(self, module: str) -> bool:
        """A module under the project's own package named mlflow (it shadows MLflow for this file)."""
        return self.local_mlflow and module.split(".")[0] == "mlflow"

    def visit_Import(self, node: cst.Import) -> None:
        for imported in cst_imported_names(node):
            if self._is_local(imported.module):
                self.scope.bind(imported.bound, OTHER)
            else:  # `import a.b` binds `a` as itself; only a full path can name a re-exporting module
                self.scope.bind(imported.bound, self._rename(imported.target) if imported.asname else imported.target)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        for imported in cst_imported_names(node):
            local = imported.level > 0 or self._is_local(imported.module)
            if imported.name == "*":
                if not local and imported.module == "mlflow":
                    self.module.star_mlflow = True
            else:
                self.scope.bind(imported.bound, OTHER if local else self._rename(imported.target))

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            if value is None:
                self.scope.bind(target.value, OTHER)
            else:
                self.scope.bind(target.value, NONE if is_none(value) else ("expr", value, self.scope))
        elif isinstance(target, cst.Attribute) and value is not None:
            self._bind_attribute(target, NONE if is_none(value) else ("expr", value, self.scope))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None)

    def _bind_attribute(self, target: cst.Attribute, entry: Entry) -> None:
        """``x.y = ...``: by its chain, and, for ``self.y``/``cls.y``/``Class.y``, in the class too."""
        chain = dotted(target)
        if chain is not None and (bound := rebind(self.attrs.get(chain), entry)) is not None:
            self.attrs[chain] = bound
        body = self._class_of(target.value, self.scope)
        if body is not None and (bound := rebind(body.attrs.get(target.attr.value), entry)) is not None:
            body.attrs[target.attr.value] = bound

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind_target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        entry: Entry = ("annotated", (node.annotation.annotation, node.value, self.scope), self.scope)
        if isinstance(node.target, cst.Name):
            self.scope.bind(node.target.value, entry)
        elif isinstance(node.target, cst.Attribute):
            self._bind_attribute(node.target, entry)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind_target(node.target, node.value)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.scope.bind(node.name.name.value, OTHER)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.scope.names.pop(item.name.value, None)
            if self.scope is not self.module:
                self.scope.declared[item.name.value] = self.module

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        functions = []
        current = self.scope.parent
        while current is not None and current.kind != "module":
            if current.kind == "function":
                functions.append(current)
            current = current.parent
        for item in node.names:  # the nearest enclosing function that binds it (as far as the walk has seen)
            owner = next((f for f in functions if item.name.value in f.names), functions[0] if functions else None)
            if owner is not None:
                self.scope.names.pop(item.name.value, None)
                self.scope.declared[item.name.value] = owner

    # ---- calls ----------------------------------------------------------------------------
    def visit_Decorator(self, node: cst.Decorator) -> None:
        if not isinstance(node.decorator, cst.Call):
            self._record(node.decorator, node.decorator)

    def visit_Call(self, node: cst.Call) -> None:
        self._record(node, node.func)

    def _record(self, node: cst.BaseExpression, func: cst.BaseExpression) -> None:
        self.calls.append(Call(node, func, self.scope, ".".join(self.enclosing), self.loop_depth[-1] > 0,
                               tuple(self.run_contexts)))
