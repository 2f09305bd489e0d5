"""Corpus statistics of the experiment stores repositories commit (``stores/stored_runs.py`` reads them):
shares with their denominators and 95% intervals (Wilson over repositories, a cluster bootstrap over
runs and metric histories, which cluster in repositories), for the report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from analysis.rows import Store, StoredMetric, StoredParam, StoredRun
from analysis.statistics.clusters import ClusterCount, by_cluster, cluster_cells, clustered
from analysis.statistics.shares import DIGITS, STORE_STATISTIC, ShareInterval, rounded
from analysis.tables import STATISTICS

# the columns of one population's table; store_statistics.csv puts the population first
STATISTIC_COLUMNS = tuple(c for c in STATISTICS["store_statistics"].columns if c != "population")
# stores.csv's counts: numbers here, whether the stores come as rows or as the text of their CSV
STORE_COUNTS = tuple(f.name for f in fields(Store) if f.type in (int, "int"))


def _frame(rows: Sequence[Any] | pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        return rows
    return pd.DataFrame([vars(r) for r in rows], columns=list(columns))


@dataclass(frozen=True)
class _Statistic:
    """One statistic over every repository, each repository's part apart (every one of them adds up over
    repositories), so that a population's figure is its repositories' parts: a share of repositories
    (``holds``: those where it holds) or units clustering in repositories (``counts``: each one's)."""

    name: str
    unit: str
    definition: str
    holds: frozenset[str] | None = None
    counts: tuple[ClusterCount, ...] = ()
    ratio: bool = False


def store_statistics(repos: Sequence[str], stores: Sequence[Store] | pd.DataFrame,
                     runs: Sequence[StoredRun] | pd.DataFrame,
                     params: Sequence[StoredParam] | pd.DataFrame = (),
                     metrics: Sequence[StoredMetric] | pd.DataFrame = ()) -> pd.DataFrame:
    """The corpus statistics of committed stores: numerator, denominator, share and its 95% interval.
    A share of repositories has its Wilson interval; a share or ratio of runs, metric histories or
    points, whose units cluster in repositories, has the cluster view of ``analysis.statistics.clusters``
    (a bootstrap over repositories, the per-repository view, the largest repository and the figure
    without it). ``repos`` is the population of analyzed repositories; the row tables are this
    module's rows or DataFrames of their CSVs."""
    return _population(_statistics(stores, runs, params, metrics), repos)


def _population(statistics: Sequence[_Statistic], repos: Sequence[str]) -> pd.DataFrame:
    """The rows of ``statistics`` over the repositories ``repos``."""
    population = set(repos)
    out: list[dict[str, Any]] = []
    for stat in statistics:
        if stat.holds is not None:  # a share of repositories: Wilson
            out.append({"statistic": stat.name, "unit": stat.unit,
                        **ShareInterval(len(stat.holds & population), len(population)).cells(STORE_STATISTIC),
                        "ci_method": "wilson", "largest_cluster": "", "definition": stat.definition})
            continue
        view = clustered(c for c in stat.counts if c.cluster in population)
        value = (view.k / view.n if stat.ratio else view.share) if view.n else None  # none over nothing
        out.append({"statistic": stat.name, "unit": stat.unit, "numerator": view.k, "denominator": view.n,
                    "share": None if value is None else rounded(value, DIGITS),
                    "ci_low": None if view.low is None else rounded(view.low, DIGITS),
                    "ci_high": None if view.high is None else rounded(view.high, DIGITS), **cluster_cells(view),
                    "definition": stat.definition})
    frame = pd.DataFrame(out, columns=list(STATISTIC_COLUMNS), dtype=object)
    return frame.where(frame.notna(), None)  # an empty cell, not nan, where a column does not apply


def _statistics(stores: Sequence[Store] | pd.DataFrame, runs: Sequence[StoredRun] | pd.DataFrame,
                params: Sequence[StoredParam] | pd.DataFrame, metrics: Sequence[StoredMetric] | pd.DataFrame
                ) -> list[_Statistic]:
    """Every statistic of ``store_statistics``, over every repository of the row tables."""
    st = _frame(stores, [f.name for f in fields(Store)])
    st = st.assign(**{c: pd.to_numeric(st[c], errors="coerce").fillna(0).astype(int) for c in STORE_COUNTS if c in st})
    rn = _frame(runs, [f.name for f in fields(StoredRun)])
    pm = _frame(params, [f.name for f in fields(StoredParam)])
    mt = _frame(metrics, [f.name for f in fields(StoredMetric)])
    out: list[_Statistic] = []

    def share(name: str, unit: str, holds: Iterable[str], definition: str) -> None:
        out.append(_Statistic(name, unit, definition, holds=frozenset(str(r) for r in holds)))

    def per_run(name: str, unit: str, frame: pd.DataFrame, hits: pd.Series, definition: str) -> None:
        out.append(_Statistic(name, unit, definition, counts=tuple(by_cluster(frame["repo"], hits.astype(int)))))

    def ratio(name: str, unit: str, frame: pd.DataFrame, total: str, count: str, definition: str) -> None:
        totals = frame.groupby("repo")[[total, count]].sum()
        counts = tuple(ClusterCount(str(r), float(k), int(n)) for r, k, n in zip(totals.index, totals[total], totals[count]))
        out.append(_Statistic(name, unit, definition, counts=counts, ratio=True))

    share("repos committing a store", "repositories", st["repo"], "repositories with at least one store")
    for kind in ("file", "sqlite", "registry"):
        share(f"repos committing a {kind} store", "repositories", st.loc[st["kind"] == kind, "repo"],
              f"repositories with at least one store of kind {kind}")
    ratio("runs per store", "stores", st.assign(stores=1), "n_runs", "stores", "runs read / stores")
    ratio("bytes per run", "runs", st, "bytes", "n_runs", "store bytes / runs read")
    file_st = st[st["kind"] == "file"]
    ratio("bytes per metric point (FileStore)", "metric points", file_st, "metric_bytes", "n_metric_points",
          "metric file bytes / metric points, FileStore stores")
    ratio("files per run (FileStore)", "runs", file_st, "files", "n_runs",
          "FileStore files / runs read (MLflow 1.0.0 to 3.18.0 writes one file per param, metric and tag: "
          "file_store_files of analysis/data/mlflow_behaviour.csv)")
    per_run("runs with a git commit", "runs", rn, rn["git_commit"] != "", "runs tagged mlflow.source.git.commit")
    known = rn[rn["git_commit_in_history"].isin(["yes", "no"])]
    per_run("commits found in the clone's history", "recorded commits", known, known["git_commit_in_history"] == "yes",
            "runs whose commit the mined clone holds, among runs whose commit could be looked up")
    sourced = rn[rn["source_in_repo"] != ""]
    per_run("runs whose source file exists", "runs recording a source", sourced, sourced["source_in_repo"] == "yes",
            "mlflow.source.name names a file of the checkout (longest-suffix rule), among runs recording a source")
    per_run("runs with an entry point", "runs", rn, rn["entry_point"] != "", "runs tagged mlflow.project.entryPoint")
    # the statistics of params and metric histories are there when the corpus has such rows: in every
    # population's table then (0 of 0 where a population has none), each population's table the same rows
    if len(pm):
        judged = pm[pm["declared_in_mlproject"] != "unknown"]
        by_run = (judged.groupby(["repo", "store", "run_id"])["declared_in_mlproject"]
                  .agg(lambda s: bool((s == "yes").all())).reset_index())
        per_run("runs whose params all match the MLproject", "runs of a declared entry point", by_run,
                by_run["declared_in_mlproject"],
                "every param of the run is declared by its entry point, among runs of a declared entry point")
        at_commit(rn, pm, per_run)
    for status in ("FAILED", "RUNNING", "KILLED"):
        per_run(f"runs left {status}", "runs", rn, rn["status"] == status, f"runs whose status is {status}")
    per_run("runs with an absolute local artifact URI", "runs", rn, rn["artifact_uri_kind"] == "absolute-local",
            "artifact_uri is a path of the author's machine: the store cannot be moved")
    if len(mt):
        nonfinite = (pd.to_numeric(mt["n_nan"]) > 0) | (pd.to_numeric(mt["n_inf"]) > 0)
        per_run("metric histories with NaN or infinite values", "metric histories", mt, nonfinite,
                "stored_metrics.csv rows with n_nan or n_inf above 0")
        per_run("metric histories storing a point twice", "metric histories", mt,
                pd.to_numeric(mt["duplicate_points"]) > 0,
                "stored_metrics.csv rows with duplicate_points above 0 (the same point stored twice)")
    return out


def at_commit(runs: pd.DataFrame, params: pd.DataFrame, per_run: Any) -> None:
    """The parameters of each run judged against the MLprojects of the commit it recorded
    (``stored_params.csv`` ``declared_at_recorded_commit`` where ``stored_runs.csv`` ``mlproject_at`` is
    ``recorded``): the runs whose params all match there, and the runs judged otherwise there than at HEAD
    (among those judged at both); runs cluster in repositories (``per_run``)."""
    if "mlproject_at" not in runs or "declared_at_recorded_commit" not in params:
        return
    keys = ["repo", "store", "run_id"]
    recorded = runs.loc[runs["mlproject_at"] == "recorded", keys]
    pm = params.merge(recorded, on=keys)
    at = pm[pm["declared_at_recorded_commit"] != "unknown"]
    by_run = at.groupby(keys)["declared_at_recorded_commit"].agg(lambda s: bool((s == "yes").all())).reset_index()
    per_run("runs whose params all match the MLproject at their recorded commit",
            "runs of an entry point declared at their recorded commit", by_run, by_run["declared_at_recorded_commit"],
            "every param of the run is declared by its entry point in the MLprojects of the commit the run recorded "
            "(read from the clone's history), among runs judged there: stored_runs.csv mlproject_at = recorded and "
            "the entry point declared at that commit")
    both = pm[(pm["declared_at_recorded_commit"] != "unknown") | (pm["declared_in_mlproject"] != "unknown")]
    judged = both.groupby(keys).agg(
        at=("declared_at_recorded_commit", lambda s: "unknown" if (s == "unknown").all() else bool((s == "yes").all())),
        head=("declared_in_mlproject", lambda s: "unknown" if (s == "unknown").all() else bool((s == "yes").all())),
    ).reset_index()
    judged = judged[(judged["at"] != "unknown") & (judged["head"] != "unknown")]
    per_run("runs judged otherwise at their recorded commit than at HEAD", "runs judged at both", judged,
            judged["at"] != judged["head"],
            "whether every param of the run is declared by its entry point differs between the MLprojects of the "
            "commit the run recorded and HEAD's, among runs judged at both (mlproject_at = recorded)")


def store_statistics_by_population(populations: Mapping[str, Sequence[str]], stores: Sequence[Store] | pd.DataFrame,
                                   runs: Sequence[StoredRun] | pd.DataFrame,
                                   params: Sequence[StoredParam] | pd.DataFrame = (),
                                   metrics: Sequence[StoredMetric] | pd.DataFrame = ()) -> pd.DataFrame:
    """``store_statistics`` of each population (name -> its repositories), one after the other, the
    population's name in the first column: the table of ``store_statistics.csv``."""
    statistics = _statistics(stores, runs, params, metrics)  # once: each population's rows are its repositories' parts
    frames = [_population(statistics, repos).assign(population=name) for name, repos in populations.items()]
    columns = list(STATISTICS["store_statistics"].columns)
    return (pd.concat([f.astype(object) for f in frames], ignore_index=True)[columns] if frames
            else pd.DataFrame(columns=columns))
