"""The report: findings computed from the CSVs and recomputed here, "not measured" where an input is
missing, probe and re-run sections filled from their rows, LaTeX export, the page in headless Chromium."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings
from analysis.report.figures import bar_figure, pinning_figure, storage_figure
from analysis.statistics.shares import wilson
from analysis.tables import STORAGE as STORAGE_TABLE
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RUN_A, RUN_B = "a" * 32, "b" * 32


def _run(run_id: str, status: int, tags: dict[str, str], metrics: dict[str, str],
         params: dict[str, str]) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {f"mlruns/1/{run_id}/meta.yaml": f"run_id: {run_id}\nrun_uuid: {run_id}\nexperiment_id: '1'\nstatus: {status}\n"
             f"start_time: 5\nend_time: 9\nuser_id: u\nlifecycle_stage: active\n"
             f"artifact_uri: /home/u/p/mlruns/1/{run_id}/artifacts\n"}
    for kind, values in (("tags", tags), ("metrics", metrics), ("params", params)):
        files.update({f"mlruns/1/{run_id}/{kind}/{k}": v for k, v in values.items()})
    return files


PROJECT: dict[str, str | bytes] = {
    "MLproject": "name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    parameters:\n      a: {type: float, default: 1}\n"
                 "    command: python train.py {a}\n",
    "conda.yaml": "dependencies: [python=3.10.0, {pip: [mlflow==2.9.2, numpy]}]\n",
    "train.py": "import mlflow, random\nrandom.seed(1)\nfrom helper import f\nmlflow.set_tracking_uri('sqlite:///m.db')\n"
                "with mlflow.start_run():\n    mlflow.log_param('a', 1)\n    f()\n    mlflow.sklearn.log_model(m, 'model')\n",
    "helper.py": "import mlflow\ndef f():\n    mlflow.log_metric('acc', 1, step=1)\n    mlflow.set_tag('git', 'x')\n"
                 "    mlflow.log_input(ds)\n",
    "mlruns/1/meta.yaml": "experiment_id: '1'\nname: e\nartifact_location: mlruns/1\nlifecycle_stage: active\n",
    **_run(RUN_A, 3, {"mlflow.source.git.commit": "0" * 40, "mlflow.source.name": "train.py",
                      "mlflow.project.entryPoint": "main"},
           {"acc": "1 0.5 0\n2 0.75 1\n2 0.75 1\n"}, {"a": "1"}),
    **_run(RUN_B, 4, {"mlflow.source.name": "/home/u/gone.py"}, {"loss": "1 nan 0\n"}, {}),
}
SERVER: dict[str, str | bytes] = {"t.py": "import mlflow\nmlflow.autolog()\nmlflow.set_tracking_uri('http://localhost:5000')\n",
          "util.py": "print(1)\n", "notes.txt": "x\n"}
NOTEBOOK = {"cells": [{"cell_type": "code", "source": ["import mlflow\n", "mlflow.log_metric(f'k{i}', 1)\n"]},
                      {"cell_type": "code", "source": ["mlflow.log_param('x' 1)\n"]}],
            "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
TUTORIAL: dict[str, str | bytes] = {"MLproject": "name: t\npython_env: python_env.yaml\nentry_points:\n  main:\n    parameters:\n"
                         "      alpha: float\n    command: python t.py {alpha}\n",
            "python_env.yaml": "python: 3.8\ndependencies: [mlflow==2.9.2, pandas==2.0.0]\n",
            "t.py": "import mlflow\nclass C:\n    def go(self):\n        mlflow.log_metric('m', 1)\n"
                    "def run(o):\n    o.go()\n    h = o.go\n    h()\nrun(C())\n",
            "broken.py": "import mlflow\ndef f(:\n",
            "lesson.ipynb": json.dumps(NOTEBOOK)}
# mlflow_storage.csv rows of three releases, written over analyze's (its corpus has no MLflow release)
STORAGE = [("1.0.0", "sql_table", "runs", "SqlRun"), ("1.0.0", "sql_table", "params", "SqlParam"),
           ("1.0.0", "limit", "MAX_PARAM_VAL_LENGTH", "250"), ("2.0.0", "limit", "MAX_PARAM_VAL_LENGTH", "500"),
           ("10.0.0", "sql_table", "runs", "SqlRun"), ("10.0.0", "sql_table", "params", "SqlParam"),
           ("10.0.0", "sql_table", "inputs", "SqlInput"), ("10.0.0", "limit", "MAX_PARAM_VAL_LENGTH", "6000"),
           ("2.0.0", "sql_table", "runs", "SqlRun"), ("1.0.0", "entity", "Run", "info, data")]
PROBE_COLUMNS = ("release", "backend", "probe", "parameter", "value", "unit", "n", "spread", "outcome", "detail")
PROBE = [
    ("1.30.1", "file", "disk", "bytes per run", "7000", "B", "100", "", "measured", ""),
    ("3.18.0", "file", "disk", "bytes per run", "5000", "B", "100", "", "measured", ""),
    ("3.18.0", "sqlite", "disk", "bytes per run", "2000", "B", "100", "", "measured", ""),
    ("3.18.0", "file", "search_runs", "latency at 10 runs", "0.01", "s", "3", "0.001", "measured", ""),
    ("3.18.0", "file", "search_runs", "latency at 100 runs", "0.05", "s", "3", "0.002", "measured", ""),
    ("3.18.0", "sqlite", "search_runs", "latency at 100 runs", "0.02", "s", "3", "0.001", "measured", ""),
    ("3.18.0", "sqlite", "search_runs", "runs filled (create_run + log_batch each)", "90", "runs/s", "100", "",
     "measured", ""),
    ("3.18.0", "sqlite", "search_runs", "growth exponent (latency ~ runs^b)", "0.4", "", "2", "", "fit", ""),
    ("3.18.0", "file", "get_metric_history", "latency at 1000 points", "0.02", "s", "3", "0.001", "measured", ""),
    ("3.18.0", "sqlite", "get_metric_history", "latency at 1000 points", "0.01", "s", "3", "0.001", "measured", ""),
    ("3.18.0", "file", "precision metric", "nan", "nan", "", "", "", "exact", ""),
    ("3.18.0", "file", "precision metric", "float16 0.1", "0.0999755859375", "", "", "", "changed", "value"),
    ("3.18.0", "sqlite", "precision param", "empty value", "", "", "", "", "rejected", "MlflowException"),
    ("3.18.0", "sqlite", "precision param", "unicode value", "é", "", "", "", "exact", ""),
    ("3.18.0", "file", "concurrent writers, one run", "points expected", "40", "points", "2", "", "measured", ""),
    ("3.18.0", "file", "concurrent writers, one run", "points lost", "0", "points", "2", "", "complete", ""),
    ("3.18.0", "sqlite", "concurrent writers, one run", "client errors", "3", "calls", "2", "", "errors",
     "database is locked"),
]
RERUN_COLUMNS = ("repo", "mlproject_path", "entry_point", "parameters", "env_kind", "env_build", "conda_packages_dropped",
                 "python_requested", "python_used", "status", "failure_class", "message", "build_seconds", "run_seconds",
                 "n_runs_logged", "n_metrics_logged", "compared_with", "params_equal", "metrics_equal", "metrics_close",
                 "metrics_differ")
RERUN = [
    ("alice/project", "MLproject", "main", '{"a": "1"}', "conda_env", "ok", "", "3.10.0", "3.10.13", "succeeded", "", "",
     "50.0", "10.0", "1", "1", RUN_A, "true", "true", "true", ""),
    ("carol/mlflow-tutorial", "MLproject", "main", '{"alpha": "1"}', "python_env", "ok", "", "3.8", "3.11.7", "failed",
     "ModuleNotFoundError", "No module named x", "20.0", "1.0", "1", "0", "", "", "", "", ""),
    ("dave/docker", "MLproject", "main", "{}", "docker_env", "", "", "", "", "not-attempted", "docker", "", "", "", "",
     "", "", "", "", "", ""),
    ("erin/pins", "MLproject", "main", "{}", "python_env", "failed: package not found", "", "3.9", "", "not-attempted",
     "env build", "", "", "", "", "", "", "", "", "", ""),
]


def _write(path: Path, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(results, corpus) of four repositories: a project with a committed store, a server user and its copy,
    a tutorial with a required parameter, files that do not parse and a by-name method call."""
    tmp = tmp_path_factory.mktemp("report")
    make_repo(tmp / "src" / "alice" / "project", PROJECT)
    make_repo(tmp / "src" / "bob" / "server", SERVER)
    make_repo(tmp / "src" / "bob" / "server-copy", SERVER)
    make_repo(tmp / "src" / "carol" / "mlflow-tutorial", TUTORIAL)
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp / "corpus", from_local=tmp / "src", skip_mlflow=True))
    # the tables only: the report is drawn once, below, with the storage rows in
    analyze(AnalyzeSettings(corpus_dir=tmp / "corpus", out_dir=tmp / "out", draw_report=False))
    _write(tmp / "out" / STORAGE_TABLE.file, STORAGE_TABLE.columns, STORAGE)
    from analysis.report.document import build_report

    build_report(tmp / "out")
    return tmp / "out", tmp / "corpus"


