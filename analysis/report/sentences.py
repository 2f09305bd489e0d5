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
    Share,
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


def quantified(fact: Share, noun: str) -> str:
    """``noun`` with the word its share's 95% interval allows: most (above a half), about half (a half inside and
    the share near it), a minority (below a half), few (below a quarter); some or many for a wide interval."""
    low, high = fact.ci if fact.interval else (fact.share, fact.share)
    if low > 0.5:
        return f"most {noun}"
    if high < 0.25:
        return f"few {noun}"
    if high < 0.5:
        return f"a minority of the {noun}"
    if 0.35 <= fact.share <= 0.65:
        return f"about half of the {noun}"
    return f"many {noun}" if fact.share > 0.5 else f"some {noun}"


def _q(facts: Facts, name: str, noun: str) -> str | None:
    """``quantified`` of a share fact, None when it was not computed or measured over nothing."""
    fact = facts.by_name.get(name)
    return quantified(fact, noun) if isinstance(fact, Share) and fact.measured else None


def _first(*sentences: Sentence | None) -> Sentence | None:
    return next((s for s in sentences if s is not None), None)


def _meaning(text: str | None) -> Sentence | None:
    """A sentence of words only (what the numbers mean), capitalized; None when a word could not be chosen."""
    return Sentence(text[0].upper() + text[1:], ()) if text else None


def _storage_key(facts: Facts) -> tuple[Sentence, ...]:
    uri, store = _q(facts, "ReposTrackingURI", "repositories"), _q(facts, "ReposStore", "repositories")
    meaning = (f"{uri} say in the repository where their runs are stored; the others leave it to the machine that "
               f"runs them, and {store} keep their runs in the repository." if uri and store else None)
    return _keep(_meaning(meaning),
                 _first(facts.sentence("{ReposTrackingURI} set a tracking URI, {ReposURIServerRemote:n} of them a "
                                       "tracking server on another host; {ReposStore} commit an experiment store."),
                        facts.sentence("{ReposTrackingURI} set a tracking URI; {ReposStore} commit an experiment "
                                       "store.")))


def _tracking_key(facts: Facts) -> tuple[Sentence, ...]:
    metrics = _q(facts, "ReposLogMetrics", "repositories")
    manual = _q(facts, "ManualOnly", "repositories that log")
    steps = _q(facts, "UsesSteps", "repositories logging metrics")
    meaning = (f"{metrics} log metrics; {manual} do it by hand only, and {steps} give a metric a history (a step)."
               if metrics and manual and steps else None)
    return _keep(_meaning(meaning),
                 facts.sentence("{ReposLogMetrics} log metrics; {ManualOnly} call the logging API by hand only; "
                                "{UsesSteps} give a step."))


def _traceability_key(facts: Facts) -> tuple[Sentence, ...]:
    linked = _q(facts, "CodeVersionLinked", "repositories")
    orphan = _q(facts, "ReposOrphanLogging", "repositories")
    meaning = (f"{linked} tie their runs to a code version in code, but {orphan} also log from code that no entry "
               "point, script or notebook reaches." if linked and orphan else None)
    return _keep(_meaning(meaning),
                 facts.sentence("{CodeVersionLinked} tie their runs to a code version; {ReposOrphanLogging} log from "
                                "code nothing reaches; {MetricSitesReachable:short} are reachable from an entry "
                                "point."))


def _reproducibility_key(facts: Facts) -> tuple[Sentence, ...]:
    mlproject = _q(facts, "ReposMLproject", "repositories")
    pinned = _q(facts, "PinAll", "repositories declaring dependencies")
    ran = _q(facts, "RerunRan", "entry points re-run")
    meaning = None
    if mlproject and pinned:
        meaning = (f"{mlproject} ship an MLproject, but {pinned} pin every dependency exactly"
                   + (f", and {ran} ran to the end in a sandbox." if ran else "."))
    return _keep(_meaning(meaning),
                 _first(facts.sentence("{ReposMLproject} ship an MLproject; {PinAll} pin every dependency exactly; "
                                       "{RerunRan:short} ran to the end."),
                        facts.sentence("{ReposMLproject} ship an MLproject; {PinAll} pin every dependency exactly; "
                                       "{EntryPointsNoArgs:short} run without arguments.")))


