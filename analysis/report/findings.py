"""The facts the report quotes, computed from its inputs, one function per question (corpus, storage,
tracking, traceability, reproducibility); the probe's and the re-runs' facts when they were given; the
history's (``analysis.report.evolution_facts``) when ``analyze --history`` wrote its tables.

Every number of a finding is a fact computed here from the CSVs (``analysis.report.facts``); no number
is typed by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analysis.report.facts import (
    T_API,
    T_ENTRY_POINTS,
    T_FUNNEL,
    T_PROBE,
    T_REPRO,
    T_RERUN,
    T_STORAGE_MODEL,
    T_STORED_METRICS,
    T_STORES,
    T_TRACE,
    T_TRACKING,
    T_URI,
    Facts,
    Label,
    Number,
    Share,
    backend_name,
)
from analysis.report.evolution_facts import add_evolution_facts
from analysis.report.inputs import ReportInputs
from analysis.statistics.clusters import by_cluster, clustered, from_cells, from_totals
from analysis.statistics.shares import FEWEST_FOR_QUANTILES
from analysis.versions import version_key

# outcomes of probe.csv's integrity rows that mean data was lost, duplicated or could not be read
PROBE_BAD_OUTCOMES = frozenset({"lost", "duplicated", "errors", "partial", "error", "skipped"})
PROBE_INTEGRITY = ("param re-logged", "metric point repeated", "concurrent writers, one run",
                   "concurrent writers, one experiment", "client killed mid-log_batch", "half-written file")


def _in(frame: pd.DataFrame, repos: Iterable[str]) -> pd.DataFrame:
    """The rows of ``frame`` whose repository is one of ``repos``."""
    return frame[frame["repo"].isin(set(repos))] if "repo" in frame else frame.iloc[0:0]


def _practices(facts: Facts, inputs: ReportInputs, table: str, wanted: Iterable[tuple[str, str, str]]) -> None:
    """A share for each (practice, fact name, noun) of ``practices.csv``, in the report's population."""
    practices = inputs.table("practices.csv")
    if "practice" not in practices:
        return
    for practice, name, noun in wanted:
        rows = practices[(practices["population"] == inputs.population_name) & (practices["practice"] == practice)]
        if len(rows) == 1:
            row = rows.iloc[0]
            facts.add(Share(name, int(row["n_repos"]), int(row["n_eligible"]), noun, "practices.csv", table,
                            f"practices.csv '{practice}': {row['definition']}"))


def _statistic(facts: Facts, stats: pd.DataFrame, statistic: str, name: str, noun: str, *,
               ratio: str = "", table: str = T_STORES) -> None:
    """A row of ``store_statistics.csv``: a share, or with ``ratio`` (its unit) the ratio in ``share``; runs and
    metric histories with their cluster view (``analysis.statistics.clusters``); none over nothing."""
    rows = stats[stats["statistic"] == statistic] if "statistic" in stats else stats
    if len(rows) != 1:
        return
    row = rows.iloc[0]
    view = from_cells(row.to_dict())
    definition = f"store_statistics.csv '{statistic}', the rows of the report's population: {row['definition']}"
    if ratio:
        if int(row["denominator"]):
            facts.add(Number(name, float(row["share"]), ratio, "store_statistics.csv", table, definition,
                             cluster=view, per=str(row.get("unit", ""))))
    elif int(row["denominator"]):  # none: no committed run to say anything of (the sentence on them drops)
        facts.add(Share(name, int(row["numerator"]), int(row["denominator"]), noun, "store_statistics.csv",
                        table, definition, interval=view is None or view.low is not None, cluster=view))


def population_api_usage(inputs: ReportInputs) -> pd.DataFrame:
    """``api_usage.csv``'s rows of the report's population (``analyze`` writes them for one per family and all),
    most used first."""
    return inputs.population_rows("api_usage.csv")


def population_store_statistics(inputs: ReportInputs) -> pd.DataFrame:
    """``store_statistics.csv``'s rows of the report's population (``analyze`` writes them for each)."""
    return inputs.population_rows("store_statistics.csv")


def _corpus_facts(facts: Facts, inputs: ReportInputs) -> None:
    facts.add(Number("Repos", len(inputs.population), "", "reproducibility.csv", T_FUNNEL,
                     "repositories the shares are taken over: analyzed (a reproducibility.csv row), "
                     + ("every one" if inputs.all_repos else "one per duplicate family (manifest.csv duplicate_of)")))


