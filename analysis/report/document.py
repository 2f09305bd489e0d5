"""The report: ``report/report.md`` and a self-contained ``report/index.html`` from the result CSVs.

Findings first: one paragraph per question (storage, tracking, traceability, reproducibility) made
of facts computed from the CSVs (``analysis.report.findings``), each sentence linking to its table and CSV;
then the proposal's KPIs in one table, one section per question with its figures and tables, the
methodology (selection funnel, what was read, the detector's measured validity when a reference is
given), threats to validity, published baselines (``analysis/data/baselines.csv``) and an appendix.
A measurement that needs the probe or the re-run says "not measured" with the command to run.

Figures are PNG, embedded in the HTML as data URIs; tables sort on a click with an inline script;
long ones collapse. With ``latex``, ``report/latex/`` gets the same tables and figures for a written
study (``analysis.report.latex``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import os
import pickle
import re
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.engine.stamps import fingerprint
from analysis.passes.traceability import graph_name
from analysis.report import findings as F
from analysis.report.figures import bar_figure, graph_figure, pinning_figure, pyplot, storage_figure
from analysis.report.findings import Facts, Finding, Kpi, Sentence, compute_facts, facts_frame, key_findings, kpi_table
from analysis.report.inputs import REFERENCE_FILES, ReportInputs, read_frame
from analysis.report.latex import TexTable, write_latex
from analysis.report.methodology import (
    T_FILES,
    T_GRAPH,
    T_PROBLEMS,
    T_THREATS,
    TEACHING_WORDS,
    add_threat_facts,
    call_graph_table,
    corpus_identity,
    selection_funnel,
    teaching_repositories,
    threat_sentences,
    unparsed_files,
)
from analysis.statistics.shares import wilson
from analysis.versions import version_key
from miner import __version__
from miner.fileio import atomic_write_bytes, atomic_write_text, utc_now

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

BASELINES = Path(__file__).resolve().parents[1] / "data" / "baselines.csv"
COLLAPSE_ROWS = 25  # a table longer than this is folded under <details>


_CODE = re.compile(r"`([^`]*)`")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline_html(text: str) -> str:
    """Markdown's inline `code` and [links](href) of ``text`` as HTML, the rest escaped."""
    out, last = [], 0
    for m in re.finditer(f"{_CODE.pattern}|{_LINK.pattern}|{_BOLD.pattern}", text):
        out.append(html.escape(text[last:m.start()]))
        if m.group(1) is not None:
            out.append(f"<code>{html.escape(m.group(1))}</code>")
        elif m.group(4) is not None:
            out.append(f"<strong>{inline_html(m.group(4))}</strong>")
        else:
            out.append(f"<a href='{html.escape(m.group(3), quote=True)}'>{inline_html(m.group(2))}</a>")
        last = m.end()
    return "".join(out) + html.escape(text[last:])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


@dataclass
class _Doc:
    """The report being written, in Markdown and HTML at once (and its tables and PDFs for LaTeX)."""

    href: Callable[[str], str]  # a source (CSV name) -> its link from the report directory
    latex: bool = False
    md: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)
    pdfs: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tables: list[TexTable] = field(default_factory=list)
    n_images: int = 0
    renderer: FigureRenderer = field(default_factory=lambda: FigureRenderer(0))  # here, or in child processes
    pending: list[tuple[str, int, str]] = field(default_factory=list)  # (figure, its place in html, caption)

    def heading(self, text: str, level: int = 2, anchor: str = "") -> None:
        anchor = anchor or f"sec-{_slug(text)}"
        self.md.append(f'<a id="{anchor}"></a>\n\n{"#" * level} {text}\n')
        self.html.append(f"<h{level} id='{anchor}'>{html.escape(text)}</h{level}>")

    def para(self, text: str, css: str = "") -> None:
        """A paragraph; `code` and [links](href) are Markdown in both outputs."""
        self.md.append(text + "\n")
        self.html.append(f"<p{f' class={css!r}' if css else ''}>{inline_html(text)}</p>")

    def items(self, entries: list[str]) -> None:
        self.md.append("\n".join(f"- {e}" for e in entries) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{inline_html(e)}</li>" for e in entries) + "</ul>")

    def source_link(self, source: str) -> str:
        return f"[{source}]({self.href(source)})"

    def raw(self, md: str, html_text: str) -> None:
        """Markdown and HTML written apart (the caller escapes the HTML)."""
        self.md.append(md + "\n")
        self.html.append(html_text)

    def table(self, frame: pd.DataFrame, source: str, caption: str, *, anchor: str = "",
              collapse: bool | None = None, tex: bool = True, markup: bool = False) -> None:
        """A table naming its source; longer than ``COLLAPSE_ROWS`` rows (or ``collapse``), it folds.
        With ``markup``, its cells' `code` and [links](href) are Markdown in the HTML too."""
        anchor = anchor or f"t-{_slug(caption)}"
        note = f"{caption} (computed from {self.source_link(source)})"
        self.md.append(f'<a id="{anchor}"></a>\n\n{note}\n')
        if frame.empty:
            self.md.append("(no rows)\n")
            self.html.append(f"<p class='caption' id='{anchor}'>{inline_html(note)}</p><p>(no rows)</p>")
            return
        if tex and self.latex:
            self.tables.append(TexTable(anchor.removeprefix("t-"), frame, caption))
        frame = frame.round(4)
        cells = frame.astype(object).where(frame.notna(), "").astype(str)  # a missing value (NaN, None) is blank
        folded = len(cells) > COLLAPSE_ROWS if collapse is None else collapse
        lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * len(cells.columns)]
        lines += ["| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in row) + " |"
                  for row in cells.itertuples(index=False)]
        summary = f"{len(cells)} rows: show"
        if folded:
            self.md.append(f"<details><summary>{summary}</summary>\n\n" + "\n".join(lines) + "\n\n</details>\n")
        else:
            self.md.append("\n".join(lines) + "\n")
        shown = cells.map(inline_html) if markup else cells
        table = shown.to_html(index=False, escape=not markup, classes="sortable", border=0)
        self.html.append(f"<p class='caption' id='{anchor}'>{inline_html(note)}</p>"
                         + (f"<details><summary>{summary}</summary>{table}</details>" if folded else table))

    def figure(self, name: str, fig: Figure, source: str, caption: str) -> None:
        note = f"{caption} (computed from {self.source_link(source)})"
        self.md.append(f"![{caption}]({name})\n\n{note}\n")
        self.html.append(f"<figcaption>{inline_html(note)}</figcaption></figure>")  # the image goes before it
        self.pending.append((name, len(self.html) - 1, caption))
        self.renderer.submit(name, fig, self.latex)
        pyplot().close(fig)
        self.n_images += 1

    def finish(self) -> None:
        """Put each figure's image in place (waiting for those rendered in child processes)."""
        for name, where, caption in self.pending:
            self.figures[name], pdf = self.renderer.result(name)
            if pdf is not None:
                self.pdfs[name.removesuffix(".png") + ".pdf"] = (pdf, caption)
            uri = "data:image/png;base64," + base64.b64encode(self.figures[name]).decode()
            self.html[where] = f"<figure><img alt='{html.escape(caption)}' src='{uri}'>" + self.html[where]
        self.pending.clear()


