"""The report's figures (matplotlib): bars with intervals, the storage model across releases, a traceability
graph, the pinning histogram; readable at page width, denominators in the axis labels, colour-blind-safe."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.figure import Figure

# Paul Tol's colour-blind-safe palettes (bright, then muted)
PALETTE = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#332288", "#88CCEE",
           "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499", "#DDDDDD")


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported when a figure is drawn (not for an unchanged report)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def bar_figure(labels: list[str], values: list[float], title: str, xlabel: str,
               errors: tuple[list[float], list[float]] | None = None, counts: list[str] | None = None) -> Figure:
    """Horizontal bars, first label on top, with 95% intervals and ``n/N`` written beside each bar."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(labels) + 1)))
    ax.barh(labels[::-1], values[::-1], xerr=None if errors is None else [errors[0][::-1], errors[1][::-1]],
            color=PALETTE[0], ecolor="#222222", capsize=3)
    for y, text in enumerate((counts or [])[::-1]):
        ax.annotate(text, (1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=7, color="#444444")
    ax.set_xlim(0, 1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    figure: Figure = fig
    return figure


def storage_figure(counts: pd.DataFrame) -> Figure:
    """The storage model's size per release, with a readable subset of release labels."""
    plt = pyplot()
    order = list(counts.index)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    styles = ("-", "--", "-.", ":", "-")
    kinds = [k for k in ("sql_table", "entity", "limit", "tracking_scheme", "artifact_scheme") if k in counts]
    for i, kind in enumerate(kinds):
        ax.plot(range(len(order)), counts[kind], linestyle=styles[i], marker=".", color=PALETTE[i], label=kind)
    step = max(1, math.ceil(len(order) / 18))
    ticks = list(range(0, len(order), step))
    if ticks[-1] != len(order) - 1:
        ticks[-1] = len(order) - 1  # always name the newest release
    ax.set_xticks(ticks, [order[i] for i in ticks], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel(f"MLflow release ({len(order)} read" + (f"; one in {step} labelled)" if step > 1 else ")"))
    ax.set_ylabel("items in the release's source")
    ax.legend(fontsize=8, ncol=len(kinds), loc="upper left")
    ax.set_title("MLflow's storage model across releases")
    figure: Figure = fig
    return figure


def graph_figure(g: nx.DiGraph) -> Figure:
    """A traceability graph in layers, left to right as a run is traced; only traceable nodes labelled."""
    import networkx as nx
    from matplotlib.lines import Line2D

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    kinds = sorted({d.get("kind", "") for _n, d in g.nodes(data=True)})
    colors = [PALETTE[kinds.index(d.get("kind", "")) % len(PALETTE)] for _n, d in g.nodes(data=True)]
    # only what a reader traces (entry points, keys, models, data...): modules, functions and
    # dependencies unlabelled, their colour says what they are
    quiet = {"module", "function", "dependency", "parameter", "script", "notebook"}
    labels = {n: n.split(":", 1)[-1][-24:] for n, d in g.nodes(data=True) if d.get("kind", "") not in quiet}
    # left to right as a run is traced: repository, MLproject, entry point, code, what it logs, environment
    layers = ("repository", "mlproject", "entry_point", "parameter", "script", "notebook", "module", "function",
              "run_site", "param_key", "metric_key", "tag", "artifact", "model", "registered_model", "dataset",
              "tracking_uri", "environment", "dependency")
    for node, data in g.nodes(data=True):
        kind = data.get("kind", "")
        data["layer"] = layers.index(kind) if kind in layers else len(layers)
    # the layers as lists in the graph's order: given the attribute name, networkx groups them in sets,
    # whose order (and so the figure) changed with the hash seed from run to run
    by_layer: dict[int, list[Any]] = {}
    for node, data in g.nodes(data=True):
        by_layer.setdefault(data["layer"], []).append(node)
    pos = nx.multipartite_layout(g, subset_key=by_layer)
    nx.draw_networkx(g, pos=pos, ax=ax, node_color=colors, node_size=110, arrows=True, with_labels=False,
                     edge_color="#00000040")
    # labels over the nodes of one layer and under those of the next, so neighbouring columns do not collide
    for parity, align, shift in ((0, "bottom", 0.025), (1, "top", -0.025)):
        chosen = {n: t for n, t in labels.items() if g.nodes[n]["layer"] % 2 == parity}
        nx.draw_networkx_labels(g, pos={n: (pos[n][0], pos[n][1] + shift) for n in chosen}, ax=ax, labels=chosen,
                                font_size=6, verticalalignment=align)
    ax.legend(handles=[Line2D([], [], marker="o", linestyle="", color=PALETTE[i % len(PALETTE)], label=k or "(none)")
                       for i, k in enumerate(kinds)], title="node kind", fontsize=7, title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_axis_off()
    figure: Figure = fig
    return figure


def pinning_figure(pinned: Sequence[float]) -> Figure:
    """The distribution of the share of exactly pinned dependencies over the repositories declaring some."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(pinned, bins=10, range=(0, 1), color=PALETTE[2])
    ax.set_xlabel("share of the repository's dependencies pinned exactly (==)")
    ax.set_ylabel(f"repositories (of {len(pinned)})")
    ax.set_title(f"Pinning (n = {len(pinned)} repositories declaring dependencies)")
    figure: Figure = fig
    return figure


def _sparse_ticks(ax: Any, labels: Sequence[str]) -> int:
    """Label at most 19 of ``labels`` (one in ``ceil(n/18)``, the last always), rotated; the step taken."""
    step = max(1, math.ceil(len(labels) / 18))
    ticks = list(range(0, len(labels), step))
    if ticks and ticks[-1] != len(labels) - 1:
        ticks[-1] = len(labels) - 1
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=45, ha="right", fontsize=8)
    return step


def timeline_figure(months: Sequence[str], counts: Sequence[int], cumulative: Sequence[int], title: str,
                    ylabel: str, total: int) -> Figure:
    """Counts per month as bars (every month of the span, empty ones too) and their running total as a line on
    a second axis, whose label names ``total`` (the denominator)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = range(len(months))
    ax.bar(x, counts, color=PALETTE[0], label=ylabel)
    step = _sparse_ticks(ax, months)
    ax.set_xlabel(f"month, UTC ({len(months)} months" + (f"; one in {step} labelled)" if step > 1 else ")"))
    ax.set_ylabel(ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True)
    twin = ax.twinx()
    twin.step(x, cumulative, where="mid", color=PALETTE[1], linestyle="--", label="running total")
    twin.set_ylim(0, max(total, 1))
    twin.set_ylabel(f"running total (of {total})")
    ax.set_title(title)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles, [str(h.get_label()) for h in handles], fontsize=8, loc="upper left")
    figure: Figure = fig
    return figure


def shares_over_time_figure(periods: Sequence[str], series: Mapping[str, Sequence[float]], n: Sequence[int],
                            title: str, ylabel: str) -> Figure:
    """One line per series (a share, 0 to 1) over ``periods``, each period labelled with its denominator ``n``;
    lines differ by colour and dash."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    styles = ("-", "--", "-.", ":")
    for i, (name, values) in enumerate(series.items()):
        ax.plot(range(len(periods)), values, marker="o", markersize=3, linestyle=styles[i % len(styles)],
                color=PALETTE[i % len(PALETTE)], label=name)
    ax.set_xticks(range(len(periods)), [f"{p}\nn={k}" for p, k in zip(periods, n)], fontsize=8)
    ax.set_ylim(0, 1.04)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    figure: Figure = fig
    return figure
