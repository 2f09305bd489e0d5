"""The house: the rooms of analysis/ import one way (no circle of rooms), and no module is over 500 lines."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 500


def room(module: str) -> str:
    """A module's room: a folder of analysis/ (``analysis/passes``), a top-level module, or ``miner``."""
    parts = module.split(".")
    if parts[0] != "analysis":
        return parts[0]
    if len(parts) > 2 and (ROOT / "analysis" / parts[1]).is_dir():
        return f"analysis/{parts[1]}"
    return "/".join(parts[:2])


@functools.cache  # read by two tests, which do not change it
def room_graph() -> nx.DiGraph:
    """Room -> room, an edge for every import of one module of ours by another (imports in functions too)."""
    g = nx.DiGraph()
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "workload-py38" in rel.parts:  # runs in another interpreter and imports nothing of ours
            continue
        here = room(".".join(rel.with_suffix("").parts))
        g.add_node(here)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.split(".")[0] in ("analysis", "miner") and name != "analysis":
                    there = room(name)
                    if there != here:
                        g.add_edge(here, there, at=f"{rel}:{node.lineno}")
    return g


def test_no_circle_of_rooms() -> None:
    g = room_graph()
    cycles = list(nx.simple_cycles(g))
    assert not cycles, [[f"{a} -> {b} ({g.edges[a, b]['at']})" for a, b in zip(c, c[1:] + c[:1])] for c in cycles]


def test_the_flow_runs_downward() -> None:
    g = room_graph()
    below = {room: set(nx.descendants(g, room)) for room in g}
    assert "analysis/engine" not in below["analysis/passes"]  # the engine hands passes their state; never back
    assert not {"analysis/passes", "analysis/engine"} & below["analysis/report"]  # the report reads tables
    assert "analysis/releases" not in below["analysis/reading"]  # reading files knows no MLflow release
    assert not {r for r in below["miner"] if r.startswith("analysis")}  # the miner is below the analysis


def test_no_module_over_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in [*ROOT.glob("analysis/**/*.py"), *ROOT.glob("miner/**/*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_the_top_of_analysis_holds_at_most_ten_modules() -> None:
    assert len(list((ROOT / "analysis").glob("*.py"))) <= 10
