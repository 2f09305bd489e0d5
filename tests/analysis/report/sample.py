"""The report tests' inputs: four repositories to mine and analyze, storage, probe and re-run rows written
from their documented columns, and helpers reading the results back."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

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
    ("bob/server", "MLproject", "main", "{}", "docker_env", "", "", "", "", "not-attempted", "docker", "", "", "", "",
     "", "", "", "", "", ""),
    ("bob/server", "MLproject", "pins", "{}", "python_env", "failed: package not found", "", "3.9", "", "not-attempted",
     "env build", "", "", "", "", "", "", "", "", "", ""),
    # the copy of bob/server is out of the report's population (one per family): its row counts nowhere
    ("bob/server-copy", "MLproject", "main", "{}", "python_env", "ok", "", "3.10", "3.10.13", "succeeded", "", "",
     "5.0", "1.0", "1", "1", "", "", "", "", ""),
]


def write_csv(path: Path, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def read_facts(results: Path) -> dict[str, dict[str, str]]:
    with (results / "report" / "findings.csv").open() as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def read_rows(results: Path, name: str) -> list[dict[str, str]]:
    path = results / name
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def graph_of_every_kind() -> Figure:
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


def storage_counts(releases: int, scale: int) -> pd.DataFrame:
    return pd.DataFrame({k: [scale * (i + j) for i in range(releases)] for j, k in
                         enumerate(("sql_table", "entity", "limit", "tracking_scheme", "artifact_scheme"))},
                        index=[f"{i // 10}.{i % 10}.0" for i in range(releases)])
