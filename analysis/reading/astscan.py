"""One ``ast`` parse and one traversal per ``.py`` file, shared by every pass that reads CPython's view of it.

The traversal collects what three passes need: imports, assigned names and calls with the
function they sit in (the import and call graphs of ``traceability``), every call and bare
decorator with its position (the LibCST call-site pass takes line and column from here, see
``mlflow_calls.ast_positions``), and the imports that decide whether a file that mentions mlflow
can use it at all (``mlflow_calls.may_use_mlflow``: LibCST is not run on the others).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from typing import Any

Def = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class ModuleScan:
    """What one traversal of a module's ``ast`` found."""

    defs: dict[ast.AST, str]  # functions and methods reached through def/class bodies -> ``Class.method``
    methods: set[str] = field(default_factory=set)  # the qualified names in ``defs`` defined in a class body
    classes: set[str] = field(default_factory=set)  # qualified names of classes reached the same way
    bases: dict[str, list[str]] = field(default_factory=dict)  # class -> dotted base names ("" if not a name)
    params: dict[str, set[str]] = field(default_factory=dict)  # function -> its parameters' names
    local_names: dict[str, set[str]] = field(default_factory=dict)  # function -> names it assigns
    properties: set[str] = field(default_factory=set)  # methods read as attributes (``@property``)
    # a name or ``self.name`` -> the dotted callee of every ``name = Callee(...)`` (any scope)
    instances: dict[str, set[str]] = field(default_factory=dict)
    imports: list[ast.Import | ast.ImportFrom] = field(default_factory=list)  # in source order
    assigned: set[str] = field(default_factory=set)  # names bound by ``=`` or an annotated assignment
    calls: list[ast.Call] = field(default_factory=list)  # every call, outer before inner
    bare_decorators: list[ast.expr] = field(default_factory=list)  # decorators that are not calls
    # (owner, node) in traversal order: a call with the qualified function it runs in ("" for module
    # level), or a function definition in ``defs`` with its own qualified name
    events: list[tuple[str, ast.AST]] = field(default_factory=list)
    # the top-level statements' first lines (decorators included) and last lines, 1-based (``StatementReuse``)
    statements: tuple[tuple[int, int], ...] = ()
    # the same lines of the statements in the block of a top-level ``_BLOCKS`` statement without ``else``, by
    # the statement's first line (where the block holds two or more)
    members: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)


def parse(source: str | bytes) -> ast.Module:
    """``ast.parse`` without warnings about the mined code (invalid escapes and the like)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def scan_source(source: str) -> ModuleScan | None:
    """The scan of a module's source, or None where ``ast`` cannot parse it."""
    try:
        return scan(parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def ast_dotted(node: ast.expr) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = ast_dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _defs(tree: ast.Module, out: ModuleScan) -> None:
    """Every function, method and class of a module with its qualified name (``Class.method``, ``outer.inner``)."""

    def walk(body: list[ast.stmt], prefix: str, in_class: bool) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.defs[stmt] = prefix + stmt.name
                a = stmt.args
                out.params[prefix + stmt.name] = {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs,
                                                                  *filter(None, (a.vararg, a.kwarg)))}
                if in_class:
                    out.methods.add(prefix + stmt.name)
                    if any((ast_dotted(d) or "").rsplit(".", 1)[-1] in ("property", "cached_property")
                           for d in stmt.decorator_list):
                        out.properties.add(prefix + stmt.name)
                walk(stmt.body, prefix + stmt.name + ".", False)
            elif isinstance(stmt, ast.ClassDef):
                out.classes.add(prefix + stmt.name)
                out.bases[prefix + stmt.name] = [ast_dotted(b) or "" for b in stmt.bases]
                walk(stmt.body, prefix + stmt.name + ".", True)

    walk(tree.body, "", False)


def _instance(out: ModuleScan, target: ast.expr, value: ast.expr | None) -> None:
    """Record ``x = Callee(...)`` and ``self.x = Callee(...)``."""
    if not isinstance(value, ast.Call):
        return
    callee = ast_dotted(value.func)
    name = target.id if isinstance(target, ast.Name) else (
        f"self.{target.attr}" if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
        and target.value.id == "self" else None)
    if callee is not None and name is not None:
        out.instances.setdefault(name, set()).add(callee)


def _subclasses(base: type) -> set[type]:
    found = {base}
    sub: type
    for sub in base.__subclasses__():
        found |= _subclasses(sub)
    return found


