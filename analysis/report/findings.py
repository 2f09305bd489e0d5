"""The numbers the report quotes, the key-findings sentences made of them, and the proposal's KPIs.

Every number of a finding is a fact computed here from the CSVs: a ``Share`` (n of a denominator,
with its 95% Wilson interval), a ``Number`` (a count, a size, a median) or a ``Label`` (a release, an
API name). A sentence is a template naming its facts (``{ReposMLproject}``); it is dropped when one
of them cannot be computed from the inputs given, and a measurement that needs the probe or the
re-run says "not measured" with the command that measures it. No number is typed by hand: the
report, ``findings.csv`` and LaTeX's ``findings.tex`` are all rendered from these facts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Union

import pandas as pd

from analysis.report.inputs import ReportInputs
from analysis.statistics.shares import wilson
from analysis.versions import version_key

# anchors of the report's tables that findings link to (report.py renders a table under each)
T_FUNNEL = "t-funnel"
T_URI = "t-tracking-uris"
T_STORES = "t-stores"
T_STORAGE_MODEL = "t-storage-model"
T_PROBE = "t-probe"
T_TRACKING = "t-tracking-practices"
T_API = "t-api-usage"
T_STORED_METRICS = "t-stored-metrics"
T_TRACE = "t-traceability"
T_REPRO = "t-reproducibility-practices"
T_ENTRY_POINTS = "t-entry-points"
T_RERUN = "t-rerun"

PROBE_COMMAND = "python cli.py probe"
RERUN_COMMAND = "python cli.py rerun"
# outcomes of probe.csv's integrity rows that mean data was lost, duplicated or could not be read
PROBE_BAD_OUTCOMES = frozenset({"lost", "duplicated", "errors", "partial", "error", "skipped"})
PROBE_INTEGRITY = ("param re-logged", "metric point repeated", "concurrent writers, one run",
                   "concurrent writers, one experiment", "client killed mid-log_batch", "half-written file")
BACKEND_NAMES = {"file": "a FileStore", "sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL"}


def percent(share: float) -> str:
    """A share as a whole percentage (one decimal under 1%), ``<0.1`` and ``>99`` where rounding would say 0 or
    100 wrongly."""
    share = round(share, 9)  # a Wilson bound of 0 or 1 comes back as 1e-17 or 0.9999999999999999
    if 0 < share < 0.0005:
        return "<0.1"
    if 0 < share < 0.01:
        return f"{share * 100:.1f}"  # 0.5, not 0 or <1
    if 0.995 <= share < 1:
        return ">99"
    return str(round(share * 100))


@dataclass(frozen=True)
class Share:
    """``n`` of ``of`` counted things, with the 95% Wilson interval (none when ``interval`` is off:
    the things cluster in repositories, such as call sites)."""

    name: str  # CamelCase letters: the LaTeX macro stem
    n: int
    of: int
    noun: str
    source: str
    table: str
    definition: str
    interval: bool = True

    @property
    def share(self) -> float:
        return self.n / self.of if self.of else 0.0

    @property
    def ci(self) -> tuple[float, float]:
        return wilson(self.n, self.of)

    def pct(self) -> str:
        """``72%, 59-82%`` (or ``72%``)."""
        low, high = self.ci
        return f"{percent(self.share)}%" + (f", {percent(low)}-{percent(high)}%" if self.interval else "")

    def text(self) -> str:
        return f"{self.n:,} of {self.of:,}{' ' + self.noun if self.noun else ''} ({self.pct()})"


@dataclass(frozen=True)
class Number:
    """A count, size, time or median, in ``unit`` ('' for a plain count)."""

    name: str
    value: float
    unit: str
    source: str
    table: str
    definition: str
    digits: int = 0

    def text(self) -> str:
        number = f"{self.value:,.{self.digits}f}"
        return f"{number} {self.unit}".rstrip()


@dataclass(frozen=True)
class Label:
    """A value of the data that is not a number: a release, an API."""

    name: str
    value: str
    source: str
    table: str
    definition: str

    def text(self) -> str:
        return self.value


Fact = Union[Share, Number, Label]
_PLACEHOLDER = re.compile(r"\{([A-Za-z]+)(?::(n|of|pct))?\}")


@dataclass(frozen=True)
class Sentence:
    """A finding's sentence: a template whose ``{Name}`` (``{Name:n}``, ``{Name:of}``, ``{Name:pct}``)
    placeholders are facts."""

    template: str
    facts: tuple[Fact, ...]

    def render(self, fill: Callable[[Fact, str], str]) -> str:
        """The sentence with each placeholder replaced by ``fill(fact, part)`` (part: '', n, of, pct)."""
        by_name = {f.name: f for f in self.facts}
        return _PLACEHOLDER.sub(lambda m: fill(by_name[m.group(1)], m.group(2) or ""), self.template)

    def text(self) -> str:
        return self.render(fact_text)

    def sources(self) -> list[tuple[str, str]]:
        """(table anchor, CSV) of the facts quoted, in order, once each."""
        seen: dict[tuple[str, str], None] = {}
        for fact in self.facts:
            seen.setdefault((fact.table, fact.source), None)
        return list(seen)


def fact_text(fact: Fact, part: str = "") -> str:
    """A fact as the report prints it; ``part`` picks n, of or pct of a share."""
    if isinstance(fact, Share) and part == "n":
        return f"{fact.n:,}"
    if isinstance(fact, Share) and part == "of":
        return f"{fact.of:,}"
    if isinstance(fact, Share) and part == "pct":
        return fact.pct()
    return fact.text()


@dataclass(frozen=True)
class Finding:
    """The key finding of one question: a short paragraph of sentences."""

    question: str  # storage, tracking, traceability, reproducibility
    title: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Kpi:
    """A row of the proposal's KPI table: the KPI, how it is measured, the value, where it comes from."""

    kpi: str
    measure: str
    value: Sentence  # a sentence of one fact, or "not measured: run ..."
    source: str  # corpus code, stored runs, probe, re-run


