"""Corpus statistics of the experiment stores repositories commit (``stored_runs.py`` reads them):
shares with their denominators and 95% Wilson intervals, for the report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import pandas as pd

from analysis.rows import Store, StoredParam, StoredRun
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


def store_statistics(repos: Sequence[str], stores: Sequence[Store] | pd.DataFrame,
                     runs: Sequence[StoredRun] | pd.DataFrame,
                     params: Sequence[StoredParam] | pd.DataFrame = ()) -> pd.DataFrame:
    """The corpus statistics of committed stores: numerator, denominator, share and its 95% Wilson
    interval (ratios such as runs per store have no interval). ``repos`` is the population of
    analyzed repositories; the row tables are this module's rows or DataFrames of their CSVs."""
    st = _frame(stores, [f.name for f in fields(Store)])
    st = st.assign(**{c: pd.to_numeric(st[c], errors="coerce").fillna(0).astype(int) for c in STORE_COUNTS if c in st})
    rn = _frame(runs, [f.name for f in fields(StoredRun)])
    pm = _frame(params, [f.name for f in fields(StoredParam)])
    st = st[st["repo"].isin(repos)]
    rn = rn[rn["repo"].isin(repos)]
    out: list[dict[str, Any]] = []

    def share(name: str, k: int, n: int, definition: str) -> None:
        out.append({"statistic": name, **ShareInterval(k, n).cells(STORE_STATISTIC), "definition": definition})

    def ratio(name: str, total: float, n: int, definition: str) -> None:
        out.append({"statistic": name, "numerator": total, "denominator": n,
                    "share": rounded(total / n if n else 0.0, DIGITS), "ci_low": None, "ci_high": None,
                    "definition": definition})

    n_repos = len(set(repos))
    share("repos committing a store", st["repo"].nunique(), n_repos, "repositories with at least one store")
    for kind in ("file", "sqlite", "registry"):
        share(f"repos committing a {kind} store", st.loc[st["kind"] == kind, "repo"].nunique(), n_repos,
              f"repositories with at least one store of kind {kind}")
    ratio("runs per store", int(st["n_runs"].sum()), len(st), "runs read / stores")
    ratio("bytes per run", int(st["bytes"].astype(int).sum()), int(st["n_runs"].sum()), "store bytes / runs read")
    file_st = st[st["kind"] == "file"]
    ratio("bytes per metric point (FileStore)", int(file_st["metric_bytes"].astype(int).sum()),
          int(file_st["n_metric_points"].astype(int).sum()), "metric file bytes / metric points, FileStore stores")
    ratio("files per run (FileStore)", int(file_st["files"].astype(int).sum()), int(file_st["n_runs"].sum()),
          "FileStore files / runs read (MLflow 1.0.0 to 3.18.0 writes one file per param, metric and tag: "
          "file_store_files of analysis/data/mlflow_behaviour.csv)")
    n = len(rn)
    commit = rn["git_commit"] != ""
    share("runs with a git commit", int(commit.sum()), n, "runs tagged mlflow.source.git.commit")
    known = rn["git_commit_in_history"].isin(["yes", "no"])
    share("commits found in the clone's history", int((rn["git_commit_in_history"] == "yes").sum()), int(known.sum()),
          "runs whose commit the mined clone holds, among runs whose commit could be looked up")
    has_source = rn["source_in_repo"] != ""
    share("runs whose source file exists", int((rn["source_in_repo"] == "yes").sum()), int(has_source.sum()),
          "mlflow.source.name names a file of the checkout (longest-suffix rule), among runs recording a source")
    share("runs with an entry point", int((rn["entry_point"] != "").sum()), n, "runs tagged mlflow.project.entryPoint")
    if len(pm):
        judged = pm[pm["declared_in_mlproject"] != "unknown"]
        by_run = judged.groupby(["repo", "store", "run_id"])["declared_in_mlproject"].agg(lambda s: bool((s == "yes").all()))
        share("runs whose params all match the MLproject", int(by_run.sum()), len(by_run),
              "every param of the run is declared by its entry point, among runs of a declared entry point")
    for status in ("FAILED", "RUNNING", "KILLED"):
        share(f"runs left {status}", int((rn["status"] == status).sum()), n, f"runs whose status is {status}")
    share("runs with an absolute local artifact URI", int((rn["artifact_uri_kind"] == "absolute-local").sum()), n,
          "artifact_uri is a path of the author's machine: the store cannot be moved")
    return pd.DataFrame(out, columns=list(STATISTIC_COLUMNS))


def store_statistics_by_population(populations: Mapping[str, Sequence[str]], stores: Sequence[Store] | pd.DataFrame,
                                   runs: Sequence[StoredRun] | pd.DataFrame,
                                   params: Sequence[StoredParam] | pd.DataFrame = ()) -> pd.DataFrame:
    """``store_statistics`` of each population (name -> its repositories), one after the other, the
    population's name in the first column: the table of ``store_statistics.csv``."""
    frames = [store_statistics(repos, stores, runs, params).assign(population=name) for name, repos in populations.items()]
    columns = list(STATISTICS["store_statistics"].columns)
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
