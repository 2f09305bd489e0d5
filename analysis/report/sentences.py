"""The key findings, one paragraph per question made of facts, and the proposal's KPI table.

A measurement that needs the probe or the re-run says "not measured" with the command that measures it.
"""

from __future__ import annotations

from analysis.report.facts import (
    BACKEND_NAMES,
    PROBE_COMMAND,
    RERUN_COMMAND,
    Facts,
    Finding,
    Kpi,
    Sentence,
    backend_name,
    not_measured,
)


def _keep(*sentences: Sentence | None) -> tuple[Sentence, ...]:
    return tuple(s for s in sentences if s is not None)


def _probe_storage_sentence(facts: Facts) -> Sentence | None:
    if "ProbeRelease" not in facts:
        return not_measured("Capacity and access time of MLflow's stores (bytes per run, search latency)",
                            f"{PROBE_COMMAND} --probe capacity")
    parts = []
    for backend, label in BACKEND_NAMES.items():
        suffix = backend_name(backend)
        if f"ProbeBytesPerRun{suffix}" in facts:
            parts.append(f"{{ProbeBytesPerRun{suffix}}} in {label}")
    searches = [f"{{ProbeSearch{backend_name(b)}}} in {label} (over {{ProbeSearchSize{backend_name(b)}}})"
                for b, label in BACKEND_NAMES.items() if f"ProbeSearch{backend_name(b)}" in facts]
    if not parts and not searches:
        return None
    text = "Probing MLflow {ProbeRelease} itself"
    if parts:
        text += ", a run takes " + ", ".join(parts)
    if searches:
        text += ("; " if parts else ", ") + "a filtered search_runs answers in " + ", ".join(searches)
    return facts.sentence(text + ".")


def key_findings(facts: Facts) -> list[Finding]:
    """One paragraph per question, each sentence made of facts; a missing probe or re-run says so."""
    storage = _keep(
        facts.sentence("{ReposTrackingURI} set a tracking URI in code or configuration; of these, {ReposURIServer:n} "
                       "({ReposURIServer:pct}) name a tracking server (http or https: {ReposURIServerRemote:n} on "
                       "another host, {ReposURIServerLocalOnly:n} only on their own machine, such as localhost), "
                       "{ReposURILocal:n} "
                       "({ReposURILocal:pct}) a local file or SQLite store, {ReposURIDatabricks:n} ({ReposURIDatabricks:pct}) Databricks, and "
                       "{ReposURIUnknown:n} ({ReposURIUnknown:pct}) a value computed at run time or read from the "
                       "environment (a repository may do several); the others set none in the repository, so MLflow "
                       "logs to a local ./mlruns folder unless MLFLOW_TRACKING_URI is set where they run."),
        facts.sentence("{ReposStore} commit an experiment store to the repository ({NStores} stores holding "
                       "{NStoredRuns} runs, {StoreBytesPerRun} of store files per run); {RunsAbsArtifactURI} record an "
                       "absolute artifact location on the author's machine, which a clone elsewhere does not have."),
        facts.sentence("MLflow's own storage model, read from the source of {NReleasesRead} releases ({FirstRelease} "
                       "to {LastRelease}), grew from {SqlTablesFirst} to {SqlTablesLast} SQL tables, and the longest "
                       "parameter value it accepts from {ParamLenFirst} ({ParamLenFirstRelease}) to {ParamLenLast}."),
        _probe_storage_sentence(facts),
    )
    tracking = _keep(
        facts.sentence("{ReposLogMetrics} log metrics and {ReposLogParams} log parameters. Of the {ReposLogging} "
                       "repositories that log anything, {ManualOnly:n} ({ManualOnly:pct}) call the logging API by hand "
                       "only, {AutologOnly:n} ({AutologOnly:pct}) rely on autolog only and {AutologAndManual:n} "
                       "({AutologAndManual:pct}) do both."),
        facts.sentence("{UsesSteps} give a step, so that a metric has a history; {ComputedKeys} compute at least "
                       "one key (an f-string, a variable), which no static reading can list."),
        facts.sentence("{LogsModels} log a model, {RegistersModels} register one and {LogsDatasets} log a dataset."),
        facts.sentence("The most used API is {TopApi}, in {TopApiRepos}; {DeprecatedApi} call an API deprecated or "
                       "removed by the latest release read ({LatestRelease})."),
        facts.sentence("In the committed stores, {RunsFailed} were left FAILED and {RunsRunning} RUNNING; "
                       "{StoredMetricsNonFinite} hold NaN or infinite values and {StoredMetricsRepeated} store a point "
                       "twice."),
        facts.sentence("Probing MLflow {ProbeRelease} (each backend counted apart), {ProbeExact} came back exactly as "
                       "logged, and {ProbeIntegrityBad} lost, duplicated or could not read data.")
        if "ProbeRelease" in facts
        else not_measured("Tracking precision and data integrity of MLflow's stores (values read back, concurrent "
                          "writers, interrupted writes)", f"{PROBE_COMMAND} --probe precision --probe integrity"),
    )
    traceability = _keep(
        facts.sentence("{CodeVersionLinked} tie their runs to a code version (a valid MLproject, whose runs MLflow "
                       "tags with the commit, or an explicit commit tag), {EnvLinked} to an environment and "
                       "{DataLinked} to a dataset."),
        facts.sentence("{MetricSitesReachable} are reachable from an MLproject entry point; {ReposOrphanLogging} log "
                       "from code that no entry point, script or notebook reaches, and {ReposImplicitRun} log outside "
                       "any run in a file that starts none (MLflow then opens one itself)."),
        facts.sentence("In the committed stores, {RunsGitCommit} record a git commit, but only {CommitsInHistory:n} of "
                       "the {CommitsInHistory:of} that could be looked up ({CommitsInHistory:pct}) name a commit of the "
                       "mined repository's history; "
                       "{RunsSourceExists} name a source file that exists at the mined commit, and {RunsEntryPoint} "
                       "an MLproject entry point."),
    )
    reproducibility = _keep(
        facts.sentence("{ReposMLproject} ship an MLproject; {EnvSpecNone} declare no environment at all."),
        facts.sentence("Of the {PinAll:of} repositories declaring dependencies, {PinAll:n} ({PinAll:pct}) pin every "
                       "one exactly and {PinNone:n} ({PinNone:pct}) pin none; {PythonPinned} name a Python version, "
                       "{MlflowPinned} pin MLflow exactly and {SeedsSet} set a random seed."),
        facts.sentence("{EntryPointsNoArgs} run without arguments (every parameter has a default); the median "
                       "readiness score is {ReadinessMedian} (its maximum is one)."),
        facts.sentence("Re-run in a sandbox, {RerunBuilt} had their environment built, {RerunRan} ran to the end and "
                       "{RerunSame} gave the committed run's metrics; a successful re-run took {RerunMedianSeconds} "
                       "(median, build and run).") if "RerunBuilt" in facts
        else not_measured("Reproducibility success rate and time to re-run (entry points re-executed and compared with "
                          "their committed runs)", RERUN_COMMAND),
    )
    return [Finding("storage", "Storage: what is stored, how and where", storage),
            Finding("tracking", "Tracking: how metrics and parameters are logged", tracking),
            Finding("traceability", "Traceability: can a run be traced to its code, data and environment", traceability),
            Finding("reproducibility", "Reproducibility: can an experiment be run again", reproducibility)]