class Facts:
    """The facts computed from the inputs, by name; ``sentence`` builds a sentence when all its facts exist."""

    def __init__(self) -> None:
        self.by_name: dict[str, Fact] = {}

    def add(self, fact: Fact | None) -> None:
        if fact is not None:
            if not fact.name.isalpha() or not fact.name.isascii():
                raise ValueError(f"fact name {fact.name!r}: letters only (it names LaTeX macros)")
            if fact.name in self.by_name:
                raise ValueError(f"fact {fact.name} computed twice")
            self.by_name[fact.name] = fact

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> Fact:
        return self.by_name[name]

    def sentence(self, template: str) -> Sentence | None:
        """The sentence, or None when a fact it quotes was not computed."""
        names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
        if any(n not in self.by_name for n in names):
            return None
        return Sentence(template, tuple(dict.fromkeys(self.by_name[n] for n in names)))

    def values(self) -> list[Fact]:
        return list(self.by_name.values())


def not_measured(what: str, command: str) -> Sentence:
    """A sentence saying what was not measured and the command that measures it."""
    return Sentence(f"{what}: not measured: run `{command}`.", ())


# ---- computing the facts ------------------------------------------------------------------------

def _true(series: pd.Series) -> pd.Series:
    return series.astype(str).str.lower() == "true"


def _number(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


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
               ratio: str = "") -> None:
    """A row of ``store_statistics.csv``: a share, or with ``ratio`` (its unit) the ratio in ``share``."""
    rows = stats[stats["statistic"] == statistic] if "statistic" in stats else stats
    if len(rows) != 1:
        return
    row = rows.iloc[0]
    definition = (f"'{statistic}' of store_statistics.csv's table over the population (analysis/statistics/stores.py): "
                  f"{row['definition']}")
    if ratio:
        if int(row["denominator"]):
            facts.add(Number(name, float(row["share"]), ratio, "stored_runs.csv", T_STORES, definition))
    elif int(row["denominator"]):
        facts.add(Share(name, int(row["numerator"]), int(row["denominator"]), noun, "stored_runs.csv",
                        T_STORES, definition))


def population_store_statistics(inputs: ReportInputs) -> pd.DataFrame:
    """``store_statistics.csv``'s table over the report's population (store_statistics.csv's is over every
    analyzed repository), from ``stores.csv``, ``stored_runs.csv`` and ``stored_params.csv``."""
    from analysis.statistics.stores import store_statistics

    def compute() -> pd.DataFrame:
        stores, runs = inputs.table("stores.csv"), inputs.table("stored_runs.csv")
        if "repo" not in stores or "repo" not in runs:
            return pd.DataFrame()
        params = inputs.table("stored_params.csv")
        return store_statistics(inputs.population, stores, runs, params if "repo" in params else ())
    return inputs.cached("store_statistics", compute)


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
        limit = limit[_number(limit["detail"]).notna()]
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


def _backend_name(backend: str) -> str:
    return backend[:1].upper() + backend[1:] if backend.isalpha() else "Other"