@pytest.fixture(scope="module")
def report_dir(analyzed: tuple[Path, Path]) -> Path:
    return analyzed[0] / "report"


@pytest.fixture(scope="module")
def measured(analyzed: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the results with probe rows (in <results>/probe/) and re-run rows (in <results>/) built here
    from their documented columns, and its report drawn with the reference and LaTeX."""
    results = tmp_path_factory.mktemp("measured") / "out"
    shutil.copytree(analyzed[0], results)
    shutil.rmtree(results / "report")
    _write(results / "probe" / "probe.csv", PROBE_COLUMNS, PROBE)
    _write(results / "rerun.csv", RERUN_COLUMNS, RERUN)
    (results / "rerun.csv.provenance.json").write_text(json.dumps({"sandbox": "bubblewrap"}))
    from analysis.report.document import build_report

    build_report(results, latex=True)
    return results


def _facts(results: Path) -> dict[str, dict[str, str]]:
    with (results / "report" / "findings.csv").open() as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


# ---- the page -------------------------------------------------------------------------------

def test_markdown_has_findings_first_then_every_section(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == ["Key findings", "The proposal's KPIs",
                        "1. Storage: what MLflow stores, and where projects send it",
                        "2. Tracking: which logging APIs projects use, and how",
                        "3. Traceability: can a run be traced to its code, parameters, data, environment and model",
                        "4. Reproducibility: how likely a project is to re-run", "5. Methodology",
                        "6. Threats to validity", "7. Published baselines (other studies, not this corpus)", "Appendix"]
    assert re.findall(r"^### (.+)$", md, flags=re.M)[:4] == [
        "Storage: what is stored, how and where", "Tracking: how metrics and parameters are logged",
        "Traceability: can a run be traced to its code, data and environment",
        "Reproducibility: can an experiment be run again"]
    # files by kind and status, with the total that every share's denominator comes from
    assert "| kind | files | analyzed | no-mlflow | not-analyzed |" in md  # broken.py is read in part
    assert "| python | 8 | 6 | 2 | 0 |" in md and "| all | 25 | 11 | 2 | 12 |" in md
    for source in ("practices.csv", "api_usage.csv", "traceability.csv", "reproducibility.csv", "tracking_uris.csv",
                   "stored_runs.csv", "manifest.csv"):
        assert f"[{source}](" in md
    assert "| logs params | 1 | 3 |" in md  # n_repos of n_eligible, as practices.csv says: one per family
    for figure in ("fig_storage.png", "fig_api_popularity.png", "fig_practices.png", "fig_traceability.png",
                   "fig_pinning.png", "fig_graph.png"):
        assert f"]({figure})" in md and (report_dir / figure).stat().st_size > 1000


def test_a_finding_links_to_its_table_and_csv(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert ("2 of 3 repositories (67%, 21-94%) ship an MLproject; 1 of 3 repositories (33%, 6-79%) declare no "
            "environment at all. ([table](#t-reproducibility-practices) from [practices.csv](../practices.csv))") in md
    for anchor in re.findall(r"\]\(#(t-[a-z-]+)\)", md):
        assert f'<a id="{anchor}"></a>' in md, anchor


def test_html_is_self_contained_and_sortable(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text()
    sources = re.findall(r"<img[^>]* src='([^']*)'", page)
    assert len(sources) == 6 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"""(src|href)=['"]?https?:""", page)  # nothing loaded from the network
    assert "<table class=\"dataframe sortable\">" in page and "cellIndex" in page
    assert "<details><summary>" in page  # a long table folds


def _chromium() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    return chromium


def _headless(chromium: str, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args, page.as_uri()],
            capture_output=True, text=True, timeout=120)


def test_every_figure_loads_in_headless_chromium_and_a_screenshot_is_taken(measured: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    page = measured / "report" / "index.html"
    proc = _headless(chromium, page, "--dump-dom")
    match = re.search(r'data-images="(\d+)/(\d+)"', proc.stdout)
    assert match is not None, proc.stderr[-500:]
    assert match.group(1) == match.group(2) == "6"
    shot = tmp_path / "report.png"
    proc = _headless(chromium, page, "--window-size=1200,2400", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000, proc.stderr[-500:]


# ---- every number from the CSVs -------------------------------------------------------------

def _rows(results: Path, name: str) -> list[dict[str, str]]:
    path = results / name
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _share(n: int, of: int) -> tuple[int, int]:
    return n, of


def recompute(results: Path, corpus: Path) -> dict[str, object]:
    """Every fact of findings.csv, computed again from the CSVs by other code: (n, of) for a share,
    a number or a string otherwise."""
    manifest = _rows(corpus, "manifest.csv")
    analyzed = {r["repo"] for r in _rows(results, "reproducibility.csv")}
    population = {r["repo"] for r in manifest if r["status"] == "ok" and not r["duplicate_of"]} & analyzed
    n_pop = len(population)
    calls = [c for c in _rows(results, "call_sites.csv") if c["repo"] in population]

    def repos(rows: list[dict[str, str]], test: Callable[[dict[str, str]], bool]) -> set[str]:
        return {r["repo"] for r in rows if test(r)}

    out: dict[str, object] = {"Repos": n_pop}
    uris = [u for u in _rows(results, "tracking_uris.csv") if u["repo"] in population]
    setting = repos(uris, lambda u: True)
    out["ReposTrackingURI"] = (len(setting), n_pop)
    for name, schemes in (("ReposURIServer", {"http", "https"}), ("ReposURILocal", {"file", "sqlite"}),
                          ("ReposURIDatabase", {"postgresql", "mysql", "mssql"}),
                          ("ReposURIDatabricks", {"databricks", "databricks-uc", "uc"}),
                          ("ReposURIUnknown", {"computed", "env-only"})):
        out[name] = (len(repos(uris, lambda u, s=schemes: u["scheme"].split("+")[0] in s)), len(setting))  # type: ignore[misc]
    stores = [s for s in _rows(results, "stores.csv") if s["repo"] in population]
    runs = [r for r in _rows(results, "stored_runs.csv") if r["repo"] in population]
    out["ReposStore"] = (len({s["repo"] for s in stores}), n_pop)
    out["NStores"], out["NStoredRuns"] = len(stores), len(runs)
    out["StoreBytesPerRun"] = sum(int(s["bytes"]) for s in stores) / sum(int(s["n_runs"]) for s in stores)
    out["RunsAbsArtifactURI"] = (sum(r["artifact_uri_kind"] == "absolute-local" for r in runs), len(runs))
    out["RunsFailed"] = (sum(r["status"] == "FAILED" for r in runs), len(runs))
    out["RunsRunning"] = (sum(r["status"] == "RUNNING" for r in runs), len(runs))
    out["RunsGitCommit"] = (sum(bool(r["git_commit"]) for r in runs), len(runs))
    looked = [r for r in runs if r["git_commit_in_history"] in ("yes", "no")]
    out["CommitsInHistory"] = (sum(r["git_commit_in_history"] == "yes" for r in looked), len(looked))
    sourced = [r for r in runs if r["source_in_repo"]]
    out["RunsSourceExists"] = (sum(r["source_in_repo"] == "yes" for r in sourced), len(sourced))
    out["RunsEntryPoint"] = (sum(bool(r["entry_point"]) for r in runs), len(runs))
    judged: dict[str, list[str]] = {}
    for p in _rows(results, "stored_params.csv"):
        if p["declared_in_mlproject"] != "unknown" and p["repo"] in population:
            judged.setdefault(p["run_id"], []).append(p["declared_in_mlproject"])
    if judged:
        out["RunsParamsMatch"] = (sum(all(v == "yes" for v in vs) for vs in judged.values()), len(judged))
    metrics = [m for m in _rows(results, "stored_metrics.csv") if m["repo"] in population]
    out["StoredMetricsNonFinite"] = (sum(int(m["n_nan"]) + int(m["n_inf"]) > 0 for m in metrics), len(metrics))
    out["StoredMetricsRepeated"] = (sum(int(m["duplicate_points"]) > 0 for m in metrics), len(metrics))
    storage = _rows(results, "mlflow_storage.csv")
    releases = sorted({s["release"] for s in storage}, key=lambda v: tuple(int(x) for x in v.split(".")))
    out["NReleasesRead"], out["FirstRelease"], out["LastRelease"] = len(releases), releases[0], releases[-1]
    out["SqlTablesFirst"] = sum(s["kind"] == "sql_table" and s["release"] == releases[0] for s in storage)
    out["SqlTablesLast"] = sum(s["kind"] == "sql_table" and s["release"] == releases[-1] for s in storage)
    limits = {s["release"]: int(s["detail"]) for s in storage if s["name"] == "MAX_PARAM_VAL_LENGTH"}
    first_limit = min(limits, key=lambda v: tuple(int(x) for x in v.split(".")))
    out["ParamLenFirstRelease"], out["ParamLenFirst"] = first_limit, limits[first_limit]
    out["ParamLenLast"] = limits[max(limits, key=lambda v: tuple(int(x) for x in v.split(".")))]
    # tracking, from the call sites
    logging = repos(calls, lambda c: c["category"] in ("param", "metric", "artifact", "model", "tag", "dataset",
                                                        "autolog"))
    manual = repos(calls, lambda c: c["category"] in ("param", "metric"))
    autolog = repos(calls, lambda c: c["category"] == "autolog")
    metric_repos = repos(calls, lambda c: c["category"] == "metric")
    out["ReposLogMetrics"] = (len(metric_repos), n_pop)
    out["ReposLogParams"] = (len(repos(calls, lambda c: c["category"] == "param")), n_pop)
    out["ReposLogging"] = len(logging)
    out["ManualOnly"] = (len((manual - autolog) & logging), len(logging))
    out["AutologOnly"] = (len((autolog - manual) & logging), len(logging))
    out["AutologAndManual"] = (len(autolog & manual & logging), len(logging))
    out["UsesSteps"] = (len(repos(calls, lambda c: c["category"] == "metric" and c["has_step"] == "true")),
                        len(metric_repos))
    out["ComputedKeys"] = (len(repos(calls, lambda c: c["category"] in ("param", "metric")
                                     and c["key_kind"] in ("fstring", "name", "call", "other"))), len(manual))
    out["LogsModels"] = (len(repos(calls, lambda c: c["api"].endswith(".log_model"))), n_pop)
    out["RegistersModels"] = (len(repos(calls, lambda c: c["category"] == "registry"
                                        or c["note"].startswith("registered_model_name="))), n_pop)
    out["LogsDatasets"] = (len(repos(calls, lambda c: c["category"] == "dataset")), n_pop)
    catalog = _rows(results, "api_catalog.csv")
    latest = max((c["last_version"] for c in catalog if c["last_version"]),
                 key=lambda v: tuple(int(x) for x in re.findall(r"\d+", v)))
    out["LatestRelease"] = latest
    old = {c["api"] for c in catalog if c["deprecated_since"] or (c["last_version"] and c["last_version"] != latest)}
    out["DeprecatedApi"] = (len(repos(calls, lambda c: c["api"] in old and c["style"] != "unresolved")), n_pop)
    per_api: dict[str, set[str]] = {}
    for c in calls:
        if c["style"] != "unresolved":
            per_api.setdefault(c["api"], set()).add(c["repo"])
    top = max(per_api, key=lambda a: (len(per_api[a]), sum(c["api"] == a for c in calls), [-ord(ch) for ch in a]))
    out["TopApi"], out["TopApiRepos"] = top, (len(per_api[top]), n_pop)
    # traceability
    trace = [t for t in _rows(results, "traceability.csv") if t["repo"] in population]
    for column, name in (("code_version_linked", "CodeVersionLinked"), ("env_linked", "EnvLinked"),
                         ("data_linked", "DataLinked")):
        out[name] = (sum(t[column] == "true" for t in trace), len(trace))
    out["ReposOrphanLogging"] = (sum(int(t["orphan_logging_sites"]) > 0 for t in trace), len(trace))
    out["ReposImplicitRun"] = (sum(int(t["implicit_run_sites"]) > 0 for t in trace), len(trace))
    out["MetricSitesReachable"] = (sum(int(t["metric_sites_reachable"]) for t in trace),
                                   sum(int(t["n_metric_sites"]) for t in trace))
    # reproducibility
    repro = [r for r in _rows(results, "reproducibility.csv") if r["repo"] in population]
    declaring = [r for r in repro if r["n_deps"] != "0"]
    out["ReposMLproject"] = (sum(r["has_mlproject"] == "true" for r in repro), n_pop)
    out["EnvSpecNone"] = (sum(r["env_spec"] == "none" for r in repro), n_pop)
    out["PinAll"] = (sum(float(r["pinned_share"]) == 1 for r in declaring), len(declaring))
    out["PinNone"] = (sum(float(r["pinned_share"]) == 0 for r in declaring), len(declaring))
    out["PythonPinned"] = (sum(r["python_pinned"] == "true" for r in repro), n_pop)
    out["MlflowPinned"] = (sum(r["mlflow_pinned"] == "true" for r in repro), n_pop)
    out["SeedsSet"] = (sum(r["seeds_set"] == "true" for r in repro), n_pop)
    out["ReadinessMedian"] = statistics.median(float(r["readiness"]) for r in repro)
    eps = [e for e in _rows(results, "entry_points.csv") if e["repo"] in population]
    required = {(p["repo"], p["mlproject_path"], p["entry_point"]) for p in _rows(results, "parameters.csv")
                if p["required"] == "true"}
    out["EntryPointsNoArgs"] = (sum((e["repo"], e["mlproject_path"], e["entry_point"]) not in required for e in eps),
                                len(eps))
    docker = [m for m in _rows(results, "mlprojects.csv") if m["repo"] in population and m["env_type"] == "docker_env"]
    if docker:
        out["DockerDigest"] = (sum(m["docker_pinned"] == "digest" for m in docker), len(docker))
    # threats
    teaching = {"tutorial", "tutorials", "example", "examples", "demo", "demos", "course", "courses", "coursework",
                "bootcamp", "zoomcamp", "workshop", "lab", "labs", "lesson", "lessons", "lecture", "lectures",
                "homework", "assignment", "assignments", "exercise", "exercises", "classroom", "showcase",
                "playground", "sample", "samples", "template", "templates", "poc", "starter", "learn", "kata", "hello"}
    flagged = {m["repo"] for m in manifest if m["repo"] in population and teaching
               & {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])",
                                                 f"{m['repo']} {m['description']} {m['topics']}")}}
    out["TeachingRepos"] = (len(flagged), n_pop)
    copies = [m for m in manifest if m["status"] == "ok" and m["duplicate_of"]]
    out["DuplicateCopies"], out["DuplicateFamilies"] = len(copies), len({m["duplicate_of"] for m in copies})
    files = _rows(results, "files.csv")
    code = [f for f in files if f["kind"] in ("python", "notebook")]
    unparsed = {(f["repo"], f["path"]) for f in code
                if f["status"] in ("problem", "skipped") or f["reason"].startswith("read in part")}
    problems = _rows(results, "problems.csv")
    unparsed |= {(p["repo"], p["path"]) for p in problems if p["stage"] == "parse" and p["reason"].startswith("cell ")}
    out["FilesNotParsed"] = (len(unparsed), len(code))
    clone = {m["repo"]: m["clone_path"] for m in manifest}
    texts = [(corpus / clone[r] / p).read_bytes().lower() for r, p in unparsed if (corpus / clone[r] / p).is_file()]
    if texts:
        out["FilesNotParsedMlflow"] = (sum(b"mlflow" in t for t in texts), len(texts))
    out["FilesNotFetched"] = sum(p["stage"] == "mine" for p in problems)
    out["EnvProblems"] = sum(p["stage"] == "environment" for p in problems)
    edges: dict[str, list[tuple[str, bool, bool]]] = {}
    for repo in population:
        path = results / "graphs" / (repo.replace("/", "__") + ".graphml")
        if path.is_file():
            import networkx as nx
            g = nx.read_graphml(path)
            edges[repo] = [(d.get("kind", ""), str(d.get("by_name", "")).lower() == "true", bool(d.get("via")))
                           for _a, _b, d in g.edges(data=True)]
    if edges:
        out["CallEdges"] = sum(k == "calls" for e in edges.values() for k, _b, _v in e)
        out["ByNameEdges"] = sum(k == "calls" and b for e in edges.values() for k, b, _v in e)
        out["ReposByName"] = (sum(any(k == "calls" and b for k, b, _v in e) for e in edges.values()), len(edges))
        out["UnresolvedEdges"] = sum(k == "unresolved" for e in edges.values() for k, _b, _v in e)
        out["ReposUnresolved"] = (sum(any(k == "unresolved" for k, _b, _v in e) for e in edges.values()), len(edges))
    out["ClientInferred"] = sum(c["note"] == "client inferred from a parameter name" for c in calls)
    out["UnresolvedCalls"] = sum(c["style"] == "unresolved" for c in calls)
    # probe and re-run, when their files are there
    probe = _rows(results / "probe", "probe.csv")
    if probe:
        release = max({p["release"] for p in probe}, key=lambda v: tuple(int(x) for x in v.split(".")))
        at = [p for p in probe if p["release"] == release]
        out["ProbeRelease"] = release
        for backend in {p["backend"] for p in at if p["outcome"] == "measured"}:
            suffix = backend.capitalize()
            mine_ = [p for p in at if p["backend"] == backend and p["outcome"] == "measured"]
            for p in mine_:
                if p["probe"] == "disk" and p["parameter"] == "bytes per run":
                    out[f"ProbeBytesPerRun{suffix}"] = float(p["value"])
            for kind, stem in (("search_runs", "Search"), ("get_metric_history", "History")):
                sized = [(int(p["parameter"].split()[2]), float(p["value"])) for p in mine_
                         if p["probe"] == kind and p["parameter"].startswith("latency at ")]
                if sized:
                    out[f"Probe{stem}Size{suffix}"], seconds = max(sized)
                    out[f"Probe{stem}{suffix}"] = seconds * 1000
        cases = [p for p in at if p["probe"] in ("precision metric", "precision param")]
        out["ProbeExact"] = (sum(p["outcome"] == "exact" for p in cases), len(cases))
        checks = [p for p in at if p["probe"] in ("param re-logged", "metric point repeated",
                                                  "concurrent writers, one run", "concurrent writers, one experiment",
                                                  "client killed mid-log_batch", "half-written file")
                  and not p["parameter"].endswith("expected")]
        out["ProbeIntegrityBad"] = (sum(p["outcome"] in ("lost", "duplicated", "errors", "partial", "error", "skipped")
                                        for p in checks), len(checks))
    rerun = _rows(results, "rerun.csv")
    if rerun:
        built = [r for r in rerun if r["env_build"] == "ok"]
        ran = [r for r in rerun if r["status"] == "succeeded"]
        out["RerunBuilt"], out["RerunRan"] = (len(built), len(rerun)), (len(ran), len(rerun))
        out["RerunSame"] = (sum(r["metrics_equal"] == "true" for r in ran), len(rerun))
        out["RerunRanGivenBuilt"] = (sum(r["status"] == "succeeded" for r in built), len(built))
        out["RerunMedianSeconds"] = statistics.median(float(r["build_seconds"]) + float(r["run_seconds"]) for r in ran)
        asked = [r for r in rerun if r["python_requested"] and r["python_used"]]
        out["RerunPythonSubstituted"] = (sum(r["python_used"].split(".")[:2] != r["python_requested"].split(".")[:2]
                                             for r in asked), len(asked))
        out["RerunSandbox"] = json.loads((results / "rerun.csv.provenance.json").read_text())["sandbox"]
    return out


