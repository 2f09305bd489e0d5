"""Store statistics per population: store_statistics.csv's rows of a population are the report's for it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from analysis.report.findings import population_store_statistics
from analysis.report.inputs import ReportInputs
from analysis.rows import (
    CallSiteRow,
    CatalogRow,
    ReproducibilityRow,
    Store,
    StoredMetric,
    StoredParam,
    StoredRun,
    StoreStatisticRow,
    TrackingUriRow,
)
from analysis.statistics.community import write_statistics
from analysis.statistics.stores import STATISTIC_COLUMNS, store_statistics, store_statistics_by_population
from analysis.tables import STATISTICS, cells, flat, read_table
from miner.fileio import csv_text, write_csv
from miner.ftypes import MANIFEST_COLUMNS, ManifestRow

# big/one holds most runs; big/copy is its classroom copy (same store); small/a has one run; none/b no store;
# broken/c was mined but not analyzed (no reproducibility row): in neither population
FAMILY = ["big/one", "none/b", "small/a"]
EVERYONE = ["big/copy", "big/one", "none/b", "small/a"]


def _store(repo: str, n_runs: int) -> Store:
    return Store(repo=repo, store="mlruns", kind="file", schema_revision="", first_mlflow_release="", n_experiments=1,
                 n_runs=n_runs, bytes=1000 * n_runs, files=10 * n_runs)


def _run(repo: str, i: int, commit: str) -> StoredRun:
    return StoredRun(repo=repo, store="mlruns", store_kind="file", experiment_id="0", experiment_name="Default",
                     run_id=f"r{i}", run_name="", status="FAILED" if i == 0 else "FINISHED", lifecycle_stage="active",
                     start_time=None, end_time=None, source_type="LOCAL", source_name="train.py", entry_point="",
                     git_commit=commit, user="", parent_run_id="", n_params=0, n_metrics=0, n_metric_points=0,
                     n_tags=0, n_artifacts=0, artifact_bytes=0, model_flavors="", mlflow_version="",
                     artifact_uri="", artifact_uri_kind="relative", git_commit_in_history="yes" if commit else "",
                     source_in_repo="yes")


STORES = [_store("big/one", 8), _store("big/copy", 8), _store("small/a", 1)]
RUNS = ([_run(repo, i, "abc") for repo in ("big/one", "big/copy") for i in range(8)] + [_run("small/a", 0, "")])


def _stat(frame: Any, population: str, statistic: str) -> tuple[Any, Any]:
    row = frame[(frame["population"] == population) & (frame["statistic"] == statistic)].iloc[0]
    return row["numerator"], row["denominator"]


def test_one_table_per_population_the_population_first() -> None:
    frame = store_statistics_by_population({"one-per-family": FAMILY, "all": EVERYONE}, STORES, RUNS)
    assert list(frame.columns) == ["population", *STATISTIC_COLUMNS] == list(STATISTICS["store_statistics"].columns)
    half = len(frame) // 2
    assert set(frame["population"][:half]) == {"one-per-family"} and set(frame["population"][half:]) == {"all"}
    assert list(frame["statistic"][:half]) == list(frame["statistic"][half:])
    assert _stat(frame, "one-per-family", "repos committing a store") == (2, 3)
    assert _stat(frame, "all", "repos committing a store") == (3, 4)
    # the copy doubles the big repository's runs in "all" only
    assert _stat(frame, "one-per-family", "runs with a git commit") == (8, 9)
    assert _stat(frame, "all", "runs with a git commit") == (16, 17)
    assert _stat(frame, "one-per-family", "runs left FAILED") == (2, 9)
    assert _stat(frame, "all", "runs per store") == (17, 3)
    # two repositories hold runs: too few for a bootstrap interval; the big one holds 8 of the 9
    failed = frame[(frame["population"] == "one-per-family") & (frame["statistic"] == "runs left FAILED")].iloc[0]
    assert (failed["ci_method"], failed["ci_low"], failed["ci_high"]) == ("none", None, None)
    assert (failed["n_clusters"], failed["clusters_with_any"]) == (2, 2)
    assert (failed["largest_cluster"], failed["largest_cluster_units"]) == ("big/one", 8)
    assert (failed["numerator_without_largest"], failed["denominator_without_largest"]) == (1, 1)
    # two repositories: no median of two values, each one listed
    assert failed["median_per_cluster"] is None and failed["per_cluster"] == "big/one 1 of 8; small/a 1 of 1"
    stored = frame[(frame["population"] == "one-per-family") & (frame["statistic"] == "repos committing a store")]
    assert stored.iloc[0]["ci_method"] == "wilson" and stored.iloc[0]["n_clusters"] is None


def _write(path: Path, row_type: type, rows: list[Any]) -> None:
    table = next(t for t in (*STATISTICS.values(), *_row_tables()) if t.row_type is row_type)
    write_csv(path / table.file, table.columns, (cells(flat(r)) for r in rows))


def _row_tables() -> list[Any]:
    from analysis.tables import CATALOG, TABLES

    return [*TABLES.values(), CATALOG]


def _repro(repo: str) -> ReproducibilityRow:
    return ReproducibilityRow(repo=repo, has_mlproject=False, env_spec="none", pinned_share=0.0, n_deps=0,
                              python_pinned=False, mlflow_pinned=False, docker_pinned_by_digest="", seeds_set=False,
                              data_logged=False, params_logged=False, readiness=0.0)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Row tables of the corpus above, with its manifest in ``tmp_path / "corpus"``."""
    out, corpus = tmp_path / "out", tmp_path / "corpus"
    out.mkdir()
    corpus.mkdir()
    manifest = [ManifestRow(repo=r, source="local", duplicate_of="big/one" if r == "big/copy" else "")
                for r in (*EVERYONE, "broken/c")]
    write_csv(corpus / "manifest.csv", MANIFEST_COLUMNS, (m.as_dict() for m in manifest))
    _write(out, ReproducibilityRow, [_repro(r) for r in EVERYONE])
    _write(out, Store, STORES)
    _write(out, StoredRun, RUNS)
    _write(out, StoredParam, [])
    for row_type in (CallSiteRow, TrackingUriRow, CatalogRow):
        _write(out, row_type, [])
    return out