URI_KINDS = (("ReposURIServer", "a tracking server (http or https)", ("http", "https")),
             ("ReposURILocal", "a local file or SQLite store", ("file", "sqlite")),
             ("ReposURIDatabase", "a database server", ("postgresql", "mysql", "mssql")),
             ("ReposURIDatabricks", "Databricks", ("databricks", "databricks-uc", "uc")),
             ("ReposURIUnknown", "only a value computed at run time or read from the environment",
              ("computed", "env-only")))


def uri_scheme_kind(scheme: str) -> str:
    """The fact name of a tracking URI scheme's kind ('' for another scheme); ``postgresql+psycopg2`` is postgresql."""
    base = scheme.split("+", 1)[0]
    return next((name for name, _label, schemes in URI_KINDS if base in schemes), "")


def _storage_facts(facts: Facts, inputs: ReportInputs) -> None:
    uris = _in(inputs.table("tracking_uris.csv"), inputs.population)
    if inputs.population and "scheme" in uris:
        setting = set(uris["repo"])
        facts.add(Share("ReposTrackingURI", len(setting), len(inputs.population), "repositories",
                        "tracking_uris.csv", T_URI, "repositories with a tracking_uris.csv row (code, notebook, "
                        ".env, shell, CI...), over the population"))
        kinds = uris.assign(kind=uris["scheme"].map(uri_scheme_kind))
        for name, label, schemes in URI_KINDS:
            if setting:
                hit = set(kinds.loc[kinds["kind"] == name, "repo"])
                facts.add(Share(name, len(hit), len(setting), "repositories setting one", "tracking_uris.csv", T_URI,
                                f"repositories setting a tracking URI of scheme {', '.join(schemes)} ({label}), "
                                "among those setting one"))
        # a tracking server on the author's own machine (localhost, 127.0.0.1...) is not one a run elsewhere reaches
        servers = kinds[kinds["kind"] == "ReposURIServer"]
        named = set(servers["repo"])
        if named:
            remote = set(servers.loc[servers["host_kind"] == "remote", "repo"])
            facts.add(Share("ReposURIServerRemote", len(remote), len(named), "repositories naming one",
                            "tracking_uris.csv", T_URI, "repositories naming a tracking server on another host (host_kind remote), among "
                            "those naming a tracking server"))
            facts.add(Share("ReposURIServerLocalOnly", len(named - remote), len(named), "repositories naming one",
                            "tracking_uris.csv", T_URI, "repositories whose tracking servers are all on their own "
                            "machine (localhost, 127.0.0.1, ::1, 0.0.0.0, host.docker.internal: host_kind localhost), "
                            "among those naming a tracking server"))
    stats = population_store_statistics(inputs)
    _statistic(facts, stats, "repos committing a store", "ReposStore", "repositories")
    _statistic(facts, stats, "bytes per run", "StoreBytesPerRun", "", ratio="B")
    _statistic(facts, stats, "runs with an absolute local artifact URI", "RunsAbsArtifactURI", "runs")
    if "ReposStore" in facts:
        stores = _in(inputs.table("stores.csv"), inputs.population)
        facts.add(Number("NStores", len(stores), "", "stores.csv", T_STORES,
                         "rows of stores.csv (committed stores) of the population"))
        runs = _in(inputs.table("stored_runs.csv"), inputs.population)
        facts.add(Number("NStoredRuns", len(runs), "", "stored_runs.csv", T_STORES,
                         "rows of stored_runs.csv (runs of committed stores, deleted ones included) of the population"))
    storage = inputs.table("mlflow_storage.csv")
    if "release" in storage and len(storage):
        releases = sorted(set(storage["release"]), key=version_key)
        source, definition = "mlflow_storage.csv", "releases of mlflow_storage.csv (MLflow's source read)"
        facts.add(Number("NReleasesRead", len(releases), "", source, T_STORAGE_MODEL, definition))
        facts.add(Label("FirstRelease", releases[0], source, T_STORAGE_MODEL, "the oldest " + definition[:-1] + ")"))
        facts.add(Label("LastRelease", releases[-1], source, T_STORAGE_MODEL, "the newest " + definition[:-1] + ")"))
        tables = storage[storage["kind"] == "sql_table"].groupby("release").size()
        for name, release in (("SqlTablesFirst", releases[0]), ("SqlTablesLast", releases[-1])):
            facts.add(Number(name, int(tables.get(release, 0)), "", source, T_STORAGE_MODEL,
                             f"sql_table rows of release {release} in mlflow_storage.csv"))
        limit = storage[(storage["kind"] == "limit") & (storage["name"] == "MAX_PARAM_VAL_LENGTH")]
        limit = limit[limit["detail"].str.fullmatch(r"\d+")]
        if len(limit):
            ordered = sorted(limit.itertuples(), key=lambda r: version_key(str(r.release)))
            first, last = ordered[0], ordered[-1]
            facts.add(Label("ParamLenFirstRelease", str(first.release), source, T_STORAGE_MODEL,
                            "the oldest release defining MAX_PARAM_VAL_LENGTH"))
            facts.add(Number("ParamLenFirst", int(str(first.detail)), "characters", source, T_STORAGE_MODEL,
                             f"MAX_PARAM_VAL_LENGTH of MLflow {first.release}"))
            facts.add(Number("ParamLenLast", int(str(last.detail)), "characters", source, T_STORAGE_MODEL,
                             f"MAX_PARAM_VAL_LENGTH of MLflow {last.release}"))
    _probe_capacity_facts(facts, inputs.probe_table())