def _check_every_fact(results: Path, corpus: Path) -> None:
    facts = _facts(results)
    expected = recompute(results, corpus)
    assert set(facts) == set(expected)  # every number the report computed is recomputed here, and no other
    for name, value in expected.items():
        row = facts[name]
        if isinstance(value, tuple):
            assert (int(row["n"]), int(row["of"])) == value, name
            low, high = wilson(*value)
            if row["ci_low"]:
                assert math.isclose(float(row["ci_low"]), round(low, 4)) and math.isclose(float(row["ci_high"]),
                                                                                          round(high, 4)), name
        elif isinstance(value, str):
            assert row["value"] == value, name
        else:
            assert math.isclose(float(row["value"]), float(value), rel_tol=1e-6), name  # type: ignore[arg-type]


def test_every_number_of_the_findings_is_recomputed_from_the_csvs(analyzed: tuple[Path, Path]) -> None:
    _check_every_fact(*analyzed)
    facts = _facts(analyzed[0])
    # what this corpus holds, so the recomputation is not vacuous
    assert (facts["ReposMLproject"]["n"], facts["ReposMLproject"]["of"]) == ("2", "3")
    assert facts["TeachingRepos"]["n"] == "1" and facts["DuplicateCopies"]["value"] == "1"
    assert facts["NStoredRuns"]["value"] == "2" and facts["StoredMetricsRepeated"]["n"] == "1"
    assert facts["LastRelease"]["value"] == "10.0.0" and facts["ParamLenLast"]["value"] == "6000"
    assert facts["ByNameEdges"]["value"] != "0" and facts["FilesNotParsedMlflow"]["n"] == "2"


