"""What one MLflow release does when it is told nothing, read statically from its source (rows of
``mlflow_storage.csv``, ``analysis.releases.storage``):

- ``default`` ``tracking_uri``: the tracking URI ``get_tracking_uri()`` falls back to when neither
  ``set_tracking_uri`` nor ``MLFLOW_TRACKING_URI`` gives one (``./mlruns`` up to 3.6.0,
  ``sqlite:///mlflow.db`` from 3.7.0); ``default`` ``tracking_uri_if_<check>``: the URI it keeps
  instead when the check the default goes through holds (3.7.0+:
  ``tracking_uri_if_has_existing_mlruns_data`` = ``./mlruns``, when ``./mlruns`` already holds
  experiments);
- ``gate`` ``FileStore``: what opening a FileStore costs: ``warning: <category>`` (a warning its
  constructor issues, 3.6.0 to 3.12.0: ``FutureWarning``) or ``opt-in: <VARIABLE>`` (its constructor
  raises unless that environment variable is true, 3.13.0+: ``MLFLOW_ALLOW_FILE_STORE``).

Read from the AST (``mlflow/tracking/_tracking_service/utils.py``, ``mlflow/tracking/utils.py`` before
it, the constants of ``mlflow/store/tracking/__init__.py`` and ``mlflow/store/__init__.py``, the
FileStore's ``__init__`` and ``mlflow/environment_variables.py``); MLflow is never imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

from analysis.releases.source import release_tree

TRACKING_MODULES = ("tracking/_tracking_service/utils.py", "tracking/utils.py")
CONSTANT_MODULES = ("store/tracking/__init__.py", "store/__init__.py")
FILE_STORES = ("store/tracking/file_store.py", "store/file_store.py")
# calls that only turn a path into an absolute path or a file: URI
_PATH_WRAPPERS = frozenset({"path_to_local_file_uri", "abspath", "resolve_uri_if_local"})


def _strings(tree: ast.Module | None) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments."""
    out: dict[str, str] = {}
    for stmt in tree.body if tree else []:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)):
            out[stmt.targets[0].id] = stmt.value.value
    return out


def _called(node: ast.expr) -> str:
    """The name a call calls (``f`` of ``f()``, ``abspath`` of ``os.path.abspath()``), '' for another node."""
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return ""


class _Resolver:
    """Resolves an expression of the tracking module to the URI it gives: constants, local and module
    names, path wrappers, calls of the module's own argument-less functions and ``A if check() else B``."""

    def __init__(self, strings: dict[str, str], functions: dict[str, ast.FunctionDef]) -> None:
        self.strings = strings
        self.functions = functions
        self.conditions: dict[str, str] = {}  # check() name -> URI kept when it holds

    def uri(self, node: ast.expr, local: dict[str, ast.expr], depth: int = 0) -> str | None:
        if depth > 8:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in local:
                return self.uri(local[node.id], local, depth + 1)
            return self.strings.get(node.id)
        if isinstance(node, ast.Attribute):
            return self.strings.get(node.attr)
        if isinstance(node, ast.IfExp):
            kept = self.uri(node.body, local, depth + 1)
            check = _called(node.test)
            if kept is not None and check:
                self.conditions[check.lstrip("_")] = kept
            return self.uri(node.orelse, local, depth + 1)
        name = _called(node)
        if name in _PATH_WRAPPERS and isinstance(node, ast.Call) and node.args:
            return self.uri(node.args[0], local, depth + 1)
        function = self.functions.get(name)
        if function is not None and not function.args.args:
            return self.block(function.body, depth + 1)
        return None

    def block(self, body: list[ast.stmt], depth: int = 0) -> str | None:
        """The URI the statements return last, their plain assignments known."""
        local: dict[str, ast.expr] = {}
        for stmt in body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                local[stmt.targets[0].id] = stmt.value
        last = body[-1] if body else None
        if isinstance(last, ast.Return) and last.value is not None:
            return self.uri(last.value, local, depth)
        return None


def _fallback(function: ast.FunctionDef) -> list[ast.stmt]:
    """The statements of ``get_tracking_uri`` run when no URI was set: the last ``else`` of its
    ``if/elif`` chain, or what follows the chain."""
    for index, stmt in enumerate(function.body):
        if isinstance(stmt, ast.If):
            chain = stmt
            while len(chain.orelse) == 1 and isinstance(chain.orelse[0], ast.If):
                chain = chain.orelse[0]
            return chain.orelse or function.body[index + 1:]
    return function.body


def tracking_uri_defaults(package: Path) -> list[tuple[str, str]]:
    """(name, detail) of the ``default`` rows of the release whose ``mlflow/`` is ``package``."""
    for module in TRACKING_MODULES:
        tree = release_tree(package / module)
        functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)} if tree else {}
        if "get_tracking_uri" in functions:
            break
    else:
        return []
    strings: dict[str, str] = {}
    for constants in CONSTANT_MODULES:
        strings.update(_strings(release_tree(package / constants)))
    strings.update(_strings(tree))
    resolver = _Resolver(strings, functions)
    uri = resolver.block(_fallback(functions["get_tracking_uri"]))
    if uri is None:
        return []
    return [("tracking_uri", uri)] + [(f"tracking_uri_if_{check}", kept)
                                      for check, kept in sorted(resolver.conditions.items())]


def _variable(package: Path, name: str) -> str:
    """The environment variable an ``mlflow.environment_variables`` object reads (``name`` if not found)."""
    tree = release_tree(package / "environment_variables.py")
    for stmt in tree.body if tree else []:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == name and isinstance(stmt.value, ast.Call) and stmt.value.args
                and isinstance(stmt.value.args[0], ast.Constant) and isinstance(stmt.value.args[0].value, str)):
            return stmt.value.args[0].value
    return name


def file_store_gates(package: Path) -> list[tuple[str, str]]:
    """(name, detail) of the ``gate`` rows: what the FileStore's constructor warns or requires."""
    tree = next((t for t in (release_tree(package / p) for p in FILE_STORES) if t is not None), None)
    store = next((n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "FileStore"), None) if tree else None
    init = next((s for s in store.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None) if store else None
    if init is None:
        return []
    out: set[tuple[str, str]] = set()
    for node in ast.walk(init):
        if isinstance(node, ast.Call) and _called(node) == "warn":
            category = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "category"), None)
            if isinstance(category, (ast.Name, ast.Attribute)):
                out.add(("FileStore", f"warning: {category.id if isinstance(category, ast.Name) else category.attr}"))
        if (isinstance(node, ast.If) and isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
                and _called(node.test.operand) == "get" and any(isinstance(s, ast.Raise) for s in node.body)):
            call = node.test.operand
            assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            owner = call.func.value
            if isinstance(owner, ast.Name):
                out.add(("FileStore", f"opt-in: {_variable(package, owner.id)}"))
    return sorted(out)
