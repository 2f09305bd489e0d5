"""The re-runs of the report's section 4: rates, failures, times and the readiness score against them."""

from __future__ import annotations

from analysis.report import facts as F
from analysis.report.sections.drawing import Drawing, cluster_rows
from analysis.statistics.clusters import from_cells


def rerun(report: Drawing) -> None:
    rerun = report.inputs.rerun_table()
    if rerun.empty:
        report.doc.para(f"Re-runs (entry points executed in a sandbox and compared with their committed runs): not "
                      f"measured: run `{F.RERUN_COMMAND}`.", css="not-measured")
        return
    from analysis.rerun.statistics import rerun_statistics

    repro = report.inputs.table("reproducibility.csv")
    stats = rerun_statistics(rerun, repro if len(repro) else None)
    doc = report.doc
    rates = cluster_rows([(str(r["rate"]), view, str(r["definition"])) for r in stats.rates.to_dict("records")
                          if (view := from_cells({**r, "numerator": r["n"], "denominator": r["n_eligible"]}))])
    policy = ", ".join(f"{k} ({n})" for k, n in stats.network.items()) if len(stats.network) > 1 else \
        next(iter(stats.network), "none")
    doc.para(f"The re-runs had {stats.network_words()} while they ran (`--network {policy}`); their environments "
             "were built from the package index. The rates below are measured under that policy.")
    doc.table(rates, "rerun.csv", f"Re-runs (network: {policy}): rates over targets (entry points), which cluster in "
              "repositories: 95% cluster bootstrap by repository (none with fewer than 5), the repositories, the "
              "largest one's part", anchor=F.T_RERUN, collapse=False)
    drivers = ", ".join(f"{label} ({n})" for label, n in stats.drivers.items())
    doc.para(f"The MLflow that created the runs (`--driver-mlflow`; declared: the release the project's environment "
             f"pins exactly, current: the tool's): {drivers}. A target run under both choices counts above with "
             "its declared row.")
    if len(stats.by_driver):
        paired = cluster_rows([(f"{r['rate']}: {r['driver']}", view, str(r["definition"]))
                               for r in stats.by_driver.to_dict("records")
                               if (view := from_cells({**r, "numerator": r["n"], "denominator": r["n_eligible"]}))])
        doc.table(paired, "rerun.csv", "Re-runs by the MLflow that created the run: the rates of each "
                  "--driver-mlflow choice over the targets run under both (declared: the project's pinned release; "
                  "current: the tool's)", collapse=False)
    doc.table(stats.failures, "rerun.csv", "Re-runs: what stopped the targets that did not succeed")
    if stats.times["total_seconds"].notna().any():
        doc.table(stats.times.round(1), "rerun.csv", "Re-runs: seconds of the targets that succeeded (build: "
                  "the environment's build time, also when it came from the cache)")
    if len(stats.readiness):
        doc.table(stats.readiness, "rerun.csv", "Re-runs against the static readiness score: repositories with "
                  "an entry point that re-ran, per score band")
        doc.para(f"Readiness score as a predictor of re-running: AUC {stats.auc:.2f} over {stats.n_repos_scored} "
                 "repositories (0.5: no better than chance)." if stats.auc is not None else
                 "Readiness score as a predictor of re-running: no AUC (every repository re-ran, or none did).")
