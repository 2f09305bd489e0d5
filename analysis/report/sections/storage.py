"""Section 1 of the report, storage: MLflow's storage model by release, tracking URIs, committed stores,
and the probe's tables (capacity, access time, precision, integrity)."""

from __future__ import annotations

import pandas as pd

from analysis.report import facts as F
from analysis.report.claims import claim_links, claim_text
from analysis.report.figures import storage_figure
from analysis.report.findings import population_store_statistics
from analysis.report.sections.drawing import Drawing, practice_rows, statistic_rows
from analysis.versions import version_key


def storage(report: Drawing) -> None:
    doc, inputs = report.doc, report.inputs
    doc.heading("1. Storage: what MLflow stores, and where projects send it", anchor="sec-1-storage")
    report.details("storage")
    storage = inputs.table("mlflow_storage.csv")
    if not storage.empty:
        counts = storage.groupby(["release", "kind"]).size().unstack(fill_value=0)
        counts = counts.loc[sorted(counts.index, key=version_key)]
        if set(counts.columns) & {"sql_table", "entity", "limit", "tracking_scheme", "artifact_scheme"}:
            doc.figure("fig_storage.png", storage_figure(counts), "mlflow_storage.csv",
                       "Storage model per release: SQL tables, entities, limits, schemes (counts in each release's "
                       "source)")
        limits = storage[(storage["kind"] == "limit") & (storage["name"] == "MAX_PARAM_VAL_LENGTH")]
        per_release = counts.reindex(columns=[c for c in ("sql_table", "sql_column", "entity", "limit",
                                                          "tracking_scheme", "artifact_scheme") if c in counts])
        per_release["MAX_PARAM_VAL_LENGTH"] = [dict(zip(limits["release"], limits["detail"])).get(r, "")
                                               for r in per_release.index]
        doc.table(per_release.reset_index(), "mlflow_storage.csv", "MLflow's storage model by release",
                  anchor=F.T_STORAGE_MODEL)
    else:
        doc.para("No MLflow releases in the corpus: the storage model was not read (`python cli.py mine` "
                 "fetches them; `--mlflow-from DIR` takes them from a folder).", css="not-measured")
    doc.table(practice_rows(report.practices, [p for p in report.practices.get("practice", pd.Series(dtype=str))
                                              if str(p).startswith("explicit tracking URI")], report.population),
              "practices.csv", "Repositories configuring a tracking URI, by scheme", anchor=F.T_URI)
    uris = inputs.in_population(inputs.table("tracking_uris.csv"))
    if not uris.empty:
        doc.table(uris.groupby(["source", "scheme"]).size().reset_index(name="n_sites"), "tracking_uris.csv",
                  "Where tracking URIs are configured (call sites and files)")
    default_store(report)
    stored = population_store_statistics(inputs)
    if len(stored):
        doc.table(statistic_rows(stored), "stored_runs.csv", "Experiment stores committed to the repositories (read as MLflow "
                  "reads them): storage, traceability of runs, runs left behind (share of denominator; 95% "
                  "Wilson over repositories, cluster bootstrap by repository over runs and metric histories, with "
                  "the largest repository's part; the report's population's rows of store_statistics.csv)",
                  anchor=F.T_STORES)
    probe_table(report, ("efficiency", "failed"), "Access time of MLflow's stores, and releases the probe could not "
                     "run", "--probe capacity")

def default_store(report: Drawing) -> None:
    """Where runs go when a repository sets no tracking URI, and what a FileStore takes, release by release."""
    inputs, doc = report.inputs, report.doc
    default, file_store = claim_text("default_tracking_uri", inputs), claim_text("file_store", inputs)
    if not default:
        return
    text = ("A repository that sets no tracking URI (no `set_tracking_uri` call, no `MLFLOW_TRACKING_URI` where it "
            f"runs) logs where MLflow's default puts it: {default}.")
    if file_store:
        text += f" A FileStore (a path or `file:` URI, such as `./mlruns`): {file_store}."
    doc.para(f"{text} {claim_links(['default_tracking_uri', 'file_store'], inputs, doc.source_link)}")


def probe_table(report: Drawing, sections: tuple[str, ...], caption: str, option: str) -> None:
    """The rows of ``analysis.probe.summarize`` for ``sections`` (with the capacity figures for
    efficiency), or 'not measured'."""
    from analysis.probe import summarize

    probe = report.inputs.probe_table()
    if probe.empty:
        report.doc.para(f"{caption}: not measured: run `{F.PROBE_COMMAND} {option}`.", css="not-measured")
        return
    if "efficiency" in sections:
        report.doc.table(probe_capacity(probe), "probe.csv", "Capacity of MLflow's stores: bytes and files on disk, "
                       "write rates and start-up, per backend (rows) and release (columns), medians of the "
                       "repetitions", anchor=F.T_PROBE)
    summary = pd.DataFrame(summarize(probe.to_dict("records")), columns=["section", "backend", "item", "result"])
    rows = summary[summary["section"].isin(sections)]
    report.doc.table(rows, "probe.csv", f"{caption} (analysis.probe.summarize: per backend, by release)",
                   anchor=f"t-probe-{sections[0]}")



CAPACITY_PROBES = ("disk", "create_run", "log_metric", "log_batch", "startup")


def probe_capacity(probe: pd.DataFrame) -> pd.DataFrame:
    """The probe's capacity figures (bytes and files on disk, write rates, start-up), one row per figure and
    backend, one column per release (medians as measured; ``analysis.probe.summarize`` covers the rest)."""
    rows = probe[probe["probe"].isin(CAPACITY_PROBES) & (probe["outcome"] == "measured")]
    if rows.empty:
        return pd.DataFrame()
    number = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows.assign(value=[f"{v:.4g}" if pd.notna(v) else "" for v in number])  # 4 significant digits
    table = rows.pivot_table(index=["probe", "parameter", "unit", "backend"], columns="release", values="value",
                             aggfunc="first")
    table = table[sorted(table.columns, key=version_key)]
    table.columns.name = None
    return table.reset_index()
