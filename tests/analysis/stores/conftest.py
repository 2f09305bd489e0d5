"""The stores the installed MLflow writes, made once for the store tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.analysis.stores.makers import installed_reading, new_scenario
from tests.conftest import tmpfs_dir


@pytest.fixture(scope="package")
def new_stores() -> Iterator[tuple[Path, dict[str, dict[str, Any]]]]:
    """A checkout holding ``mlruns/`` and ``mlflow.db`` written by the installed MLflow, and MLflow's reading of each."""
    pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("alembic")
    with tmpfs_dir("repo-") as repo:
        old_cwd, old_env = Path.cwd(), os.environ.get("MLFLOW_ALLOW_FILE_STORE")
        os.chdir(repo)  # MLflow writes relative to the working directory, as a user's script would
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        try:
            readings = {}
            for store, uri in (("mlruns", "file:./mlruns"), ("mlflow.db", "sqlite:///mlflow.db")):
                new_scenario(uri)
                readings[store] = installed_reading(uri)
            import mlflow

            mlflow.set_tracking_uri(None)
        finally:
            os.chdir(old_cwd)
            if old_env is None:
                os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        yield repo, readings
