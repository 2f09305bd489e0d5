"""The workload's folder: what it imports, the Python it parses as, how it runs; the FileStore gate."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from analysis.probe import ProbeSummary
from analysis.probe import run as probe_run
from tests.analysis.probe.support import CURRENT, only_row, release_of


def test_workload_imports_nothing_of_this_project_and_parses_as_python_3_8() -> None:
    files = sorted(probe_run.WORKLOAD.glob("*.py"))
    siblings = {f.stem for f in files}
    assert "__main__" in siblings and len(files) > 2
    for file in files:
        tree = ast.parse(file.read_text(encoding="utf-8"), feature_version=(3, 8))
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level], file.name
        assert not imported & {"analysis", "miner", "cli"}, file.name
        # mlflow and sqlalchemy: importlib, by name; the siblings by their probe_ names
        assert imported - set(sys.stdlib_module_names) - siblings <= {"numpy"}, file.name
        assert all(name.startswith("probe_") for name in imported & siblings), file.name


def test_the_folder_runs_as_a_script_from_anywhere(tmp_path: Path) -> None:
    """As the driver starts it: ``python <folder>``, another working directory, no path set for it."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"}  # even then, the folder is first on sys.path
    helped = subprocess.run([sys.executable, str(probe_run.WORKLOAD), "--help"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: ") and "--backend" in helped.stdout
    assert "measures one MLflow store" in " ".join(helped.stdout.split())
    bad = subprocess.run([sys.executable, str(probe_run.WORKLOAD / "__main__.py"), "--backend", "sqlite:///x.db",
                          "--probes", "speed"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown probes: speed" in bad.stderr


@pytest.mark.slow
@CURRENT
def test_file_store_refused_without_the_variable_since_3_13(current: ProbeSummary) -> None:
    gate = only_row(current, "file", "file store gate", "without MLFLOW_ALLOW_FILE_STORE")
    if release_of(current) >= Version("3.13"):
        assert gate.outcome == "refused" and "MLFLOW_ALLOW_FILE_STORE" in gate.detail
    else:
        assert gate.outcome == "accepted"
    assert not [r for r in current.rows if r.backend == "sqlite" and r.probe == "file store gate"]
