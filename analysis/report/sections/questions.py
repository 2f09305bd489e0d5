"""The report's answers to the questions: the key findings, the KPI table, and sections 2 to 4 (tracking,
traceability, reproducibility)."""

from __future__ import annotations

import pandas as pd

from analysis.report import facts as F
from analysis.report.claims import claim_links, claims_text
from analysis.report.figures import bar_figure, graph_figure, pinning_figure
from analysis.report.findings import population_api_usage
from analysis.report.sections.drawing import Drawing, cluster_rows, practice_rows, share_rows, shares
from analysis.statistics.clusters import ClusteredShare, clustered, from_totals
from analysis.report.sections.reruns import rerun
from analysis.report.sections.storage import probe_table
from analysis.report.writer import inline_html
from analysis.tables import graph_name


def key_findings_section(report: Drawing) -> None:
    doc = report.doc
    doc.heading("Key findings", anchor="sec-key-findings")
    sections = {"storage": "sec-1-storage", "tracking": "sec-2-tracking", "traceability": "sec-3-traceability",
                "reproducibility": "sec-4-reproducibility"}
    for finding in report.findings:
        doc.heading(finding.title, 3, anchor=f"finding-{finding.question}")
        more = f"[The other numbers](#{sections[finding.question]}) open its section."
        doc.raw(" ".join(report.sentence_md(s) for s in finding.sentences) + " " + more,
                "<p class='finding'>" + " ".join(report.sentence_html(s) for s in finding.sentences) + " "
                + inline_html(more) + "</p>")

def kpi_section(report: Drawing) -> None:
    report.doc.heading("The proposal's KPIs", anchor="sec-kpis")
    report.doc.para("Each KPI of the proposal, the measure taken for it, its value on this corpus (or the command "
                  "that measures it) and where it comes from: the corpus's code, the experiment stores "
                  "committed to the repositories (stored runs), the probe of MLflow itself, the re-runs.")
    rows = [{"KPI": k.kpi, "measure": k.measure, "value": k.value.text(), "source": k.source} for k in report.kpis]
    report.doc.table(pd.DataFrame(rows), "findings.csv", "The proposal's KPIs", anchor="t-kpis", collapse=False,
                   tex=False, markup=True)



