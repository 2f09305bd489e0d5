"""The static module graph of a repository's own code: what each module imports and calls, from its ``ast`` scan."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from analysis.reading.astscan import ModuleScan, ast_dotted
from analysis.reading.imports import ImportedName, imported_names
from analysis.repo_state import ModuleFacts, ModuleIndex

# Decorators (last name) that register a function with a framework which calls it: CLIs (click,
# typer), web apps (flask, fastapi), workflow engines (prefect, airflow, zenml, dagster, kfp).
FRAMEWORK_DECORATORS = frozenset({
    "command", "group", "callback", "route", "get", "post", "put", "patch", "delete", "websocket",
    "task", "flow", "step", "pipeline", "job", "op", "asset", "component", "dsl_pipeline",
})
# an import the graph cannot follow: ``\b(importlib\.import_module|__import__|exec)\s*\(``, looked for where
# one of its words is (a regex that starts with ``\b`` is tried at every position of the text)
_DYNAMIC_WORDS = ("importlib.import_module", "__import__", "exec")
_DYNAMIC_AT = re.compile(r"(?:importlib\.import_module|__import__|exec)\s*\(")
# run as a script: a `__main__` block, or a notebook exported as .py (Databricks, Jupytext/VS Code cells)
_MAIN_BLOCK = re.compile(r"""if\s+__name__\s*==\s*['"]__main__['"]""")


def module_facts(found: ModuleScan, text: str, rel: str, modules: ModuleIndex) -> ModuleFacts:
    """The facts of one module from its ``ast`` scan and its text (imports resolved against ``modules``)."""
    package = rel.split("/")[:-1]  # the directory's parts (a path as the file stage lists it: no '.', no '//')
    imported = [name for node in found.imports for name in imported_names(node, package)]
    edges, bases = call_edges(found, rel, modules, imported)
    targets = {resolve_import(name, modules, package) for name in module_imports(found, rel, imported)}
    return ModuleFacts(frozenset(t for t in targets if t is not None and t != rel),
                       dynamic_import(text), runs_as_script(text), tuple(edges),
                       frozenset(found.methods), frozenset(found.classes), tuple(sorted(bases.items())))


def dynamic_import(text: str) -> bool:
    """Whether ``text`` calls ``importlib.import_module``, ``__import__`` or ``exec`` (a word of its own)."""
    for word in _DYNAMIC_WORDS:
        start = text.find(word)
        while start != -1:
            before = text[start - 1] if start else " "
            if not (before.isalnum() or before == "_") and _DYNAMIC_AT.match(text, start):  # ``\b``, as ``re`` has it
                return True
            start = text.find(word, start + 1)
    return False


def runs_as_script(text: str) -> bool:
    """An ``if __name__ == "__main__"`` block, or a notebook exported as ``.py``: a Databricks export
    (its first line) or Jupytext/VS Code cells (a line starting ``# %%``)."""
    return (text.startswith(("# Databricks notebook source", "# %%")) or "\n# %%" in text
            or ("__main__" in text and _MAIN_BLOCK.search(text) is not None))


def module_imports(found: ModuleScan, rel: str, imported: list[ImportedName] | None = None) -> set[str]:
    """Dotted names a module imports (relative ones made absolute); ``imported``: the names its imports
    bind, when the caller has them."""
    if imported is None:
        package = rel.split("/")[:-1]
        imported = [name for node in found.imports for name in imported_names(node, package)]
    names: set[str] = set()
    for name in imported:
        names.add(name.module)
        if name.name:
            names.add(name.target)
    return {n for n in names if n}


