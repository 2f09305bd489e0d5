"""What the re-runs measured: rates with Wilson intervals, the failure taxonomy, time, readiness against outcome.

``rerun_statistics(rerun, reproducibility)`` takes the rows of ``rerun.csv`` and of
``reproducibility.csv`` (DataFrames as ``tables.table_frame`` reads them; text cells are typed first)
and returns the tables the report shows;
``summary_frame`` puts them into the one long table written as ``rerun_summary.csv``.

- **Rates** (per target, an entry point), each over the targets where it can hold (never those
  ``UNMEASURED`` says measured the machine or the options, not the project: a full disk, ``no space``, and
  conda channels that did not answer, ``channel unreachable``, both tried again next time; a
  project MLflow's conda manager refuses, ``env manager``): built (its
  environment was built, over targets with an environment to build), ran (the run succeeded, over
  every target), ran given built, same and close results (every final metric equal to, or within 1%
  of, the committed run's) over the targets that ran and had a committed run with metrics; a rate
  over no target is not measured, never 0%.
- **Failures**: targets by status and failure class.
- **Time** to re-run (environment build + run, seconds) of the targets that succeeded: quantiles, or
  each target's own seconds when fewer than five succeeded.
- **Network**: the policy the rows were measured under (``--network``; ``none`` for rows written
  before the column existed), with the count of each when a ``rerun.csv`` mixes them; likewise the
  environment managers (``env_manager``; ``virtualenv`` for rows written before the column existed).
- **Driver**: a target run under both ``--driver-mlflow`` choices has a row of each; every table
  above takes one row per target, the ``declared`` one (the default) where there is one
  (``one_per_target``), and counts the MLflow that made them (``driver_mlflow``). The rates of each
  choice are also given over the targets run under both (``by_driver``): what the choice changes.
- **Readiness**: per repository (a repository re-runs when one of its entry points succeeded),
  the share that re-ran in each band of the static readiness score, and the AUC of the score as a
  predictor of that outcome (the probability that a repository that re-ran scores higher than one
  that did not, ties counting half).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.rerun.ftypes import RerunRow
from analysis.rows import ReproducibilityRow
from analysis.statistics.clusters import CLUSTER_COLUMNS, by_cluster, cluster_cells, clustered
from analysis.statistics.shares import FEWEST_FOR_QUANTILES, RERUN_RATE, ShareInterval
from analysis.tables import typed_frame

RATE_COLUMNS = ("rate", "n", "n_eligible", "share", "ci_low", "ci_high", *CLUSTER_COLUMNS, "definition")
BANDS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0001))
SUMMARY_COLUMNS = ("section", "name", "n", "n_eligible", "share", "ci_low", "ci_high", "value", "definition")
UNMEASURED = ("no space", "channel unreachable", "env manager")  # failure classes in no rate (see the docstring)


@dataclass(frozen=True)
class RerunStatistics:
    """The tables of the re-run section of the report."""

    rates: pd.DataFrame  # RATE_COLUMNS
    failures: pd.DataFrame  # status, failure_class, n, share
    times: pd.DataFrame  # quantile, build_seconds, run_seconds, total_seconds
    readiness: pd.DataFrame  # band, n, n_eligible, share, ci_low, ci_high
    auc: float | None  # readiness score against "re-ran", None when one class is empty
    n_repos_scored: int
    network: dict[str, int] = field(default_factory=dict)  # targets by network policy (none, all)
    drivers: dict[str, int] = field(default_factory=dict)  # targets by driver_mlflow ('declared 1.30.1', ...)
    by_driver: pd.DataFrame = field(default_factory=pd.DataFrame)  # driver, *RATE_COLUMNS: targets run under both
    env_manager: dict[str, int] = field(default_factory=dict)  # targets by environment manager ('' docker)

    def network_words(self) -> str:
        """The network the runs had, in words: ``no network``, ``the host's network`` or both with their counts."""
        words = {"none": "no network", "all": "the host's network"}
        if len(self.network) == 1:
            return words.get(next(iter(self.network)), next(iter(self.network)))
        return " and ".join(f"{words.get(k, k)} for {n} target{'s' * (n != 1)}" for k, n in sorted(self.network.items()))


def _rate(name: str, hits: pd.Series, eligible: pd.Series, definition: str, repos: pd.Series) -> dict[str, object]:
    """A rate over targets, which cluster in repositories (one may hold dozens of entry points): the
    cluster bootstrap by repository of ``analysis.statistics.clusters`` and the largest repository's part."""
    view = clustered(by_cluster(repos[eligible], (hits & eligible)[eligible].astype(int)))
    return {"rate": name, "n": int(view.k), "n_eligible": view.n, "share": view.share if view.n else None,  # over none: no share
            "ci_low": view.low,
            "ci_high": view.high, **cluster_cells(view), "definition": definition}


def auc(scores: list[float], outcomes: list[bool]) -> float | None:
    """The area under the ROC curve of ``scores`` for ``outcomes`` (Mann-Whitney), None without both classes."""
    pos = [s for s, o in zip(scores, outcomes) if o]
    neg = [s for s, o in zip(scores, outcomes) if not o]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


