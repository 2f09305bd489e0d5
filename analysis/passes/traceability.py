"""Traceability graphs (networkx): from MLproject entry points through the repository's own modules to what runs log.

One directed graph per repository, with typed nodes (``kind``) and edges (``kind``: declares, runs,
imports, logs, uses_env, pins, registers, writes_to, unresolved). Modules are linked by a static,
by-name import graph of the repository's own ``.py`` files (``ast``, no execution): a key logged
in a helper module that the entry script imports, directly or not, is reachable from the entry
point. Imports that cannot be followed statically (``importlib.import_module``, ``__import__``,
``exec``) are edges of kind ``unresolved``.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat
from xml.sax.saxutils import escape

import networkx as nx

from analysis.reading.astscan import ModuleScan, ast_dotted
from analysis.reading.imports import imported_names
from analysis.rows import TraceabilityRow

LOGGING = ("param", "metric", "tag", "artifact", "model", "dataset")
# Decorators (last name) that register a function with a framework which calls it: CLIs (click,
# typer), web apps (flask, fastapi), workflow engines (prefect, airflow, zenml, dagster, kfp).
FRAMEWORK_DECORATORS = frozenset({
    "command", "group", "callback", "route", "get", "post", "put", "patch", "delete", "websocket",
    "task", "flow", "step", "pipeline", "job", "op", "asset", "component", "dsl_pipeline",
})
_DYNAMIC = re.compile(r"\b(importlib\.import_module|__import__|exec)\s*\(")
# run as a script: a `__main__` block, or a notebook exported as .py (Databricks, Jupytext/VS Code cells)
_MAIN = re.compile(r"""if\s+__name__\s*==\s*['"]__main__['"]|\A# Databricks notebook source|^# %%""", re.M)


def _true(value: object) -> bool:
    """Booleans in memory, "true"/"false" once read back from CSV, "True"/"False" from GraphML."""
    return value is True or value in ("true", "True")


@dataclass(frozen=True)
class ModuleFacts:
    """What the graph needs from one module, computed where the module is parsed."""

    imports: frozenset[str]  # the repository's files it imports
    dynamic: bool  # importlib.import_module, __import__ or exec
    main: bool  # has an ``if __name__ == "__main__":`` block
    edges: tuple[tuple[str, str, str], ...]  # (caller, callee, kind), see ``call_edges``
    methods: frozenset[str] = frozenset()  # qualified names of the module's methods
    classes: frozenset[str] = frozenset()  # qualified names of the module's classes
    # class -> its bases as "file:Class" when they are classes of the repository, "" when not
    bases: tuple[tuple[str, tuple[str, ...]], ...] = ()


def module_facts(found: ModuleScan, text: str, rel: str, modules: ModuleIndex) -> ModuleFacts:
    """The facts of one module from its ``ast`` scan and its text (imports resolved against ``modules``)."""
    edges, bases = call_edges(found, rel, modules)
    near = list(PurePosixPath(rel).parent.parts)
    targets = {resolve_import(name, modules, near) for name in module_imports(found, rel)}
    return ModuleFacts(frozenset(t for t in targets if t is not None and t != rel),
                       _mentions(text, _DYNAMIC, ("import_module", "__import__", "exec")),
                       _mentions(text, _MAIN, ("__main__", "# Databricks notebook source", "# %%")), tuple(edges),
                       frozenset(found.methods), frozenset(found.classes), tuple(sorted(bases.items())))


def _mentions(text: str, pattern: re.Pattern[str], words: tuple[str, ...]) -> bool:
    """``pattern`` matches in ``text``; ``words`` are substrings of every match (most texts have none: no scan)."""
    return any(word in text for word in words) and pattern.search(text) is not None


def module_imports(found: ModuleScan, rel: str) -> set[str]:
    """Dotted names a module imports (relative ones made absolute)."""
    package = PurePosixPath(rel).parent.parts
    names: set[str] = set()
    for node in found.imports:
        for imported in imported_names(node, package):
            names.add(imported.module)
            if imported.name:
                names.add(imported.target)
    return {n for n in names if n}


