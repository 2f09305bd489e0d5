"""Every fact of findings.csv recomputed from the CSVs by code of its own."""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from analysis.statistics.shares import wilson
from tests.analysis.report.sample import read_facts, read_rows
from tests.analysis.report.test_claims import recompute_claims


def _share(n: int, of: int) -> tuple[int, int]:
    return n, of


# the per-repository (k, n) of some facts whose units cluster in repositories, filled by ``recompute``
CLUSTERS: dict[str, dict[str, tuple[int, int]]] = {}


def recompute(results: Path, corpus: Path) -> dict[str, object]:
    """Every fact of findings.csv, computed again from the CSVs by other code: (n, of) for a share,
    a number or a string otherwise."""
    manifest = read_rows(corpus, "manifest.csv")
    analyzed = {r["repo"] for r in read_rows(results, "reproducibility.csv")}
    population = {r["repo"] for r in manifest if r["status"] == "ok" and not r["duplicate_of"]} & analyzed
    n_pop = len(population)
    calls = [c for c in read_rows(results, "call_sites.csv") if c["repo"] in population]

    def repos(rows: list[dict[str, str]], test: Callable[[dict[str, str]], bool]) -> set[str]:
        return {r["repo"] for r in rows if test(r)}

    out: dict[str, object] = {"Repos": n_pop}
    uris = [u for u in read_rows(results, "tracking_uris.csv") if u["repo"] in population]
    setting = repos(uris, lambda u: True)
    out["ReposTrackingURI"] = (len(setting), n_pop)
    for name, schemes in (("ReposURIServer", {"http", "https"}), ("ReposURILocal", {"file", "sqlite"}),
                          ("ReposURIDatabase", {"postgresql", "mysql", "mssql"}),
                          ("ReposURIDatabricks", {"databricks", "databricks-uc", "uc"}),
                          ("ReposURIUnknown", {"computed", "env-only"})):
        out[name] = (len(repos(uris, lambda u, s=schemes: u["scheme"].split("+")[0] in s)), len(setting))  # type: ignore[misc]
    named = repos(uris, lambda u: u["scheme"].split("+")[0] in {"http", "https"})
    if named:
        remote = repos(uris, lambda u: u["scheme"].split("+")[0] in {"http", "https"} and u["host_kind"] == "remote")
        out["ReposURIServerRemote"] = (len(remote & named), len(named))
        out["ReposURIServerLocalOnly"] = (len(named - remote), len(named))
    stores = [s for s in read_rows(results, "stores.csv") if s["repo"] in population]
    runs = [r for r in read_rows(results, "stored_runs.csv") if r["repo"] in population]
    out["ReposStore"] = (len({s["repo"] for s in stores}), n_pop)
    out["NStores"], out["NStoredRuns"] = len(stores), len(runs)
    out["StoreBytesPerRun"] = sum(int(s["bytes"]) for s in stores) / sum(int(s["n_runs"]) for s in stores)
    out["RunsAbsArtifactURI"] = (sum(r["artifact_uri_kind"] == "absolute-local" for r in runs), len(runs))
    out["RunsFailed"] = (sum(r["status"] == "FAILED" for r in runs), len(runs))
    CLUSTERS["RunsFailed"] = {repo: (sum(r["status"] == "FAILED" for r in runs if r["repo"] == repo),
                                     sum(r["repo"] == repo for r in runs)) for repo in {r["repo"] for r in runs}}
    out["RunsRunning"] = (sum(r["status"] == "RUNNING" for r in runs), len(runs))
    out["RunsGitCommit"] = (sum(bool(r["git_commit"]) for r in runs), len(runs))
    looked = [r for r in runs if r["git_commit_in_history"] in ("yes", "no")]
    out["CommitsInHistory"] = (sum(r["git_commit_in_history"] == "yes" for r in looked), len(looked))
    sourced = [r for r in runs if r["source_in_repo"]]
    out["RunsSourceExists"] = (sum(r["source_in_repo"] == "yes" for r in sourced), len(sourced))
    out["RunsEntryPoint"] = (sum(bool(r["entry_point"]) for r in runs), len(runs))
    judged: dict[str, list[str]] = {}
    for p in read_rows(results, "stored_params.csv"):
        if p["declared_in_mlproject"] != "unknown" and p["repo"] in population:
            judged.setdefault(p["run_id"], []).append(p["declared_in_mlproject"])
    if judged:
        out["RunsParamsMatch"] = (sum(all(v == "yes" for v in vs) for vs in judged.values()), len(judged))
    # at the commit each run recorded, where its MLprojects were read there; and whether that differs from HEAD
    at_commit = {r["run_id"] for r in runs if r.get("mlproject_at") == "recorded"}
    flags: dict[str, list[tuple[str, str]]] = {}
    for p in read_rows(results, "stored_params.csv"):
        if p["run_id"] in at_commit and p["repo"] in population:
            flags.setdefault(p["run_id"], []).append((p["declared_at_recorded_commit"], p["declared_in_mlproject"]))
    there = {run: all(a == "yes" for a, _h in fs) for run, fs in flags.items() if fs[0][0] != "unknown"}
    if there:
        out["RunsParamsMatchAtCommit"] = (sum(there.values()), len(there))
    both = {run: there[run] != all(h == "yes" for _a, h in flags[run]) for run in there if flags[run][0][1] != "unknown"}
    if both:
        out["RunsParamsOtherwiseAtCommit"] = (sum(both.values()), len(both))
    metrics = [m for m in read_rows(results, "stored_metrics.csv") if m["repo"] in population]
    out["StoredMetricsNonFinite"] = (sum(int(m["n_nan"]) + int(m["n_inf"]) > 0 for m in metrics), len(metrics))
    out["StoredMetricsRepeated"] = (sum(int(m["duplicate_points"]) > 0 for m in metrics), len(metrics))
    storage = read_rows(results, "mlflow_storage.csv")
    releases = sorted({s["release"] for s in storage}, key=lambda v: tuple(int(x) for x in v.split(".")))
    out["NReleasesRead"], out["FirstRelease"], out["LastRelease"] = len(releases), releases[0], releases[-1]
    out["SqlTablesFirst"] = sum(s["kind"] == "sql_table" and s["release"] == releases[0] for s in storage)
    out["SqlTablesLast"] = sum(s["kind"] == "sql_table" and s["release"] == releases[-1] for s in storage)
    limits = {s["release"]: int(s["detail"]) for s in storage if s["name"] == "MAX_PARAM_VAL_LENGTH"}
    first_limit = min(limits, key=lambda v: tuple(int(x) for x in v.split(".")))
    out["ParamLenFirstRelease"], out["ParamLenFirst"] = first_limit, limits[first_limit]
    out["ParamLenLast"] = limits[max(limits, key=lambda v: tuple(int(x) for x in v.split(".")))]
    # tracking, from the call sites
    logging = repos(calls, lambda c: c["category"] in ("param", "metric", "artifact", "model", "tag", "dataset",
                                                        "autolog"))
    manual = repos(calls, lambda c: c["category"] in ("param", "metric"))
    autolog = repos(calls, lambda c: c["category"] == "autolog")
    metric_repos = repos(calls, lambda c: c["category"] == "metric")
    out["ReposLogMetrics"] = (len(metric_repos), n_pop)
    out["ReposLogParams"] = (len(repos(calls, lambda c: c["category"] == "param")), n_pop)
    out["ReposLogging"] = len(logging)
    out["ManualOnly"] = (len((manual - autolog) & logging), len(logging))
    out["AutologOnly"] = (len((autolog - manual) & logging), len(logging))
    out["AutologAndManual"] = (len(autolog & manual & logging), len(logging))
    out["OtherLoggingOnly"] = (len(logging - manual - autolog), len(logging))
    out["UsesSteps"] = (len(repos(calls, lambda c: c["category"] == "metric" and c["has_step"] == "true")),
                        len(metric_repos))
    out["ComputedKeys"] = (len(repos(calls, lambda c: c["category"] in ("param", "metric")
                                     and c["key_kind"] in ("fstring", "name", "call", "other"))), len(manual))
    out["LogsModels"] = (len(repos(calls, lambda c: c["api"].endswith(".log_model"))), n_pop)
    out["RegistersModels"] = (len(repos(calls, lambda c: c["category"] == "registry"
                                        or c["note"].startswith("registered_model_name="))), n_pop)
    out["LogsDatasets"] = (len(repos(calls, lambda c: c["category"] == "dataset")), n_pop)
    catalog = read_rows(results, "api_catalog.csv")
    latest = max((c["last_version"] for c in catalog if c["last_version"]),
                 key=lambda v: tuple(int(x) for x in re.findall(r"\d+", v)))
    out["LatestRelease"] = latest
    old = {c["api"] for c in catalog if c["deprecated_since"] or (c["last_version"] and c["last_version"] != latest)}
    out["DeprecatedApi"] = (len(repos(calls, lambda c: c["api"] in old and c["style"] != "unresolved")), n_pop)
    per_api: dict[str, set[str]] = {}
    for c in calls:
        if c["style"] != "unresolved":
            per_api.setdefault(c["api"], set()).add(c["repo"])
    top = max(per_api, key=lambda a: (len(per_api[a]), sum(c["api"] == a for c in calls), [-ord(ch) for ch in a]))
    out["TopApi"], out["TopApiRepos"] = top, (len(per_api[top]), n_pop)
    # traceability
    trace = [t for t in read_rows(results, "traceability.csv") if t["repo"] in population]
    for column, name in (("code_version_linked", "CodeVersionLinked"), ("env_linked", "EnvLinked"),
                         ("data_linked", "DataLinked")):
        out[name] = (sum(t[column] == "true" for t in trace), len(trace))
    out["ReposOrphanLogging"] = (sum(int(t["orphan_logging_sites"]) > 0 for t in trace), len(trace))
    out["ReposImplicitRun"] = (sum(int(t["implicit_run_sites"]) > 0 for t in trace), len(trace))
    mlproject = {r["repo"] for r in read_rows(results, "reproducibility.csv") if r["has_mlproject"] == "true"}
    out["MetricSitesReachable"] = (sum(int(t["metric_sites_reachable"]) for t in trace if t["repo"] in mlproject),
                                   sum(int(t["n_metric_sites"]) for t in trace if t["repo"] in mlproject))
    out["MetricSitesNoMLproject"] = sum(int(t["n_metric_sites"]) for t in trace if t["repo"] not in mlproject)
    CLUSTERS["MetricSitesReachable"] = {t["repo"]: (int(t["metric_sites_reachable"]), int(t["n_metric_sites"]))
                                        for t in trace if t["repo"] in mlproject and int(t["n_metric_sites"])}
    # reproducibility
    repro = [r for r in read_rows(results, "reproducibility.csv") if r["repo"] in population]
    declaring = [r for r in repro if r["n_deps"] != "0"]
    out["ReposMLproject"] = (sum(r["has_mlproject"] == "true" for r in repro), n_pop)
    out["EnvSpecNone"] = (sum(r["env_spec"] == "none" for r in repro), n_pop)
    out["PinAll"] = (sum(float(r["pinned_share"]) == 1 for r in declaring), len(declaring))
    out["PinNone"] = (sum(float(r["pinned_share"]) == 0 for r in declaring), len(declaring))
    out["PinUnderHalf"] = (sum(0 < float(r["pinned_share"]) < 0.5 for r in declaring), len(declaring))
    out["PinHalfOrMore"] = (sum(0.5 <= float(r["pinned_share"]) < 1 for r in declaring), len(declaring))
    out["PythonPinned"] = (sum(r["python_pinned"] == "true" for r in repro), n_pop)
    out["MlflowPinned"] = (sum(r["mlflow_pinned"] == "true" for r in repro), n_pop)
    out["SeedsSet"] = (sum(r["seeds_set"] == "true" for r in repro), n_pop)
    out["ReadinessMedian"] = statistics.median(float(r["readiness"]) for r in repro)
    eps = [e for e in read_rows(results, "entry_points.csv") if e["repo"] in population]
    required = {(p["repo"], p["mlproject_path"], p["entry_point"]) for p in read_rows(results, "parameters.csv")
                if p["required"] == "true"}
    out["EntryPointsNoArgs"] = (sum((e["repo"], e["mlproject_path"], e["entry_point"]) not in required for e in eps),
                                len(eps))
    docker = [m for m in read_rows(results, "mlprojects.csv") if m["repo"] in population and m["env_type"] == "docker_env"]
    if docker:
        out["DockerDigest"] = (sum(m["docker_pinned"] == "digest" for m in docker), len(docker))
    # threats
    # course work: the sample's names, descriptions and topics hold no phrase the rule leaves out, and no farm
    course = {"tutorial", "tutorials", "course", "courses", "coursework", "homework", "homeworks", "workshop",
              "workshops", "assignment", "assignments", "exercise", "exercises", "lab", "labs", "bootcamp", "bootcamps",
              "zoomcamp", "lecture", "lectures", "lesson", "lessons", "classroom", "seminar", "seminars", "practicum",
              "capstone", "semester", "syllabus", "mooc", "nanodegree", "udacity", "coursera", "udemy"}
    flagged = {m["repo"] for m in manifest if m["repo"] in population and course
               & {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])",
                                                 f"{m['repo']} {m['description']} {m['topics']}")}}
    out["TeachingRepos"] = (len(flagged), n_pop)
    copies = [m for m in manifest if m["status"] == "ok" and m["duplicate_of"]]
    out["DuplicateCopies"], out["DuplicateFamilies"] = len(copies), len({m["duplicate_of"] for m in copies})
    files = read_rows(results, "files.csv")
    code = [f for f in files if f["kind"] in ("python", "notebook") and f["repo"] in population]  # the population's
    unparsed = {(f["repo"], f["path"]) for f in code
                if f["status"] in ("problem", "skipped") or f["reason"].startswith("read in part")}
    problems = read_rows(results, "problems.csv")
    unparsed |= {(p["repo"], p["path"]) for p in problems if p["stage"] == "parse" and p["reason"].startswith("cell ")
                 and p["repo"] in population}
    out["FilesNotParsed"] = (len(unparsed), len(code))
    clone = {m["repo"]: m["clone_path"] for m in manifest}
    texts = [(corpus / clone[r] / p).read_bytes().lower() for r, p in unparsed if (corpus / clone[r] / p).is_file()]
    if texts:
        out["FilesNotParsedMlflow"] = (sum(b"mlflow" in t for t in texts), len(texts))
    out["FilesNotFetched"] = sum(p["stage"] == "mine" for p in problems)
    out["EnvProblems"] = sum(p["stage"] == "environment" for p in problems)
    edges: dict[str, list[tuple[str, bool, bool]]] = {}
    for repo in population:
        path = results / "graphs" / (repo.replace("/", "__") + ".graphml")
        if path.is_file():
            import networkx as nx
            g = nx.read_graphml(path)
            edges[repo] = [(d.get("kind", ""), str(d.get("by_name", "")).lower() == "true", bool(d.get("via")))
                           for _a, _b, d in g.edges(data=True)]
    if edges:
        out["CallEdges"] = sum(k == "calls" for e in edges.values() for k, _b, _v in e)
        out["ByNameEdges"] = sum(k == "calls" and b for e in edges.values() for k, b, _v in e)
        out["ReposByName"] = (sum(any(k == "calls" and b for k, b, _v in e) for e in edges.values()), len(edges))
        out["UnresolvedEdges"] = sum(k == "unresolved" for e in edges.values() for k, _b, _v in e)
        out["ReposUnresolved"] = (sum(any(k == "unresolved" for k, _b, _v in e) for e in edges.values()), len(edges))
    out["ClientInferred"] = sum(c["note"] == "client inferred from a parameter name" for c in calls)
    out["UnresolvedCalls"] = sum(c["style"] == "unresolved" for c in calls)
    # probe and re-run, when their files are there
    probe = read_rows(results / "probe", "probe.csv")
    if probe:
        release = max({p["release"] for p in probe}, key=lambda v: tuple(int(x) for x in v.split(".")))
        at = [p for p in probe if p["release"] == release]
        out["ProbeRelease"] = release
        for backend in {p["backend"] for p in at if p["outcome"] == "measured"}:
            suffix = backend.capitalize()
            mine_ = [p for p in at if p["backend"] == backend and p["outcome"] == "measured"]
            for p in mine_:
                if p["probe"] == "disk" and p["parameter"] == "bytes per run":
                    out[f"ProbeBytesPerRun{suffix}"] = float(p["value"])
            for kind, stem in (("search_runs", "Search"), ("get_metric_history", "History")):
                sized = [(int(p["parameter"].split()[2]), float(p["value"])) for p in mine_
                         if p["probe"] == kind and p["parameter"].startswith("latency at ")]
                if sized:
                    out[f"Probe{stem}Size{suffix}"], seconds = max(sized)
                    out[f"Probe{stem}{suffix}"] = seconds * 1000
        cases = [p for p in at if p["probe"] in ("precision metric", "precision param")]
        out["ProbeCases"] = len(cases)  # hand-designed cases: counts by outcome, named, no interval
        for outcome, name in (("exact", "ProbeKept"), ("changed", "ProbeChanged"), ("rejected", "ProbeRejected")):
            hit = sorted((p["parameter"], p["backend"]) for p in cases if p["outcome"] == outcome)
            out[name] = len(hit)
            if hit and outcome != "exact":
                out[name + "Cases"] = ", ".join(f"{a} ({b})" for a, b in hit)
        checks = [p for p in at if p["probe"] in ("param re-logged", "metric point repeated",
                                                  "concurrent writers, one run", "concurrent writers, one experiment",
                                                  "client killed mid-log_batch", "half-written file")
                  and not p["parameter"].endswith("expected")]
        bad = sorted((p["probe"], p["backend"]) for p in checks
                     if p["outcome"] in ("lost", "duplicated", "errors", "partial", "error", "skipped"))
        out["ProbeChecks"], out["ProbeIntegrityBad"] = len(checks), len(bad)
        if bad:
            out["ProbeIntegrityBadCases"] = ", ".join(f"{a} ({b})" for a, b in bad)
    rerun = [r for r in read_rows(results, "rerun.csv") if r["repo"] in population]  # the population's targets
    if rerun:
        built = [r for r in rerun if r["env_build"] == "ok"]
        buildable = [r for r in rerun if r["env_kind"] in ("python_env", "conda_env") and r["env_build"]]
        ran = [r for r in rerun if r["status"] == "succeeded"]
        compared = [r for r in ran if r["metrics_equal"] in ("true", "false")]
        out["RerunBuilt"] = (sum(r["env_build"] == "ok" for r in buildable), len(buildable))
        out["RerunRan"] = (len(ran), len(rerun))
        out["RerunSame"] = (sum(r["metrics_equal"] == "true" for r in compared), len(compared))
        out["RerunRanGivenBuilt"] = (sum(r["status"] == "succeeded" for r in built), len(built))
        seconds = sorted(float(r["build_seconds"]) + float(r["run_seconds"]) for r in ran)
        if len(seconds) >= 5:
            out["RerunMedianSeconds"] = statistics.median(seconds)
        else:
            out["RerunSeconds"] = " and ".join(f"{v:,.1f} s" for v in seconds) if len(seconds) < 3 else \
                ", ".join(f"{v:,.1f} s" for v in seconds[:-1]) + f" and {seconds[-1]:,.1f} s"
        asked = [r for r in rerun if r["python_requested"] and r["python_used"]]
        out["RerunPythonSubstituted"] = (sum(r["python_used"].split(".")[:2] != r["python_requested"].split(".")[:2]
                                             for r in asked), len(asked))
        out["RerunSandbox"] = json.loads((results / "rerun.csv.provenance.json").read_text())["sandbox"]
        policies = {r.get("network") or "none" for r in rerun}  # no column: the runs had no network
        out["RerunNetwork"] = {"none": "no network", "all": "the host's network"}[policies.pop()] \
            if len(policies) == 1 else "mixed"
    out.update(recompute_claims(results))  # what MLflow does, with its releases (Label facts)
    out.update(recompute_evolution(results, population))
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _pin(requirement: str) -> str:
    """The one release the ``;``-joined requirements pin with == (conda: =), '' for none or two."""
    found = {m.group(2) for part in requirement.split(";")
             if (m := re.fullmatch(r"mlflow(-skinny)?==?\s*v?([0-9][0-9.]*)", part.strip()))}
    return found.pop() if len(found) == 1 else ""