def test_every_number_with_the_probe_and_the_reruns_is_recomputed(measured: Path, analyzed: tuple[Path, Path]) -> None:
    _check_every_fact(measured, analyzed[1])
    facts = _facts(measured)
    assert facts["ProbeRelease"]["value"] == "3.18.0" and facts["ProbeSearchFile"]["value"] == "50.0"
    assert (facts["RerunSame"]["n"], facts["RerunSame"]["of"]) == ("1", "4")


def test_no_number_of_a_finding_is_typed_by_hand(analyzed: tuple[Path, Path], measured: Path) -> None:
    from analysis.report.findings import compute_facts
    from analysis.report.sentences import key_findings, kpi_table
    from analysis.report.methodology import add_threat_facts, threat_sentences
    from analysis.report.inputs import ReportInputs

    for results in (analyzed[0], measured):
        inputs = ReportInputs.locate(results)
        facts = compute_facts(inputs)
        add_threat_facts(facts, inputs)
        sentences = [s for f in key_findings(facts) for s in f.sentences] + [k.value for k in kpi_table(facts)]
        sentences += [s for _n, s in threat_sentences(facts, inputs)]
        for sentence in sentences:
            words = re.sub(r"\{[A-Za-z]+(:\w+)?\}", "", sentence.template)
            assert not re.search(r"\d", words), sentence.template


