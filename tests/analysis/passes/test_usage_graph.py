"""The corpus usage graph: repositories and the APIs they call, and the API pairs several call together."""

from __future__ import annotations

import networkx as nx

from analysis.passes.usage_graph import co_usage, usage_graph


def test_usage_graph_and_co_usage() -> None:
    calls = [{"repo": "a", "api": "x", "style": "fluent"}, {"repo": "a", "api": "y", "style": "fluent"},
             {"repo": "b", "api": "x", "style": "fluent"}, {"repo": "b", "api": "y", "style": "fluent"},
             {"repo": "b", "api": "z", "style": "unresolved"}, {"repo": "c", "api": "w", "style": "fluent"},
             {"repo": "c", "api": "x", "style": "fluent"}, {"repo": "b", "api": "w", "style": "fluent"},
             {"repo": "a", "api": "v", "style": "fluent"}]
    g = usage_graph(calls, {"a", "b", "c"})
    assert co_usage(g) == [{"api_a": "w", "api_b": "x", "n_repos": 2}, {"api_a": "x", "api_b": "y", "n_repos": 2}]
    pairs = {(r["api_a"], r["api_b"]): r["n_repos"] for r in co_usage(g, min_repos=1)}
    assert pairs == {("x", "y"): 2, ("w", "x"): 2, ("v", "x"): 1, ("v", "y"): 1, ("w", "y"): 1}
    # the same as networkx's projection of the bipartite graph onto APIs
    apis = [n for n, d in g.nodes(data=True) if d["bipartite"] == 1]
    projected = nx.bipartite.weighted_projected_graph(g, apis)
    assert {tuple(sorted((a[4:], b[4:]))): d["weight"] for a, b, d in projected.edges(data=True)} == pairs