TARGET = ["repo", "mlproject_path", "entry_point"]


def _choices(rerun: pd.DataFrame) -> pd.Series:
    """The driver choice of each row: the first word of ``driver_mlflow`` (``current`` where it has none)."""
    labels = rerun["driver_mlflow"] if "driver_mlflow" in rerun else pd.Series("", index=rerun.index)
    return labels.fillna("").astype(str).str.split(" ").str[0].replace("", "current")


def one_per_target(rerun: pd.DataFrame) -> pd.DataFrame:
    """One row per target, in the rows' order: the one made under ``declared`` where it has one, else its row."""
    if rerun.empty:
        return rerun
    first = rerun.assign(_declared=_choices(rerun) == "declared").sort_values("_declared", ascending=False,
                                                                             kind="stable")
    return first.drop_duplicates(TARGET).sort_index().drop(columns="_declared")


def rerun_statistics(rerun: pd.DataFrame, reproducibility: pd.DataFrame | None = None) -> RerunStatistics:
    """The statistics of ``rerun.csv`` rows (and ``reproducibility.csv`` rows for the readiness check)."""
    typed = typed_frame(rerun, RerunRow)
    rerun = one_per_target(typed)
    rates = _rates(rerun)
    failures = (rerun[rerun["status"] != "succeeded"].groupby(["status", "failure_class"]).size()
                .rename("n").reset_index().sort_values(["n", "status", "failure_class"], ascending=[False, True, True]))
    failures["share"] = failures["n"] / max(1, len(rerun))
    times = _times(rerun[rerun["status"] == "succeeded"])
    readiness, score_auc, n_scored = _readiness(rerun, reproducibility)
    policy = rerun["network"].replace("", "none") if "network" in rerun else pd.Series("none", index=rerun.index)
    labels = rerun["driver_mlflow"].replace("", "none") if "driver_mlflow" in rerun else \
        pd.Series("current", index=rerun.index)
    managers = rerun["env_manager"] if "env_manager" in rerun else pd.Series("virtualenv", index=rerun.index)
    return RerunStatistics(rates, failures.reset_index(drop=True), times, readiness, score_auc, n_scored,
                           {str(k): int(n) for k, n in policy.value_counts().sort_index().items()},
                           {str(k): int(n) for k, n in labels.value_counts().sort_index().items()},
                           _by_driver(typed),
                           {str(k): int(n) for k, n in managers.value_counts().sort_index().items()})


def _by_driver(rerun: pd.DataFrame) -> pd.DataFrame:
    """The rates of each driver choice over the targets with a row of each (none when no target has both)."""
    choice = _choices(rerun)
    both = rerun.assign(_choice=choice).groupby(TARGET)["_choice"].transform("nunique") > 1
    if rerun.empty or not both.any():
        return pd.DataFrame(columns=["driver", *RATE_COLUMNS])
    return pd.concat([_rates(rerun[both & (choice == c)]).assign(driver=c)[["driver", *RATE_COLUMNS]]
                      for c in ("current", "declared")], ignore_index=True)


def _rates(rerun: pd.DataFrame) -> pd.DataFrame:
    """The rates (``RATE_COLUMNS``) over one row per target."""
    # a target that met a full disk or unreachable channels measured the machine, not the project, and one MLflow's
    # conda manager refuses measured the option: in no rate (a later run tries the first two again)
    every = ~rerun["failure_class"].isin(UNMEASURED)
    built = (rerun["env_build"] == "ok") & every
    # an environment to build: one declared (python_env, conda_env) whose build was tried; a target without one
    # (MLflow's bare environment) builds nothing, and one refused before its build (docker, a missing value) was not tried
    buildable = rerun["env_kind"].isin(["python_env", "conda_env"]) & (rerun["env_build"] != "") & every
    repos = rerun["repo"]
    ran = rerun["status"] == "succeeded"
    same = rerun["metrics_equal"].eq(True)
    compared = ran & (same | rerun["metrics_equal"].eq(False))  # None: nothing to compare with
    close = rerun["metrics_close"].eq(True)
    return pd.DataFrame([
        _rate("built", built, buildable, "environment built / targets with an environment to build (python_env "
              "or conda_env) whose build was tried", repos),
        _rate("ran", ran, every, "run succeeded (exit status 0) / targets (but those that met a full disk or "
              "unreachable channels, or whose manager MLflow refuses)", repos),
        _rate("ran given built", ran, built, "run succeeded / targets whose environment was built", repos),
        _rate("same given compared", same, compared,
              "metrics equal / succeeded targets with a committed run that has metrics", repos),
        _rate("close given compared", close, compared,
              "metrics within 1% / succeeded targets with a committed run that has metrics", repos),
    ], columns=list(RATE_COLUMNS))


