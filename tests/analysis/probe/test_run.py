"""The probe's driver: settings, releases' environments, the rows and outputs of a run, the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.probe import ProbeError, ProbeSettings, ProbeSummary, probe, read_probe, summarize
from analysis.probe import run as probe_run
from analysis.probe.ftypes import COLUMNS
from analysis.probe.run import fit_exponent, python_for, redact
from analysis.isolated.uv_env import EnvBuildError, default_cache
from cli import Exit, app
from tests.analysis.probe.support import CURRENT, MAX_FLOAT, built_or_skip, only_row, stores_on_tmpfs


runner = CliRunner()


@pytest.mark.parametrize(("points", "slope"), [
    pytest.param([(10, 0.1), (100, 1.0), (1000, 10.0)], 1.0, id="linear"),
    pytest.param([(10, 1.0), (100, 100.0)], 2.0, id="quadratic"),
    pytest.param([(100, 0.5), (1000, 0.5), (10000, 0.5)], 0.0, id="flat"),
    pytest.param([(10, 0.1), (10, 0.2)], None, id="one-size"),
    pytest.param([(10, 0.0), (100, 1.0)], None, id="zero-latency-dropped"),
])
def test_fit_exponent(points: list[tuple[float, float]], slope: float | None) -> None:
    got = fit_exponent(points)
    assert got == slope if slope is None else got == pytest.approx(slope)


@pytest.mark.parametrize(("release", "python"), [("1.0.0", "3.8"), ("1.30.1", "3.8"), ("2.11.0", "3.9"),
                                                 ("3.18.0", "3.11")])
def test_python_for_release(release: str, python: str) -> None:
    assert python_for(release) == python


def test_redact_hides_the_password_only() -> None:
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize("settings", [
    pytest.param({"scale": "huge"}, id="scale"),
    pytest.param({"backends": ("oracle://x",)}, id="backend"),
    pytest.param({"releases": ("not-a-version",)}, id="release"),
    pytest.param({"releases": ("0.9.1",)}, id="before-1.0"),
    pytest.param({"probes": ("speed",)}, id="probe"),
])
def test_bad_settings_raise_before_anything_runs(tmp_path: Path, settings: dict[str, object]) -> None:
    with pytest.raises(ProbeError):
        probe(ProbeSettings(out_dir=tmp_path / "out", env_cache=tmp_path / "envs", **settings))  # type: ignore[arg-type]
    assert not (tmp_path / "envs").exists()


def test_an_environment_that_cannot_be_built_is_an_error_row_and_exit_1(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_env(*args: object, **kwargs: object) -> None:
        raise EnvBuildError("package not found", "there is no version of mlflow==1.99.0")

    monkeypatch.setattr(probe_run, "ensure_env", no_env)
    result = runner.invoke(app, ["probe", "--mlflow", "1.99.0", "--backend", "sqlite", "--out", str(tmp_path)])
    assert result.exit_code == Exit.SOME_FAILED, result.output
    rows = read_probe(tmp_path)
    assert [(r["release"], r["backend"], r["probe"], r["outcome"]) for r in rows] == [
        ("1.99.0", "sqlite", "environment", "error")]
    assert "package not found" in rows[0]["detail"]


@pytest.mark.slow
@CURRENT
def test_current_runs_every_probe_without_failure(current: ProbeSummary) -> None:
    assert current.failures == ()
    # a step that raised is an error row without a parameter; integrity errors (a torn file) are findings
    assert not [r for r in current.rows if r.outcome == "error" and not r.parameter]


@pytest.mark.slow
@CURRENT
def test_outputs_csv_provenance_raw_and_figure(current: ProbeSummary) -> None:
    rows = read_probe(current.out_dir)
    assert list(rows[0]) == list(COLUMNS) and len(rows) == len(current.rows)
    provenance = json.loads((current.out_dir / "probe.csv.provenance.json").read_text())
    assert provenance["machine"]["cores"] == os.cpu_count()
    assert {r["backend"] for r in provenance["runs"]} == {"file", "sqlite"}
    assert all(r["facts"].get("sqlalchemy") for r in provenance["runs"])
    assert (current.out_dir / "raw" / f"{rows[0]['release']}-sqlite.json").is_file()
    assert current.figure is not None and current.figure.read_bytes()[:4] == b"\x89PNG"
    table = summarize(rows)
    assert {s["section"] for s in table} >= {"efficiency", "precision", "integrity"}


@pytest.mark.slow
def test_cli_probe(tmp_path: Path) -> None:
    help_text = runner.invoke(app, ["probe", "--help"], env={"COLUMNS": "200"}).output
    for option in ("--mlflow", "--backend", "--scale", "--out", "--envs", "--probe"):
        assert option in help_text
    bad = runner.invoke(app, ["probe", "--scale", "huge", "--out", str(tmp_path)])
    assert bad.exit_code == Exit.BAD_INPUT and "scale" in bad.output
    with stores_on_tmpfs():
        result = runner.invoke(app, ["probe", "--mlflow", "current", "--backend", "sqlite", "--probe", "precision",
                                     "--out", str(tmp_path)])
    assert result.exit_code == Exit.OK, result.output
    rows = read_probe(tmp_path)
    assert {r["probe"] for r in rows} == {"precision", "precision metric", "precision param"}


@pytest.mark.slow
@pytest.mark.uv_env
def test_mlflow_1_30_rejects_over_long_params_at_500_and_keeps_the_storage_facts(tmp_path: Path) -> None:
    with stores_on_tmpfs():
        summary = probe(ProbeSettings(out_dir=tmp_path, env_cache=default_cache(), releases=("1.30.1",),
                                      backends=("file", "sqlite"), scale="small", probes=("precision",)))
    built_or_skip(summary)
    assert {r.release for r in summary.rows} == {"1.30.1"}
    for backend in ("file", "sqlite"):
        assert only_row(summary, backend, "precision", "MAX_PARAM_VAL_LENGTH").value == "500"
        past = only_row(summary, backend, "precision param", "value at MAX_PARAM_VAL_LENGTH+1")
        assert past.outcome == "rejected" and "length" in past.detail
    assert only_row(summary, "file", "file store gate", "without MLFLOW_ALLOW_FILE_STORE").outcome == "accepted"
    assert only_row(summary, "sqlite", "precision metric", "+inf").value == MAX_FLOAT
    assert only_row(summary, "file", "precision metric", "+inf").outcome == "exact"
    assert only_row(summary, "sqlite", "precision metric", "nan").outcome == "exact"