PNG_DPI = 110


def tight_box(fig: Figure, dpi: float) -> Bbox | str:
    """The box ``savefig(bbox_inches="tight", dpi=dpi)`` cuts a PNG to, measured without drawing
    ("tight" for a figure with a layout engine, or not on matplotlib's Agg canvas).

    Given "tight", ``savefig`` draws the figure without output (to lay it out), measures it, then
    draws it: the first draw and the measure are a third of its time. Measured here, as
    ``tight_layout`` measures a figure (``get_tightbbox`` lays out what it measures), the figure is
    drawn once, to the same bytes (``test_figures_cut_to_their_tight_box_here_are_those_savefig_cuts``).
    """
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg) or fig.get_layout_engine() is not None:
        return "tight"  # a layout engine places the Axes in that first draw
    shown = fig.dpi
    fig.dpi = dpi  # as savefig sets it while it saves
    try:
        renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
        return fig.get_tightbbox(renderer).padded(rcParams["savefig.pad_inches"])
    finally:
        fig.dpi = shown


def render_figure(fig: Figure, latex: bool) -> tuple[bytes, bytes | None]:
    """A figure as PNG, and as PDF with ``latex``, each cut to its tight box (saved from
    ``report_canvas.MeasuringCanvas``, which becomes the figure's canvas)."""
    from analysis.report.canvas import MeasuringCanvas

    MeasuringCanvas(fig)  # its text measured once, for the box and for the drawing
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches=tight_box(fig, PNG_DPI))
    if not latex:
        return buf.getvalue(), None
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", bbox_inches="tight")
    return buf.getvalue(), pdf.getvalue()


CHILD_SECONDS = 300.0  # a child rendering one figure longer than this is stuck


class FigureRenderer:
    """Figures rendered in forked child processes, ``jobs`` at a time, while the report goes on
    (with ``jobs`` 0: each rendered here, when it is submitted).

    Drawing a figure (laying out its text, rasterizing) is most of a report's time; a child
    forked with the figure built renders it on the other core. Only for a process with no other
    thread (a fork copies only the calling thread: a lock another one holds would stay held), such
    as the report process of ``analysis.report.process``. A child that fails leaves the figure to
    be rendered here, to the same bytes.
    """

    @classmethod
    def if_safe(cls, jobs: int) -> FigureRenderer | None:
        """A renderer when this process runs no other thread (so may fork) and has a core to spare, else None."""
        return cls(jobs) if threading.active_count() == 1 and (os.cpu_count() or 1) > 1 else None

    def __init__(self, jobs: int) -> None:
        self.jobs = max(0, jobs)
        self._running: dict[str, tuple[int, int, Figure, bool]] = {}  # name -> (pid, pipe, figure, latex)
        self._done: dict[str, tuple[bytes, bytes | None]] = {}

    def submit(self, name: str, fig: Figure, latex: bool) -> None:
        if not self.jobs:
            self._done[name] = render_figure(fig, latex)
            return
        while len(self._running) >= self.jobs:
            self._collect(next(iter(self._running)))
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: render, write, leave without running the parent's exit handlers
            status = 1
            try:
                os.close(read_end)
                data = pickle.dumps(render_figure(fig, latex))
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        self._running[name] = (pid, read_end, fig, latex)

    def _collect(self, name: str) -> None:
        pid, read_end, fig, latex = self._running.pop(name)
        chunks: list[bytes] = []
        deadline = time.monotonic() + CHILD_SECONDS
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while (left := deadline - time.monotonic()) > 0 and select.select([pipe], [], [], left)[0]:
                chunk = pipe.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            else:  # stuck (a lock a fork left held): stopped, and the figure is rendered here
                os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
        if status == 0:
            try:
                self._done[name] = pickle.loads(b"".join(chunks))
                return
            except (pickle.UnpicklingError, EOFError):
                pass
        self._done[name] = render_figure(fig, latex)  # the child failed or was stopped: rendered here

    def result(self, name: str) -> tuple[bytes, bytes | None]:
        """The PNG (and PDF) of figure ``name``, once its child has rendered it."""
        if name in self._running:
            self._collect(name)
        return self._done.pop(name)


def _share_rows(rows: list[tuple[str, int, int, str]], interval: bool = True) -> pd.DataFrame:
    """A table of (measure, n, of, definition) rows with shares and 95% Wilson intervals."""
    out = []
    for measure, n, of, definition in rows:
        low, high = wilson(n, of)
        out.append({"measure": measure, "n": n, "of": of, "share": round(n / of, 4) if of else 0.0,
                    "ci_low": round(low, 4) if interval else "", "ci_high": round(high, 4) if interval else "",
                    "definition": definition})
    return pd.DataFrame(out, columns=["measure", "n", "of", "share", "ci_low", "ci_high", "definition"])


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