def key_findings(facts: Facts) -> list[Finding]:
    """One paragraph per question: a sentence of what the numbers mean (its words chosen by their intervals),
    then at most three numbers; the section of the question opens with the rest (``Finding.details``), each
    sentence made of facts; a missing probe or re-run says so."""
    storage = _keep(
        facts.sentence("{ReposTrackingURI} set a tracking URI in code or configuration; of these, {ReposURIServer:n} "
                       "({ReposURIServer:pct}) name a tracking server (http or https: {ReposURIServerRemote:n} on "
                       "another host, {ReposURIServerLocalOnly:n} only on their own machine, such as localhost), "
                       "{ReposURILocal:n} "
                       "({ReposURILocal:pct}) a local file or SQLite store, {ReposURIDatabricks:n} ({ReposURIDatabricks:pct}) Databricks, and "
                       "{ReposURIUnknown:n} ({ReposURIUnknown:pct}) a value computed at run time or read from the "
                       "environment (a repository may do several); the others set none in the repository, so, unless "
                       "MLFLOW_TRACKING_URI is set where they run, MLflow {DefaultStoreFileFrom} to "
                       "{DefaultStoreFileUntil} logs to {DefaultStoreFileURI} (a FileStore) and MLflow "
                       "{DefaultStoreSqliteFrom} to {DefaultStoreSqliteTo} (the newest read) logs to "
                       "{DefaultStoreSqliteURI}, or to {DefaultStoreFileURI} when that folder already holds "
                       "experiments; from MLflow {FileStoreGateFrom} on, a FileStore opens only with "
                       "{FileStoreGateVariable}=true."),
        facts.sentence("{ReposStore} commit an experiment store to the repository ({NStores} stores holding "
                       "{NStoredRuns} runs; store files per run: {StoreBytesPerRun}); {RunsAbsArtifactURI} record an "
                       "absolute artifact location on the author's machine, which a clone elsewhere does not have."),
        facts.sentence("MLflow's own storage model, read from the source of {NReleasesRead} releases ({FirstRelease} "
                       "to {LastRelease}), grew from {SqlTablesFirst} to {SqlTablesLast} SQL tables, and the longest "
                       "parameter value it accepts from {ParamLenFirst} ({ParamLenFirstRelease}) to {ParamLenLast} (from "
                       "{ParamLenLastFrom})."),
        _probe_storage_sentence(facts),
    )
    tracking = _keep(
        facts.sentence("{ReposLogMetrics} log metrics and {ReposLogParams} log parameters. Of the {ReposLogging} "
                       "repositories that log anything, {ManualOnly:n} ({ManualOnly:pct}) call the logging API by hand "
                       "only, {AutologOnly:n} ({AutologOnly:pct}) rely on autolog only, {AutologAndManual:n} "
                       "({AutologAndManual:pct}) do both and {OtherLoggingOnly:n} ({OtherLoggingOnly:pct}) log neither "
                       "parameters nor metrics, only models, artifacts, tags or datasets."),
        facts.sentence("{UsesSteps} give a step, so that a metric has a history; {ComputedKeys} compute at least "
                       "one key (an f-string, a variable), which no static reading can list."),
        facts.sentence("{LogsModels} log a model, {RegistersModels} register one and {LogsDatasets} log a dataset."),
        facts.sentence("The most used API is {TopApi}, in {TopApiRepos}; {DeprecatedApi} call an API deprecated or "
                       "removed by the latest release read ({LatestRelease})."),
        facts.sentence("In the committed stores, {RunsFailed} were left FAILED and {RunsRunning} RUNNING; "
                       "{StoredMetricsNonFinite} hold NaN or infinite values and {StoredMetricsRepeated} store a point "
                       "twice."),
        _probe_quality_sentence(facts),
    )
    traceability = _keep(
        facts.sentence("{CodeVersionLinked} tie their runs to a code version (a valid MLproject, whose runs MLflow "
                       "{ProjectRunCommitFrom} to {ProjectRunCommitTo} tags with the commit, or an explicit commit "
                       "tag), {EnvLinked} to an environment and {DataLinked} to a dataset."),
        facts.sentence("{MetricSitesReachable} are reachable from an MLproject entry point ({MetricSitesNoMLproject} "
                       "more are in repositories without an MLproject, where there is no entry point to reach them "
                       "from); {ReposOrphanLogging} log "
                       "from code that no entry point, script or notebook reaches, and {ReposImplicitRun} log outside "
                       "any run in a file that starts none (MLflow {ImplicitRunFrom} to {ImplicitRunTo} then opens one "
                       "itself)."),
        facts.sentence("In the committed stores, {RunsGitCommit} record a git commit, but only {CommitsInHistory} "
                       "name a commit of the mined repository's history; "
                       "{RunsSourceExists} name a source file that exists at the mined commit, and {RunsEntryPoint} "
                       "an MLproject entry point."),
        facts.sentence("Judged against the MLprojects of the commit each run recorded (read from the clone's history), "
                       "{RunsParamsMatchAtCommit} log only parameters their entry point declared then; "
                       "{RunsParamsOtherwiseAtCommit} are judged otherwise there than against HEAD's MLprojects."),
    )
    reproducibility = _keep(
        facts.sentence("{ReposMLproject} ship an MLproject; {EnvSpecNone} declare no environment at all."),
        facts.sentence("Of the {PinAll:of} repositories declaring dependencies, {PinAll:n} ({PinAll:pct}) pin every "
                       "one exactly, {PinHalfOrMore:n} ({PinHalfOrMore:pct}) half or more, {PinUnderHalf:n} "
                       "({PinUnderHalf:pct}) fewer than half and {PinNone:n} ({PinNone:pct}) none; {PythonPinned} name "
                       "a Python version, {MlflowPinned} pin MLflow exactly and {SeedsSet} set a random seed."),
        facts.sentence("{EntryPointsNoArgs} run without arguments (every parameter has a default); the median "
                       "readiness score is {ReadinessMedian} (its maximum is one)."),
        _rerun_sentence(facts),
    )
    return [Finding("storage", "Storage: what is stored, how and where", _storage_key(facts), storage),
            Finding("tracking", "Tracking: how metrics and parameters are logged", _tracking_key(facts), tracking),
            Finding("traceability", "Traceability: can a run be traced to its code, data and environment",
                    _traceability_key(facts), traceability),
            Finding("reproducibility", "Reproducibility: can an experiment be run again", _reproducibility_key(facts),
                    reproducibility)]