def probe_release(probe: pd.DataFrame) -> str:
    """The newest release the probe measured anything for ('' when none)."""
    if "outcome" not in probe:
        return ""
    measured = probe[~probe["probe"].isin(["environment", "workload"])]
    releases = sorted(set(measured["release"]), key=version_key)
    return releases[-1] if releases else ""


def _probe_capacity_facts(facts: Facts, probe: pd.DataFrame) -> None:
    release = probe_release(probe)
    if not release:
        return
    facts.add(Label("ProbeRelease", release, "probe.csv", T_PROBE, "the newest MLflow release probe.csv measured"))
    rows = probe[(probe["release"] == release) & (probe["outcome"] == "measured")]
    for backend in sorted(set(rows["backend"])):
        mine = rows[rows["backend"] == backend]
        suffix = backend_name(backend)
        disk = mine[(mine["probe"] == "disk") & (mine["parameter"] == "bytes per run")]
        if len(disk):
            facts.add(Number(f"ProbeBytesPerRun{suffix}", float(disk.iloc[0]["value"]), "B", "probe.csv", T_PROBE,
                             f"probe.csv disk 'bytes per run', MLflow {release}, {backend}"))
        for probe_name, stem, unit in (("search_runs", "Search", "runs"), ("get_metric_history", "History", "points")):
            sized = mine[mine["probe"] == probe_name].copy()
            sized["size"] = sized["parameter"].str.extract(r"latency at (\d+) ", expand=False)
            sized = sized.dropna(subset=["size"])
            if len(sized):
                largest = sized.loc[sized["size"].astype(int).idxmax()]
                facts.add(Number(f"Probe{stem}Size{suffix}", int(largest["size"]), unit, "probe.csv", T_PROBE,
                                 f"the largest size probe.csv timed {probe_name} at, MLflow {release}, {backend}"))
                facts.add(Number(f"Probe{stem}{suffix}", float(largest["value"]) * 1000, "ms", "probe.csv", T_PROBE,
                                 f"probe.csv {probe_name} '{largest['parameter']}' (median), MLflow {release}, "
                                 f"{backend}", digits=1))


