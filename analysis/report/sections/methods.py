"""The report's sections on how it was obtained: methodology (funnel, identity, files read, problems, the
detector's measured validity), threats to validity, published baselines and the appendix."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from analysis.report import facts as F
from analysis.report.claims import T_BEHAVIOUR, behaviour_table, release_range
from analysis.report.facts import facts_frame
from analysis.report.findings import population_api_usage
from analysis.report.inputs import REFERENCE_FILES, read_frame
from analysis.report.methodology import (
    T_FILES,
    T_GRAPH,
    T_PROBLEMS,
    T_THREATS,
    call_graph_table,
    corpus_identity,
    selection_funnel,
    teaching_repositories,
    unparsed_files,
)
from analysis.report.sections.drawing import Drawing
from miner.tutorials import COURSE_WORDS, FARM_SIZE

BASELINES = Path(__file__).resolve().parents[2] / "data" / "baselines.csv"


def methodology(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("6. Methodology", anchor="sec-6-methodology")
    chosen = "selection.csv" if "status" in inputs.corpus_table("selection.csv") else "manifest.csv"
    doc.table(selection_funnel(inputs), chosen, "Selection funnel: repositories at each step, from each source "
              "through the selection rules in their order and the sample to the analysis", anchor=F.T_FUNNEL,
              collapse=False)
    doc.table(corpus_identity(inputs), "manifest.csv", "What was read, and by what", collapse=False)
    behaviour = behaviour_table(inputs)
    if len(behaviour):
        rows = [{"claim": r["id"], "releases": release_range(r), "MLflow": r["statement"], "evidence": r["evidence"]}
                for r in behaviour.to_dict("records")]
        sources = list(dict.fromkeys(behaviour["source"]))
        doc.table(pd.DataFrame(rows), sources[0] if len(sources) == 1 else "mlflow_storage.csv", "What the report says MLflow does, with the releases "
                  "each statement holds for: read from the source of the corpus's releases (mlflow_storage.csv) "
                  "where the storage pass reads it, else checked in MLflow's released source (evidence: file@tag)",
                  anchor=T_BEHAVIOUR, collapse=False)
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
    reference(report)

def reference(report: Drawing) -> None:
    from analysis.report.reference import (
        call_site_agreement,
        mlproject_differences,
        pin_class_agreement,
        read_jsonl,
    )

    doc, inputs = report.doc, report.inputs
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
    if jsonl.is_file():  # compared as the CSV text, as benchmarks/compare_mlprojects.py reads it
        mlprojects, entry_points, parameters = (inputs.text_table(n).to_dict("records") for n in
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

def validity(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("7. Threats to validity", anchor="sec-7-threats-to-validity")
    doc.raw("\n".join(f"- **{name}**: {report.sentence_md(sentence)}" for name, sentence in report.threats),
            "<ul>" + "".join(f"<li><strong>{html.escape(name)}</strong>: {report.sentence_html(sentence)}</li>"
                             for name, sentence in report.threats) + "</ul>")
    doc.para("The teaching rule (miner/tutorials.py): GitHub Classroom's description ('<name> created by GitHub "
             "Classroom'); or a whole word of the repository's owner/name, description or topics (split at "
             "non-alphanumerics, camelCase and digits) is one of " + ", ".join(sorted(COURSE_WORDS))
             + ", or hw with a number, and not in a tool's name, an ML task or a phrase (JupyterLab, linear "
             f"assignment, of course); or it is one of {FARM_SIZE} or more repositories of one owner whose names "
             "share a prefix of two words or with a digit (a farm).")
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

def baselines(report: Drawing) -> None:
    report.doc.heading("8. Published baselines (other studies, not this corpus)", anchor="sec-8-published-baselines")
    report.doc.para("Numbers published by other studies, for comparison; none of them is measured on this corpus.")
    table = read_frame(BASELINES)
    report.doc.table(table, "analysis/data/baselines.csv", "Published baselines, with their citations",
                   anchor="t-baselines", collapse=False)

def appendix(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("Appendix", anchor="sec-appendix")
    doc.heading("A. Every API", 3, anchor="sec-every-api")
    usage = population_api_usage(inputs)
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
    doc.table(facts_frame(report.facts).drop(columns=["table"]), "findings.csv", "Every number quoted",
              anchor="t-facts", collapse=True, tex=False)
    rerun = inputs.rerun_table()
    if len(rerun):
        doc.heading("C. Re-run targets", 3, anchor="sec-rerun-targets")
        columns = [c for c in ("repo", "mlproject_path", "entry_point", "env_kind", "env_build", "python_requested",
                               "python_used", "driver_mlflow", "status", "failure_class", "build_seconds",
                               "run_seconds", "metrics_equal") if c in rerun]
        doc.table(rerun[columns], "rerun.csv", "Every re-run target", anchor="t-rerun-all", collapse=True,
                  tex=False)
    probe = inputs.probe_table()
    if len(probe):
        doc.heading("D. Probe rows", 3, anchor="sec-probe-rows")
        doc.table(probe, "probe.csv", "Every row of the probe", anchor="t-probe-all", collapse=True, tex=False)
