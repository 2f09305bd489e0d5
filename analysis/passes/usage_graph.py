"""The corpus usage graph: repositories and the MLflow APIs they call, and the API pairs they call together."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

import networkx as nx


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