def _tracking_facts(facts: Facts, inputs: ReportInputs) -> None:
    _practices(facts, inputs, T_TRACKING, (
        ("logs metrics", "ReposLogMetrics", "repositories"), ("logs params", "ReposLogParams", "repositories"),
        ("manual only", "ManualOnly", "repositories logging"), ("autolog only", "AutologOnly", "repositories logging"),
        ("autolog and manual", "AutologAndManual", "repositories logging"),
        ("other logging only", "OtherLoggingOnly", "repositories logging"),
        ("uses steps", "UsesSteps", "repositories logging metrics"),
        ("computed keys", "ComputedKeys", "repositories logging by hand"),
        ("logs models", "LogsModels", "repositories"), ("registers models", "RegistersModels", "repositories"),
        ("logs datasets", "LogsDatasets", "repositories"),
        ("uses an API deprecated or removed by the latest release", "DeprecatedApi", "repositories")))
    if "ManualOnly" in facts:
        manual = facts["ManualOnly"]
        assert isinstance(manual, Share)
        facts.add(Number("ReposLogging", manual.of, "", "practices.csv", T_TRACKING,
                         "n_eligible of practices.csv 'manual only': repositories with any logging call"))
    usage = population_api_usage(inputs)
    if "api" in usage and len(usage):
        top = usage.iloc[0]  # api_usage.csv is sorted by repositories, then call sites
        facts.add(Label("TopApi", str(top["api"]), "api_usage.csv", T_API, "the first row of api_usage.csv's "
                        "rows of the report's population (most repositories, then most call sites)"))
        facts.add(Share("TopApiRepos", int(top["n_repos"]), int(top["n_eligible"]), "repositories", "api_usage.csv",
                        T_API, f"n_repos of n_eligible of api_usage.csv's first row ({top['api']})"))
    catalog = inputs.table("api_catalog.csv")
    if "last_version" in catalog and len(catalog):
        latest = sorted(set(catalog["last_version"]) - {""}, key=version_key)
        if latest:
            facts.add(Label("LatestRelease", latest[-1], "api_catalog.csv", T_API,
                            "the newest last_version of api_catalog.csv: the latest release read"))
    stats = population_store_statistics(inputs)
    _statistic(facts, stats, "runs left FAILED", "RunsFailed", "runs")
    _statistic(facts, stats, "runs left RUNNING", "RunsRunning", "runs")
    _statistic(facts, stats, "metric histories with NaN or infinite values", "StoredMetricsNonFinite",
               "metric histories", table=T_STORED_METRICS)
    _statistic(facts, stats, "metric histories storing a point twice", "StoredMetricsRepeated", "metric histories",
               table=T_STORED_METRICS)
    _probe_quality_facts(facts, inputs.probe_table())


PROBE_CASE_OUTCOMES = (("exact", "ProbeKept", "came back exactly as logged"),
                       ("changed", "ProbeChanged", "came back changed"),
                       ("rejected", "ProbeRejected", "were rejected by MLflow"))


def _case_names(rows: pd.DataFrame) -> str:
    """Named probe cases: ``float16 0.1 (file), empty value (sqlite)``."""
    return ", ".join(f"{r.parameter} ({r.backend})" for r in rows.sort_values(["parameter", "backend"]).itertuples())


def _probe_quality_facts(facts: Facts, probe: pd.DataFrame) -> None:
    """Counts of named, hand-designed cases by outcome: no interval (they are no sample of anything)."""
    release = probe_release(probe)
    if not release:
        return
    rows = probe[probe["release"] == release]
    cases = rows[rows["probe"].isin(["precision metric", "precision param"])]
    if len(cases):
        facts.add(Number("ProbeCases", len(cases), "", "probe.csv", T_PROBE,
                         f"probe.csv 'precision metric' and 'precision param' rows of MLflow {release} (one per case "
                         "and backend)"))
        for outcome, name, what in PROBE_CASE_OUTCOMES:
            hit = cases[cases["outcome"] == outcome]
            facts.add(Number(name, len(hit), "", "probe.csv", T_PROBE,
                             f"of those rows, outcome {outcome} (the value or key {what})"))
            if outcome != "exact" and len(hit):
                facts.add(Label(name + "Cases", _case_names(hit), "probe.csv", T_PROBE,
                                f"the cases (parameter, backend) of outcome {outcome}"))
    checks = rows[rows["probe"].isin(PROBE_INTEGRITY) & ~rows["parameter"].str.endswith("expected")]
    if len(checks):
        bad = checks[checks["outcome"].isin(PROBE_BAD_OUTCOMES)]
        facts.add(Number("ProbeChecks", len(checks), "", "probe.csv", T_PROBE,
                         f"probe.csv integrity rows of MLflow {release}"))
        facts.add(Number("ProbeIntegrityBad", len(bad), "", "probe.csv", T_PROBE,
                         "of those rows, outcome one of " + ", ".join(sorted(PROBE_BAD_OUTCOMES))))
        if len(bad):
            facts.add(Label("ProbeIntegrityBadCases", ", ".join(f"{r.probe} ({r.backend})" for r in
                                                                bad.sort_values(["probe", "backend"]).itertuples()),
                            "probe.csv", T_PROBE, "the integrity checks (probe, backend) that lost, duplicated or "
                            "could not read data"))