def _cluster(name: str, rows: list[dict[str, str]], hit: Callable[[dict[str, str]], bool]) -> tuple[int, int]:
    """(k, n) over unit rows clustering in repositories, each repository's part noted for ``_check_clusters``."""
    CLUSTERS[name] = {}
    for r in rows:
        k, n = CLUSTERS[name].get(r["repo"], (0, 0))
        CLUSTERS[name][r["repo"]] = (k + hit(r), n + 1)
    return sum(hit(r) for r in rows), len(rows)


def recompute_evolution(results: Path, population: set[str]) -> dict[str, object]:
    """The Evolution section's facts from history.csv and evolution.csv; the API categories from history.csv's
    per-category columns (the report reads history_api_usage.csv with api_catalog.csv's categories)."""
    history = [r for r in read_rows(results, "history.csv") if r["repo"] in population]
    if not history:
        return {}
    evolution = [e for e in read_rows(results, "evolution.csv") if e["repo"] in population and int(e["n_commits"])]
    dates = [_utc(r["committed_at"]) for r in history]
    out: dict[str, object] = {
        "HistoryRepos": len(evolution), "HistoryCommits": len(history),
        "HistoryIncomplete": sum(e["history"] != "complete" for e in evolution),
        "HistoryFirstMonth": min(dates).strftime("%Y-%m"), "HistoryLastMonth": max(dates).strftime("%Y-%m")}
    adopted = [e for e in evolution if e["adopted_commit"]]
    out["ReposAdopted"] = (len(adopted), len(evolution))
    if not adopted:
        return out
    n = len(adopted)
    out["AdoptedAtFirstCommit"] = (sum(e["adopted_commit"] == e["first_commit"] for e in adopted), n)
    months = Counter(_utc(e["adopted_at"]).strftime("%Y-%m") for e in adopted)
    peak = max(months.values())
    out.update(AdoptionFirstMonth=min(months), AdoptionLastMonth=max(months), AdoptionPeakRepos=peak,
               AdoptionPeakMonth=min(m for m, c in months.items() if c == peak))
    out["ReposAbandoned"] = (sum(e["head_uses_mlflow"] == "false" for e in adopted), n)
    out["ReposApisRemoved"] = (sum(bool(e["apis_removed"]) for e in adopted), n)
    out["ReposApisAdded"] = (sum(bool(e["apis_added"]) for e in adopted), n)
    out["ReposDeprecatedApiHistory"] = (sum(bool(e["deprecated_apis"]) for e in adopted), n)
    # API categories at each period's end: each repository's last row of history.csv dated in or before it
    years = {d.year for d in dates}
    by_year = max(years) - min(years) + 1 >= 3

    def period(d: datetime) -> tuple[int, int]:
        return (d.year, 0) if by_year else (d.year, (d.month - 1) // 3 + 1)

    first, last = period(min(dates)), period(max(dates))
    periods = []
    while True:
        periods.append(first)
        if first == last:
            break
        first = (first[0] + 1, 0) if by_year else (first[0] + first[1] // 4, first[1] % 4 + 1)
    categories = [c for c in ("autolog", "tracing", "registry", "dataset", "param", "metric", "tag", "model",
                              "artifact", "experiment", "config", "run")]
    ever = {c: len({r["repo"] for r in history if int(r[f"n_{c}"])}) for c in categories}
    top = sorted((c for c in categories if ever[c]), key=lambda c: (-ever[c], c))[:3]
    table = []
    for p in periods:
        state = {}
        for r, d in zip(history, dates):
            if period(d) <= p:
                state[r["repo"]] = r  # the last in the file's order: history order
        using = [r for r in state.values() if int(r["n_call_sites"])]
        if using:
            label = str(p[0]) if by_year else f"{p[0]}-Q{p[1]}"
            table.append((label, {c: (sum(int(r[f"n_{c}"]) > 0 for r in using), len(using)) for c in top}))
    if table and top:
        first_row = next((row for row in table if next(iter(row[1].values()))[1] >= 5), table[0])
        out["EvolutionFirstPeriod"], out["EvolutionLastPeriod"] = first_row[0], table[-1][0]
        for c in top:
            out[f"ApiShare{c.capitalize()}First"], out[f"ApiShare{c.capitalize()}Last"] = first_row[1][c], table[-1][1][c]
    # pins
    using = [r for r in history if int(r["n_call_sites"])]
    declaring = [r for r in using if r["mlflow_requirement"]]
    out["CommitsDeclaringMlflow"] = _cluster("CommitsDeclaringMlflow", using, lambda r: bool(r["mlflow_requirement"]))
    out["CommitsPinningMlflow"] = _cluster("CommitsPinningMlflow", declaring, lambda r: bool(_pin(r["mlflow_requirement"])))
    out["PinnedReleases"] = len({_pin(r["mlflow_requirement"]) for r in history} - {""})
    out["ReposPinnedEver"] = (sum(int(e["n_pinned_commits"]) > 0 for e in adopted), n)
    dated = [e for e in evolution if e["n_pin_dated_commits"] not in ("", "0") and e["n_pin_behind_commits"]]
    if dated:
        out["PinBehindCommits"] = (sum(int(e["n_pin_behind_commits"]) for e in dated),
                                   sum(int(e["n_pin_dated_commits"]) for e in dated))
    head = [e for e in adopted if e["releases_behind_head"]]
    if head:
        late = [e for e in head if int(e["releases_behind_head"])]
        out["ReposPinBehindHead"] = (len(late), len(head))
        if late:
            out["PinReleasesBehindHeadMedian"] = statistics.median(int(e["releases_behind_head"]) for e in late)
            out["PinDaysBehindHeadMedian"] = statistics.median(int(e["days_behind_head"]) for e in late)
    judged = [e for e in adopted if e["n_deprecated_after_release"]]
    if judged:
        late = [e for e in judged if int(e["n_deprecated_after_release"])]
        out["ReposDeprecatedAfterRelease"] = (len(late), len(judged))
        days = [int(e["deprecated_use_days"]) for e in late if e["deprecated_use_days"]]
        if days:
            out["DeprecatedUseDaysMedian"], out["DeprecatedUseDaysMax"] = statistics.median(days), max(days)
    # co-change
    code = [r for r in history if r["changes_code"] == "true"]
    if code:
        out["CoChangeCommits"] = _cluster("CoChangeCommits", code, lambda r: r["changes_mlproject_env"] == "true")
        mlproject = {r["repo"] for r in history if int(r["n_mlproject_files"])}
        inside = [r for r in code if r["repo"] in mlproject]
        if inside:
            out["CoChangeCommitsMLproject"] = _cluster("CoChangeCommitsMLproject", inside,
                                                       lambda r: r["changes_mlproject_env"] == "true")
    return out


def _check_clusters(row: dict[str, str], parts: dict[str, tuple[int, int]], name: str) -> None:
    """A fact over units clustering in repositories: its per-repository view and concentration, and bounds
    no bootstrap draw can leave (each draw's pooled share lies between the smallest and largest repository's)."""
    assert row["ci_method"] in ("cluster bootstrap", "none"), name
    assert int(row["n_clusters"]) == len(parts), name
    assert int(row["clusters_with_any"]) == sum(k > 0 for k, _n in parts.values()), name
    largest = max(sorted(parts), key=lambda r: (parts[r][1], parts[r][0]))
    assert row["largest_cluster"] == largest and int(row["largest_cluster_units"]) == parts[largest][1], name
    k, n = (sum(k for k, _n in parts.values()) - parts[largest][0], sum(n for _k, n in parts.values()) - parts[largest][1])
    assert int(row["of_without_largest"]) == n, name
    if n:
        assert math.isclose(float(row["value_without_largest"]), round(k / n, 4)), name
    if len(parts) >= 5:
        assert math.isclose(float(row["median_per_cluster"]), round(statistics.median(k / n for k, n in parts.values()), 4))
    else:  # too few for a median: none (the text lists each repository)
        assert row["median_per_cluster"] == "", name
    if row["ci_method"] == "cluster bootstrap":
        shares = [k / n for k, n in parts.values()]
        assert min(shares) - 1e-4 <= float(row["ci_low"]) <= float(row["share"]) <= float(row["ci_high"]) \
            <= max(shares) + 1e-4, name


def _check_every_fact(results: Path, corpus: Path) -> None:
    facts = read_facts(results)
    expected = recompute(results, corpus)
    assert set(facts) == set(expected)  # every number the report computed is recomputed here, and no other
    for name, value in expected.items():
        row = facts[name]
        if isinstance(value, tuple):
            assert (int(row["n"]), int(row["of"])) == value, name
            low, high = wilson(*value)
            if row["ci_method"] == "wilson":
                assert math.isclose(float(row["ci_low"]), round(low, 4)) and math.isclose(float(row["ci_high"]),
                                                                                          round(high, 4)), name
            if name in CLUSTERS:
                _check_clusters(row, CLUSTERS[name], name)
        elif isinstance(value, str):
            assert row["value"] == value, name
        else:
            assert math.isclose(float(row["value"]), float(value), rel_tol=1e-6), name  # type: ignore[arg-type]


def test_every_number_of_the_findings_is_recomputed_from_the_csvs(analyzed: tuple[Path, Path]) -> None:
    _check_every_fact(*analyzed)
    facts = read_facts(analyzed[0])
    # what this corpus holds, so the recomputation is not vacuous
    assert (facts["ReposMLproject"]["n"], facts["ReposMLproject"]["of"]) == ("2", "3")
    assert facts["TeachingRepos"]["n"] == "1" and facts["DuplicateCopies"]["value"] == "1"
    assert facts["NStoredRuns"]["value"] == "2" and facts["StoredMetricsRepeated"]["n"] == "1"
    assert facts["LastRelease"]["value"] == "10.0.0" and facts["ParamLenLast"]["value"] == "6000"
    assert facts["ByNameEdges"]["value"] != "0" and facts["FilesNotParsedMlflow"]["n"] == "2"
    # the histories: one commit each, three for the server (its copy is out of the population); the project's and
    # the tutorial's commit change code and an MLproject, the server's three change code only
    assert facts["HistoryCommits"]["value"] == "5" and (facts["ReposAdopted"]["n"], facts["ReposAdopted"]["of"]) == ("3", "3")
    assert (facts["CoChangeCommits"]["n"], facts["CoChangeCommits"]["of"]) == ("2", "5")
    assert (facts["CommitsPinningMlflow"]["n"], facts["CommitsPinningMlflow"]["of"]) == ("2", "2")  # mlflow==2.9.2


def test_every_number_with_the_probe_and_the_reruns_is_recomputed(measured: Path, analyzed: tuple[Path, Path]) -> None:
    _check_every_fact(measured, analyzed[1])
    facts = read_facts(measured)
    assert facts["ProbeRelease"]["value"] == "3.18.0" and facts["ProbeSearchFile"]["value"] == "50.0"
    # one re-run had a committed run's metrics to compare with, and gave them; two of the three environments
    # to build were built (the docker_env target has none built here); one success: its seconds listed, no median
    assert (facts["RerunSame"]["n"], facts["RerunSame"]["of"]) == ("1", "1")
    assert (facts["RerunBuilt"]["n"], facts["RerunBuilt"]["of"]) == ("2", "3")
    assert facts["RerunSeconds"]["value"] == "60.0 s" and "RerunMedianSeconds" not in facts


def test_a_tracking_server_on_localhost_is_not_counted_as_a_remote_one(tmp_path: Path) -> None:
    """The repositories naming a tracking server split into those naming one on another host and those whose
    servers are all on their own machine; the two parts add up to the whole."""
    from analysis.ftypes import TrackingUri
    from analysis.report.findings import compute_facts
    from analysis.report.inputs import ReportInputs
    from analysis.rows import ReproducibilityRow, TrackingUriRow
    from analysis.tables import TABLES, cells, flat
    from miner.fileio import write_csv

    def uri(repo: str, value: str, scheme: str, host_kind: str) -> TrackingUriRow:
        return TrackingUriRow(repo, "train.py", TrackingUri(3, "code", "set_tracking_uri", value, scheme, host_kind))

    uris = [uri("a/local", "http://localhost:5000", "http", "localhost"),
            uri("b/loopback", "http://127.0.0.1:5000", "http", "localhost"),
            uri("c/remote", "https://mlflow.example.org", "https", "remote"),
            uri("d/both", "http://localhost:5000", "http", "localhost"),
            uri("d/both", "http://tracking.example.org", "http", "remote"),
            uri("e/file", "file:///tmp/mlruns", "file", "none")]
    write_csv(tmp_path / "tracking_uris.csv", TABLES["uris"].columns, (cells(flat(r)) for r in uris))
    repos = ["a/local", "b/loopback", "c/remote", "d/both", "e/file", "f/none"]
    repro = [ReproducibilityRow(r, False, "none", 0.0, 0, False, False, "", False, False, False, 0.0) for r in repos]
    write_csv(tmp_path / "reproducibility.csv", TABLES["reproducibility"].columns, (cells(flat(r)) for r in repro))
    facts = compute_facts(ReportInputs(tmp_path))
    server, remote, local = facts["ReposURIServer"], facts["ReposURIServerRemote"], facts["ReposURIServerLocalOnly"]
    assert (server.n, server.of) == (4, 5)  # of the five repositories setting a URI
    assert (remote.n, remote.of) == (2, 4) and (local.n, local.of) == (2, 4)  # c/remote, d/both; a/local, b/loopback
    assert remote.n + local.n == server.n