def _probe_capacity_facts(facts: Facts, probe: pd.DataFrame) -> None:
    release = probe_release(probe)
    if not release:
        return
    facts.add(Label("ProbeRelease", release, "probe.csv", T_PROBE, "the newest MLflow release probe.csv measured"))
    rows = probe[(probe["release"] == release) & (probe["outcome"] == "measured")]
    for backend in sorted(set(rows["backend"])):
        mine = rows[rows["backend"] == backend]
        suffix = _backend_name(backend)
        disk = mine[(mine["probe"] == "disk") & (mine["parameter"] == "bytes per run")]
        if len(disk):
            facts.add(Number(f"ProbeBytesPerRun{suffix}", float(disk.iloc[0]["value"]), "B", "probe.csv", T_PROBE,
                             f"probe.csv disk 'bytes per run', MLflow {release}, {backend}"))
        for probe_name, stem, unit in (("search_runs", "Search", "runs"), ("get_metric_history", "History", "points")):
            sized = mine[mine["probe"] == probe_name].copy()
            sized["size"] = sized["parameter"].str.extract(r"latency at (\d+) ", expand=False)
            sized = sized.dropna(subset=["size"])
            if len(sized):
                largest = sized.loc[_number(sized["size"]).idxmax()]
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
    usage = inputs.table("api_usage.csv")
    if "api" in usage and len(usage):
        top = usage.iloc[0]  # api_usage.csv is sorted by repositories, then call sites
        facts.add(Label("TopApi", str(top["api"]), "api_usage.csv", T_API, "the first row of api_usage.csv "
                        "(most repositories, then most call sites)"))
        facts.add(Share("TopApiRepos", int(top["n_repos"]), int(top["n_eligible"]), "repositories", "api_usage.csv",
                        T_API, f"n_repos of n_eligible of api_usage.csv's first row ({top['api']})"))
    catalog = inputs.table("api_catalog.csv")
    if "last_version" in catalog and len(catalog):
        latest = sorted(set(catalog["last_version"]) - {""}, key=version_key)
        if latest:
            facts.add(Label("LatestRelease", latest[-1], "api_catalog.csv", T_API,
                            "the newest last_version of api_catalog.csv: the latest release read"))
    metrics = _in(inputs.table("stored_metrics.csv"), inputs.population)
    if "n_nan" in metrics and len(metrics):
        nonfinite = (_number(metrics["n_nan"]).fillna(0) > 0) | (_number(metrics["n_inf"]).fillna(0) > 0)
        repeated = _number(metrics["duplicate_points"]).fillna(0) > 0
        facts.add(Share("StoredMetricsNonFinite", int(nonfinite.sum()), len(metrics), "metric histories",
                        "stored_metrics.csv", T_STORED_METRICS, "stored_metrics.csv rows with n_nan or n_inf above 0"))
        facts.add(Share("StoredMetricsRepeated", int(repeated.sum()), len(metrics), "metric histories",
                        "stored_metrics.csv", T_STORED_METRICS,
                        "stored_metrics.csv rows with duplicate_points above 0 (the same point stored twice)"))
    stats = population_store_statistics(inputs)
    _statistic(facts, stats, "runs left FAILED", "RunsFailed", "runs")
    _statistic(facts, stats, "runs left RUNNING", "RunsRunning", "runs")
    _probe_quality_facts(facts, inputs.probe_table())


def _probe_quality_facts(facts: Facts, probe: pd.DataFrame) -> None:
    release = probe_release(probe)
    if not release:
        return
    rows = probe[probe["release"] == release]
    cases = rows[rows["probe"].isin(["precision metric", "precision param"])]
    if len(cases):
        facts.add(Share("ProbeExact", int((cases["outcome"] == "exact").sum()), len(cases),
                        "value and key cases", "probe.csv", T_PROBE,
                        f"probe.csv 'precision metric' and 'precision param' rows of MLflow {release} whose outcome "
                        "is exact (read back by a fresh process as logged)"))
    checks = rows[rows["probe"].isin(PROBE_INTEGRITY) & ~rows["parameter"].str.endswith("expected")]
    if len(checks):
        facts.add(Share("ProbeIntegrityBad", int(checks["outcome"].isin(PROBE_BAD_OUTCOMES).sum()), len(checks),
                        "integrity checks", "probe.csv", T_PROBE,
                        f"probe.csv integrity rows of MLflow {release} whose outcome is one of "
                        f"{', '.join(sorted(PROBE_BAD_OUTCOMES))}"))