def _traceability_facts(facts: Facts, inputs: ReportInputs) -> None:
    trace = _in(inputs.table("traceability.csv"), inputs.population)
    if len(trace):
        n = len(trace)
        for column, name, what in (("code_version_linked", "CodeVersionLinked", "runs tied to a code version"),
                                   ("env_linked", "EnvLinked", "an environment named by the MLproject"),
                                   ("data_linked", "DataLinked", "a dataset call")):
            facts.add(Share(name, int(trace[column].astype(bool).sum()), n, "repositories", "traceability.csv", T_TRACE,
                            f"traceability.csv {column} = true ({what}), over the population"))
        for column, name, what in (("orphan_logging_sites", "ReposOrphanLogging",
                                    "logging in code no entry point, script or notebook reaches"),
                                   ("implicit_run_sites", "ReposImplicitRun",
                                    "fluent logging outside start_run in a file starting no run")):
            facts.add(Share(name, int((trace[column] > 0).sum()), n, "repositories",
                            "traceability.csv", T_TRACE, f"traceability.csv {column} above 0 ({what})"))
        # reachable from an entry point: only where an MLproject declares entry points can a site be
        repro = _in(inputs.table("reproducibility.csv"), inputs.population)
        with_mlproject = set(repro.loc[repro["has_mlproject"].astype(bool), "repo"]) if "has_mlproject" in repro else set()
        inside = trace[trace["repo"].isin(with_mlproject)]
        outside = int(trace.loc[~trace["repo"].isin(with_mlproject), "n_metric_sites"].sum())
        if int(trace["n_metric_sites"].sum()):
            view = clustered(from_totals(dict(zip(inside["repo"], inside["metric_sites_reachable"].astype(float))),
                                         dict(zip(inside["repo"], inside["n_metric_sites"].astype(int)))))
            facts.add(Share("MetricSitesReachable", int(view.k), view.n,
                            "metric-logging call sites of repositories with an MLproject", "traceability.csv", T_TRACE,
                            "sum of metric_sites_reachable over sum of n_metric_sites, repositories with an MLproject "
                            "(reproducibility.csv has_mlproject); sites cluster in repositories: a bootstrap over "
                            "them", interval=view.low is not None, cluster=view))
            facts.add(Number("MetricSitesNoMLproject", outside, "", "traceability.csv", T_TRACE,
                             "sum of n_metric_sites of repositories without an MLproject (no entry point to reach "
                             "them from)"))
    stats = population_store_statistics(inputs)
    _statistic(facts, stats, "runs with a git commit", "RunsGitCommit", "runs")
    _statistic(facts, stats, "commits found in the clone's history", "CommitsInHistory", "recorded commits")
    _statistic(facts, stats, "runs whose source file exists", "RunsSourceExists", "runs")
    _statistic(facts, stats, "runs with an entry point", "RunsEntryPoint", "runs")
    _statistic(facts, stats, "runs whose params all match the MLproject", "RunsParamsMatch", "runs of a declared entry point")
    _statistic(facts, stats, "runs whose params all match the MLproject at their recorded commit",
               "RunsParamsMatchAtCommit", "runs judged at their recorded commit")
    _statistic(facts, stats, "runs judged otherwise at their recorded commit than at HEAD", "RunsParamsOtherwiseAtCommit",
               "runs judged at their recorded commit and at HEAD")


def _reproducibility_facts(facts: Facts, inputs: ReportInputs) -> None:
    _practices(facts, inputs, T_REPRO, (
        ("MLproject present", "ReposMLproject", "repositories"), ("env spec: none", "EnvSpecNone", "repositories"),
        ("exact pinning share 1", "PinAll", "repositories declaring dependencies"),
        ("exact pinning share 0", "PinNone", "repositories declaring dependencies"),
        ("exact pinning share (0, 0.5)", "PinUnderHalf", "repositories declaring dependencies"),
        ("exact pinning share [0.5, 1)", "PinHalfOrMore", "repositories declaring dependencies"),
        ("python pinned", "PythonPinned", "repositories"), ("mlflow pinned", "MlflowPinned", "repositories"),
        ("seeds set", "SeedsSet", "repositories")))
    repro = _in(inputs.table("reproducibility.csv"), inputs.population)
    readiness = repro["readiness"].dropna() if "readiness" in repro else pd.Series(dtype=float)
    if len(readiness):
        facts.add(Number("ReadinessMedian", float(readiness.median()), "", "reproducibility.csv", T_REPRO,
                         "median readiness score (0 to 1, docs/design.md) over the population", digits=2))
    entry_points = _in(inputs.table("entry_points.csv"), inputs.population)
    if len(entry_points):
        params = _in(inputs.table("parameters.csv"), inputs.population)
        keys = ["repo", "mlproject_path", "entry_point"]
        required = set(map(tuple, params.loc[params["required"].astype(bool), keys].to_numpy())) if len(params) else set()
        free = [key not in required for key in map(tuple, entry_points[keys].to_numpy())]
        view = clustered(by_cluster(entry_points["repo"], free))
        facts.add(Share("EntryPointsNoArgs", int(view.k), view.n, "entry points", "parameters.csv",
                        T_ENTRY_POINTS, "entry points (entry_points.csv) with no parameter required = true in "
                        "parameters.csv: they run without arguments; entry points cluster in repositories: a "
                        "bootstrap over them", interval=view.low is not None, cluster=view))
    mlprojects = _in(inputs.table("mlprojects.csv"), inputs.population)
    if "env_type" in mlprojects:
        docker = mlprojects[mlprojects["env_type"] == "docker_env"]
        if len(docker):
            view = clustered(by_cluster(docker["repo"], docker["docker_pinned"] == "digest"))
            facts.add(Share("DockerDigest", int(view.k), view.n, "docker_env MLprojects", "mlprojects.csv",
                            T_ENTRY_POINTS, "mlprojects.csv rows of env_type docker_env whose image is pinned by "
                            "digest (MLprojects cluster in repositories)", interval=view.low is not None,
                            cluster=view))
    _rerun_facts(facts, inputs)