def _probe_quality_sentence(facts: Facts) -> Sentence | None:
    if "ProbeRelease" not in facts:
        return not_measured("Tracking precision and data integrity of MLflow's stores (values read back, concurrent "
                            "writers, interrupted writes)", f"{PROBE_COMMAND} --probe precision --probe integrity")
    parts = [facts.sentence("Probing MLflow {ProbeRelease} with named cases (each backend counted apart), "
                            "{ProbeKept} of the {ProbeCases} value and key cases came back exactly as logged, "
                            "{ProbeChanged} changed" + (" ({ProbeChangedCases})" if "ProbeChangedCases" in facts else "")
                            + " and {ProbeRejected} rejected" +
                            (" ({ProbeRejectedCases})" if "ProbeRejectedCases" in facts else "") + "."),
             facts.sentence("Of its {ProbeChecks} integrity checks, {ProbeIntegrityBad} lost, duplicated or could not "
                            "read data" + (" ({ProbeIntegrityBadCases})" if "ProbeIntegrityBadCases" in facts else "")
                            + ".")]
    kept = [p for p in parts if p is not None]
    if not kept:
        return None
    return Sentence(" ".join(p.template for p in kept), tuple(dict.fromkeys(f for p in kept for f in p.facts)))


def _rerun_sentence(facts: Facts) -> Sentence | None:
    if "RerunRan" not in facts:
        return not_measured("Reproducibility success rate and time to re-run (entry points re-executed and compared with "
                            "their committed runs)", RERUN_COMMAND)
    took = ("; a successful re-run took {RerunMedianSeconds} (median, build and run)" if "RerunMedianSeconds" in facts
            else "; the successful re-runs took {RerunSeconds} (build and run; too few for a median)"
            if "RerunSeconds" in facts else "")
    same = facts.by_name.get("RerunSame")
    compared = ("of the re-runs with committed metrics to compare, {RerunSame:n} of {RerunSame:of} gave them "
                "({RerunSame:pct})" if isinstance(same, Share) and same.measured else
                "whether they give the committed metrics is not measured: no re-run that ran had a committed run "
                "with metrics to compare")
    return facts.sentence("Re-run in a sandbox, {RerunBuilt} had their environment built, {RerunRan} ran to the end, "
                          "and " + compared + took + ".")