def _records(frame: Any) -> list[dict[str, Any]]:
    """A frame's rows with its empty cells (nan where the reader typed a column) as None, as the CSV writes them."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in frame.to_dict("records")]


def test_the_family_rows_are_what_the_report_computes_for_its_population(results: Path) -> None:
    corpus = results.parent / "corpus"
    write_statistics(results, corpus / "manifest.csv", "3.0.0", [*EVERYONE, "broken/c"], {})
    rows = read_table(results / "store_statistics.csv", StoreStatisticRow)
    assert [r.population for r in rows] == ["one-per-family"] * (len(rows) // 2) + ["all"] * (len(rows) // 2)
    assert next(r for r in rows if r.statistic == "repos committing a store" and r.population == "all").denominator == 4

    with (results / "store_statistics.csv").open(newline="") as fh:
        written = list(csv.DictReader(fh))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, STATISTIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({c: r[c] for c in STATISTIC_COLUMNS} for r in written if r["population"] == "one-per-family")
    inputs = ReportInputs(results, corpus=corpus)
    report = population_store_statistics(inputs)
    assert len(report) == len(rows) // 2
    family = [{c: getattr(r, c) for c in STATISTIC_COLUMNS} for r in rows if r.population == "one-per-family"]
    assert _records(report) == family  # 2.0 == 2: the reader types a column holding empty cells as floats
    # the rows the report reads are the statistics over the report's own population, computed afresh
    afresh = store_statistics(inputs.population, STORES, RUNS, [])
    assert buffer.getvalue() == csv_text(STATISTIC_COLUMNS, (cells(r) for r in afresh.to_dict("records")))
    assert inputs.population == sorted(set(EVERYONE) - {"big/copy"})  # one repository per duplicate family
    # and the practices.csv populations are the same repositories
    with (results / "practices.csv").open(newline="") as fh:
        practices = {r["population"]: r["n_eligible"] for r in csv.DictReader(fh) if r["practice"] == "logs params"}
    assert practices == {"one-per-family": "3", "all": "4"}


def _param(repo: str, run: str, declared: str) -> StoredParam:
    return StoredParam(repo=repo, store="mlruns", run_id=run, key="alpha", value="0.5", declared_in_mlproject=declared, value_len=3,
                       declared_at_recorded_commit="unknown")


def test_the_params_statistic_counts_the_runs_of_the_population_alone() -> None:
    # big/one's runs 0-3 and small/a's run 0 are judged against their MLproject; big/copy's runs too,
    # but big/copy is in "all" alone: a population without a repository counts none of its runs
    params = ([_param("big/one", f"r{i}", "yes" if i < 3 else "no") for i in range(4)]
              + [_param("big/copy", f"r{i}", "no") for i in range(4)] + [_param("small/a", "r0", "yes")])
    metrics = [StoredMetric(repo="big/one", store="mlruns", run_id="r1", key="loss", n_points=3, latest_value=0.1,
                            latest_step=2, min_step=0, max_step=2, n_nan=1, n_inf=0, steps_monotonic=True,
                            duplicate_points=0)]
    frame = store_statistics_by_population({"one-per-family": FAMILY, "all": EVERYONE, "small": ["small/a"],
                                            "none": ["none/b"]}, STORES, RUNS, params, metrics)
    statistic = "runs whose params all match the MLproject"
    assert _stat(frame, "one-per-family", statistic) == (4, 5)
    assert _stat(frame, "all", statistic) == (4, 9)
    assert _stat(frame, "small", statistic) == (1, 1)
    assert _stat(frame, "none", statistic) == (0, 0)
    # every population's table has the same statistics, a population without metric histories 0 of 0
    assert _stat(frame, "one-per-family", "metric histories with NaN or infinite values") == (1, 1)
    assert _stat(frame, "small", "metric histories with NaN or infinite values") == (0, 0)
    by_population = frame.groupby("population", sort=False)["statistic"].agg(list)
    assert all(statistics == by_population["all"] for statistics in by_population)
    empty = frame[(frame["population"] == "none") & (frame["statistic"] == statistic)].iloc[0]
    assert (empty["share"], empty["ci_low"], empty["ci_high"]) == (None, None, None)