def rerun_rates(inputs: ReportInputs) -> pd.DataFrame:
    """The rates of ``analysis.rerun.statistics`` (built, ran, same given compared, ...) over ``rerun.csv``'s rows."""
    from analysis.rerun.statistics import rerun_statistics

    rerun = inputs.rerun_table()
    if "status" not in rerun or rerun.empty:
        return pd.DataFrame()
    return inputs.cached("rerun_rates", lambda: rerun_statistics(rerun).rates)


def _rerun_facts(facts: Facts, inputs: ReportInputs) -> None:
    rates = rerun_rates(inputs)
    if rates.empty:
        return
    for rate, name, noun in (("built", "RerunBuilt", "targets with an environment to build"),
                             ("ran", "RerunRan", "entry points re-run"),
                             ("same given compared", "RerunSame", "re-runs with committed metrics to compare"),
                             ("ran given built", "RerunRanGivenBuilt", "targets built")):
        row = rates[rates["rate"] == rate]
        if len(row) == 1:  # a rate over no target is kept: it says it was not measured
            cells = row.iloc[0].to_dict()
            view = from_cells({**cells, "numerator": cells["n"], "denominator": cells["n_eligible"]})
            facts.add(Share(name, int(cells["n"]), int(cells["n_eligible"]), noun, "rerun.csv", T_RERUN,
                            f"rerun rate '{rate}' (analysis/rerun/statistics.py; targets cluster in repositories: a "
                            f"bootstrap over them): {cells['definition']}",
                            interval=view is None or view.low is not None, cluster=view))
    from analysis.rerun.statistics import one_per_target

    rerun = one_per_target(inputs.rerun_table())  # a target run under both driver choices counts once, as in the rates
    ran = rerun["status"] == "succeeded"
    if int(ran.sum()):
        # rerun.csv has no row type yet: its numbers are read from its text here
        seconds = (pd.to_numeric(rerun.loc[ran, "build_seconds"], errors="coerce").fillna(0)
                   + pd.to_numeric(rerun.loc[ran, "run_seconds"], errors="coerce").fillna(0))
        if len(seconds) >= FEWEST_FOR_QUANTILES:
            facts.add(Number("RerunMedianSeconds", float(seconds.median()), "s", "rerun.csv", T_RERUN,
                             "median of build_seconds + run_seconds over the rerun.csv rows that succeeded", digits=1))
        else:  # too few for a median: each one
            values = [f"{v:,.1f} s" for v in sorted(seconds)]
            facts.add(Label("RerunSeconds", values[0] if len(values) == 1 else
                            ", ".join(values[:-1]) + " and " + values[-1], "rerun.csv", T_RERUN,
                            "build_seconds + run_seconds of each rerun.csv row that succeeded (fewer than "
                            f"{FEWEST_FOR_QUANTILES}: listed, not summarized)"))


def compute_facts(inputs: ReportInputs) -> Facts:
    """Every fact the findings and the KPI table may quote, from the inputs given."""
    facts = Facts()
    _corpus_facts(facts, inputs)
    _storage_facts(facts, inputs)
    _tracking_facts(facts, inputs)
    _traceability_facts(facts, inputs)
    _reproducibility_facts(facts, inputs)
    add_evolution_facts(facts, inputs)
    return facts