def kpi_table(facts: Facts) -> list[Kpi]:
    """The proposal's KPIs, each with its measure, value (or the command that measures it) and source."""
    rows: list[tuple[str, str, str | tuple[str, ...], str]] = [
        ("storage capacity", "bytes per run of the experiment stores committed to repositories",
         "{StoreBytesPerRun} ({NStoredRuns} runs)", "stored runs"),
        ("storage capacity", "bytes per run of a fresh store, by backend",
         "{ProbeBytesPerRunFile} (FileStore), {ProbeBytesPerRunSqlite} (SQLite), MLflow {ProbeRelease}", "probe"),
        ("access-time efficiency", "search_runs latency (filter and order-by) at the largest size probed",
         "{ProbeSearchFile} (FileStore), {ProbeSearchSqlite} (SQLite) over {ProbeSearchSizeSqlite}", "probe"),
        ("access-time efficiency", "get_metric_history latency at the largest history probed",
         "{ProbeHistoryFile} (FileStore), {ProbeHistorySqlite} (SQLite) over {ProbeHistorySizeSqlite}", "probe"),
        ("tracking precision", "named value and key cases read back by a fresh process, by outcome",
         "{ProbeKept} of {ProbeCases} exact, {ProbeChanged} changed, {ProbeRejected} rejected", "probe"),
        ("tracking precision", "repositories computing a logged key (not listable statically)", "{ComputedKeys}",
         "corpus code"),
        ("data integrity", "integrity checks that lost, duplicated or could not read data",
         "{ProbeIntegrityBad} of {ProbeChecks}", "probe"),
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
        ("reproducibility success rate", "re-runs whose metrics equal the committed run's, of those with metrics to "
         "compare", "{RerunSame}", "re-run"),
        ("reproducibility success rate", "median readiness score (a static estimate, one at most)", "{ReadinessMedian}",
         "corpus code"),
        ("ease of re-running", "median time to build the environment and run, successful re-runs",
         ("{RerunMedianSeconds}", "{RerunSeconds} (too few for a median)"), "re-run"),
        ("ease of re-running", "entry points re-run that ran, given their environment was built",
         "{RerunRanGivenBuilt}", "re-run"),
        ("ease of re-running", "entry points that run without arguments", "{EntryPointsNoArgs}", "corpus code"),
    ]
    commands = {"probe": f"{PROBE_COMMAND}", "re-run": RERUN_COMMAND}
    out = []
    for kpi, measure, template, source in rows:
        templates = (template,) if isinstance(template, str) else template
        sentence = _first(*(facts.sentence(t) for t in templates))
        if sentence is None:
            sentence = Sentence(f"not measured: run `{commands[source]}`" if source in commands
                                else "not measured: no input for it", ())
        out.append(Kpi(kpi, measure, sentence, source))
    return out
