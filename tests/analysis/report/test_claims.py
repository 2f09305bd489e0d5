"""What the report says MLflow does, with the releases it holds for: the data file, the releases read
(mlflow_storage.csv), their phrasing, and the facts the findings quote."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from analysis.report.claims import (
    BEHAVIOUR,
    add_claim_facts,
    behaviour_table,
    claim_text,
    claims_text,
    default_uri_statement,
    file_store_statement,
    param_limit_statement,
)
from analysis.report.facts import Facts, Label
from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.storage import storage
from analysis.report.writer import Doc
from analysis.tables import STORAGE as STORAGE_TABLE
from tests.analysis.report.sample import write_csv


def _data() -> list[dict[str, str]]:
    with BEHAVIOUR.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _key(release: str) -> tuple[int, ...]:
    return tuple(int(x) for x in release.split("."))


def recompute_claims(results: Path) -> dict[str, str]:
    """The claim facts, computed again by code of its own: from mlflow_storage.csv's rows where it has
    them (the sample's: MAX_PARAM_VAL_LENGTH only), else from the data file."""
    data = _data()
    by_id: dict[str, list[dict[str, str]]] = {}
    for row in data:
        by_id.setdefault(row["id"], []).append(row)
    newest = max((t for r in data for t in re.findall(r"@v([\d.]*\d)", r["evidence"])), key=_key)
    out: dict[str, str] = {}
    old, new = by_id["default_tracking_uri"]
    out |= {"DefaultStoreFileFrom": old["from_release"], "DefaultStoreFileUntil": old["to_release"],
            "DefaultStoreFileURI": old["value"], "DefaultStoreSqliteFrom": new["from_release"],
            "DefaultStoreSqliteTo": new["to_release"] or newest, "DefaultStoreSqliteURI": new["value"]}
    gates = by_id["file_store"]
    out["FileStoreWarnFrom"] = next(r["from_release"] for r in gates if r["value"].startswith("warning"))
    gate = next(r for r in gates if r["value"].startswith("opt-in"))
    out |= {"FileStoreGateFrom": gate["from_release"], "FileStoreGateVariable": gate["value"].split(": ")[1]}
    for claim, stem in (("implicit_run", "ImplicitRun"), ("project_run_commit", "ProjectRunCommit"),
                        ("project_run_params", "ProjectRunParams")):
        out[f"{stem}From"], out[f"{stem}To"] = by_id[claim][0]["from_release"], by_id[claim][0]["to_release"] or newest
    limits: dict[str, str] = {}
    storage_csv = results / "mlflow_storage.csv"
    with storage_csv.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "limit" and row["name"] == "MAX_PARAM_VAL_LENGTH":
                limits[row["release"]] = row["detail"]
    if limits:
        releases = sorted(limits, key=_key)
        first = releases[-1]
        for release in reversed(releases):
            if limits[release] != limits[releases[-1]]:
                break
            first = release
        out["ParamLenLastFrom"] = first
    else:
        out["ParamLenLastFrom"] = by_id["param_value_limit"][-1]["from_release"]
    return out


def test_the_data_file_names_its_evidence_and_phrases_as_the_releases_read_would() -> None:
    """Every row names MLflow source files at release tags, its range is in order, a claim's ranges follow
    each other, and the claims the storage pass also reads are worded as it words them."""
    rows = _data()
    for row in rows:
        assert re.fullmatch(r"mlflow/\S+@v[\d.]+( \([^)]*\))?(; mlflow/\S+@v[\d.]+( \([^)]*\))?)*", row["evidence"]), row
        assert not row["to_release"] or _key(row["from_release"]) <= _key(row["to_release"]), row
    by_id: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_id.setdefault(row["id"], []).append(row)
    for ranges in by_id.values():
        assert all(a["to_release"] and _key(a["to_release"]) < _key(b["from_release"]) for a, b in zip(ranges, ranges[1:]))
        assert not ranges[-1]["to_release"]  # each claim is said up to the newest release checked
    old, new = by_id["default_tracking_uri"]
    assert old["statement"] == default_uri_statement("./mlruns", {})
    assert new["statement"] == default_uri_statement("sqlite:///mlflow.db", {"has_existing_mlruns_data": "./mlruns"})
    assert [r["statement"] for r in by_id["file_store"]] == [
        file_store_statement([]), file_store_statement(["warning: FutureWarning"]),
        file_store_statement(["opt-in: MLFLOW_ALLOW_FILE_STORE"])]
    assert [r["statement"] for r in by_id["param_value_limit"]] == [param_limit_statement(r["value"])
                                                                   for r in by_id["param_value_limit"]]
    assert (old["to_release"], new["from_release"]) == ("3.6.0", "3.7.0")
    assert [r["from_release"] for r in by_id["file_store"]] == ["1.0.0", "3.6.0", "3.13.0"]


def test_a_claim_is_phrased_with_its_releases_from_the_data_file(tmp_path: Path) -> None:
    inputs = ReportInputs(tmp_path)  # no mlflow_storage.csv: the data file's ranges
    assert claim_text("default_tracking_uri", inputs) == (
        "MLflow 1.0.0 to 3.6.0 logs to ./mlruns (a FileStore); MLflow 3.7.0 to 3.18.0 (the newest read) logs to "
        "sqlite:///mlflow.db, or to ./mlruns when ./mlruns already holds experiments")
    assert claim_text("file_store", inputs).endswith(
        "MLflow 3.13.0 to 3.18.0 (the newest read) refuses to open a FileStore unless MLFLOW_ALLOW_FILE_STORE=true")
    assert claim_text("no such claim", inputs) == ""
    assert claims_text([("implicit_run", "x"), ("project_run_commit", "")], inputs) == (
        "MLflow 1.0.0 to 3.18.0 (the newest read) starts a run itself when a fluent logging call (mlflow.log_param, "
        "log_metric, set_tag...) finds no active run (x); and tags a run that mlflow run starts with the project's "
        "git commit (mlflow.source.git.commit) when the project is in a git repository")
    facts = Facts()
    add_claim_facts(facts, inputs)
    values = {f.name: f.text() for f in facts.values()}
    assert values["DefaultStoreSqliteFrom"] == "3.7.0" and values["DefaultStoreFileUntil"] == "3.6.0"
    assert values["FileStoreGateFrom"] == "3.13.0" and values["FileStoreGateVariable"] == "MLFLOW_ALLOW_FILE_STORE"
    sqlite = facts["DefaultStoreSqliteFrom"]
    assert isinstance(sqlite, Label) and sqlite.source == "analysis/data/mlflow_behaviour.csv"
    assert "mlflow/store/tracking/__init__.py@v3.7.0" in sqlite.definition


def _read_releases(results: Path, rows: list[tuple[str, str, str, str]]) -> ReportInputs:
    write_csv(results / STORAGE_TABLE.file, STORAGE_TABLE.columns, rows)
    return ReportInputs(results)


def test_the_releases_read_are_preferred_and_the_data_file_adds_what_comes_after_them(tmp_path: Path) -> None:
    """mlflow_storage.csv's default and gate rows give the ranges over the releases read; past the newest one,
    the data file's later ranges follow."""
    rows = [("3.5.1", "default", "tracking_uri", "./mlruns"), ("3.5.1", "file_store", "META_DATA_FILE_NAME", "meta.yaml"),
            ("3.6.0", "default", "tracking_uri", "./mlruns"), ("3.6.0", "file_store", "META_DATA_FILE_NAME", "meta.yaml"),
            ("3.6.0", "gate", "FileStore", "warning: FutureWarning"),
            ("3.10.0", "default", "tracking_uri", "sqlite:///mlflow.db"),
            ("3.10.0", "default", "tracking_uri_if_has_existing_mlruns_data", "./mlruns"),
            ("3.10.0", "file_store", "META_DATA_FILE_NAME", "meta.yaml"),
            ("3.10.0", "gate", "FileStore", "warning: FutureWarning")]
    inputs = _read_releases(tmp_path, rows)
    assert claim_text("default_tracking_uri", inputs) == (
        "MLflow 3.5.1 to 3.6.0 logs to ./mlruns (a FileStore); MLflow 3.10.0 (the newest read) logs to "
        "sqlite:///mlflow.db, or to ./mlruns when ./mlruns already holds experiments")
    assert claim_text("file_store", inputs) == (
        "MLflow 3.5.1 opens a FileStore without a warning; MLflow 3.6.0 to 3.10.0 issues a FutureWarning (a "
        "deprecation warning) when it opens a FileStore; MLflow 3.13.0 to 3.18.0 (the newest read) refuses to open a "
        "FileStore unless MLFLOW_ALLOW_FILE_STORE=true")  # the last range: the data file's, after 3.10.0
    table = behaviour_table(inputs)
    assert list(table.loc[table["id"] == "file_store", "source"]) == ["mlflow_storage.csv", "mlflow_storage.csv",
                                                                      "analysis/data/mlflow_behaviour.csv"]
    facts = Facts()
    add_claim_facts(facts, inputs)
    sqlite = facts["DefaultStoreSqliteFrom"]
    assert isinstance(sqlite, Label) and (sqlite.value, sqlite.source) == ("3.10.0", "mlflow_storage.csv")
    assert facts["FileStoreGateFrom"].source == "analysis/data/mlflow_behaviour.csv"
    assert facts["ImplicitRunTo"].text() == "3.18.0"  # a claim the storage pass does not read: the data file's


def test_the_storage_section_states_the_default_store_with_both_ranges(tmp_path: Path) -> None:
    """Releases read with a 3.6-like and a 3.7-like default: the storage section says which holds where."""
    inputs = _read_releases(tmp_path, [("3.6.0", "default", "tracking_uri", "./mlruns"),
                                       ("3.7.0", "default", "tracking_uri", "sqlite:///mlflow.db"),
                                       ("3.7.0", "default", "tracking_uri_if_has_existing_mlruns_data", "./mlruns")])
    doc = Doc(lambda source: source)
    storage(Drawing(inputs, doc))
    text = "\n".join(doc.md)
    assert ("logs where MLflow's default puts it: MLflow 3.6.0 logs to ./mlruns (a FileStore); MLflow 3.7.0 (the "
            "newest read) logs to sqlite:///mlflow.db, or to ./mlruns when ./mlruns already holds experiments.") in text
    assert "[table](#t-mlflow-behaviour) from [mlflow_storage.csv](mlflow_storage.csv)" in text


def test_the_report_states_the_default_store_with_both_ranges(report_dir: Path) -> None:
    """The sample's report (no default rows read: the data file's ranges) says where runs go release by release,
    lists every claim with its evidence, and says no longer that MLflow logs to ./mlruns unqualified in its sections."""
    report = (report_dir / "report.md").read_text()
    assert ("MLflow 1.0.0 to 3.6.0 logs to ./mlruns (a FileStore); MLflow 3.7.0 to 3.18.0 (the newest read) logs to "
            "sqlite:///mlflow.db, or to ./mlruns when ./mlruns already holds experiments.") in report
    assert "MLflow 3.13.0 to 3.18.0 (the newest read) refuses to open a FileStore unless MLFLOW_ALLOW_FILE_STORE=true" in report
    assert '<a id="t-mlflow-behaviour"></a>' in report and "mlflow/tracking/fluent.py@v1.0.0" in report
    assert "These measures count on what MLflow does: MLflow 1.0.0 to 3.18.0 (the newest read) tags a run" in report


def test_the_store_statistics_quote_the_data_files_range() -> None:
    """The files-per-run statistic's definition (analysis/statistics, below the report) names the releases of
    file_store_files as the data file gives them."""
    import analysis.statistics.stores as stores

    row = next(r for r in _data() if r["id"] == "file_store_files")
    newest = max((t for r in _data() for t in re.findall(r"@v([\d.]*\d)", r["evidence"])), key=_key)
    text = " ".join(Path(stores.__file__).read_text().split())
    assert f"MLflow {row['from_release']} to {row['to_release'] or newest} writes one file per param" in text