def _traceability_facts(facts: Facts, inputs: ReportInputs) -> None:
    trace = _in(inputs.table("traceability.csv"), inputs.population)
    if len(trace):
        n = len(trace)
        for column, name, what in (("code_version_linked", "CodeVersionLinked", "runs tied to a code version"),
                                   ("env_linked", "EnvLinked", "an environment named by the MLproject"),
                                   ("data_linked", "DataLinked", "a dataset call")):
            facts.add(Share(name, int(_true(trace[column]).sum()), n, "repositories", "traceability.csv", T_TRACE,
                            f"traceability.csv {column} = true ({what}), over the population"))
        for column, name, what in (("orphan_logging_sites", "ReposOrphanLogging",
                                    "logging in code no entry point, script or notebook reaches"),
                                   ("implicit_run_sites", "ReposImplicitRun",
                                    "fluent logging outside start_run in a file starting no run")):
            facts.add(Share(name, int((_number(trace[column]).fillna(0) > 0).sum()), n, "repositories",
                            "traceability.csv", T_TRACE, f"traceability.csv {column} above 0 ({what})"))
        sites = int(_number(trace["n_metric_sites"]).fillna(0).sum())
        if sites:
            facts.add(Share("MetricSitesReachable", int(_number(trace["metric_sites_reachable"]).fillna(0).sum()),
                            sites, "metric-logging call sites", "traceability.csv", T_TRACE,
                            "sum of metric_sites_reachable over sum of n_metric_sites (no interval: sites cluster "
                            "in repositories)", interval=False))
    stats = population_store_statistics(inputs)
    _statistic(facts, stats, "runs with a git commit", "RunsGitCommit", "runs")
    _statistic(facts, stats, "commits found in the clone's history", "CommitsInHistory", "recorded commits")
    _statistic(facts, stats, "runs whose source file exists", "RunsSourceExists", "runs")
    _statistic(facts, stats, "runs with an entry point", "RunsEntryPoint", "runs")
    _statistic(facts, stats, "runs whose params all match the MLproject", "RunsParamsMatch", "runs of a declared entry point")


def _reproducibility_facts(facts: Facts, inputs: ReportInputs) -> None:
    _practices(facts, inputs, T_REPRO, (
        ("MLproject present", "ReposMLproject", "repositories"), ("env spec: none", "EnvSpecNone", "repositories"),
        ("exact pinning share 1", "PinAll", "repositories declaring dependencies"),
        ("exact pinning share 0", "PinNone", "repositories declaring dependencies"),
        ("python pinned", "PythonPinned", "repositories"), ("mlflow pinned", "MlflowPinned", "repositories"),
        ("seeds set", "SeedsSet", "repositories")))
    repro = _in(inputs.table("reproducibility.csv"), inputs.population)
    readiness = _number(repro["readiness"]).dropna() if "readiness" in repro else pd.Series(dtype=float)
    if len(readiness):
        facts.add(Number("ReadinessMedian", float(readiness.median()), "", "reproducibility.csv", T_REPRO,
                         "median readiness score (0 to 1, docs/design.md) over the population", digits=2))
    entry_points = _in(inputs.table("entry_points.csv"), inputs.population)
    if len(entry_points):
        params = _in(inputs.table("parameters.csv"), inputs.population)
        keys = ["repo", "mlproject_path", "entry_point"]
        required = set(map(tuple, params.loc[_true(params["required"]), keys].to_numpy())) if len(params) else set()
        free = sum(1 for key in map(tuple, entry_points[keys].to_numpy()) if key not in required)
        facts.add(Share("EntryPointsNoArgs", free, len(entry_points), "entry points", "parameters.csv",
                        T_ENTRY_POINTS, "entry points (entry_points.csv) with no parameter required = true in "
                        "parameters.csv: they run without arguments"))
    mlprojects = _in(inputs.table("mlprojects.csv"), inputs.population)
    if "env_type" in mlprojects:
        docker = mlprojects[mlprojects["env_type"] == "docker_env"]
        if len(docker):
            facts.add(Share("DockerDigest", int((docker["docker_pinned"] == "digest").sum()), len(docker),
                            "docker_env MLprojects", "mlprojects.csv", T_ENTRY_POINTS,
                            "mlprojects.csv rows of env_type docker_env whose image is pinned by digest"))
    _rerun_facts(facts, inputs)


def rerun_rates(inputs: ReportInputs) -> pd.DataFrame:
    """The rates of ``analysis.rerun.statistics`` (built, ran, same results, ...) over ``rerun.csv``'s rows."""
    from analysis.rerun.statistics import rerun_statistics

    rerun = inputs.rerun_table()
    if "status" not in rerun or rerun.empty:
        return pd.DataFrame()
    return inputs.cached("rerun_rates", lambda: rerun_statistics(rerun).rates)