def tracking(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("2. Tracking: which logging APIs projects use, and how", anchor="sec-2-tracking")
    report.details("tracking")
    usage = population_api_usage(inputs)
    if not usage.empty:
        top = usage.head(20)
        share, errors = shares(top, "share_repos")
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
    rows = practice_rows(report.practices, tracked, report.population)
    if not rows.empty:
        share, errors = shares(rows, "share")
        doc.figure("fig_practices.png",
                   bar_figure(list(rows["practice"]), share, "Tracking practices",
                        "share of eligible repositories (n/N beside each bar), 95% Wilson interval", errors,
                        [f"{a}/{b}" for a, b in zip(rows["n_repos"], rows["n_eligible"])]),
                   "practices.csv", "Tracking practices with their confidence intervals")
    doc.table(rows, "practices.csv", "Tracking practices: n_repos of n_eligible", anchor=F.T_TRACKING)
    integrations = inputs.in_population(inputs.table("integrations.csv"))
    if "framework" in integrations and len(integrations):
        grouped = (integrations.groupby("framework").agg(n_sites=("repo", "size"), n_repos=("repo", "nunique"))
                   .reset_index().sort_values(["n_repos", "n_sites"], ascending=False))
        doc.table(grouped, "integrations.csv", "Logging to MLflow through another library (loggers, callbacks)")
    metrics = inputs.in_population(inputs.table("stored_metrics.csv"))
    if "n_nan" in metrics and len(metrics):
        num = {c: metrics[c] for c in ("n_nan", "n_inf", "duplicate_points", "repeated_steps")}
        n = len(metrics)
        doc.table(share_rows([
            ("histories holding NaN or infinite values", int(((num["n_nan"] > 0) | (num["n_inf"] > 0)).sum()), n,
             "n_nan or n_inf above 0"),
            ("histories storing a point twice", int((num["duplicate_points"] > 0).sum()), n,
             "duplicate_points above 0"),
            ("histories whose steps go back", int((~metrics["steps_monotonic"].astype(bool)).sum()), n,
             "steps_monotonic = false"),
            ("histories with several points at one step", int((num["repeated_steps"] > 0).sum()), n,
             "repeated_steps above 0 (often: logged without a step)"),
        ]), "stored_metrics.csv", "Metric histories of the committed stores", anchor=F.T_STORED_METRICS)
    probe_table(report, ("precision", "integrity"), "Tracking precision and data integrity",
                     "--probe precision --probe integrity")

def traceability(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("3. Traceability: can a run be traced to its code, parameters, data, environment and model",
                anchor="sec-3-traceability")
    report.details("traceability")
    trace = inputs.in_population(inputs.table("traceability.csv"))
    if not trace.empty:
        n = len(trace)

        def count(column: str) -> int:
            return int(trace[column].astype(bool).sum())

        def positive(column: str) -> int:
            return int((trace[column] > 0).sum())

        def total(column: str) -> int:
            return int(trace[column].sum())

        repos = share_rows([
            ("runs tied to a code version", count("code_version_linked"), n, "code_version_linked"),
            ("runs tied to an environment", count("env_linked"), n, "env_linked"),
            ("runs tied to a dataset", count("data_linked"), n, "data_linked"),
            ("every parameter logged by mlflow run", count("params_logged_by_mlflow_run"), n,
             "params_logged_by_mlflow_run (a valid MLproject)"),
            ("logging no entry point or script reaches", positive("orphan_logging_sites"), n,
             "orphan_logging_sites above 0"),
            ("logging outside any run", positive("implicit_run_sites"), n, "implicit_run_sites above 0"),
        ])
        # call sites, parameters and models cluster in repositories: the bootstrap over repositories; reachability
        # from an entry point only where an MLproject declares entry points
        repro = inputs.table("reproducibility.csv")
        mlproject = set(repro.loc[repro["has_mlproject"].astype(bool), "repo"]) if "has_mlproject" in repro else set()

        def summed(hit: str, units: str, where: pd.DataFrame = trace) -> ClusteredShare:
            return clustered(from_totals(dict(zip(where["repo"], where[hit].astype(float))),
                                         dict(zip(where["repo"], where[units].astype(int)))))

        sites = cluster_rows([
            ("metric call sites reachable from an entry point",
             summed("metric_sites_reachable", "n_metric_sites", trace[trace["repo"].isin(mlproject)]),
             "metric_sites_reachable / n_metric_sites, summed over repositories with an MLproject"),
            ("declared parameters logged explicitly", summed("declared_params_logged", "n_declared_params"),
             "declared_params_logged / n_declared_params, summed"),
            ("models logged inside a run", summed("models_in_run", "n_model_sites"), "models_in_run / n_model_sites, summed"),
        ])
        repos.insert(6, "interval", "wilson")
        doc.table(repos, "traceability.csv", "Traceability measures over repositories (95% Wilson)", anchor=F.T_TRACE)
        doc.table(sites, "traceability.csv", "Traceability measures over call sites, parameters and models, which "
                  "cluster in repositories: 95% cluster bootstrap intervals by repository, the repositories where "
                  "they count, and the largest repository's part")
        both = pd.concat([repos, sites], ignore_index=True)
        values, errors = shares(both, "share")
        doc.figure("fig_traceability.png",
                   bar_figure(list(both["measure"]), values, "Traceability coverage",
                        f"share (of {n} repositories, 95% Wilson interval; of call sites, parameters, models: "
                        "95% cluster bootstrap by repository; n/N beside)", errors,
                        [f"{a}/{b}" for a, b in zip(both["n"], both["of"])]),
                   "traceability.csv", "Traceability coverage")
        traceability_claims(report)
        traceability_graph(report, trace)

def traceability_claims(report: Drawing) -> None:
    """What MLflow does that the traceability measures count on, with the releases it does it in."""
    claims = [("project_run_commit", "runs tied to a code version"),
              ("project_run_params", "every parameter logged by mlflow run"),
              ("implicit_run", "logging outside any run")]
    text = claims_text(claims, report.inputs)
    if text:
        report.doc.para(f"These measures count on what MLflow does: {text}. "
                        + claim_links([c for c, _note in claims], report.inputs, report.doc.source_link))


def traceability_graph(report: Drawing, trace: pd.DataFrame) -> None:
    """The drawable graph (8 to 60 nodes) with the most edges; ties go to the first by file name."""
    results = report.inputs.results
    sizes = sorted((graph_name(r["repo"]), int(r["n_edges"])) for r in trace.to_dict("records")
                   if "n_nodes" in r and 8 <= int(r["n_nodes"]) <= 60 and (results / "graphs" / graph_name(r["repo"])).is_file())
    if not sizes:
        return
    import networkx as nx

    name = max(sizes, key=lambda t: t[1])[0]
    fig = graph_figure(nx.read_graphml(results / "graphs" / name))
    report.doc.figure("fig_graph.png", fig, f"graphs/{name}", f"One traceability graph drawn: {name} (modules, "
                    "functions, scripts, parameters and dependencies unlabelled)")

def reproducibility(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("4. Reproducibility: how likely a project is to re-run", anchor="sec-4-reproducibility")
    report.details("reproducibility")
    repro = inputs.in_population(inputs.table("reproducibility.csv"))
    if not repro.empty:
        pinned = repro.loc[repro["n_deps"] != 0, "pinned_share"].dropna()
        fig = pinning_figure([float(v) for v in pinned])
        doc.figure("fig_pinning.png", fig, "reproducibility.csv", "Pinning distribution")
        readiness = repro["readiness"]
        doc.para(f"Readiness score: mean {readiness.mean():.3f}, median {readiness.median():.3f} over "
                 f"{len(readiness)} repositories (formula in docs/design.md).")
    names = [p for p in report.practices.get("practice", pd.Series(dtype=str))
             if str(p).startswith(("env spec", "exact pinning share")) or p in ("MLproject present", "seeds set",
                                                                                 "python pinned", "mlflow pinned")]
    doc.table(practice_rows(report.practices, names, report.population), "practices.csv",
              "Reproducibility practices", anchor=F.T_REPRO)
    entry_points(report)
    rerun(report)

def entry_points(report: Drawing) -> None:
    inputs = report.inputs
    mlprojects = inputs.table("mlprojects.csv")
    if "repo" not in mlprojects or mlprojects.empty:
        return
    mlprojects = inputs.in_population(mlprojects)
    eps = inputs.in_population(inputs.table("entry_points.csv"))
    params = inputs.in_population(inputs.table("parameters.csv"))
    keys = ["repo", "mlproject_path", "entry_point"]
    required = set(map(tuple, params.loc[params["required"].astype(bool), keys].to_numpy())) if len(params) else set()
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
    report.doc.table(share_rows(rows), "mlprojects.csv", "MLprojects and their entry points",
                   anchor=F.T_ENTRY_POINTS)
