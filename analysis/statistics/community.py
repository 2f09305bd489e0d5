"""Community statistics computed with pandas from the per-row CSVs: practices with Wilson intervals, API usage.

Every number is recomputable from the rows it names: a practice is a predicate over one
repository's rows, ``n_repos`` counts the repositories where it holds among ``n_eligible``, and
the 95% Wilson score interval bounds the share. Statistics are given over one repository per
duplicate family (``population = one-per-family``, the default reading) and over every analyzed
repository (``population = all``), so the effect of the filter is visible; then over each of the
populations of ``populations.csv`` within one per family (``teaching``, ``library``,
``application``: a partition, ``analysis/passes/project_kind.py``), after the rows above, which
stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.rows import (
    CallSiteRow,
    CatalogRow,
    PopulationRow,
    ReproducibilityRow,
    Store,
    StoredMetric,
    StoredParam,
    StoredRun,
    TrackingUriRow,
)
from analysis.statistics.shares import API_USAGE, PRACTICE, Rounding, ShareInterval
from analysis.tables import STATISTICS, STATISTICS_FROM, cells, table_frame
from miner.fileio import write_csv, write_provenance

PRACTICE_COLUMNS = STATISTICS["practices"].columns
API_USAGE_COLUMNS = STATISTICS["api_usage"].columns
ONE_PER_FAMILY, ALL = "one-per-family", "all"  # the populations, in the order the tables give them
KINDS = ("teaching", "library", "application")  # then populations.csv's, each within one per family
WITHOUT_TEACHING = "without-teaching"  # last: one per family but the teaching ones (library and application)


def per_repository(calls: pd.DataFrame, uris: pd.DataFrame, repro: pd.DataFrame, repos: list[str]) -> pd.DataFrame:
    """One row per repository with the boolean facts the practices are made of, from the typed tables
    (``tables.table_frame``; ``repro`` indexed by repo)."""
    frame = pd.DataFrame(index=pd.Index(repos, name="repo"))

    def any_call(mask: pd.Series) -> pd.Series:
        hit = set(calls.loc[mask, "repo"])
        return pd.Series([r in hit for r in repos], index=frame.index)

    cat = calls["category"]
    frame["any_logging"] = any_call(cat.isin(["param", "metric", "artifact", "model", "tag", "dataset", "autolog"]))
    frame["logs_params"] = any_call(cat == "param")
    frame["logs_metrics"] = any_call(cat == "metric")
    frame["uses_steps"] = any_call((cat == "metric") & calls["has_step"].astype(bool))
    frame["autolog"] = any_call(cat == "autolog")
    frame["manual"] = any_call(cat.isin(["param", "metric"]))
    frame["logs_models"] = any_call(calls["api"].str.endswith(".log_model"))
    # log_model(..., registered_model_name=...) registers too; the call-site pass notes the name
    frame["registers_models"] = any_call((cat == "registry") | calls["note"].str.startswith("registered_model_name="))
    frame["logs_datasets"] = any_call(cat == "dataset")
    frame["sets_tags"] = any_call(cat == "tag")
    frame["client_api"] = any_call(calls["style"] == "client")
    frame["nested_runs"] = any_call((calls["api"] == "mlflow.start_run") & (calls["note"] == "nested=True"))
    frame["computed_keys"] = any_call(cat.isin(["param", "metric"]) & calls["key_kind"].isin(["fstring", "name", "call", "other"]))
    for scheme in sorted(set(uris["scheme"])):
        hit = set(uris.loc[uris["scheme"] == scheme, "repo"])
        frame[f"tracking_uri:{scheme}"] = [r in hit for r in repos]
    for column in ("has_mlproject", "seeds_set", "python_pinned", "mlflow_pinned"):
        frame[column] = [bool(repro.at[r, column]) if r in repro.index else False for r in repos]
    frame["env_spec"] = [repro.at[r, "env_spec"] if r in repro.index else "none" for r in repos]
    frame["n_deps"] = [int(repro.at[r, "n_deps"]) if r in repro.index else 0 for r in repos]
    frame["pinned_share"] = [float(repro.at[r, "pinned_share"]) if r in repro.index else 0.0 for r in repos]
    return frame


Predicate = Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]]  # (holds, eligible)
# work started elsewhere (another process); the function returned waits for it: True when it was done there
Elsewhere = Callable[[Callable[[], None]], Callable[[], bool]]


def practices_table(facts: pd.DataFrame, env_specs: Sequence[str] | None = None
                    ) -> list[tuple[str, pd.Series, pd.Series, str]]:
    """(practice, holds, eligible, definition) for each practice the report discusses; ``env_specs``: the
    environment spec kinds a row is given for (default: those of ``facts``)."""
    every = pd.Series(True, index=facts.index)
    logging = facts["any_logging"]
    has_deps = facts["n_deps"] > 0
    share = facts["pinned_share"]
    return [
        ("logs params", facts["logs_params"], every, "a param call (log_param, log_params, client.log_param)"),
        ("logs metrics", facts["logs_metrics"], every, "a metric call"),
        ("uses steps", facts["uses_steps"], facts["logs_metrics"], "a metric call with a step, among repos logging metrics"),
        ("autolog only", facts["autolog"] & ~facts["manual"], logging, "autolog and no param/metric call, among repos logging"),
        ("manual only", facts["manual"] & ~facts["autolog"], logging, "param/metric calls and no autolog, among repos logging"),
        ("autolog and manual", facts["manual"] & facts["autolog"], logging, "both, among repos logging"),
        ("other logging only", logging & ~facts["manual"] & ~facts["autolog"], logging,
         "logging calls but no param/metric call and no autolog (models, artifacts, tags or datasets only), among "
         "repos logging: with the three above, a partition of them"),
        ("computed keys", facts["computed_keys"], facts["manual"], "a param/metric key not written as a literal, among repos with manual logging"),
        ("logs models", facts["logs_models"], every, "a <flavor>.log_model call"),
        ("registers models", facts["registers_models"], every, "a registry call (register_model, client registry methods) or log_model(..., registered_model_name=...)"),
        ("logs datasets", facts["logs_datasets"], every, "a dataset call (log_input)"),
        ("sets tags", facts["sets_tags"], every, "a tag call"),
        ("client API", facts["client_api"], every, "an MlflowClient call"),
        ("nested runs", facts["nested_runs"], every, "start_run(nested=True)"),
        ("MLproject present", facts["has_mlproject"], every, "a valid MLproject file"),
        ("seeds set", facts["seeds_set"], every, "a seeding call or literal random_state= in code"),
        ("python pinned", facts["python_pinned"], every, "an environment file gives the Python version"),
        ("mlflow pinned", facts["mlflow_pinned"], every, "mlflow or mlflow-skinny pinned exactly"),
        *((f"explicit tracking URI: {column.split(':', 1)[1]}", facts[column], every,
           "a tracking URI of this scheme in code or configuration")
          for column in sorted(c for c in facts.columns if c.startswith("tracking_uri:"))),
        *((f"env spec: {kind}", facts["env_spec"] == kind, every, "the repository's environment spec kind")
          for kind in (sorted(set(facts["env_spec"])) if env_specs is None else env_specs)),
        *((f"exact pinning share {label}", mask & has_deps, has_deps,
           "share of exactly pinned dependencies, among repos declaring dependencies")
          for label, mask in (("0", share == 0), ("(0, 0.5)", (share > 0) & (share < 0.5)),
                              ("[0.5, 1)", (share >= 0.5) & (share < 1)), ("1", share == 1))),
    ]


def practices(facts: pd.DataFrame, population: str, within: Sequence[str] | None = None,
              env_specs: Sequence[str] | None = None) -> pd.DataFrame:
    """The practices table of one population of repositories: those of ``facts``, or only those of
    ``within`` among them (the practices listed are still those of ``facts``, with a row for each of
    ``env_specs``: every population gets the same rows)."""
    inside = pd.Series(True, index=facts.index) if within is None else pd.Series(facts.index.isin(list(within)),
                                                                                index=facts.index)
    rows = [{"population": population, "practice": name,
             **ShareInterval(int((holds & eligible & inside).sum()), int((eligible & inside).sum())).cells(PRACTICE),
             "definition": definition}
            for name, holds, eligible, definition in practices_table(facts, env_specs)]
    return pd.DataFrame(rows, columns=list(PRACTICE_COLUMNS), dtype=object)  # a share over nothing stays None


def api_usage(calls: pd.DataFrame, catalog: pd.DataFrame, repos: list[str], latest: str,
              population: str = ONE_PER_FAMILY) -> pd.DataFrame:
    """Call sites and repositories per API over ``repos`` (the population named), with the catalog's
    versions (``catalog`` indexed by api)."""
    calls = calls[calls["repo"].isin(repos) & (calls["style"] != "unresolved")]
    grouped = calls.groupby("api").agg(n_call_sites=("repo", "size"), n_repos=("repo", "nunique"),
                                       category=("category", "first")).reset_index()
    grouped["n_eligible"] = len(repos)
    # the share as pandas rounded it (Series.round), the bounds as Python rounds: the table's bytes as they were
    shares = [ShareInterval(int(k), len(repos)).cells(API_USAGE, share_rounding=Rounding.SCALED)
              for k in grouped["n_repos"]]
    for column in (API_USAGE.share, API_USAGE.ci_low, API_USAGE.ci_high):
        grouped[column] = [s[column] for s in shares]
    for column in ("first_version", "last_version", "deprecated_since"):
        grouped[column] = [catalog.at[a, column] if a in catalog.index else "" for a in grouped["api"]]
    grouped["removed_before_latest"] = [bool(v) and bool(latest) and v != latest for v in grouped["last_version"]]
    grouped = grouped.sort_values(["n_repos", "n_call_sites", "api"], ascending=[False, False, True])
    grouped["population"] = population
    return grouped[list(API_USAGE_COLUMNS)]


def populations(manifest: pd.DataFrame, analyzed: Sequence[str], kinds: pd.DataFrame | None = None
                ) -> dict[str, list[str]]:
    """The populations the statistics are taken over, by name: mined repositories (``manifest.csv``
    status ok) that were analyzed (``analyzed``: the repositories with a reproducibility.csv row; one a
    pass failed on is left out, not counted as using nothing), one per duplicate family
    (``duplicate_of`` empty) and all of them; then, with ``kinds`` (``populations.csv``'s rows), the
    repositories of one per family in each of ``KINDS``, and ``WITHOUT_TEACHING``: those of its library and
    application kinds (one without a row there is in none of these)."""
    ok = manifest[(manifest["status"] == "ok") & manifest["repo"].isin(set(analyzed))]
    leaders = sorted(ok.loc[ok["duplicate_of"] == "", "repo"])
    groups = {ONE_PER_FAMILY: leaders, ALL: sorted(ok["repo"])}
    if kinds is not None:
        of = dict(zip(kinds["repo"], kinds["population"]))
        groups.update((kind, [r for r in leaders if of.get(r) == kind]) for kind in KINDS)
        # the shares with and without course work, side by side (tutorials are kept and flagged): the
        # library and application repositories, not one whose kind populations.csv does not give
        groups[WITHOUT_TEACHING] = [r for r in leaders if of.get(r) in KINDS and of.get(r) != "teaching"]
    return groups


@dataclass(frozen=True)
class RowFrames:
    """The tables the statistics are computed from, each read once, whatever the number of statistics
    drawn from it: the row tables typed (``tables.table_frame``; ``repro`` indexed by repo, ``catalog``
    by api) and the corpus's ``manifest.csv`` as text."""

    calls: pd.DataFrame
    uris: pd.DataFrame
    repro: pd.DataFrame
    catalog: pd.DataFrame
    stores: pd.DataFrame
    runs: pd.DataFrame
    params: pd.DataFrame
    manifest: pd.DataFrame
    metrics: pd.DataFrame
    kinds: pd.DataFrame | None  # populations.csv (None when there is none: no population of its kinds)


def read_frames(tables: Path, manifest: Path) -> RowFrames:
    """The ``RowFrames`` of the row tables in ``tables`` and of the corpus's ``manifest``."""
    return RowFrames(table_frame(tables / "call_sites.csv", CallSiteRow),
                     table_frame(tables / "tracking_uris.csv", TrackingUriRow),
                     table_frame(tables / "reproducibility.csv", ReproducibilityRow).set_index("repo"),
                     table_frame(tables / "api_catalog.csv", CatalogRow).set_index("api"),
                     table_frame(tables / "stores.csv", Store), table_frame(tables / "stored_runs.csv", StoredRun),
                     table_frame(tables / "stored_params.csv", StoredParam),
                     pd.read_csv(manifest, dtype=str, keep_default_na=False),
                     table_frame(tables / "stored_metrics.csv", StoredMetric),
                     table_frame(tables / "populations.csv", PopulationRow)
                     if (tables / "populations.csv").is_file() else None)


def community_statistics(frames: RowFrames, latest: str, analyzed: Sequence[str] | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """(practices for every population, API usage over one repository per family and over all, the
    ``populations``);
    ``analyzed``: the repositories a pass did not fail on (default: every one with a reproducibility.csv row)."""
    calls, uris, repro = frames.calls, frames.uris, frames.repro
    groups = populations(frames.manifest, [r for r in repro.index if analyzed is None or r in set(analyzed)],
                         frames.kinds)
    leaders, everyone = list(groups[ONE_PER_FAMILY]), list(groups[ALL])
    leader_facts, every_fact = per_repository(calls, uris, repro, leaders), per_repository(calls, uris, repro, everyone)
    env_specs = sorted(set(every_fact["env_spec"]))  # a row for each kind in every population, 0 where it has none
    # the API usage of one repository per family, then of all (the report reads its population's rows)
    called = api_usage(calls, frames.catalog, everyone, latest, ALL)
    usage = pd.concat([api_usage(calls, frames.catalog, leaders, latest, ONE_PER_FAMILY), called], ignore_index=True)
    # the APIs deprecated or removed by the latest release that any repository analyzed calls
    deprecated = set(called.loc[(called["deprecated_since"] != "") | called["removed_before_latest"], "api"])
    users = set(calls.loc[calls["api"].isin(deprecated) & (calls["style"] != "unresolved"), "repo"])

    def uses_deprecated(population: str, repos: Sequence[str]) -> pd.DataFrame:
        return pd.DataFrame([{"population": population,
                              "practice": "uses an API deprecated or removed by the latest release",
                              **ShareInterval(len(users & set(repos)), len(repos)).cells(PRACTICE),
                              "definition": "a call of an API with deprecated_since, or whose last_version is before "
                                            "the latest release read"}], dtype=object)

    # each population's rows together: one per family, all, then populations.csv's kinds within one per family
    frames_ = [practices(leader_facts, ONE_PER_FAMILY, env_specs=env_specs), uses_deprecated(ONE_PER_FAMILY, leaders),
               practices(every_fact, ALL, env_specs=env_specs), uses_deprecated(ALL, everyone)]
    frames_ += [frame for kind in (*KINDS, WITHOUT_TEACHING) if kind in groups
                for frame in (practices(leader_facts, kind, groups[kind], env_specs), uses_deprecated(kind, groups[kind]))]
    return pd.concat(frames_, ignore_index=True), usage, groups


def write_statistics(tables: Path, manifest: Path, latest: str, analyzed: Sequence[str],
                     provenance: Mapping[str, Any], graphs: Path | None = None, elsewhere: Elsewhere | None = None
                     ) -> None:
    """Write the tables of ``STATISTICS_FROM`` into ``tables``, each with its provenance, from the row
    tables written there (``analyze`` calls it on its staging folder; the report's process, which
    has pandas imported already, may do it for it) and the traceability graphs in ``graphs``
    (default: ``tables/graphs``). ``analyzed``: the repositories a pass did not fail on (each has
    its reproducibility.csv row, which the ``populations`` are read from). An ``OSError`` writing a
    table names it (``filename``: its name).

    With ``elsewhere`` (the report's process gives a forked child), the agreement table, which reads every
    graph, is worked out and written there while this process does the others; where it was not done
    there, this process does it, and raises what it raised."""
    from analysis.statistics.agreement import agreement_table
    from analysis.statistics.stores import store_statistics_by_population

    frames = read_frames(tables, manifest)

    def agreement() -> None:
        _write(tables, "agreement.csv", agreement_table(tables, tables / "graphs" if graphs is None else graphs,
                                                        analyzed, frames.calls, frames.runs), provenance)

    done_there = elsewhere(agreement) if elsewhere is not None else None
    try:
        practices_frame, usage, groups = community_statistics(frames, latest, analyzed)
        stores = store_statistics_by_population(groups, frames.stores, frames.runs, frames.params, frames.metrics)
        for name, frame in {"practices.csv": practices_frame, "api_usage.csv": usage,
                            "store_statistics.csv": stores}.items():
            _write(tables, name, frame, provenance)
    finally:
        written = done_there is not None and done_there()
    if not written:
        agreement()


def _write(tables: Path, name: str, frame: pd.DataFrame, provenance: Mapping[str, Any]) -> None:
    """A statistics table and its provenance; an ``OSError`` names it."""
    frame = frame.astype(object).where(frame.notna(), None)  # a missing number is an empty cell, not "nan"
    try:
        write_csv(tables / name, list(frame.columns), (cells(row) for row in frame.to_dict("records")))
        write_provenance(tables / name, {**provenance, "computed_from": list(STATISTICS_FROM[name])})
    except OSError as err:
        raise OSError(err.errno, err.strerror, name) from err