def call_edges(found: ModuleScan, rel: str, modules: ModuleIndex, imported: list[ImportedName] | None = None
               ) -> tuple[list[tuple[str, str, str]], dict[str, tuple[str, ...]]]:
    """(caller node, callee, kind) of the calls a module makes to the repository's own code, and
    the bases of its classes (``file:Class`` when a class of the repository, else "").

    The caller is the innermost function (or the module for top-level code). Callees that name
    another module's function or class, or a method, are references resolved once every module is
    read (``build_graph``): ``ref:<file>:<name>`` (a function, or a class whose ``__init__`` runs),
    ``member:<file>:<Class.method>`` (a method of a known class or its bases: ``self.m()`` in a
    class, ``x.m()`` after ``x = Class()``), ``super:<file>:<Class.method>`` (``super().m()``: the
    bases only) and ``by-name:<m>`` (``obj.m()`` on anything else). A bare
    name is a function of this module (not a method) or a name imported from the repository; a
    name bound by assignment and then called is a call through a variable: ``unresolved``.
    ``imported``: the names the module's imports bind, when the caller has them.
    """
    methods = found.methods
    local = {q.rsplit(".", 1)[-1]: q for q in sorted(found.defs.values(), key=lambda q: q.count("."), reverse=True)
             if q not in methods}  # the least nested wins
    bound: dict[str, tuple[str, str]] = {}  # name -> (file, name in it, or '' for the module itself)
    chains: dict[str, str] = {}  # ``import a.b``: "a.b" -> file
    package = rel.split("/")[:-1]
    if imported is None:
        imported = [name for node in found.imports for name in imported_names(node, package)]
    for one in imported:
        if not one.name:  # import a.b [as c]
            target = resolve_import(one.module, modules, package)
            if target and one.asname:
                bound[one.asname] = (target, "")
            elif target:
                chains[one.module] = target
            continue
        near = None if one.level else package
        as_module = resolve_import(one.target, modules, near)
        source = resolve_import(one.module, modules, near) if one.module else None
        if as_module:
            bound[one.bound] = (as_module, "")
        elif source:
            bound[one.bound] = (source, one.name)

    def class_of(callee: str) -> tuple[str, str] | None:
        """(file, class) that ``callee`` names, if it can be a class of the repository."""
        if callee in found.classes:
            return rel, callee
        if callee in bound and bound[callee][1]:
            return bound[callee]
        head, _, name = callee.rpartition(".")
        if head in bound and not bound[head][1]:
            return bound[head][0], name
        if head in chains:
            return chains[head], name
        return None

    typed: dict[str, tuple[str, str]] = {}  # variable -> (file, class) when only one class is ever assigned
    for var, callees in found.instances.items():
        if len(callees) == 1:
            known = class_of(next(iter(callees)))
            if known is not None:
                typed[var] = known

    bases: dict[str, tuple[str, ...]] = {}
    for name, dotted in found.bases.items():
        resolved = [class_of(d) if d else None for d in dotted]
        bases[name] = tuple(f"{r[0]}:{r[1]}" if r else "" for r in resolved)

    def enclosing_class(where: str) -> str | None:
        parts = where.split(".")
        for end in range(len(parts) - 1, 0, -1):
            if ".".join(parts[:end]) in found.classes:
                return ".".join(parts[:end])
        return None

    assigned, classes, properties = found.assigned, found.classes, found.properties
    module = f"module:{rel}"
    edges: list[tuple[str, str, str]] = []
    add = edges.append
    # function -> (its node, parameters, variables, both, both but self and cls), once per function:
    # parameters and local variables of the enclosing functions shadow the module's names (pytest
    # fixtures, callbacks, `engine = create_engine()`)
    scopes: dict[str, tuple[str, set[str], set[str], set[str], set[str]]] = {}
    for where, event in found.events:
        if type(event) is not ast.Call:
            owner = f"function:{rel}:{where}" if where else module
            add((module, owner, "defines"))
            if isinstance(event, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    (ast_dotted(d.func if isinstance(d, ast.Call) else d) or "").rsplit(".", 1)[-1] in FRAMEWORK_DECORATORS
                    for d in event.decorator_list):
                add((module, owner, "defines:registered"))  # with a framework that calls it
            continue
        scope = scopes.get(where)
        if scope is None:
            enclosing = [".".join(where.split(".")[:n]) for n in range(1, where.count(".") + 2)] if where else []
            params: set[str] = set().union(*(found.params.get(f, set()) for f in enclosing))
            local_vars: set[str] = set().union(*(found.local_names.get(f, set()) for f in enclosing))
            shadows = params | local_vars
            scope = scopes[where] = (f"function:{rel}:{where}" if where else module, params, local_vars, shadows,
                                     shadows - {"self", "cls"})
        owner, parameters, variables, shadowing, shadowing_objects = scope
        for value in (*event.args, *[k.value for k in event.keywords]) if event.keywords else event.args:
            # a function of the repository passed as a value (fire.Fire(main), Thread(target=f), map(f, ...))
            if type(value) is ast.Name:
                name = value.id
                if name in shadowing:
                    continue
                if name in local:
                    add((owner, f"function:{rel}:{local[name]}", "calls:argument"))
                elif name in bound and bound[name][1]:
                    add((owner, f"ref:{bound[name][0]}:{bound[name][1]}", "calls:argument"))
            elif (type(value) is ast.Attribute and type(value.value) is ast.Name
                  and value.value.id in ("self", "cls") and (outer := enclosing_class(where)) is not None
                  and f"{outer}.{value.attr}" not in properties):  # a property passes its value
                add((owner, f"member:{rel}:{outer}.{value.attr}", "calls:argument"))
        func = event.func
        if type(func) is ast.Name:
            name = func.id
            if name in parameters:
                continue  # calls what the caller passed
            if name in variables:
                add((owner, f"unresolved:call through variable {name}", "unresolved"))
            elif name in local:
                add((owner, f"function:{rel}:{local[name]}", "calls"))
            elif name in classes:
                add((owner, f"ref:{rel}:{name}", "calls"))
            elif name in bound:
                target, name_in = bound[name]
                add((owner, f"ref:{target}:{name_in}" if name_in else f"module:{target}", "calls"))
            elif name in assigned:
                add((owner, f"unresolved:call through variable {name}", "unresolved"))
            continue
        if type(func) is not ast.Attribute:
            continue
        attr = func.attr
        head = ast_dotted(func.value)
        if head is not None and head.partition(".")[0] in shadowing_objects:
            head = None  # a method of what the caller passed: by name
        cls = enclosing_class(where) if head == "self" or head == "cls" else None
        if (type(func.value) is ast.Call and type(func.value.func) is ast.Name
                and func.value.func.id == "super"):
            outer = enclosing_class(where)
            if outer is not None:
                add((owner, f"super:{rel}:{outer}.{attr}", "calls"))
        elif head is None:
            add((owner, f"by-name:{attr}", "calls"))  # linked by name once all modules are read
        elif head in bound and not bound[head][1]:
            add((owner, f"ref:{bound[head][0]}:{attr}", "calls"))
        elif head in chains:
            add((owner, f"ref:{chains[head]}:{attr}", "calls"))
        elif cls is not None:
            add((owner, f"member:{rel}:{cls}.{attr}", "calls"))
        elif head in typed:
            file, name = typed[head]
            add((owner, f"member:{file}:{name}.{attr}", "calls"))
        elif (named := class_of(head)) is not None:
            # `Base.__init__(self)`, `Config.from_file(...)`: a class's own (or inherited) method
            add((owner, f"member:{named[0]}:{named[1]}.{attr}", "calls"))
        else:
            add((owner, f"by-name:{attr}", "calls"))  # linked by name once all modules are read
    return edges, bases


def resolve_import(name: str, modules: ModuleIndex, near: list[str] | None = None) -> str | None:
    """The repository file a dotted import names: beside the importing file (``near``, its directory's
    parts: Python puts a script's own directory first on ``sys.path``), else by its full dotted
    path, else by a suffix (``src/`` layouts)."""
    if near:
        beside = modules.get(".".join([*near, name]))
        if beside:
            return beside
    return modules.get(name) or modules.suffixes.get(name)


def dotted_modules(paths: Iterable[str]) -> ModuleIndex:
    """Dotted module names of the repository's .py files (``a/b/__init__.py`` is ``a.b``)."""
    out = {}
    for rel in paths:
        p = PurePosixPath(rel).with_suffix("")
        parts = list(p.parts[:-1]) if p.name == "__init__" else list(p.parts)
        if parts:
            out[".".join(parts)] = rel
    return ModuleIndex(out)
