"""The report's figures: readable labels, the same graph drawing whatever the hash seed."""

from __future__ import annotations

import subprocess
from pathlib import Path


def test_storage_figure_labels_do_not_overlap() -> None:
    import pandas as pd

    from analysis.report.figures import storage_figure

    releases = [f"{major}.{minor}.0" for major in (1, 2, 3) for minor in range(25)][:73]
    fig = storage_figure(pd.DataFrame({"sql_table": range(73), "entity": range(73)}, index=releases))
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert 10 <= len(labels) <= 19 and labels[0] == "1.0.0" and labels[-1] == releases[-1]
    assert "one in 5 labelled" in fig.axes[0].get_xlabel()


_DRAW_GRAPH = """
import hashlib, io, sys
import networkx as nx
from analysis.report.figures import graph_figure
g = nx.DiGraph()
for i in range(6):
    g.add_node(f"m{i}.py", kind="module")
    g.add_node(f"f{i}", kind="function")
    g.add_edge(f"m{i}.py", f"f{i}", kind="defines")
buf = io.BytesIO()
graph_figure(g).savefig(buf, format="png")
print(hashlib.sha256(buf.getvalue()).hexdigest())
"""


def test_the_graph_figure_is_the_same_whatever_the_hash_seed() -> None:
    import os
    import sys
    root = Path(__file__).resolve().parents[3]
    digests = {subprocess.run([sys.executable, "-c", _DRAW_GRAPH], capture_output=True, text=True, check=True, cwd=root,
                              env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1