def _times(done: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of the seconds of the targets that succeeded; with fewer than ``FEWEST_FOR_QUANTILES`` of them,
    each target's own seconds (``quantile`` then names the target)."""
    build = done["build_seconds"].astype(float).fillna(0.0)
    run = done["run_seconds"].astype(float).fillna(0.0)
    total = build + run
    rows = []
    if 0 < len(done) < FEWEST_FOR_QUANTILES:
        for i in sorted(done.index, key=lambda i: (total[i], done.at[i, "repo"], done.at[i, "entry_point"])):
            rows.append({"quantile": f"{done.at[i, 'repo']} {done.at[i, 'entry_point']}", "build_seconds": build[i],
                         "run_seconds": run[i], "total_seconds": total[i]})
        return pd.DataFrame(rows, columns=["quantile", "build_seconds", "run_seconds", "total_seconds"])
    for name, q in (("min", 0.0), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.9), ("max", 1.0)):
        rows.append({"quantile": name, "build_seconds": build.quantile(q) if len(done) else None,
                     "run_seconds": run.quantile(q) if len(done) else None,
                     "total_seconds": total.quantile(q) if len(done) else None})
    rows.append({"quantile": "mean", "build_seconds": build.mean() if len(done) else None,
                 "run_seconds": run.mean() if len(done) else None, "total_seconds": total.mean() if len(done) else None})
    return pd.DataFrame(rows)


def _readiness(rerun: pd.DataFrame, repro: pd.DataFrame | None) -> tuple[pd.DataFrame, float | None, int]:
    columns = ["band", "n", "n_eligible", "share", "ci_low", "ci_high"]
    if repro is None or repro.empty or rerun.empty:
        return pd.DataFrame(columns=columns), None, 0
    outcome = (rerun.assign(ok=rerun["status"] == "succeeded").groupby("repo")["ok"].any())
    score = typed_frame(repro, ReproducibilityRow).set_index("repo")["readiness"].astype(float)
    joined = pd.DataFrame({"ok": outcome, "score": score.reindex(outcome.index)}).dropna()
    rows = []
    for low, high in BANDS:
        inside = joined[(joined["score"] >= low) & (joined["score"] < high)]
        share = ShareInterval(int(inside["ok"].sum()), len(inside))
        rows.append({"band": f"{low:.2f}-{min(high, 1.0):.2f}", **share.cells(RERUN_RATE, digits=None)})
    return (pd.DataFrame(rows, columns=columns),
            auc(joined["score"].tolist(), joined["ok"].astype(bool).tolist()), len(joined))


def summary_frame(stats: RerunStatistics) -> pd.DataFrame:
    """All tables in one long frame (``SUMMARY_COLUMNS``), as written to ``rerun_summary.csv``."""
    rows: list[dict[str, object]] = [
        {"section": "network", "name": policy, "n": n, "n_eligible": sum(stats.network.values()),
         "definition": "targets run under this network policy (--network: none, a loopback of their own; all, the "
                       "host's network) / targets: the rates are measured under it"}
        for policy, n in stats.network.items()]
    rows += [{"section": "driver", "name": label, "n": n, "n_eligible": sum(stats.drivers.values()),
              "definition": "targets whose run was made by this MLflow (--driver-mlflow: declared, the release the "
                            "project pins exactly; current, the tool's; none, no run was made) / targets"}
             for label, n in stats.drivers.items()]
    rows += [{"section": "env_manager", "name": manager or "none (docker)", "n": n,
              "n_eligible": sum(stats.env_manager.values()),
              "definition": "targets whose environment this manager made (--env-manager; by default conda for "
                            "conda_env projects, virtualenv for the others) / targets"}
             for manager, n in stats.env_manager.items()]
    for r in stats.rates.to_dict("records"):
        rows.append({"section": "rate", "name": r["rate"], **{k: r[k] for k in ("n", "n_eligible", "share", "ci_low",
                                                                                 "ci_high", "definition")}})
    for r in stats.by_driver.to_dict("records"):
        rows.append({"section": "driver rate", "name": f"{r['rate']}: {r['driver']}",
                     **{k: r[k] for k in ("n", "n_eligible", "share", "ci_low", "ci_high")},
                     "definition": f"under --driver-mlflow {r['driver']}, over the targets run under both choices: "
                                   f"{r['definition']}"})
    for r in stats.failures.to_dict("records"):
        rows.append({"section": "failure", "name": f"{r['status']}: {r['failure_class']}".rstrip(": "), "n": r["n"],
                     "share": r["share"], "definition": "targets with this status and failure class / targets"})
    for r in stats.times.to_dict("records"):
        for column in ("total_seconds", "build_seconds", "run_seconds"):
            if column == "total_seconds" or r["quantile"] in ("median", "mean") or len(stats.times) < 7:
                rows.append({"section": "time", "name": f"{column} {r['quantile']}", "value": r[column],
                             "definition": "seconds, targets that succeeded (build: the environment's build time)"})
    for r in stats.readiness.to_dict("records"):
        rows.append({"section": "readiness", "name": f"score {r['band']}",
                     **{k: r[k] for k in ("n", "n_eligible", "share", "ci_low", "ci_high")},
                     "definition": "repositories with an entry point that re-ran / repositories in the score band"})
    rows.append({"section": "readiness", "name": "auc", "value": stats.auc, "n_eligible": stats.n_repos_scored,
                 "definition": "P(score of a repository that re-ran > one that did not), ties half"})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS), dtype=object)