def kpi_table(facts: Facts) -> list[Kpi]:
    """The proposal's KPIs, each with its measure, value (or the command that measures it) and source."""
    rows: list[tuple[str, str, str | Sentence, str]] = [
        ("storage capacity", "bytes per run of the experiment stores committed to repositories",
         "{StoreBytesPerRun} ({NStoredRuns} runs)", "stored runs"),
        ("storage capacity", "bytes per run of a fresh store, by backend",
         "{ProbeBytesPerRunFile} (FileStore), {ProbeBytesPerRunSqlite} (SQLite), MLflow {ProbeRelease}", "probe"),
        ("access-time efficiency", "search_runs latency (filter and order-by) at the largest size probed",
         "{ProbeSearchFile} (FileStore), {ProbeSearchSqlite} (SQLite) over {ProbeSearchSizeSqlite}", "probe"),
        ("access-time efficiency", "get_metric_history latency at the largest history probed",
         "{ProbeHistoryFile} (FileStore), {ProbeHistorySqlite} (SQLite) over {ProbeHistorySizeSqlite}", "probe"),
        ("tracking precision", "values and keys read back exactly by a fresh process", "{ProbeExact}", "probe"),
        ("tracking precision", "repositories computing a logged key (not listable statically)", "{ComputedKeys}",
         "corpus code"),
        ("data integrity", "integrity checks that lost, duplicated or could not read data", "{ProbeIntegrityBad}",
         "probe"),
        ("data integrity", "committed runs left FAILED", "{RunsFailed}", "stored runs"),
        ("data integrity", "committed metric histories holding NaN or infinite values", "{StoredMetricsNonFinite}",
         "stored runs"),
        ("traceability of changes", "repositories whose runs are tied to a code version", "{CodeVersionLinked}",
         "corpus code"),
        ("traceability of changes", "committed runs recording a git commit", "{RunsGitCommit}", "stored runs"),
        ("transparency", "metric-logging call sites reachable from an MLproject entry point",
         "{MetricSitesReachable}", "corpus code"),
        ("transparency", "committed runs whose params are all declared by their MLproject entry point",
         "{RunsParamsMatch}", "stored runs"),
        ("version history", "repositories committing their experiment store", "{ReposStore}", "stored runs"),
        ("version history", "recorded commits found in the repository's published history", "{CommitsInHistory}",
         "stored runs"),
        ("reproducibility success rate", "entry points re-run whose metrics equal the committed run's", "{RerunSame}",
         "re-run"),
        ("reproducibility success rate", "median readiness score (a static estimate, one at most)", "{ReadinessMedian}",
         "corpus code"),
        ("ease of re-running", "median time to build the environment and run, successful re-runs",
         "{RerunMedianSeconds}", "re-run"),
        ("ease of re-running", "entry points re-run that ran, given their environment was built",
         "{RerunRanGivenBuilt}", "re-run"),
        ("ease of re-running", "entry points that run without arguments", "{EntryPointsNoArgs}", "corpus code"),
    ]
    commands = {"probe": f"{PROBE_COMMAND}", "re-run": RERUN_COMMAND}
    out = []
    for kpi, measure, template, source in rows:
        sentence = facts.sentence(template) if isinstance(template, str) else template
        if sentence is None:
            sentence = Sentence(f"not measured: run `{commands[source]}`" if source in commands
                                else "not measured: no input for it", ())
        out.append(Kpi(kpi, measure, sentence, source))
    return out
