"""The report: ``report/report.md`` and a self-contained ``report/index.html`` from the result CSVs.

One section per question (storage, tracking, traceability, reproducibility). Every table and
figure names the CSV it was computed from; shares come with their denominators and 95% Wilson
intervals from ``practices.csv``. Figures are PNG, embedded in the HTML as data URIs so the page
opens from disk with no network.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.traceability import graph_name
from miner import __version__
from miner.fileio import atomic_write_bytes, atomic_write_text, utc_now

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported when a figure is drawn (not for an unchanged report)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


@dataclass
class _Doc:
    """The report being written, in Markdown and HTML at once."""

    md: list[str]
    html: list[str]
    figures: dict[str, bytes]

    def heading(self, text: str, level: int = 2) -> None:
        self.md.append(f"{'#' * level} {text}\n")
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def para(self, text: str) -> None:
        self.md.append(text + "\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def table(self, frame: pd.DataFrame, source: str, caption: str) -> None:
        note = f"{caption} (computed from `{source}`)"
        self.md.append(f"{note}\n")
        if frame.empty:
            self.md.append("(no rows)\n")
            self.html.append(f"<p class='caption'>{html.escape(note)}</p><p>(no rows)</p>")
            return
        cells = frame.astype(str)
        self.md.append("| " + " | ".join(cells.columns) + " |")
        self.md.append("|" + "---|" * len(cells.columns))
        for row in cells.itertuples(index=False):
            self.md.append("| " + " | ".join(v.replace("|", "\\|") for v in row) + " |")
        self.md.append("")
        self.html.append(f"<p class='caption'>{html.escape(note)}</p>" + cells.to_html(index=False, escape=True))

    def figure(self, name: str, fig: Figure, source: str, caption: str) -> None:
        plt = _pyplot()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        data = buf.getvalue()
        self.figures[name] = data
        note = f"{caption} (computed from `{source}`)"
        self.md.append(f"![{caption}]({name})\n\n{note}\n")
        uri = "data:image/png;base64," + base64.b64encode(data).decode()
        self.html.append(f"<figure><img alt='{html.escape(caption)}' src='{uri}'>"
                         f"<figcaption>{html.escape(note)}</figcaption></figure>")


def _csv(results: Path, name: str) -> pd.DataFrame:
    path = results / name
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() else pd.DataFrame()


def _practice_rows(practices: pd.DataFrame, names: list[str], population: str) -> pd.DataFrame:
    if practices.empty:
        return practices
    rows = practices[(practices["population"] == population) & practices["practice"].isin(names)]
    return rows[["practice", "n_repos", "n_eligible", "share", "ci_low", "ci_high"]]


def _shares(frame: pd.DataFrame, column: str) -> tuple[list[float], tuple[list[float], list[float]] | None]:
    """The shares of ``column`` and their distances to the 95% bounds (None for a table without bounds)."""
    share = [float(v) for v in frame[column]]
    if "ci_low" not in frame:
        return share, None
    return share, ([s - float(v) for s, v in zip(share, frame["ci_low"])],
                   [float(v) - s for s, v in zip(share, frame["ci_high"])])


def _bar(labels: list[str], values: list[float], title: str, xlabel: str,
         errors: tuple[list[float], list[float]] | None = None) -> Figure:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(labels) + 1)))
    ax.barh(labels[::-1], values[::-1], xerr=None if errors is None else [errors[0][::-1], errors[1][::-1]],
            color="#4477aa", ecolor="#222222", capsize=3)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    figure: Figure = fig
    return figure


def build_report(results: Path, all_repos: bool = False) -> tuple[Path, Path]:
    """Write ``report/report.md`` and ``report/index.html`` (and the PNGs) under ``results``.

    Practice shares are those of one repository per duplicate family, or of every repository
    with ``all_repos`` (both populations are in ``practices.csv``).
    """
    population = "all" if all_repos else "one-per-family"
    out = results / "report"
    md_path, html_path = out / "report.md", out / "index.html"
    stamp = _inputs_digest(results, population)
    if (out / ".inputs.sha256").is_file() and (out / ".inputs.sha256").read_text() == stamp and html_path.is_file():
        return md_path, html_path  # same rows, same report: nothing to redraw
    plt = _pyplot()
    import networkx as nx
    from matplotlib.lines import Line2D
    doc = _Doc([], [], {})
    practices = _csv(results, "practices.csv")
    usage = _csv(results, "api_usage.csv")
    repro = _csv(results, "reproducibility.csv")
    trace = _csv(results, "traceability.csv")
    storage = _csv(results, "mlflow_storage.csv")
    uris = _csv(results, "tracking_uris.csv")
    n_repos = len(repro)
    doc.heading("MLflow census report", 1)
    doc.para(f"mlflow-census {__version__}, written {utc_now()} from {results}. {n_repos} repositories analyzed; "
             + ("shares are over every analyzed repository (duplicates included)" if all_repos
                else "shares are over one repository per duplicate family")
             + ", with 95% Wilson intervals.")

    doc.heading("0. Corpus: what was read")
    files = _csv(results, "files.csv")
    problems = _csv(results, "problems.csv")
    if not files.empty:
        counts = files.groupby(["kind", "status"]).size().unstack(fill_value=0)
        counts.insert(0, "files", counts.sum(axis=1))
        counts.loc["all"] = counts.sum()
        doc.table(counts.reset_index(), "files.csv",
                  "Every file of every checkout by kind and by what became of it (no-mlflow: no 'mlflow' in "
                  "the text; no-mlflow-use: mentions mlflow, imports neither it nor an integration)")
    if not problems.empty:
        stages = problems.groupby("stage").agg(rows=("path", "size"), repositories=("repo", "nunique")).reset_index()
        doc.table(stages, "problems.csv", "Inputs that could not be read or parsed, by stage")

    doc.heading("1. Storage: what MLflow stores, and where projects send it")
    if not storage.empty:
        counts = storage.groupby(["release", "kind"]).size().unstack(fill_value=0)
        order = sorted(counts.index, key=lambda v: [int(x) if x.isdigit() else 0 for x in v.split(".")])
        counts = counts.loc[order]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        for kind in [k for k in ("sql_table", "entity", "limit", "tracking_scheme", "artifact_scheme") if k in counts]:
            ax.plot(range(len(order)), counts[kind], marker=".", label=kind)
        ax.set_xticks(range(len(order)), order, rotation=90, fontsize=6)
        ax.set_ylabel("count")
        ax.legend(fontsize=7)
        ax.set_title("MLflow storage model across releases")
        doc.figure("fig_storage.png", fig, "mlflow_storage.csv", "Storage schema evolution: tables, entities, limits, schemes")
        limits = storage[storage["kind"] == "limit"]
        changes = limits.sort_values("release", key=lambda s: s.map(lambda v: [int(x) if x.isdigit() else 0 for x in v.split(".")]))
        changes = changes.drop_duplicates(["name", "detail"])[["name", "detail", "release"]].rename(
            columns={"detail": "value", "release": "from_release"}).sort_values(["name", "from_release"])
        doc.table(changes.head(40), "mlflow_storage.csv", "Validation limits and the first release with each value")
    else:
        doc.para("No MLflow releases in the corpus: the storage model was not read.")
    doc.table(_practice_rows(practices, [p for p in practices.get("practice", pd.Series(dtype=str))
                                         if str(p).startswith("explicit tracking URI")], population),
              "practices.csv", "Repositories configuring a tracking URI, by scheme")
    if not uris.empty:
        doc.table(uris.groupby(["source", "scheme"]).size().reset_index(name="n_sites"), "tracking_uris.csv",
                  "Where tracking URIs are configured")

    stored = _csv(results, "store_statistics.csv")
    if len(stored):
        doc.table(stored, "store_statistics.csv", "Experiment stores committed to the repositories (read as MLflow "
                  "reads them): storage, traceability of runs, runs left behind (share of denominator, 95% Wilson)")
    doc.heading("2. Tracking: which logging APIs projects use, and how")
    if not usage.empty:
        top = usage.head(20)
        share, errors = _shares(top, "share_repos")
        doc.figure("fig_api_popularity.png", _bar(list(top["api"]), share, "API popularity (95% CI)",
                                                  "share of repositories", errors),
                   "api_usage.csv", "The 20 most used APIs")
        columns = [c for c in ("api", "category", "n_call_sites", "n_repos", "n_eligible", "share_repos", "ci_low",
                               "ci_high", "first_version") if c in top]
        doc.table(top[columns], "api_usage.csv", "API usage (one repository per family)")
    tracked = ["logs params", "logs metrics", "uses steps", "autolog only", "manual only", "autolog and manual",
               "computed keys", "logs models", "registers models", "logs datasets", "sets tags", "nested runs",
               "client API", "uses an API deprecated or removed by the latest release"]
    rows = _practice_rows(practices, tracked, population)
    if not rows.empty:
        share, errors = _shares(rows, "share")
        doc.figure("fig_practices.png", _bar(list(rows["practice"]), share, "Practice prevalence (95% CI)",
                                             "share of eligible repositories", errors),
                   "practices.csv", "Tracking practices with their confidence intervals")
    doc.table(rows, "practices.csv", "Tracking practices: n_repos of n_eligible")

    doc.heading("3. Traceability: can a run be traced to its code, parameters, data, environment and model")
    if not trace.empty:
        cols = ["params_logged_by_mlflow_run", "env_linked", "code_version_linked", "data_linked"]
        shares = [(trace[c] == "true").mean() for c in cols]
        reach = pd.to_numeric(trace["metric_reachable_share"], errors="coerce").dropna()
        declared = pd.to_numeric(trace["declared_params_logged_share"], errors="coerce").dropna()
        labels = cols + ["metric sites reachable (mean)", "declared params logged explicitly (mean)"]
        values = shares + [float(reach.mean()) if len(reach) else 0.0, float(declared.mean()) if len(declared) else 0.0]
        doc.figure("fig_traceability.png", _bar(labels, values, "Traceability coverage", "share"),
                   "traceability.csv", "Traceability coverage over repositories")
        summary = pd.DataFrame({"measure": labels, "value": [round(v, 4) for v in values],
                                "n": [n_repos] * len(cols) + [len(reach), len(declared)]})
        doc.table(summary, "traceability.csv", "Traceability measures (n: repositories the measure applies to)")
        # the drawable graph (8 to 60 nodes) with the most edges; ties go to the first by file name
        sizes = sorted((graph_name(r["repo"]), int(r["n_edges"])) for r in trace.to_dict("records")
                       if "n_nodes" in r and 8 <= int(r["n_nodes"]) <= 60 and (results / "graphs" / graph_name(r["repo"])).is_file())
        if sizes:
            name = max(sizes, key=lambda t: t[1])[0]
            g = nx.read_graphml(results / "graphs" / name)
            fig, ax = plt.subplots(figsize=(9, 6))
            kinds = sorted({d.get("kind", "") for _n, d in g.nodes(data=True)})
            palette = plt.get_cmap("tab20")
            colors = [palette(kinds.index(d.get("kind", "")) % 20) for _n, d in g.nodes(data=True)]
            nx.draw_networkx(g, pos=nx.spring_layout(g, seed=1), ax=ax, node_color=colors, node_size=120,
                             font_size=5, arrows=True, labels={n: n.split(":", 1)[-1][-28:] for n in g},
                             edge_color="#00000055")
            ax.legend(handles=[Line2D([], [], marker="o", linestyle="", color=palette(i % 20), label=k or "(none)")
                               for i, k in enumerate(kinds)], title="node kind", fontsize=6, title_fontsize=7,
                      loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
            ax.set_axis_off()
            doc.figure("fig_graph.png", fig, f"graphs/{name}", f"One traceability graph drawn: {name}")

    doc.heading("4. Reproducibility: how likely a project is to re-run")
    if not repro.empty:
        pinned = pd.to_numeric(repro[repro["n_deps"] != "0"]["pinned_share"], errors="coerce").dropna()
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.hist(pinned, bins=10, range=(0, 1), color="#228833")
        ax.set_xlabel("share of exactly pinned dependencies")
        ax.set_ylabel("repositories")
        ax.set_title(f"Pinning distribution (n = {len(pinned)} repositories declaring dependencies)")
        doc.figure("fig_pinning.png", fig, "reproducibility.csv", "Pinning distribution")
        readiness = pd.to_numeric(repro["readiness"], errors="coerce")
        doc.para(f"Readiness score: mean {readiness.mean():.3f}, median {readiness.median():.3f} over {len(readiness)} "
                 "repositories (formula in docs/design.md).")
    names = [p for p in practices.get("practice", pd.Series(dtype=str))
             if str(p).startswith(("env spec", "exact pinning share")) or p in ("MLproject present", "seeds set",
                                                                                 "python pinned", "mlflow pinned")]
    doc.table(_practice_rows(practices, names, population), "practices.csv", "Reproducibility practices")

    out.mkdir(parents=True, exist_ok=True)
    for name, data in doc.figures.items():
        atomic_write_bytes(out / name, data)
    atomic_write_text(md_path, "\n".join(doc.md) + "\n")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}.caption,figcaption{color:#555;font-size:12px}"
             "img{max-width:100%}")
    # the page counts its own figures once loaded (a test reads it back through headless Chromium)
    script = ("window.addEventListener('load',function(){var i=document.images,n=0;for(var k=0;k<i.length;k++)"
              "{if(i[k].complete&&i[k].naturalWidth>0)n++;}document.body.setAttribute('data-images',n+'/'+i.length);});")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>MLflow census report</title><style>{style}</style>"
            f"<script>{script}</script></head><body>{''.join(doc.html)}</body></html>")
    atomic_write_text(html_path, page)
    atomic_write_text(out / ".inputs.sha256", stamp)
    return md_path, html_path


REPORT_INPUTS = ("practices.csv", "api_usage.csv", "reproducibility.csv", "traceability.csv", "mlflow_storage.csv",
                 "tracking_uris.csv", "files.csv", "problems.csv", "store_statistics.csv")
# Inputs the report reads only some columns of: the others (files.csv's `cached`, which a re-run
# from the cache flips) must not make it redraw.
REPORT_INPUT_COLUMNS = {"files.csv": ("kind", "status")}


def _inputs_digest(results: Path, population: str) -> str:
    """A digest of everything the report is drawn from (its CSVs, or the columns it reads, and graph files)."""
    digest = hashlib.sha256(f"{__version__}\0{population}\0".encode())
    digest.update(Path(__file__).read_bytes())
    for name in REPORT_INPUTS:
        path = results / name
        if not path.is_file():
            digest.update(name.encode() + b"-")
        elif name in REPORT_INPUT_COLUMNS:
            frame = _csv(results, name)
            digest.update(name.encode() + frame[list(REPORT_INPUT_COLUMNS[name])].to_csv(index=False).encode())
        else:
            digest.update(name.encode() + path.read_bytes())
    graphs = results / "graphs"
    for path in sorted(graphs.glob("*.graphml")) if graphs.is_dir() else []:
        digest.update(path.name.encode() + str(path.stat().st_size).encode())
    return digest.hexdigest()