def _rerun_facts(facts: Facts, inputs: ReportInputs) -> None:
    rates = rerun_rates(inputs)
    if rates.empty:
        return
    for rate, name, noun in (("built", "RerunBuilt", "entry points re-run"), ("ran", "RerunRan", "entry points re-run"),
                             ("same results", "RerunSame", "entry points re-run"),
                             ("ran given built", "RerunRanGivenBuilt", "targets built")):
        row = rates[rates["rate"] == rate]
        if len(row) == 1 and int(row.iloc[0]["n_eligible"]):
            facts.add(Share(name, int(row.iloc[0]["n"]), int(row.iloc[0]["n_eligible"]), noun, "rerun.csv", T_RERUN,
                            f"rerun rate '{rate}' (analysis/rerun/statistics.py): {row.iloc[0]['definition']}"))
    rerun = inputs.rerun_table()
    ran = rerun["status"] == "succeeded"
    if int(ran.sum()):
        seconds = (_number(rerun.loc[ran, "build_seconds"]).fillna(0) + _number(rerun.loc[ran, "run_seconds"]).fillna(0))
        facts.add(Number("RerunMedianSeconds", float(seconds.median()), "s", "rerun.csv", T_RERUN,
                         "median of build_seconds + run_seconds over the rerun.csv rows that succeeded", digits=1))


def compute_facts(inputs: ReportInputs) -> Facts:
    """Every fact the findings and the KPI table may quote, from the inputs given."""
    facts = Facts()
    _corpus_facts(facts, inputs)
    _storage_facts(facts, inputs)
    _tracking_facts(facts, inputs)
    _traceability_facts(facts, inputs)
    _reproducibility_facts(facts, inputs)
    return facts


# ---- the sentences ----------------------------------------------------------------------------

def _keep(*sentences: Sentence | None) -> tuple[Sentence, ...]:
    return tuple(s for s in sentences if s is not None)


def _probe_storage_sentence(facts: Facts) -> Sentence | None:
    if "ProbeRelease" not in facts:
        return not_measured("Capacity and access time of MLflow's stores (bytes per run, search latency)",
                            f"{PROBE_COMMAND} --probe capacity")
    parts = []
    for backend, label in BACKEND_NAMES.items():
        suffix = _backend_name(backend)
        if f"ProbeBytesPerRun{suffix}" in facts:
            parts.append(f"{{ProbeBytesPerRun{suffix}}} in {label}")
    searches = [f"{{ProbeSearch{_backend_name(b)}}} in {label} (over {{ProbeSearchSize{_backend_name(b)}}})"
                for b, label in BACKEND_NAMES.items() if f"ProbeSearch{_backend_name(b)}" in facts]
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
                       "({ReposURIServer:pct}) name a tracking server (http or https), {ReposURILocal:n} "
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


def facts_frame(facts: Facts) -> pd.DataFrame:
    """Every fact as a row (what ``findings.csv`` holds): name, value, n, of, share, interval, source, definition."""
    rows = []
    for fact in facts.values():
        row: dict[str, object] = {"name": fact.name, "text": fact.text(), "n": "", "of": "", "share": "",
                                  "ci_low": "", "ci_high": "", "value": "", "unit": "", "source": fact.source,
                                  "table": fact.table, "definition": fact.definition}
        if isinstance(fact, Share):
            low, high = fact.ci if fact.interval else (math.nan, math.nan)
            row.update(n=fact.n, of=fact.of, share=round(fact.share, 4),
                       ci_low="" if math.isnan(low) else round(low, 4), ci_high="" if math.isnan(high) else round(high, 4))
        elif isinstance(fact, Number):
            row.update(value=fact.value, unit=fact.unit)
        else:
            row.update(value=fact.value)
        rows.append(row)
    return pd.DataFrame(rows, columns=["name", "text", "n", "of", "share", "ci_low", "ci_high", "value", "unit",
                                       "source", "table", "definition"])


def quoted_facts(findings: Iterable[Finding], kpis: Iterable[Kpi]) -> Mapping[str, Fact]:
    """The facts the findings and the KPI table quote, by name."""
    out: dict[str, Fact] = {}
    for sentence in [s for f in findings for s in f.sentences] + [k.value for k in kpis]:
        for fact in sentence.facts:
            out.setdefault(fact.name, fact)
    return out
