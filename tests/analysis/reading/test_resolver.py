"""The resolver: qualified names to the MLflow APIs they call, from the shipped catalog."""

from __future__ import annotations

from analysis.reading.resolver import Resolver
from analysis.reading.scopes import CLIENT
from analysis.releases.catalog import load_snapshot

RESOLVER = Resolver.from_catalog(load_snapshot())


def test_resolver_maps_qualified_names_to_apis() -> None:
    assert RESOLVER.api("mlflow.tracking.fluent.log_metric") == "mlflow.log_metric"
    assert RESOLVER.api(f"{CLIENT}.log_batch") == "mlflow.MlflowClient.log_batch"
    assert RESOLVER.api("mlflow.tracking.MlflowClient") == "mlflow.MlflowClient"
    assert RESOLVER.api("mlflow.tracking.fluent._active_run_stack.get") is None  # a private object's method
    assert RESOLVER.api("os.path.join") is None


def test_canonical_names_the_catalog_entry() -> None:
    assert RESOLVER.canonical("mlflow.tracking.fluent.log_metric") == "mlflow.log_metric"
    assert RESOLVER.canonical(f"{CLIENT}.search_runs") == "mlflow.MlflowClient.search_runs"
    assert RESOLVER.canonical("numpy.mean") == "numpy.mean"  # not the catalog's: kept as it is
    assert "mlflow.tracking.fluent" in RESOLVER.modules and "log_metric" in RESOLVER.top_level