# Node types with nothing below them a scan looks at: names, literals, aliases, operators, markers.
_LEAVES = frozenset({ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue, ast.Global,
                     ast.Nonlocal}.union(*map(_subclasses, (ast.expr_context, ast.operator, ast.cmpop, ast.boolop,
                                                            ast.unaryop))))
# Node types a scan goes into (a test checks that skipping the others changes nothing).
_NODES = frozenset(_subclasses(ast.AST) - _LEAVES)
# Fields that never hold a node a scan goes into: names and numbers (identifiers, strings, constants,
# ints), and aliases, operators and ``ctx`` markers (leaves). Skipping them changes no visit (a test
# checks each against ast's own signature of the node type); it spares a lookup per field.
_NOT_NODES = frozenset({"id", "attr", "name", "arg", "module", "level", "type_comment", "kind", "conversion",
                        "simple", "is_async", "names", "op", "ops", "ctx", "rest", "kwd_attrs", "lineno", "tag"})
# The fields of each node type that can hold nodes, in ``_fields`` order.
_FIELDS: dict[type, tuple[str, ...]] = {kind: tuple(f for f in getattr(kind, "_fields") if f not in _NOT_NODES)
                                        for kind in _NODES}
# What the scan records of a node, by its exact type (the parser makes no subclasses of them).
_CALL, _DEF, _IMPORT, _ASSIGN, _ANN_ASSIGN = range(1, 6)
_ROLES: dict[type, int] = {ast.Call: _CALL, ast.FunctionDef: _DEF, ast.AsyncFunctionDef: _DEF, ast.ClassDef: _DEF,
                           ast.Import: _IMPORT, ast.ImportFrom: _IMPORT, ast.Assign: _ASSIGN, ast.AnnAssign: _ANN_ASSIGN}


# statements with one block, cut at its statements by ``StatementReuse`` (a class, a function, ``with``, ``if``, a loop)
_BLOCKS = frozenset({ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.With, ast.AsyncWith, ast.If, ast.For,
                     ast.AsyncFor, ast.While})


def _lines(statement: ast.stmt) -> tuple[int, int]:
    """A statement's first line (its decorators' included) and last line."""
    return (min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))]),
            statement.end_lineno or statement.lineno)


def scan(tree: ast.Module) -> ModuleScan:
    """Walk a module once, depth first in source order (``ast.iter_child_nodes`` order)."""
    out = ModuleScan({})
    _defs(tree, out)
    defs, calls, events, imports, assigned = out.defs, out.calls, out.events, out.imports, out.assigned
    decorators, local_names = out.bare_decorators, out.local_names
    fields_of, nodes, roles = _FIELDS, _NODES, _ROLES

    def visit(node: Any, owner: str) -> None:
        kind = type(node)
        role = roles.get(kind)
        if role is not None:
            if role == _CALL:
                calls.append(node)
                events.append((owner, node))
            elif role == _DEF:
                decorators.extend(d for d in node.decorator_list if type(d) is not ast.Call)
                if node in defs:
                    owner = defs[node]
                    events.append((owner, node))
            elif role == _IMPORT:
                imports.append(node)
            elif role == _ASSIGN:
                targets = {t.id for t in node.targets if type(t) is ast.Name}
                assigned.update(targets)
                if owner:
                    local_names.setdefault(owner, set()).update(targets)
                if len(node.targets) == 1:
                    _instance(out, node.targets[0], node.value)
            else:
                if type(node.target) is ast.Name:
                    assigned.add(node.target.id)
                    if owner:
                        local_names.setdefault(owner, set()).add(node.target.id)
                _instance(out, node.target, node.value)
        names = fields_of.get(kind)
        if names is None:  # a node type this Python's ast did not have when the table was made
            names = fields_of[kind] = tuple(f for f in kind._fields if f not in _NOT_NODES)
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if type(item) in nodes:
                        visit(item, owner)
            elif type(value) in nodes:
                visit(value, owner)

    visit(tree, "")
    out.statements = tuple(_lines(s) for s in tree.body)
    out.members = {lines[0]: tuple(_lines(m) for m in block) for s, lines in zip(tree.body, out.statements)
                   if type(s) in _BLOCKS and len(block := getattr(s, "body", ())) > 1 and not getattr(s, "orelse", None)}
    return out
