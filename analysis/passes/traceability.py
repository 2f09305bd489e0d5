"""Traceability graphs (networkx): from MLproject entry points through the repository's own modules to what runs log.

One directed graph per repository, with typed nodes (``kind``) and edges (``kind``: declares, runs,
imports, logs, uses_env, pins, registers, writes_to, unresolved). Modules are linked by a static,
by-name import graph of the repository's own ``.py`` files (``ast``, no execution): a key logged
in a helper module that the entry script imports, directly or not, is reachable from the entry
point. Imports that cannot be followed statically (``importlib.import_module``, ``__import__``,
``exec``) are edges of kind ``unresolved``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from analysis.graphml import write_graphml
from analysis.repo_state import Checkout, ModuleFacts, RepoResult
from analysis.rows import TraceabilityRow
from analysis.tables import graph_name
from miner import __version__
from miner.fileio import utc_now

__all__ = ["LOGGING", "build_graph", "edge_counts", "execution_graph", "metrics", "reachable", "repo_pass"]

LOGGING = ("param", "metric", "tag", "artifact", "model", "dataset")


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
        g.add_edges_from(((f"module:{rel}", f"module:{target}") for target in sorted(found.imports)), kind="imports")
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
    g.add_edges_from(((caller, callee) for caller, name in by_name for callee in methods.get(name, ())),
                     kind="calls", by_name=True)
    for m in rows["mlprojects"]:
        node = f"mlproject:{m['path']}"
        g.add_node(node, kind="mlproject", valid=m["valid"] is True)
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
    run.add_edges_from((u, v) for u, successors in _runs(g).items() for v in successors)
    return run


def _runs(g: nx.DiGraph) -> dict[str, list[str]]:
    """Each node's successors in ``execution_graph(g)``, in its order (read from the adjacency)."""
    nodes = g.nodes
    return {u: [v for v, data in successors.items() if (kind := data.get("kind")) in _RUN_EDGES
                or (kind == "defines" and nodes[v].get("registered") is True)]
            for u, successors in g.adjacency()}


_RUN_EDGES = frozenset({"runs", "imports", "calls"})


def reachable(g: nx.DiGraph, *starts: str, run: nx.DiGraph | None = None) -> set[str]:
    """Module and function nodes reachable from any of ``starts`` (see ``execution_graph``; pass
    ``run`` when it is already built)."""
    run = execution_graph(g) if run is None else run
    return _reached({u: list(successors) for u, successors in run.adjacency()}, starts)


def _reached(successors: Mapping[str, list[str]], starts: Iterable[str]) -> set[str]:
    """Module and function nodes reachable from any of ``starts`` along ``successors``."""
    seen = {s for s in starts if s in successors}
    queue = list(seen)
    while queue:
        for nxt in successors[queue.pop()]:
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
    run = _runs(g)
    from_eps = _reached(run, eps)
    # a module with an `if __name__ == "__main__":` block is a script too
    from_mains = _reached(run, (n for n, data in g.nodes(data=True) if data.get("main") is True))
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
    implicit = [c for c in logging_sites if c["in_run_context"] is not True and c["path"] not in run_files]
    orphan = [c for c in calls if c["category"] in LOGGING and _owner(g, c) not in entry_reach]
    tags = [c for c in calls if c["category"] == "tag" and re.search(r"(?i)git|commit|version|sha", c["key"])]
    valid_projects = [m for m in rows["mlprojects"] if m["valid"] is True]
    n_calls, n_by_name, n_inferred, n_unresolved = edge_counts(g)
    return TraceabilityRow(
        repo=repo, n_entry_points=len(eps), n_declared_params=len(declared),
        declared_params_logged=len(declared_logged),
        declared_params_logged_share=round(len(declared_logged) / len(declared), 4) if declared else "",
        params_logged_by_mlflow_run=bool(valid_projects),
        n_metric_sites=len(metric_sites), metric_sites_reachable=len(metric_reach),
        metric_reachable_share=round(len(metric_reach) / len(metric_sites), 4) if metric_sites else "",
        n_model_sites=len(model_sites),
        models_in_run=sum(1 for c in model_sites if c["in_run_context"] is True or c["path"] in run_files),
        data_linked=any(c["category"] == "dataset" for c in calls),
        env_linked=any(bool(m["env_file"] or m["docker_image"]) for m in valid_projects),
        code_version_linked=bool(valid_projects) or bool(tags),
        implicit_run_sites=len(implicit), orphan_logging_sites=len(orphan),
        n_nodes=g.number_of_nodes(), n_edges=g.number_of_edges(),
        n_call_edges=n_calls, n_by_name_edges=n_by_name, n_inferred_edges=n_inferred,
        n_unresolved_edges=n_unresolved,
    )


def edge_counts(g: nx.DiGraph) -> tuple[int, int, int, int]:
    """(calls, by name, inferred, unresolved): the graph's ``calls`` edges, those of them that reach a
    method by its name only (``by_name``) or are inferred from a function passed as a value (``via``),
    and its ``unresolved`` edges (a call through a variable, a dynamic import)."""
    calls = by_name = inferred = unresolved = 0
    for _u, successors in g.adjacency():
        for data in successors.values():
            kind = data.get("kind")
            if kind == "calls":
                calls += 1
                by_name += data.get("by_name") is True
                inferred += bool(data.get("via"))
            elif kind == "unresolved":
                unresolved += 1
    return calls, by_name, inferred, unresolved


def repo_pass(checkout: Checkout, result: RepoResult) -> None:
    """The traceability graph of the repository, its row of ``traceability.csv``, and its GraphML file."""
    task = checkout.task
    tables = {name: result.flat_rows(name) for name in
              ("mlprojects", "entry_points", "parameters", "dependencies", "call_sites")}
    tables["tracking_uris"] = result.flat_rows("uris")
    notebooks = [rel for rel in checkout.facts if rel.endswith(".ipynb")]
    graph = build_graph(task.repo, checkout.py_files + notebooks, checkout.facts, tables)
    result.traceability.append(metrics(graph, task.repo, tables))
    if checkout.graphs_dir is not None:
        graph.graph.update(commit=task.commit, tool=f"mlflow-census {__version__}", written_at=utc_now())
        write_graphml(graph, checkout.graphs_dir / graph_name(task.repo))