def test_missing_inputs_say_not_measured(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert ("Capacity and access time of MLflow's stores (bytes per run, search latency): not measured: run "
            "`python cli.py probe --probe capacity`.") in md
    assert "not measured: run `python cli.py rerun`." in md
    assert "not measured: run `python cli.py report --reference DIR`" in md
    assert "| access-time efficiency | search_runs latency (filter and order-by) at the largest size probed | " \
           "not measured: run `python cli.py probe` | probe |" in md
    assert "| reproducibility success rate | entry points re-run whose metrics equal the committed run's | " \
           "not measured: run `python cli.py rerun` | re-run |" in md
    assert "**re-run conditions**: Re-run conditions (sandbox, network, Python substituted): not measured" in md


def test_probe_and_rerun_rows_fill_their_sections(measured: Path) -> None:
    md = (measured / "report" / "report.md").read_text()
    assert "not measured: run `python cli.py probe" not in md and "not measured: run `python cli.py rerun`" not in md
    assert ("Probing MLflow 3.18.0 itself, a run takes 5,000 B in a FileStore, 2,000 B in SQLite; a filtered "
            "search_runs answers in 50.0 ms in a FileStore (over 100 runs), 20.0 ms in SQLite (over 100 runs).") in md
    assert ("Probing MLflow 3.18.0 (each backend counted apart), 2 of 4 value and key cases (50%, 15-85%) came back "
            "exactly as logged, and 1 of 2 integrity checks (50%, 9-91%) lost, duplicated or could not read data.") in md
    assert "| disk | bytes per run | B | file | 7000 | 5000 |" in md  # capacity: one column per release
    assert "| efficiency | file | search_runs at 100 runs, MLflow 3.18.0 | 50.0 ms (2.5x SQLite's) |" in md  # summarize
    assert ("Re-run in a sandbox, 2 of 4 entry points re-run (50%, 15-85%) had their environment built, 1 of 4 entry "
            "points re-run (25%, 5-70%) ran to the end and 1 of 4 entry points re-run (25%, 5-70%) gave the committed "
            "run's metrics; a successful re-run took 60.0 s (median, build and run).") in md
    assert "| ease of re-running | entry points re-run that ran, given their environment was built | 1 of 2 targets " \
           "built (50%, 9-91%) | re-run |" in md
    assert "**re-run conditions**: Re-runs were sandboxed (bubblewrap)" in md and "1 of 2 targets asking" in md
    assert "| built | 2 | 4 | 0.5 |" in md  # the re-run rates table (analysis/rerun/statistics.py)
    assert "[probe.csv](../probe/probe.csv)" in md and "[rerun.csv](../rerun.csv)" in md


def test_methodology_funnel_and_identity(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert "| collected | 4 |  | rows of manifest.csv (source local: git repositories under" in md
    assert "| mined | 4 | 0 | none failed |" in md
    assert "| one per duplicate family | 3 | 1 | copies in 1 families (same root commit or same code files) |" in md
    assert "| analyzed | 3 | 0 |" in md
    assert re.search(r"\| report by \| mlflow-census \S+, commit [0-9a-f]{40} \|", md)


def test_reference_gives_precision_recall_and_agreement(analyzed: tuple[Path, Path], tmp_path: Path) -> None:
    from analysis.report.document import build_report

    results = tmp_path / "out"
    shutil.copytree(analyzed[0], results)
    calls = [c for c in _rows(results, "call_sites.csv") if c["path"].endswith(".py")]
    ref = tmp_path / "ref"
    # the reference: every fluent site but one, and one site the tool does not have
    sites = [(c["repo"], c["path"], c["line"], c["api"], "both") for c in calls if c["api"].count(".") == 1][1:]
    _write(ref / "dev-call-sites.csv", ("repo", "path", "line", "api", "evidence"),
           sites + [("alice/project", "train.py", "99", "mlflow.log_param", "both")])
    (ref / "dev-mlprojects.jsonl").write_text(json.dumps(
        {"repo": "alice/project", "path": "MLproject", "ok": True, "name": "other", "env_type": "conda_env",
         "env_config_path": "conda.yaml", "entry_points": [{"name": "main", "command": "python train.py {a}",
                                                            "parameters": [{"name": "a", "type": "float", "default": 1}]}]})
        + "\n")
    _write(ref / "dev-dependencies.csv", ("repo", "path", "kind", "dependency", "spec", "pin_class", "parse_error"),
           [("alice/project", "conda.yaml", "conda-pip", "MLflow", "==2.9.2", "exact", ""),
            ("alice/project", "conda.yaml", "conda-pip", "numpy", "", "range", ""),
            ("alice/project", "conda.yaml", "conda", "{{x}}", "", "", "InvalidRequirement")])
    build_report(results, reference=ref)
    md = (results / "report" / "report.md").read_text()
    n = len(sites)
    assert f"| fluent | {n + 1} | {n + 1} | {n} | {round(n / (n + 1), 4)} | {round(n / (n + 1), 4)} |" in md
    assert "MLproject files: 0 of 1 in the reference agree on every field" in md
    assert "| alice/project | MLproject | name 'p' vs 'other' |" in md
    assert "| all | 2 | 2 | 1 | 0.5 |" in md  # numpy is unpinned here, 'range' in the reference


def test_latex_tables_figures_and_macros(measured: Path, tmp_path: Path) -> None:
    latex = measured / "report" / "latex"
    tables = sorted((latex / "tables").glob("*.tex"))
    assert {"funnel", "stores", "tracking-practices", "probe", "rerun", "baselines"} <= {t.stem for t in tables}
    for table in tables:
        text = table.read_text()
        envs = re.findall(r"\\(begin|end)\{(\w+)\}", text)
        stack: list[str] = []
        for kind, env in envs:
            if kind == "begin":
                stack.append(env)
            else:
                assert stack.pop() == env, table
        assert not stack and {"tabular", "longtable"} & {e for _k, e in envs}, table
        assert text.index("\\toprule") < text.index("\\midrule") < text.index("\\bottomrule"), table
    assert {p.name for p in (latex / "figures").glob("*.pdf")} == {
        "fig_storage.pdf", "fig_api_popularity.pdf", "fig_practices.pdf", "fig_traceability.pdf", "fig_pinning.pdf",
        "fig_graph.pdf"}
    macros = re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{([^\n]*)\}\n", (latex / "findings.tex").read_text())
    names = [m[0] for m in macros]
    assert len(names) == len(set(names))
    defined = dict(macros)
    assert defined["NReposMLproject"] == "2" and defined["DenReposMLproject"] == "3"
    assert defined["PctReposMLproject"] == "67\\%" and defined["LowReposMLproject"] == "21\\%"
    assert defined["NRerunMedianSeconds"] == "60.0 s"
    for name in _facts(measured):
        assert f"N{name}" in defined, name
    text = (latex / "findings-text.tex").read_text()
    used = set(re.findall(r"\\([A-Z][A-Za-z]+)\{\}", text)) | set(re.findall(r"\\((?:Pct|Low|High)[A-Za-z]+)", text))
    assert used and used <= set(defined)
    assert not re.search(r"\d", re.sub(r"\\[A-Za-z]+", "", text.split("\\begin{longtable}")[0]))
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return  # the checks above stand for compiling (.ci/run installs Debian's texlive-latex-recommended)
    shutil.copytree(latex, tmp_path / "latex")
    for _ in range(2):
        proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
                              cwd=tmp_path / "latex", capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "latex" / "report.pdf").stat().st_size > 10_000


def test_storage_figure_labels_do_not_overlap() -> None:
    import pandas as pd

    from analysis.report.figures import storage_figure

    releases = [f"{major}.{minor}.0" for major in (1, 2, 3) for minor in range(25)][:73]
    fig = storage_figure(pd.DataFrame({"sql_table": range(73), "entity": range(73)}, index=releases))
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert 10 <= len(labels) <= 19 and labels[0] == "1.0.0" and labels[-1] == releases[-1]
    assert "one in 5 labelled" in fig.axes[0].get_xlabel()


def test_teaching_rule() -> None:
    from analysis.report.methodology import words

    assert words("JedhaBootcamp/01-Package_your_algorithm") == ["jedha", "bootcamp", "package", "your", "algorithm"]
    assert words("DataTalksClub/mlops-zoomcamp MLflowTutorial") == ["data", "talks", "club", "mlops", "zoomcamp",
                                                                     "m", "lflow", "tutorial"]


def test_all_repos_population(report_dir: Path) -> None:
    from analysis.report.document import build_report

    md, _page = build_report(report_dir.parent, all_repos=True)
    text = md.read_text()
    assert "duplicates included" in text and "| logs params | 1 | 4 |" in text
    assert "| duplicates kept (--all-repos) | 4 | 0 | 1 copies in 1 duplicate families |" in text
    build_report(report_dir.parent)
    assert "one repository per duplicate family" in (report_dir / "report.md").read_text()


def test_cli_report_options(measured: Path, tmp_path: Path) -> None:
    from cli import app

    results = tmp_path / "out"
    shutil.copytree(measured, results)
    shutil.move(results / "probe", tmp_path / "elsewhere")
    result = CliRunner().invoke(app, ["report", "--results", str(results), "--probe", str(tmp_path / "elsewhere"),
                                      "--latex"])
    assert result.exit_code == 0, result.output
    assert f"latex: {results / 'report' / 'latex'}" in result.output
    assert "probe: " + str(tmp_path / "elsewhere") in result.output and "rerun: " + str(results) in result.output
    md = (results / "report" / "report.md").read_text()
    assert "Probing MLflow 3.18.0 itself" in md
    result = CliRunner().invoke(app, ["report", "--results", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no results" in result.output
    result = CliRunner().invoke(app, ["report", "--results", str(results), "--probe", str(tmp_path / "none")])
    assert result.exit_code == 2 and "probe.csv" in result.output


def test_a_rerun_from_the_cache_does_not_redraw_the_report(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\nmlflow.log_metric('a', 1)\n"})
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    settings = AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out")
    analyze(settings)
    page = tmp_path / "out" / "report" / "index.html"
    drawn = page.stat().st_mtime_ns
    files_before = (tmp_path / "out" / "files.csv").read_text()
    analyze(settings)
    assert (tmp_path / "out" / "files.csv").read_text() != files_before  # `cached` flipped to true
    assert page.stat().st_mtime_ns == drawn  # but nothing the report reads changed
    (tmp_path / "out" / "practices.csv").write_text((tmp_path / "out" / "practices.csv").read_text() + "\n")
    from analysis.report.document import build_report

    build_report(tmp_path / "out")
    assert page.stat().st_mtime_ns != drawn  # an input that changed redraws it


_DRAW_GRAPH = """
import hashlib, io, sys
import networkx as nx
from analysis.report.figures import graph_figure
g = nx.DiGraph()
for i in range(6):
    g.add_node(f"m{i}.py", kind="module")
    g.add_node(f"f{i}", kind="function")
    g.add_edge(f"m{i}.py", f"f{i}", kind="defines")
buf = io.BytesIO()
graph_figure(g).savefig(buf, format="png")
print(hashlib.sha256(buf.getvalue()).hexdigest())
"""


def test_the_graph_figure_is_the_same_whatever_the_hash_seed() -> None:
    import os
    import sys
    root = Path(__file__).resolve().parents[3]
    digests = {subprocess.run([sys.executable, "-c", _DRAW_GRAPH], capture_output=True, text=True, check=True, cwd=root,
                              env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}).stdout
               for seed in ("1", "2")}
    assert len(digests) == 1


def test_figures_rendered_in_child_processes_are_the_ones_rendered_here(tmp_path: Path) -> None:
    from analysis.report.rendering import FigureRenderer, render_figure
    from analysis.report.figures import bar_figure
    figures = {f"f{i}": bar_figure(["a", "b"], [0.2 * i, 0.5], "t", "share") for i in range(3)}
    here = {name: render_figure(fig, latex=False) for name, fig in figures.items()}
    renderer = FigureRenderer(2)
    for name, fig in figures.items():
        renderer.submit(name, fig, latex=False)
    assert {name: renderer.result(name) for name in reversed(list(figures))} == here


def _graph_of_every_kind() -> Figure:
    import networkx as nx

    from analysis.report.figures import graph_figure
    g = nx.DiGraph()
    kinds = ["repository", "mlproject", "entry_point", "script", "module", "function", "run_site", "metric_key",
             "param_key", "model", "dataset", "environment", "dependency", "unknown"]
    for i, kind in enumerate(kinds * 3):
        g.add_node(f"{kind}:node number {i} with a rather long name.py", kind=kind)
    nodes = list(g)
    for i, node in enumerate(nodes[1:], 1):
        g.add_edge(nodes[i // 2], node, kind="calls")
    g.add_edge(nodes[3], nodes[3], kind="calls")
    return graph_figure(g)


def _storage_counts(releases: int, scale: int) -> pd.DataFrame:
    return pd.DataFrame({k: [scale * (i + j) for i in range(releases)] for j, k in
                         enumerate(("sql_table", "entity", "limit", "tracking_scheme", "artifact_scheme"))},
                        index=[f"{i // 10}.{i % 10}.0" for i in range(releases)])


@pytest.mark.parametrize("draw", [
    pytest.param(lambda: bar_figure(["mlflow.start_run", "a rather long practice name " * 3, "b"], [0.9, 0.25, 0.0],
                                    "The APIs", "share of repositories", ([0.05, 0.1, 0.0], [0.05, 0.2, 0.1]),
                                    ["48/57", "5/20", "0/3"]), id="bars"),
    pytest.param(lambda: bar_figure([f"api {i}" for i in range(30)], [i / 30 for i in range(30)], "t", "share"),
                 id="bars-many-no-intervals"),
    pytest.param(lambda: storage_figure(_storage_counts(73, 1)), id="storage"),
    pytest.param(lambda: storage_figure(_storage_counts(3, 10_000_000)), id="storage-offset-text"),
    pytest.param(_graph_of_every_kind, id="graph"),
    pytest.param(lambda: pinning_figure([i / 50 for i in range(51)]), id="pinning"),
    pytest.param(lambda: pinning_figure([]), id="pinning-empty"),
])
def test_figures_cut_to_their_tight_box_here_are_those_savefig_cuts(draw: Callable[[], Figure]) -> None:
    import io

    from analysis.report.rendering import PNG_DPI, render_figure
    from analysis.report.figures import pyplot
    expected = io.BytesIO()
    draw().savefig(expected, format="png", dpi=PNG_DPI, bbox_inches="tight")
    assert render_figure(draw(), latex=False)[0] == expected.getvalue()
    pyplot().close("all")


def test_a_figure_saved_measures_each_of_its_texts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from matplotlib.backends.backend_agg import RendererAgg

    from analysis.report.rendering import render_figure
    measured: Counter[tuple[str, int, object, float]] = Counter()  # text, font, mathtext, resolution
    measure = RendererAgg.get_text_width_height_descent

    def counted(self: RendererAgg, s: str, prop: object, ismath: object) -> tuple[float, float, float]:
        measured[s, hash(prop), ismath, self.dpi] += 1
        return measure(self, s, prop, ismath)  # type: ignore[no-any-return]

    monkeypatch.setattr(RendererAgg, "get_text_width_height_descent", counted)
    render_figure(_graph_of_every_kind(), latex=False)  # measured on a renderer, drawn on another
    assert "node kind" in {key[0] for key in measured} and set(measured.values()) == {1}


def test_the_report_process_raises_what_stopped_it_and_ends_on_close(tmp_path: Path) -> None:
    from analysis.report.process import ReportError, ReportProcess
    (tmp_path / "results").write_text("a file, not a results directory")
    drawer = ReportProcess()
    try:
        with pytest.raises(ReportError, match=r"drawing the report of .*results failed:\n(.|\n)*Traceback"):
            drawer.draw(tmp_path / "results")
    finally:
        drawer.close()
    assert drawer._process.returncode == 0


def test_the_report_process_runs_at_the_lowest_priority_and_draws_what_the_driver_draws(
        analyzed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It imports while the workers analyze, so it must only take a core they leave (nice 19); what
    it draws is what drawing in the driver gives, byte for byte, even started where a researcher's own
    ``analysis/`` folder lies."""
    import os
    import time

    from analysis.report.document import build_report
    from analysis.report.process import ReportProcess
    here, there = tmp_path / "here", tmp_path / "there"
    for results in (here, there):
        shutil.copytree(analyzed[0], results)
        shutil.rmtree(results / "report")
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "__init__.py").write_text("raise SystemExit('the wrong analysis package')\n")
    monkeypatch.chdir(tmp_path)
    drawer = ReportProcess()
    try:
        deadline = time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, drawer._process.pid) != 19 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, drawer._process.pid) == 19
        drawer.draw(there)
    finally:
        drawer.close()
    assert drawer._process.returncode == 0
    build_report(here)

    def drawn(results: Path) -> dict[str, bytes]:
        """The report's files; in the texts, the results' path and the time written stand as R and T."""
        return {str(p.relative_to(results)): re.sub(rb"written \d{4}-\d\d-\d\dT[\d:]+\+00:00", b"written T",
                                                    p.read_bytes().replace(str(results).encode(), b"R"))
                for p in sorted((results / "report").rglob("*")) if p.is_file()}
    assert "report/index.html" in drawn(here) and drawn(there) == drawn(here)


_DRAW_PREPARED = """
import gc, sys
from pathlib import Path
from analysis.report.process import prepare
prepare()
frozen, before = gc.get_freeze_count(), set(sys.modules)
from analysis.report.document import FigureRenderer, build_report
build_report(Path(sys.argv[1]), latex=True, renderer=FigureRenderer(0))
print(frozen > 1000, sorted(m for m in set(sys.modules) - before if m.startswith("analysis")))
"""


def test_a_prepared_report_process_imports_nothing_of_the_report_while_drawing(measured: Path, tmp_path: Path) -> None:
    import os
    import sys
    results = tmp_path / "out"
    shutil.copytree(measured, results)
    shutil.rmtree(results / "report")  # drawn again, every section (the probe's, the re-runs') with rows
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", _DRAW_PREPARED, str(results)], capture_output=True, text=True,
                         check=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}).stdout
    assert out.splitlines()[-1] == "True []"


def test_a_stuck_child_is_stopped_and_its_figure_rendered_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    import analysis.report.rendering as report
    from analysis.report.figures import bar_figure
    fig = bar_figure(["a", "b"], [0.2, 0.5], "t", "share")
    expected = report.render_figure(fig, latex=False)
    parent, real = os.getpid(), report.render_figure

    def stuck_in_children(figure: object, latex: bool) -> tuple[bytes, bytes | None]:
        if os.getpid() != parent:
            time.sleep(60)
        return real(figure, latex)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "render_figure", stuck_in_children)
    monkeypatch.setattr(report, "CHILD_SECONDS", 1.0)
    renderer = report.FigureRenderer(1)
    renderer.submit("f", fig, latex=False)
    started = time.monotonic()
    assert renderer.result("f") == expected
    assert time.monotonic() - started < 30


def test_a_report_process_left_drawing_is_killed_on_close() -> None:
    import time

    from analysis.report.process import ReportProcess
    drawer = ReportProcess()
    drawer._drawing = True  # as when the run was interrupted while waiting for a drawing
    started = time.monotonic()
    drawer.close()
    assert drawer._process.returncode == -9 and time.monotonic() - started < 5