class _Report:
    """The sections of the report, written into one ``_Doc`` from ``ReportInputs``."""

    def __init__(self, inputs: ReportInputs, doc: _Doc) -> None:
        self.inputs = inputs
        self.doc = doc
        self.facts: Facts = compute_facts(inputs)
        add_threat_facts(self.facts, inputs)
        self.findings: list[Finding] = key_findings(self.facts)
        self.kpis: list[Kpi] = kpi_table(self.facts)
        self.threats = threat_sentences(self.facts, inputs)
        self.population = inputs.population_name
        self.practices = inputs.table("practices.csv")

    def sentence_links(self, sentence: Sentence) -> str:
        """Markdown links to the tables and CSVs a sentence's facts come from ('' for none)."""
        tables: dict[str, list[str]] = {}
        for table, source in sentence.sources():
            tables.setdefault(table, []).append(self.doc.source_link(source))
        links = "; ".join(f"[table](#{table}) from {', '.join(sources)}" for table, sources in tables.items())
        return f"({links})" if links else ""

    def sentence_md(self, sentence: Sentence) -> str:
        """A finding's sentence in Markdown, followed by links to its tables and CSVs."""
        links = self.sentence_links(sentence)
        return sentence.text() + (f" {links}" if links else "")

    def sentence_html(self, sentence: Sentence) -> str:
        """A finding's sentence in HTML, its links set small (a 'not measured' sentence in grey)."""
        links = self.sentence_links(sentence)
        text = inline_html(sentence.text())
        if not sentence.facts:
            text = f"<span class='not-measured'>{text}</span>"
        return text + (f" <span class='src'>{inline_html(links)}</span>" if links else "")

    def write(self) -> None:
        doc = self.doc
        doc.md.append("# MLflow census report\n")
        doc.html.append("<h1>MLflow census report</h1>")
        n = len(self.inputs.population)
        doc.para(f"mlflow-census {__version__}, written {utc_now()} from `{self.inputs.results}`. "
                 f"Shares are over the {n} analyzed repositories"
                 + (", every one (duplicates included)" if self.inputs.all_repos
                    else ", one repository per duplicate family")
                 + ", with 95% Wilson intervals; every number of the findings is computed from the CSVs it links to "
                 "(all of them: [Appendix B](#sec-every-number-quoted)).")
        doc.items(["[Key findings](#sec-key-findings)", "[The proposal's KPIs](#sec-kpis)",
                   "[1. Storage](#sec-1-storage)", "[2. Tracking](#sec-2-tracking)",
                   "[3. Traceability](#sec-3-traceability)", "[4. Reproducibility](#sec-4-reproducibility)",
                   "[5. Methodology](#sec-5-methodology)", "[6. Threats to validity](#sec-6-threats-to-validity)",
                   "[7. Published baselines](#sec-7-published-baselines)", "[Appendix](#sec-appendix)"])
        self.key_findings()
        self.kpi_section()
        self.storage()
        self.tracking()
        self.traceability()
        self.reproducibility()
        self.methodology()
        self.validity()
        self.baselines()
        self.appendix()

    # ---- findings and KPIs ---------------------------------------------------------------------
    def key_findings(self) -> None:
        doc = self.doc
        doc.heading("Key findings", anchor="sec-key-findings")
        for finding in self.findings:
            doc.heading(finding.title, 3, anchor=f"finding-{finding.question}")
            doc.raw(" ".join(self.sentence_md(s) for s in finding.sentences),
                    "<p class='finding'>" + " ".join(self.sentence_html(s) for s in finding.sentences) + "</p>")

    def kpi_section(self) -> None:
        self.doc.heading("The proposal's KPIs", anchor="sec-kpis")
        self.doc.para("Each KPI of the proposal, the measure taken for it, its value on this corpus (or the command "
                      "that measures it) and where it comes from: the corpus's code, the experiment stores "
                      "committed to the repositories (stored runs), the probe of MLflow itself, the re-runs.")
        rows = [{"KPI": k.kpi, "measure": k.measure, "value": k.value.text(), "source": k.source} for k in self.kpis]
        self.doc.table(pd.DataFrame(rows), "findings.csv", "The proposal's KPIs", anchor="t-kpis", collapse=False,
                       tex=False, markup=True)

    # ---- the four questions --------------------------------------------------------------------
    def storage(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("1. Storage: what MLflow stores, and where projects send it", anchor="sec-1-storage")
        storage = inputs.table("mlflow_storage.csv")
        if not storage.empty:
            counts = storage.groupby(["release", "kind"]).size().unstack(fill_value=0)
            counts = counts.loc[sorted(counts.index, key=version_key)]
            doc.figure("fig_storage.png", storage_figure(counts), "mlflow_storage.csv",
                       "Storage model per release: SQL tables, entities, limits, schemes (counts in each release's "
                       "source)")
            limits = storage[(storage["kind"] == "limit") & (storage["name"] == "MAX_PARAM_VAL_LENGTH")]
            per_release = counts.reindex(columns=[c for c in ("sql_table", "sql_column", "entity", "limit",
                                                              "tracking_scheme", "artifact_scheme") if c in counts])
            per_release["MAX_PARAM_VAL_LENGTH"] = [dict(zip(limits["release"], limits["detail"])).get(r, "")
                                                   for r in per_release.index]
            doc.table(per_release.reset_index(), "mlflow_storage.csv", "MLflow's storage model by release",
                      anchor=F.T_STORAGE_MODEL)
        else:
            doc.para("No MLflow releases in the corpus: the storage model was not read (`python cli.py mine` "
                     "fetches them; `--mlflow-from DIR` takes them from a folder).", css="not-measured")
        doc.table(_practice_rows(self.practices, [p for p in self.practices.get("practice", pd.Series(dtype=str))
                                                  if str(p).startswith("explicit tracking URI")], self.population),
                  "practices.csv", "Repositories configuring a tracking URI, by scheme", anchor=F.T_URI)
        uris = inputs.table("tracking_uris.csv")
        if not uris.empty:
            doc.table(uris.groupby(["source", "scheme"]).size().reset_index(name="n_sites"), "tracking_uris.csv",
                      "Where tracking URIs are configured (call sites and files)")
        stored = F.population_store_statistics(inputs)
        if len(stored):
            doc.table(stored, "stored_runs.csv", "Experiment stores committed to the repositories (read as MLflow "
                      "reads them): storage, traceability of runs, runs left behind (share of denominator, 95% "
                      "Wilson; over the report's repositories: store_statistics.csv is over every analyzed one)",
                      anchor=F.T_STORES)
        self.probe_table(("efficiency", "failed"), "Access time of MLflow's stores, and releases the probe could not "
                         "run", "--probe capacity")

    def probe_table(self, sections: tuple[str, ...], caption: str, option: str) -> None:
        """The rows of ``analysis.probe.summarize`` for ``sections`` (with the capacity figures for
        efficiency), or 'not measured'."""
        from analysis.probe import summarize

        probe = self.inputs.probe_table()
        if probe.empty:
            self.doc.para(f"{caption}: not measured: run `{F.PROBE_COMMAND} {option}`.", css="not-measured")
            return
        if "efficiency" in sections:
            self.doc.table(probe_capacity(probe), "probe.csv", "Capacity of MLflow's stores: bytes and files on disk, "
                           "write rates and start-up, per backend (rows) and release (columns), medians of the "
                           "repetitions", anchor=F.T_PROBE)
        summary = pd.DataFrame(summarize(probe.to_dict("records")), columns=["section", "backend", "item", "result"])
        rows = summary[summary["section"].isin(sections)]
        self.doc.table(rows, "probe.csv", f"{caption} (analysis.probe.summarize: per backend, by release)",
                       anchor=f"t-probe-{sections[0]}")

    def tracking(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("2. Tracking: which logging APIs projects use, and how", anchor="sec-2-tracking")
        usage = inputs.table("api_usage.csv")
        if not usage.empty:
            top = usage.head(20)
            share, errors = _shares(top, "share_repos")
            n = top["n_eligible"].iloc[0]
            doc.figure("fig_api_popularity.png",
                       bar_figure(list(top["api"]), share, "The 20 most used MLflow APIs",
                            f"share of repositories calling it (of {n}), 95% Wilson interval", errors,
                            [f"{a}/{b}" for a, b in zip(top["n_repos"], top["n_eligible"])]),
                       "api_usage.csv", "The 20 most used APIs")
            columns = [c for c in ("api", "category", "n_call_sites", "n_repos", "n_eligible", "share_repos", "ci_low",
                                   "ci_high", "first_version") if c in top]
            doc.table(top[columns], "api_usage.csv", "API usage, the 20 most used (every API: Appendix A)",
                      anchor=F.T_API)
        tracked = ["logs params", "logs metrics", "uses steps", "autolog only", "manual only", "autolog and manual",
                   "computed keys", "logs models", "registers models", "logs datasets", "sets tags", "nested runs",
                   "client API", "uses an API deprecated or removed by the latest release"]
        rows = _practice_rows(self.practices, tracked, self.population)
        if not rows.empty:
            share, errors = _shares(rows, "share")
            doc.figure("fig_practices.png",
                       bar_figure(list(rows["practice"]), share, "Tracking practices",
                            "share of eligible repositories (n/N beside each bar), 95% Wilson interval", errors,
                            [f"{a}/{b}" for a, b in zip(rows["n_repos"], rows["n_eligible"])]),
                       "practices.csv", "Tracking practices with their confidence intervals")
        doc.table(rows, "practices.csv", "Tracking practices: n_repos of n_eligible", anchor=F.T_TRACKING)
        integrations = inputs.table("integrations.csv")
        if "framework" in integrations and len(integrations):
            grouped = (integrations.groupby("framework").agg(n_sites=("repo", "size"), n_repos=("repo", "nunique"))
                       .reset_index().sort_values(["n_repos", "n_sites"], ascending=False))
            doc.table(grouped, "integrations.csv", "Logging to MLflow through another library (loggers, callbacks)")
        metrics = inputs.table("stored_metrics.csv")
        metrics = metrics[metrics["repo"].isin(set(inputs.population))] if "repo" in metrics else metrics
        if "n_nan" in metrics and len(metrics):
            num = {c: pd.to_numeric(metrics[c], errors="coerce").fillna(0) for c in
                   ("n_nan", "n_inf", "duplicate_points", "repeated_steps")}
            n = len(metrics)
            doc.table(_share_rows([
                ("histories holding NaN or infinite values", int(((num["n_nan"] > 0) | (num["n_inf"] > 0)).sum()), n,
                 "n_nan or n_inf above 0"),
                ("histories storing a point twice", int((num["duplicate_points"] > 0).sum()), n,
                 "duplicate_points above 0"),
                ("histories whose steps go back", int((metrics["steps_monotonic"] == "false").sum()), n,
                 "steps_monotonic = false"),
                ("histories with several points at one step", int((num["repeated_steps"] > 0).sum()), n,
                 "repeated_steps above 0 (often: logged without a step)"),
            ]), "stored_metrics.csv", "Metric histories of the committed stores", anchor=F.T_STORED_METRICS)
        self.probe_table(("precision", "integrity"), "Tracking precision and data integrity",
                         "--probe precision --probe integrity")

    def traceability(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("3. Traceability: can a run be traced to its code, parameters, data, environment and model",
                    anchor="sec-3-traceability")
        trace = inputs.table("traceability.csv")
        trace = trace[trace["repo"].isin(set(inputs.population))] if "repo" in trace else trace
        if not trace.empty:
            n = len(trace)

            def count(column: str) -> int:
                return int((trace[column] == "true").sum())

            def positive(column: str) -> int:
                return int((pd.to_numeric(trace[column], errors="coerce").fillna(0) > 0).sum())

            def total(column: str) -> int:
                return int(pd.to_numeric(trace[column], errors="coerce").fillna(0).sum())

            repos = _share_rows([
                ("runs tied to a code version", count("code_version_linked"), n, "code_version_linked"),
                ("runs tied to an environment", count("env_linked"), n, "env_linked"),
                ("runs tied to a dataset", count("data_linked"), n, "data_linked"),
                ("every parameter logged by mlflow run", count("params_logged_by_mlflow_run"), n,
                 "params_logged_by_mlflow_run (a valid MLproject)"),
                ("logging no entry point or script reaches", positive("orphan_logging_sites"), n,
                 "orphan_logging_sites above 0"),
                ("logging outside any run", positive("implicit_run_sites"), n, "implicit_run_sites above 0"),
            ])
            sites = _share_rows([
                ("metric call sites reachable from an entry point", total("metric_sites_reachable"),
                 total("n_metric_sites"), "metric_sites_reachable / n_metric_sites, summed (sites cluster: no interval)"),
                ("declared parameters logged explicitly", total("declared_params_logged"), total("n_declared_params"),
                 "declared_params_logged / n_declared_params, summed (no interval)"),
                ("models logged inside a run", total("models_in_run"), total("n_model_sites"),
                 "models_in_run / n_model_sites, summed (no interval)"),
            ], interval=False)
            both = pd.concat([repos, sites], ignore_index=True)
            shares = [float(v) for v in both["share"]]
            errors = ([s - float(low) if low != "" else 0.0 for s, low in zip(shares, both["ci_low"])],
                      [float(high) - s if high != "" else 0.0 for s, high in zip(shares, both["ci_high"])])
            doc.figure("fig_traceability.png",
                       bar_figure(list(both["measure"]), shares, "Traceability coverage",
                            f"share (of {n} repositories, 95% Wilson interval; or of the call sites, parameters, "
                            "models: n/N beside)", errors, [f"{a}/{b}" for a, b in zip(both["n"], both["of"])]),
                       "traceability.csv", "Traceability coverage")
            doc.table(both, "traceability.csv", "Traceability measures (n of: repositories, or summed sites)",
                      anchor=F.T_TRACE)
            self.graph_figure(trace)

    def graph_figure(self, trace: pd.DataFrame) -> None:
        """The drawable graph (8 to 60 nodes) with the most edges; ties go to the first by file name."""
        results = self.inputs.results
        sizes = sorted((graph_name(r["repo"]), int(r["n_edges"])) for r in trace.to_dict("records")
                       if "n_nodes" in r and 8 <= int(r["n_nodes"]) <= 60 and (results / "graphs" / graph_name(r["repo"])).is_file())
        if not sizes:
            return
        import networkx as nx

        name = max(sizes, key=lambda t: t[1])[0]
        fig = graph_figure(nx.read_graphml(results / "graphs" / name))
        self.doc.figure("fig_graph.png", fig, f"graphs/{name}", f"One traceability graph drawn: {name} (modules, "
                        "functions, scripts, parameters and dependencies unlabelled)")

    def reproducibility(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("4. Reproducibility: how likely a project is to re-run", anchor="sec-4-reproducibility")
        repro = inputs.table("reproducibility.csv")
        repro = repro[repro["repo"].isin(set(inputs.population))] if "repo" in repro else repro
        if not repro.empty:
            pinned = pd.to_numeric(repro[repro["n_deps"] != "0"]["pinned_share"], errors="coerce").dropna()
            fig = pinning_figure([float(v) for v in pinned])
            doc.figure("fig_pinning.png", fig, "reproducibility.csv", "Pinning distribution")
            readiness = pd.to_numeric(repro["readiness"], errors="coerce")
            doc.para(f"Readiness score: mean {readiness.mean():.3f}, median {readiness.median():.3f} over "
                     f"{len(readiness)} repositories (formula in docs/design.md).")
        names = [p for p in self.practices.get("practice", pd.Series(dtype=str))
                 if str(p).startswith(("env spec", "exact pinning share")) or p in ("MLproject present", "seeds set",
                                                                                     "python pinned", "mlflow pinned")]
        doc.table(_practice_rows(self.practices, names, self.population), "practices.csv",
                  "Reproducibility practices", anchor=F.T_REPRO)
        self.entry_points()
        self.rerun()

    def entry_points(self) -> None:
        inputs = self.inputs
        population = set(inputs.population)
        mlprojects = inputs.table("mlprojects.csv")
        if "repo" not in mlprojects or mlprojects.empty:
            return
        mlprojects = mlprojects[mlprojects["repo"].isin(population)]
        eps = inputs.table("entry_points.csv")
        eps = eps[eps["repo"].isin(population)] if "repo" in eps else eps
        params = inputs.table("parameters.csv")
        params = params[params["repo"].isin(population)] if "repo" in params else params
        keys = ["repo", "mlproject_path", "entry_point"]
        required = set(map(tuple, params.loc[params["required"] == "true", keys].to_numpy())) if len(params) else set()
        rows = [(f"MLprojects with {kind}", int((mlprojects["env_type"] == kind).sum()), len(mlprojects),
                 "mlprojects.csv env_type") for kind in sorted(set(mlprojects["env_type"]) - {""})]
        docker = mlprojects[mlprojects["env_type"] == "docker_env"]
        if len(docker):
            rows.append(("docker images pinned by digest", int((docker["docker_pinned"] == "digest").sum()),
                         len(docker), "mlprojects.csv docker_pinned = digest"))
        if len(eps):
            rows.append(("entry points runnable without arguments",
                         sum(1 for k in map(tuple, eps[keys].to_numpy()) if k not in required), len(eps),
                         "no parameter required = true in parameters.csv"))
        self.doc.table(_share_rows(rows), "mlprojects.csv", "MLprojects and their entry points",
                       anchor=F.T_ENTRY_POINTS)

    def rerun(self) -> None:
        rerun = self.inputs.rerun_table()
        if rerun.empty:
            self.doc.para(f"Re-runs (entry points executed in a sandbox and compared with their committed runs): not "
                          f"measured: run `{F.RERUN_COMMAND}`.", css="not-measured")
            return
        from analysis.rerun.statistics import rerun_statistics

        repro = self.inputs.table("reproducibility.csv")
        stats = rerun_statistics(rerun, repro if len(repro) else None)
        doc = self.doc
        doc.table(stats.rates, "rerun.csv", "Re-runs: rates over targets (entry points), 95% Wilson", anchor=F.T_RERUN,
                  collapse=False)
        doc.table(stats.failures, "rerun.csv", "Re-runs: what stopped the targets that did not succeed")
        if stats.times["total_seconds"].notna().any():
            doc.table(stats.times.round(1), "rerun.csv", "Re-runs: seconds of the targets that succeeded (build: "
                      "the environment's build time, also when it came from the cache)")
        if len(stats.readiness):
            doc.table(stats.readiness, "rerun.csv", "Re-runs against the static readiness score: repositories with "
                      "an entry point that re-ran, per score band")
            doc.para(f"Readiness score as a predictor of re-running: AUC {stats.auc:.2f} over {stats.n_repos_scored} "
                     "repositories (0.5: no better than chance)." if stats.auc is not None else
                     "Readiness score as a predictor of re-running: no AUC (every repository re-ran, or none did).")

    # ---- how it was obtained -------------------------------------------------------------------
    def methodology(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("5. Methodology", anchor="sec-5-methodology")
        doc.table(selection_funnel(inputs), "manifest.csv", "Selection funnel: repositories at each step",
                  anchor=F.T_FUNNEL, collapse=False)
        doc.table(corpus_identity(inputs), "manifest.csv", "What was read, and by what", collapse=False)
        files = inputs.table("files.csv")
        if not files.empty:
            counts = files.groupby(["kind", "status"]).size().unstack(fill_value=0)
            counts.columns.name = None
            counts.insert(0, "files", counts.sum(axis=1))
            counts.loc["all"] = counts.sum()
            doc.table(counts.reset_index(), "files.csv",
                      "Every file of every checkout by kind and by what became of it (no-mlflow: no 'mlflow' in "
                      "the text; no-mlflow-use: mentions mlflow, imports neither it nor an integration)",
                      anchor="t-files-read")
        problems = inputs.table("problems.csv")
        if not problems.empty:
            stages = problems.groupby("stage").agg(rows=("path", "size"), repositories=("repo", "nunique")).reset_index()
            doc.table(stages, "problems.csv", "Inputs that could not be read or parsed, by stage", anchor=T_PROBLEMS)
        self.reference()

    def reference(self) -> None:
        from analysis.report.reference import (
            call_site_agreement,
            mlproject_differences,
            pin_class_agreement,
            read_jsonl,
        )

        doc, inputs = self.doc, self.inputs
        doc.heading("Measured validity of the detector", 3, anchor="sec-validity-measured")
        if inputs.reference is None:
            doc.para("Agreement with an adjudicated reference: not measured: run `python cli.py report --reference DIR` "
                     f"with a directory holding {', '.join(REFERENCE_FILES)} (the format of shared/corpus/).",
                     css="not-measured")
            return
        calls = inputs.reference_table("dev-call-sites.csv")
        if len(calls):
            doc.table(call_site_agreement(inputs.table("call_sites.csv"), calls), "dev-call-sites.csv",
                      "Call sites against the reference, per API family (.py files, the APIs it covers)",
                      anchor="t-reference-calls", collapse=False)
        jsonl = inputs.reference / "dev-mlprojects.jsonl"
        if jsonl.is_file():
            mlprojects, entry_points, parameters = (inputs.table(n).to_dict("records") for n in
                                                    ("mlprojects.csv", "entry_points.csv", "parameters.csv"))
            compared = mlproject_differences(mlprojects, entry_points, parameters, read_jsonl(jsonl))
            differing = [(r, p, "; ".join(d)) for r, p, d in compared if d]
            doc.para(f"MLproject files: {len(compared) - len(differing)} of {len(compared)} in the reference "
                     "agree on every field (validity, name, environment, entry points, commands, parameters).")
            if differing:
                doc.table(pd.DataFrame(differing, columns=["repo", "path", "differences"]), "dev-mlprojects.jsonl",
                          "MLproject files that differ from MLflow's loader", anchor="t-reference-mlprojects")
        deps = inputs.reference_table("dev-dependencies.csv")
        if len(deps):
            doc.table(pin_class_agreement(inputs.table("dependencies.csv"), deps), "dev-dependencies.csv",
                      "Dependencies against the reference: reference rows that parse, found here (same file and "
                      "name), with the same pin class", anchor="t-reference-pins", collapse=False)

    def validity(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("6. Threats to validity", anchor="sec-6-threats-to-validity")
        doc.raw("\n".join(f"- **{name}**: {self.sentence_md(sentence)}" for name, sentence in self.threats),
                "<ul>" + "".join(f"<li><strong>{html.escape(name)}</strong>: {self.sentence_html(sentence)}</li>"
                                 for name, sentence in self.threats) + "</ul>")
        doc.para("The teaching rule: a word of the repository's owner/name, description or topics (split at "
                 "non-letters and camelCase) is one of " + ", ".join(sorted(TEACHING_WORDS)) + ".")
        teaching = teaching_repositories(inputs)
        if len(teaching):
            doc.table(teaching, "manifest.csv", "Repositories the teaching rule flags", anchor=T_THREATS, collapse=True)
        unparsed = unparsed_files(inputs)
        if len(unparsed):
            doc.table(unparsed, "files.csv", "Python files and notebooks not (wholly) parsed", anchor=T_FILES,
                      collapse=True)
        graph = call_graph_table(inputs)
        if len(graph):
            doc.table(graph, "graphs/", "Call edges per repository: by name only (over-approximation), inferred from "
                      "an argument, unresolved (under-approximation)", anchor=T_GRAPH, collapse=True)
        doc.para("Static reading cannot see what runs: keys computed at run time, calls through frameworks' "
                 "configuration (Hydra targets, entry-point strings), data fetched at run time. The probe and the "
                 "re-runs measure what static reading cannot.")

    def baselines(self) -> None:
        self.doc.heading("7. Published baselines (other studies, not this corpus)", anchor="sec-7-published-baselines")
        self.doc.para("Numbers published by other studies, for comparison; none of them is measured on this corpus.")
        table = read_frame(BASELINES)
        self.doc.table(table, "analysis/data/baselines.csv", "Published baselines, with their citations",
                       anchor="t-baselines", collapse=False)

    def appendix(self) -> None:
        doc, inputs = self.doc, self.inputs
        doc.heading("Appendix", anchor="sec-appendix")
        doc.heading("A. Every API", 3, anchor="sec-every-api")
        usage = inputs.table("api_usage.csv")
        doc.table(usage, "api_usage.csv", "Every MLflow API called, with its releases", anchor="t-api-all",
                  collapse=True, tex=False)
        storage = inputs.table("mlflow_storage.csv")
        if not storage.empty:
            limits = storage[storage["kind"] == "limit"]
            changes = limits.sort_values("release", key=lambda s: s.map(lambda v: [int(x) if x.isdigit() else 0
                                                                                  for x in v.split(".")]))
            changes = changes.drop_duplicates(["name", "detail"])[["name", "detail", "release"]].rename(
                columns={"detail": "value", "release": "from_release"}).sort_values(["name", "from_release"])
            doc.table(changes, "mlflow_storage.csv", "Validation limits and the first release with each value",
                      anchor="t-limits", collapse=True)
        doc.heading("B. Every number quoted", 3, anchor="sec-every-number-quoted")
        doc.para("Every fact the findings, the KPI table and the threats quote, with its definition; the same rows "
                 "are in [findings.csv](findings.csv).")
        doc.table(facts_frame(self.facts).drop(columns=["table"]), "findings.csv", "Every number quoted",
                  anchor="t-facts", collapse=True, tex=False)
        rerun = inputs.rerun_table()
        if len(rerun):
            doc.heading("C. Re-run targets", 3, anchor="sec-rerun-targets")
            columns = [c for c in ("repo", "mlproject_path", "entry_point", "env_kind", "env_build", "python_requested",
                                   "python_used", "status", "failure_class", "build_seconds", "run_seconds",
                                   "metrics_equal") if c in rerun]
            doc.table(rerun[columns], "rerun.csv", "Every re-run target", anchor="t-rerun-all", collapse=True,
                      tex=False)
        probe = inputs.probe_table()
        if len(probe):
            doc.heading("D. Probe rows", 3, anchor="sec-probe-rows")
            doc.table(probe, "probe.csv", "Every row of the probe", anchor="t-probe-all", collapse=True, tex=False)


CAPACITY_PROBES = ("disk", "create_run", "log_metric", "log_batch", "startup")


def probe_capacity(probe: pd.DataFrame) -> pd.DataFrame:
    """The probe's capacity figures (bytes and files on disk, write rates, start-up), one row per figure and
    backend, one column per release (medians as measured; ``analysis.probe.summarize`` covers the rest)."""
    rows = probe[probe["probe"].isin(CAPACITY_PROBES) & (probe["outcome"] == "measured")]
    if rows.empty:
        return pd.DataFrame()
    number = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows.assign(value=[f"{v:.4g}" if pd.notna(v) else "" for v in number])  # 4 significant digits
    table = rows.pivot_table(index=["probe", "parameter", "unit", "backend"], columns="release", values="value",
                             aggfunc="first")
    table = table[sorted(table.columns, key=version_key)]
    table.columns.name = None
    return table.reset_index()


# ---- writing ----------------------------------------------------------------------------------

_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45}"
          "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;"
          "vertical-align:top}th{background:#f3f3f3;cursor:pointer;text-align:left!important}th.asc:after{content:' \\25B2'}"
          "th.desc:after{content:' \\25BC'}.caption,figcaption{color:#555;font-size:12px}img{max-width:100%}"
          ".not-measured{color:#555;font-style:italic}.src{color:#777;font-size:11px}code{background:#f3f3f3;padding:0 3px}"
          "details summary{cursor:pointer;color:#4477AA;font-size:12px}")
# the page counts its own figures once loaded (a test reads it back through headless Chromium), and
# sorts a table by a column on a click on its header (numbers as numbers: 1,234, 57% and 0.57 too)
_SCRIPT = (
    "window.addEventListener('load',function(){var i=document.images,n=0;for(var k=0;k<i.length;k++)"
    "{if(i[k].complete&&i[k].naturalWidth>0)n++;}document.body.setAttribute('data-images',n+'/'+i.length);"
    "document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){"
    "var t=th.closest('table'),b=t.tBodies[0],c=th.cellIndex,d=th.classList.contains('asc')?-1:1;"
    "t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});"
    "th.classList.add(d>0?'asc':'desc');var num=function(s){var v=parseFloat(s.replace(/[,%]/g,''));"
    "return isNaN(v)?null:v;};var r=Array.prototype.slice.call(b.rows);r.sort(function(x,y){"
    "var a=x.cells[c].textContent.trim(),e=y.cells[c].textContent.trim(),p=num(a),q=num(e);"
    "if(p!==null&&q!==null)return d*(p-q);return d*a.localeCompare(e);});"
    "r.forEach(function(row){b.appendChild(row);});});});});")


def _href(inputs: ReportInputs, out: Path) -> Callable[[str], str]:
    """Where a source named in a caption is, relative to the report directory."""
    def href(source: str) -> str:
        if source == "findings.csv":
            return "findings.csv"
        if source in ("probe.csv",) and inputs.probe is not None:
            return os.path.relpath(inputs.probe / source, out)
        if source == "rerun.csv" and inputs.rerun is not None:
            return os.path.relpath(inputs.rerun / source, out)
        if source in ("manifest.csv", "search.csv", "lock.csv") and inputs.corpus is not None:
            return os.path.relpath(inputs.corpus / source, out)
        if source.startswith("dev-") and inputs.reference is not None:
            return os.path.relpath(inputs.reference / source, out)
        if source.startswith("analysis/"):
            return os.path.relpath(Path(__file__).resolve().parents[2] / source, out)
        return os.path.relpath(inputs.results / source, out)
    return href


def build_report(results: Path, all_repos: bool = False, *, corpus: Path | None = None, probe: Path | None = None,
                 rerun: Path | None = None, reference: Path | None = None, latex: bool = False,
                 renderer: FigureRenderer | None = None) -> tuple[Path, Path]:
    """Write ``report/report.md``, ``report/index.html``, ``report/findings.csv`` and the PNGs under ``results``.

    Shares are those of one repository per duplicate family, or of every repository with
    ``all_repos``. ``corpus``, ``probe`` (the directory of probe.csv), ``rerun`` (of rerun.csv) are
    looked for when not given (``analysis.report.inputs``); ``reference`` (adjudicated reference
    files) adds the detector's measured validity; ``latex`` writes ``report/latex/`` too. An
    unchanged set of inputs and options redraws nothing. ``renderer`` renders the figures in child
    processes (see ``FigureRenderer``: only where this process has no other thread).
    """
    inputs = ReportInputs.locate(results, corpus=corpus, probe=probe, rerun=rerun, reference=reference,
                                 all_repos=all_repos)
    out = results / "report"
    md_path, html_path = out / "report.md", out / "index.html"
    stamp = _inputs_digest(inputs, latex)
    if (out / ".inputs.sha256").is_file() and (out / ".inputs.sha256").read_text() == stamp and html_path.is_file():
        return md_path, html_path  # same rows, same report: nothing to redraw
    doc = _Doc(_href(inputs, out), latex=latex, renderer=renderer or FigureRenderer(0))
    report = _Report(inputs, doc)
    report.write()
    doc.finish()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in doc.figures.items():
        atomic_write_bytes(out / name, data)
    atomic_write_text(out / "findings.csv", facts_frame(report.facts).to_csv(index=False))
    atomic_write_text(md_path, "\n".join(doc.md) + "\n")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>MLflow census report</title>"
            f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>{''.join(doc.html)}</body></html>")
    atomic_write_text(html_path, page)
    if latex:
        write_latex(out / "latex", doc.tables, doc.pdfs, report.facts.values(), report.findings, report.kpis,
                    report.threats)
    atomic_write_text(out / ".inputs.sha256", stamp)
    return md_path, html_path


REPORT_INPUTS = ("practices.csv", "api_usage.csv", "api_catalog.csv", "reproducibility.csv", "traceability.csv",
                 "mlflow_storage.csv", "tracking_uris.csv", "files.csv", "problems.csv", "store_statistics.csv",
                 "stores.csv", "stored_runs.csv", "stored_params.csv", "stored_metrics.csv", "mlprojects.csv", "entry_points.csv",
                 "parameters.csv", "integrations.csv", "call_sites.csv", "dependencies.csv")
# Inputs the report reads only some columns of: the others (files.csv's `cached`, which a re-run
# from the cache flips) must not make it redraw.
REPORT_INPUT_COLUMNS = {"files.csv": ("repo", "path", "kind", "status", "reason"),
                        "api_catalog.csv": ("api", "last_version")}
# what the report quotes of practices.csv's provenance (not written_at, which every analyze changes)
PROVENANCE_KEYS = ("corpus", "manifest_sha256", "catalog_origin", "catalog_releases", "tool_version")


def _inputs_digest(inputs: ReportInputs, latex: bool) -> str:
    """A digest of everything the report is drawn from (its CSVs, or the columns it reads, graph files,
    the corpus, probe, re-run and reference files it reads) and of the options."""
    options = (inputs.population_name, str(inputs.corpus), str(inputs.probe), str(inputs.rerun), str(inputs.reference),
               str(latex))
    # the report's stage stamp: its code (report/, statistics/, what they import) and baselines.csv
    digest = hashlib.sha256(f"{fingerprint('report')}\0{chr(0).join(options)}\0".encode())
    for name in REPORT_INPUTS:
        path = inputs.results / name
        if not path.is_file():
            digest.update(name.encode() + b"-")
        elif name in REPORT_INPUT_COLUMNS:
            frame = inputs.table(name)
            columns = [c for c in REPORT_INPUT_COLUMNS[name] if c in frame]
            digest.update(name.encode() + frame[columns].to_csv(index=False).encode())
        else:
            digest.update(name.encode() + path.read_bytes())
    provenance = inputs.provenance("practices.csv")
    digest.update(repr([(k, provenance.get(k)) for k in PROVENANCE_KEYS]).encode())
    for path in inputs.input_files():
        digest.update(str(path).encode() + (path.read_bytes() if path.is_file() else b"-"))
    graphs = inputs.results / "graphs"
    for path in sorted(graphs.glob("*.graphml")) if graphs.is_dir() else []:
        digest.update(path.name.encode() + str(path.stat().st_size).encode())
    return digest.hexdigest()
