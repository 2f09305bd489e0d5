"""The report: ``report/report.md`` and a self-contained ``report/index.html`` from the result CSVs.

Findings first: one paragraph per question (storage, tracking, traceability, reproducibility) made
of facts computed from the CSVs (``analysis.report.findings``), each sentence linking to its table and CSV;
then the proposal's KPIs in one table, one section per question with its figures and tables, the
methodology (selection funnel, what was read, the detector's measured validity when a reference is
given), threats to validity, published baselines (``analysis/data/baselines.csv``) and an appendix.
After the questions and the agreement of two measures, the evolution over each repository's history
(``analyze --history``; "not measured" without it).
A measurement that needs the probe or the re-run says "not measured" with the command to run.

Figures are PNG, embedded in the HTML as data URIs; tables sort on a click with an inline script;
long ones collapse. With ``latex``, ``report/latex/`` gets the same tables and figures for a written
study (``analysis.report.latex``).

This module holds the outline and what is written; the sections are in ``analysis.report.sections``,
the document they write in ``analysis.report.writer``, the figures' rendering in
``analysis.report.rendering``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.stamps import fingerprint
from analysis.report.facts import facts_frame
from analysis.report.inputs import ReportInputs
from analysis.report.latex import write_latex
from analysis.report.rendering import FigureRenderer
from analysis.report.sections.agreement import agreement
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.evolution import evolution
from analysis.report.sections.methods import (
    appendix,
    baselines,
    methodology,
    validity,
)
from analysis.report.sections.questions import (
    key_findings_section,
    kpi_section,
    reproducibility,
    traceability,
    tracking,
)
from analysis.report.sections.populations import populations
from analysis.report.sections.storage import storage
from analysis.report.writer import Doc, page
from miner import __version__
from miner.fileio import atomic_write_bytes, atomic_write_text, utc_now

__all__ = ["FigureRenderer", "build_report"]


def _write(report: Drawing) -> None:
    """The report's sections in order, into ``report.doc``."""
    doc = report.doc
    doc.md.append("# MLflow census report\n")
    doc.html.append("<h1>MLflow census report</h1>")
    n = len(report.inputs.population)
    doc.para(f"mlflow-census {__version__}, written {utc_now()} from `{report.inputs.results}`. "
             f"Shares are over the {n} analyzed repositories"
             + (", every one (duplicates included)" if report.inputs.all_repos
                else ", one repository per duplicate family")
             + ", with 95% Wilson intervals. Runs, metric histories and call sites cluster in repositories (one "
             "repository may hold most of them): their shares and ratios have 95% cluster bootstrap intervals by "
             "repository, the repositories they come from, and the figure without the largest repository where it "
             "holds over a third of them. A measure over nothing says \"not measured\", never 0%. Every number of "
             "the findings is computed from the CSVs it links to (all of them: [Appendix B](#sec-every-number-quoted)).")
    doc.items(["[Key findings](#sec-key-findings)", "[The proposal's KPIs](#sec-kpis)",
               "[1. Storage](#sec-1-storage)", "[2. Tracking](#sec-2-tracking)",
               "[3. Traceability](#sec-3-traceability)", "[4. Reproducibility](#sec-4-reproducibility)",
               "[Practices per population](#sec-populations)", "[Agreement: where two measures meet](#sec-agreement)",
               "[5. Evolution](#sec-5-evolution)", "[6. Methodology](#sec-6-methodology)",
               "[7. Threats to validity](#sec-7-threats-to-validity)",
               "[8. Published baselines](#sec-8-published-baselines)", "[Appendix](#sec-appendix)"])
    key_findings_section(report)
    kpi_section(report)
    storage(report)
    tracking(report)
    traceability(report)
    reproducibility(report)
    populations(report)
    agreement(report)
    evolution(report)
    methodology(report)
    validity(report)
    baselines(report)
    appendix(report)


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
    doc = Doc(_href(inputs, out), latex=latex, renderer=renderer or FigureRenderer(0))
    report = Drawing(inputs, doc)
    _write(report)
    doc.finish()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in doc.figures.items():
        atomic_write_bytes(out / name, data)
    atomic_write_text(out / "findings.csv", facts_frame(report.facts).to_csv(index=False))
    atomic_write_text(md_path, "\n".join(doc.md) + "\n")
    atomic_write_text(html_path, page(doc))
    if latex:
        write_latex(out / "latex", doc.tables, doc.pdfs, report.facts.values(), report.findings, report.kpis,
                    report.threats, outline_md=doc.md)
    atomic_write_text(out / ".inputs.sha256", stamp)
    return md_path, html_path


REPORT_INPUTS = ("practices.csv", "api_usage.csv", "api_catalog.csv", "reproducibility.csv", "traceability.csv",
                 "populations.csv", "mlflow_storage.csv", "tracking_uris.csv", "files.csv", "problems.csv", "store_statistics.csv",
                 "stores.csv", "stored_runs.csv", "stored_params.csv", "stored_metrics.csv", "mlprojects.csv", "entry_points.csv",
                 "parameters.csv", "integrations.csv", "call_sites.csv", "dependencies.csv", "agreement.csv",
                 "history.csv", "history_api_usage.csv", "evolution.csv")
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
            # pandas' hash of each row's cells (0.07 s to 0.01 s for files.csv's 13,607 rows as CSV text)
            rows = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes() if columns else b""
            digest.update(name.encode() + repr(columns).encode() + str(len(frame)).encode() + rows)
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