def call_edges(found: ModuleScan, rel: str, modules: ModuleIndex
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
    """
    methods = found.methods
    local = {q.rsplit(".", 1)[-1]: q for q in sorted(found.defs.values(), key=lambda q: q.count("."), reverse=True)
             if q not in methods}  # the least nested wins
    bound: dict[str, tuple[str, str]] = {}  # name -> (file, name in it, or '' for the module itself)
    chains: dict[str, str] = {}  # ``import a.b``: "a.b" -> file
    package = list(PurePosixPath(rel).parent.parts)
    for node in found.imports:
        for imported in imported_names(node, package):
            if not imported.name:  # import a.b [as c]
                target = resolve_import(imported.module, modules, package)
                if target and imported.asname:
                    bound[imported.asname] = (target, "")
                elif target:
                    chains[imported.module] = target
                continue
            near = None if imported.level else package
            as_module = resolve_import(imported.target, modules, near)
            source = resolve_import(imported.module, modules, near) if imported.module else None
            if as_module:
                bound[imported.bound] = (as_module, "")
            elif source:
                bound[imported.bound] = (source, imported.name)

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

    assigned = found.assigned
    edges: list[tuple[str, str, str]] = []
    scopes: dict[str, tuple[set[str], set[str], set[str]]] = {}  # function -> parameters, variables, both
    for where, event in found.events:
        owner = f"function:{rel}:{where}" if where else f"module:{rel}"
        if not isinstance(event, ast.Call):
            edges.append((f"module:{rel}", owner, "defines"))
            if isinstance(event, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    (ast_dotted(d.func if isinstance(d, ast.Call) else d) or "").rsplit(".", 1)[-1] in FRAMEWORK_DECORATORS
                    for d in event.decorator_list):
                edges.append((f"module:{rel}", owner, "defines:registered"))  # with a framework that calls it
            continue
        if where not in scopes:
            # parameters and local variables of the enclosing functions shadow the module's names
            # (pytest fixtures, callbacks, `engine = create_engine()`); once per function
            enclosing = [".".join(where.split(".")[:n]) for n in range(1, where.count(".") + 2)] if where else []
            params: set[str] = set().union(*(found.params.get(f, set()) for f in enclosing))
            local_vars: set[str] = set().union(*(found.local_names.get(f, set()) for f in enclosing))
            scopes[where] = (params, local_vars, params | local_vars)
        parameters, variables, shadowing = scopes[where]
        for value in [*event.args, *(k.value for k in event.keywords)]:
            # a function of the repository passed as a value (fire.Fire(main), Thread(target=f), map(f, ...))
            if isinstance(value, ast.Name) and value.id in shadowing:
                continue
            if isinstance(value, ast.Name) and value.id in local:
                edges.append((owner, f"function:{rel}:{local[value.id]}", "calls:argument"))
            elif isinstance(value, ast.Name) and value.id in bound and bound[value.id][1]:
                edges.append((owner, f"ref:{bound[value.id][0]}:{bound[value.id][1]}", "calls:argument"))
            elif (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                  and value.value.id in ("self", "cls") and (outer := enclosing_class(where)) is not None
                  and f"{outer}.{value.attr}" not in found.properties):  # a property passes its value
                edges.append((owner, f"member:{rel}:{outer}.{value.attr}", "calls:argument"))
        func = event.func
        if isinstance(func, ast.Name):
            if func.id in parameters:
                continue  # calls what the caller passed
            if func.id in variables:
                edges.append((owner, f"unresolved:call through variable {func.id}", "unresolved"))
            elif func.id in local:
                edges.append((owner, f"function:{rel}:{local[func.id]}", "calls"))
            elif func.id in found.classes:
                edges.append((owner, f"ref:{rel}:{func.id}", "calls"))
            elif func.id in bound:
                target, name = bound[func.id]
                edges.append((owner, f"ref:{target}:{name}" if name else f"module:{target}", "calls"))
            elif func.id in assigned:
                edges.append((owner, f"unresolved:call through variable {func.id}", "unresolved"))
            continue
        if not isinstance(func, ast.Attribute):
            continue
        head = ast_dotted(func.value)
        if head is not None and head.split(".")[0] in shadowing - {"self", "cls"}:
            head = None  # a method of what the caller passed: by name
        cls = enclosing_class(where) if head in ("self", "cls") else None
        if (isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "super"):
            outer = enclosing_class(where)
            if outer is not None:
                edges.append((owner, f"super:{rel}:{outer}.{func.attr}", "calls"))
        elif head is not None and head in bound and not bound[head][1]:
            edges.append((owner, f"ref:{bound[head][0]}:{func.attr}", "calls"))
        elif head is not None and head in chains:
            edges.append((owner, f"ref:{chains[head]}:{func.attr}", "calls"))
        elif cls is not None:
            edges.append((owner, f"member:{rel}:{cls}.{func.attr}", "calls"))
        elif head is not None and head in typed:
            file, name = typed[head]
            edges.append((owner, f"member:{file}:{name}.{func.attr}", "calls"))
        elif head is not None and (named := class_of(head)) is not None:
            # `Base.__init__(self)`, `Config.from_file(...)`: a class's own (or inherited) method
            edges.append((owner, f"member:{named[0]}:{named[1]}.{func.attr}", "calls"))
        else:
            edges.append((owner, f"by-name:{func.attr}", "calls"))  # linked by name once all modules are read
    return edges, bases


class ModuleIndex(dict[str, str]):
    """Dotted module name -> file, with every dotted suffix of a name indexed too (src layouts)."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        super().__init__(modules)
        self.suffixes: dict[str, str] = {}
        for dotted, path in self.items():
            parts = dotted.split(".")
            for i in range(1, len(parts)):
                self.suffixes.setdefault(".".join(parts[i:]), path)  # the first module in order wins


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


def build_graph(repo: str, py_files: list[str], facts: Mapping[str, ModuleFacts],
                rows: Mapping[str, list[dict[str, Any]]]) -> nx.DiGraph:
    """The traceability graph of one repository from its analysis rows and its modules' facts.

    ``py_files`` are its ``.py`` files and the notebooks whose code parsed (scripts that import the
    repository's modules too); ``facts`` holds the modules that parsed, the others are nodes
    without edges.
    """
    g = nx.DiGraph(repo=repo)
    g.add_node(f"repo:{repo}", kind="repository")
    by_name: list[tuple[str, str]] = []
    refs: list[tuple[str, str, str]] = []  # (caller, "ref:...", "member:..." or "super:...", via)

    def link(caller: str, callee: str, kind: str = "calls", via: str = "") -> None:
        """An edge; ``via`` (argument) says a call is inferred, and a direct call overrides it. A module
        calling a function it defines makes its ``defines`` edge a ``calls`` edge (one edge per pair)."""
        data = g.get_edge_data(caller, callee)
        if data is None or data["kind"] == "defines":
            g.add_edge(caller, callee, kind=kind, **({"via": via} if via else {}))
        elif not via:
            data.pop("via", None)

    classes: dict[str, frozenset[str]] = {}
    for rel in py_files:
        notebook = rel.endswith(".ipynb")  # run by hand, top to bottom: a script
        g.add_node(f"module:{rel}", kind="notebook" if notebook else "module", path=rel)
        found = facts.get(rel)
        if found is None:
            continue
        g.nodes[f"module:{rel}"]["main"] = found.main or notebook
        classes[rel] = found.classes
        for caller, callee, kinds in found.edges:
            kind, _, via = kinds.partition(":")
            if callee.startswith("by-name:"):
                by_name.append((caller, callee.removeprefix("by-name:")))
            elif callee.startswith(("ref:", "member:", "super:")):
                refs.append((caller, callee, via))
            elif via == "registered":
                g.nodes[callee]["registered"] = True
            else:
                if callee.startswith("function:") and callee not in g:
                    g.add_node(callee, kind="function")
                link(caller, callee, kind, via)
        for method in found.methods:
            g.nodes[f"function:{rel}:{method}"]["method"] = True
        for target in sorted(found.imports):
            g.add_edge(f"module:{rel}", f"module:{target}", kind="imports")
        if found.dynamic:
            g.add_edge(f"module:{rel}", "unresolved:dynamic-import", kind="unresolved")
    # references to other modules, now that every module's functions and classes are known
    class_bases = {f"{rel}:{cls}": known for rel, found in facts.items() for cls, known in found.bases}

    def lookup(start: list[str], method: str) -> str | None:
        """The method as the first class defining it finds it, from ``start`` ("file:Class") up its bases."""
        seen: set[str] = set()
        queue = list(start)
        while queue:
            current = queue.pop(0)
            if not current or current in seen:
                continue
            seen.add(current)
            node = f"function:{current}.{method}"
            if node in g:
                return node
            queue.extend(class_bases.get(current, ()))
        return None

    for caller, ref, via in refs:
        kind, file, name = ref.split(":", 2)
        node = f"function:{file}:{name}"
        if kind == "ref" and node in g:
            link(caller, node, via=via)
        elif kind == "ref" and via:
            continue  # a value that is not a function of the repository (a constant, an object, a class)
        elif kind == "ref" and name in classes.get(file, ()):
            init = lookup([f"{file}:{name}"], "__init__")  # constructing a class runs its __init__
            if init is not None:
                link(caller, init, via=via)
        elif kind == "ref":
            g.add_node(node, kind="function")  # not defined where imported from (a re-export, or unparsed)
            link(caller, node, via=via)
        else:
            cls, _, method = name.rpartition(".")
            start = list(class_bases.get(f"{file}:{cls}", ())) if kind == "super" else [f"{file}:{cls}"]
            found_method = lookup(start, method)
            if found_method is not None:
                link(caller, found_method, via=via)
            elif kind == "member" and not via:
                by_name.append((caller, method))  # defined in a subclass or an outside base: by name
    # `obj.method()` on an object of unknown class reaches every method of the repository with that
    # name, as the by-name call graph promises
    methods: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        if data.get("method"):
            methods.setdefault(node.rsplit(":", 1)[1].rsplit(".", 1)[-1], []).append(node)
    for caller, name in by_name:
        for callee in methods.get(name, []):
            g.add_edge(caller, callee, kind="calls", by_name=True)
    for m in rows["mlprojects"]:
        node = f"mlproject:{m['path']}"
        g.add_node(node, kind="mlproject", valid=_true(m["valid"]))
        g.add_edge(f"repo:{repo}", node, kind="declares")
        if m["env_file"]:
            g.add_edge(node, f"env:{m['env_file']}", kind="uses_env")
        if m["docker_image"]:
            g.add_edge(node, f"env:docker:{m['docker_image']}", kind="uses_env")
    for ep in rows["entry_points"]:
        node = f"entry_point:{ep['mlproject_path']}:{ep['entry_point']}"
        g.add_node(node, kind="entry_point", command=ep["command"])
        g.add_edge(f"mlproject:{ep['mlproject_path']}", node, kind="declares")
        if ep["script"]:
            kind = "module" if ep["script"].endswith(".py") and ep["script"] in py_files else "script"
            g.add_node(f"{kind}:{ep['script']}", kind=kind, path=ep["script"])
            g.add_edge(node, f"{kind}:{ep['script']}", kind="runs")
    for p in rows["parameters"]:
        node = f"parameter:{p['mlproject_path']}:{p['entry_point']}:{p['name']}"
        g.add_node(node, kind="parameter", name=p["name"])
        g.add_edge(f"entry_point:{p['mlproject_path']}:{p['entry_point']}", node, kind="declares")
    for d in rows["dependencies"]:
        if d["origin"] == "project" and d["name"]:
            g.add_node(f"env:{d['file']}", kind="environment")
            g.add_node(f"dependency:{d['name']}", kind="dependency")
            g.add_edge(f"env:{d['file']}", f"dependency:{d['name']}", kind="pins", pin_class=d["pin_class"])
    for row in [*rows["call_sites"], *rows["tracking_uris"]]:
        if row["path"].endswith(".ipynb") and f"module:{row['path']}" not in g:
            g.add_node(f"module:{row['path']}", kind="notebook", path=row["path"], main=True)  # run top to bottom
    for u in rows["tracking_uris"]:
        writer = f"module:{u['path']}" if f"module:{u['path']}" in g else f"config:{u['path']}"
        g.add_node(f"tracking_uri:{u['scheme']}", kind="tracking_uri")
        g.add_edge(writer, f"tracking_uri:{u['scheme']}", kind="writes_to")
    for c in rows["call_sites"]:
        module = _owner(g, c)
        if c["api"] == "mlflow.start_run":
            node = f"run_site:{c['path']}:{c['line']}"
            g.add_node(node, kind="run_site")
            g.add_edge(module, node, kind="calls")
        elif c["category"] in LOGGING or c["category"] == "registry":
            kind = {"param": "param_key", "metric": "metric_key", "tag": "tag", "artifact": "artifact",
                    "model": "model", "dataset": "dataset", "registry": "model"}[c["category"]]
            label = c["key"] if c["key_kind"] == "literal" else f"<{c['key_kind']}>@{c['path']}:{c['line']}"
            node = f"{kind}:{label}" if kind in ("param_key", "metric_key", "tag") else f"{kind}:{c['path']}:{c['line']}"
            flavor = c["api"].split(".")[1] if kind == "model" and c["api"].count(".") == 2 else ""
            g.add_node(node, kind=kind, api=c["api"], **({"flavor": flavor} if flavor else {}))
            g.add_edge(module, node, kind="registers" if c["category"] == "registry" else "logs")
            if c["note"].startswith("registered_model_name="):
                registered = "registered_model:" + c["note"].split("=", 1)[1]
                g.add_node(registered, kind="registered_model")
                g.add_edge(node, registered, kind="registers")
    return g


def execution_graph(g: nx.DiGraph) -> nx.DiGraph:
    """The edges along which code runs: a script runs its module's top-level code, an import runs
    the imported module's top-level code, code runs the functions it calls (or passes as a value:
    ``via`` argument), and a module runs the functions it registers with a framework
    (``registered``: ``@click.command``, ``@app.route``, ``@task``...)."""
    run = nx.DiGraph()
    run.add_nodes_from(g)
    run.add_edges_from((u, v) for u, v, kind in g.edges(data="kind") if kind in ("runs", "imports", "calls")
                       or (kind == "defines" and _true(g.nodes[v].get("registered"))))
    return run


def reachable(g: nx.DiGraph, *starts: str, run: nx.DiGraph | None = None) -> set[str]:
    """Module and function nodes reachable from any of ``starts`` (see ``execution_graph``; pass
    ``run`` when it is already built)."""
    run = execution_graph(g) if run is None else run
    seen = {s for s in starts if s in run}
    queue = list(seen)
    while queue:
        for nxt in run.successors(queue.pop()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return {n for n in seen if n.startswith(("module:", "function:"))}


def _owner(g: nx.DiGraph, c: Mapping[str, Any]) -> str:
    owner = f"function:{c['path']}:{c['enclosing_function']}" if c["enclosing_function"] else f"module:{c['path']}"
    return owner if owner in g else f"module:{c['path']}"


def metrics(g: nx.DiGraph, repo: str, rows: Mapping[str, list[dict[str, Any]]]) -> TraceabilityRow:
    """The traceability row of one repository."""
    eps = [n for n, d in g.nodes(data=True) if d.get("kind") == "entry_point"]
    run = execution_graph(g)
    from_eps = reachable(g, *eps, run=run)
    # a module with an `if __name__ == "__main__":` block is a script too
    from_mains = reachable(g, *(n for n, data in g.nodes(data=True) if _true(data.get("main"))), run=run)
    entry_reach = from_eps | from_mains
    calls = rows["call_sites"]
    logged_params = {c["key"] for c in calls if c["category"] == "param" and c["key_kind"] == "literal"
                     and _owner(g, c) in from_eps}
    declared = {(p["mlproject_path"], p["entry_point"], p["name"]) for p in rows["parameters"]}
    declared_logged = {d for d in declared if d[2] in logged_params}
    metric_sites = [c for c in calls if c["category"] == "metric"]
    metric_reach = [c for c in metric_sites if _owner(g, c) in from_eps]
    model_sites = [c for c in calls if c["api"].endswith(".log_model")]
    run_files = {c["path"] for c in calls if c["api"] == "mlflow.start_run"}
    logging_sites = [c for c in calls if c["category"] in LOGGING and c["style"] != "client"]
    implicit = [c for c in logging_sites if not _true(c["in_run_context"]) and c["path"] not in run_files]
    orphan = [c for c in calls if c["category"] in LOGGING and _owner(g, c) not in entry_reach]
    tags = [c for c in calls if c["category"] == "tag" and re.search(r"(?i)git|commit|version|sha", c["key"])]
    valid_projects = [m for m in rows["mlprojects"] if _true(m["valid"])]
    return TraceabilityRow(
        repo=repo, n_entry_points=len(eps), n_declared_params=len(declared),
        declared_params_logged=len(declared_logged),
        declared_params_logged_share=round(len(declared_logged) / len(declared), 4) if declared else "",
        params_logged_by_mlflow_run=bool(valid_projects),
        n_metric_sites=len(metric_sites), metric_sites_reachable=len(metric_reach),
        metric_reachable_share=round(len(metric_reach) / len(metric_sites), 4) if metric_sites else "",
        n_model_sites=len(model_sites),
        models_in_run=sum(1 for c in model_sites if _true(c["in_run_context"]) or c["path"] in run_files),
        data_linked=any(c["category"] == "dataset" for c in calls),
        env_linked=any(bool(m["env_file"] or m["docker_image"]) for m in valid_projects),
        code_version_linked=bool(valid_projects) or bool(tags),
        implicit_run_sites=len(implicit), orphan_logging_sites=len(orphan),
        n_nodes=g.number_of_nodes(), n_edges=g.number_of_edges(),
    )


def graph_name(repo: str) -> str:
    """The GraphML file name of a repository's traceability graph."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", repo.replace("/", "__")) + ".graphml"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# a value holding none of these is written as it is
_TO_ESCAPE = re.compile("[&<>\"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(value: object, attribute: bool = False) -> str:
    """Text safe inside an XML 1.0 element, or an attribute with ``attribute`` (characters XML cannot hold
    become U+FFFD). A parser turns a bare carriage return into a newline, and whitespace in an attribute
    into spaces: they are written as character references, so every value reads back as written."""
    text = str(value)
    if _TO_ESCAPE.search(text) is None:  # most values: nothing to escape
        return text
    entities = {'"': "&quot;", "\r": "&#13;"}
    if attribute:
        entities.update({"\n": "&#10;", "\t": "&#9;"})
    return escape(_NOT_XML.sub("\ufffd", text), entities)


_GRAPHML_HEAD = ("<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml."
                 "graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n")


def write_graphml(g: nx.Graph, path: Path) -> None:
    """GraphML readable by networkx and Gephi (attribute values as strings), written as it goes.

    ``nx.write_graphml`` builds the whole XML tree in memory first (300 MB for the 180,000 edges of
    MLflow's own source); this writes one line per node and edge, into a temporary file renamed
    into place when complete.
    """
    keys: dict[tuple[str, str], str] = {}
    for domain, items in (("graph", [g.graph]), ("node", (d for _n, d in g.nodes(data=True))),
                          ("edge", (d for _u, _v, d in g.edges(data=True)))):
        for data in items:
            for name in data:
                keys.setdefault((domain, name), f"d{len(keys)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            out.write(_GRAPHML_HEAD)
            for (domain, name), key in keys.items():
                out.write(f'  <key id="{key}" for="{domain}" attr.name="{_xml(name, True)}" attr.type="string" />\n')
            out.write(f'  <graph edgedefault="{"directed" if g.is_directed() else "undirected"}">\n')

            def data(domain: str, attrs: Mapping[str, Any]) -> str:
                return "".join(f'<data key="{keys[domain, k]}">{_xml(v)}</data>' for k, v in attrs.items())

            out.write(f"    {data('graph', g.graph)}\n" if g.graph else "")
            for node, attrs in g.nodes(data=True):
                out.write(f'    <node id="{_xml(node, True)}">{data("node", attrs)}</node>\n')
            for u, v, attrs in g.edges(data=True):
                out.write(f'    <edge source="{_xml(u, True)}" target="{_xml(v, True)}">{data("edge", attrs)}</edge>\n')
            out.write("  </graph>\n</graphml>\n")
        tmp.replace(path)
    except BaseException:  # a full disk, an interrupt: no half file left behind
        tmp.unlink(missing_ok=True)
        raise


# The lines write_graphml writes, as patterns (graphml_edge_data). A value holds no '<' and no bare
# carriage return (written as &#13;: a parser turns a bare one into a newline); a key's name, no
# reference and no whitespace a parser would change.
_DATA = r'<data key="d\d+">[^<\r]*+</data>'
_KEY_LINE = r'  <key id="(d\d+)" for="(graph|node|edge)" attr\.name="([^"<&\t\n\r]*+)" attr\.type="string" />\n'
_EDGE_LINE = rf'    <edge source="[^"<]*+" target="[^"<]*+">((?:{_DATA})*+)</edge>\n'
_KEY_LINES, _EDGE_LINES = re.compile(_KEY_LINE), re.compile(_EDGE_LINE)
_GRAPHML_FILE = re.compile(re.sub(r"(?<!\\)\((?!\?)", "(?:", (  # the lines' groups uncaptured, but for the two sections
    re.escape(_GRAPHML_HEAD) + f"(?P<keys>(?:{_KEY_LINE})*+)" + '  <graph edgedefault="(?:directed|undirected)">\n'
    + f"(?:    (?:{_DATA})++\n)?+" + f'(?:    <node id="[^"<]*+">(?:{_DATA})*+</node>\n)*+'
    + f"(?P<edges>(?:{_EDGE_LINE})*+)" + "  </graph>\n</graphml>\n")))
_DATA_VALUE = re.compile(r'<data key="(d\d+)">([^<]*)</data>')
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    """XML text with its references replaced (those of a document with no DTD: the five entities, numbers)."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: chr(int(m[1], 16)) if m[1] else chr(int(m[2])) if m[2] else _ENTITIES[m[3]], text)


def graphml_edge_data(path: Path) -> list[dict[str | None, str]]:
    """Each edge's data in a GraphML file, by its key's ``attr.name`` (None for a key no edge key
    declares; the last of the same name wins; an empty element is ''), as ElementTree reads them.

    A file as ``write_graphml`` writes it (and well formed, as expat checks) is read with patterns of
    its lines, without building its tree: in the report, which reads every repository's graph, in
    under half of ElementTree's time. Any other file is parsed by ElementTree, and one that is not
    well formed raises its ``ParseError``.
    """
    data = path.read_bytes()
    try:
        expat.ParserCreate(None, "}").Parse(data, True)  # the well-formedness ElementTree's parser checks
        written = _GRAPHML_FILE.fullmatch(data.decode("utf-8"))
    except (expat.ExpatError, UnicodeDecodeError):
        written = None
    if written is None:
        return _graphml_edge_data_tree(path)
    keys = {key: name for key, domain, name in _KEY_LINES.findall(written["keys"]) if domain == "edge"}
    return [{keys.get(key): _unescape(value) for key, value in _DATA_VALUE.findall(edge)}
            for edge in _EDGE_LINES.findall(written.string, written.start("edges"), written.end("edges"))]


def _graphml_edge_data_tree(path: Path) -> list[dict[str | None, str]]:
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    root = ElementTree.parse(path).getroot()
    keys = {k.get("id"): k.get("attr.name") for k in root.iter(f"{ns}key") if k.get("for") == "edge"}
    return [{keys.get(d.get("key")): (d.text or "") for d in edge.iter(f"{ns}data")} for edge in root.iter(f"{ns}edge")]


def usage_graph(call_sites: Iterable[Mapping[str, str]], repos: Iterable[str]) -> nx.Graph:
    """The bipartite corpus graph of repositories and the APIs they call, weighted by call sites."""
    g = nx.Graph()
    for repo in repos:
        g.add_node(f"repo:{repo}", bipartite=0, kind="repository")
    for c in call_sites:
        if c["repo"] not in repos or c["style"] == "unresolved":
            continue
        a, r = f"api:{c['api']}", f"repo:{c['repo']}"
        g.add_node(a, bipartite=1, kind="api")
        g.add_edge(r, a, weight=g.edges[r, a]["weight"] + 1 if g.has_edge(r, a) else 1)
    return g


CO_USAGE_MIN_REPOS = 2


def co_usage(g: nx.Graph, min_repos: int = CO_USAGE_MIN_REPOS) -> list[dict[str, Any]]:
    """API pairs called by at least ``min_repos`` of the same repositories (the bipartite graph projected onto APIs).

    Pairs one repository alone uses say nothing about the community and are quadratic in the
    APIs a repository calls (MLflow's own source calls 4,198 names under ``mlflow.``: 8.8 million
    pairs), so only APIs called by ``min_repos`` repositories or more are paired.
    """
    shared = {n for n, d in g.nodes(data=True) if d.get("bipartite") == 1 and g.degree(n) >= min_repos}
    counts: Counter[tuple[str, str]] = Counter()
    for repo, d in g.nodes(data=True):
        if d.get("bipartite") == 0:
            counts.update(combinations(sorted(a for a in g.neighbors(repo) if a in shared), 2))
    rows = [{"api_a": a.removeprefix("api:"), "api_b": b.removeprefix("api:"), "n_repos": n}
            for (a, b), n in counts.items() if n >= min_repos]
    return sorted(rows, key=lambda r: (-r["n_repos"], r["api_a"], r["api_b"]))
