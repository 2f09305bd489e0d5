"""The API catalog pass, on small hand-written MLflow-like releases."""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.releases.catalog import build_catalog, catalog_for, categorize, load_snapshot, release_surface
from analysis.releases.load import load_releases
from miner.corpus import release_dirs, releases_dir


def release(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


OLD = {
    "mlflow/__init__.py": """\
        import mlflow.tracking.fluent
        import mlflow.tracking as tracking
        log_param = mlflow.tracking.fluent.log_param
        set_tracking_uri = tracking.set_tracking_uri
        VERSION = "1.0.0"
        """,
    "mlflow/tracking/__init__.py": "from mlflow.tracking.utils import set_tracking_uri\n",
    "mlflow/tracking/utils.py": "def set_tracking_uri(uri):\n    pass\n",
    "mlflow/tracking/fluent.py": "def log_param(key, value):\n    pass\n\ndef autolog():\n    pass\n",
    "mlflow/tracking/client.py": """\
        class MlflowClient:
            def __init__(self): pass
            def log_param(self, run_id, key, value): pass
            def list_experiments(self): pass
            def _private(self): pass
        """,
    "mlflow/sklearn.py": "def log_model(m, path): pass\ndef load_model(uri): pass\n",
}

NEW = {
    "mlflow/__init__.py": """\
        from mlflow.tracking.fluent import log_param, autolog
        from mlflow.tracking._tracking_service.utils import set_tracking_uri
        from mlflow.utils.lazy_load import LazyLoader
        from mlflow.tracking.client import MlflowClient
        sklearn = LazyLoader("mlflow.sklearn", globals(), "mlflow.sklearn")
        if True:
            from mlflow.tracking.fluent import log_input
        """,
    "mlflow/tracking/_tracking_service/utils.py": "def set_tracking_uri(uri):\n    pass\n",
    "mlflow/tracking/fluent.py": "def log_param(key, value): pass\ndef autolog(): pass\ndef log_input(ds): pass\n",
    "mlflow/tracking/client.py": """\
        from mlflow.utils.annotations import deprecated
        class MlflowClient:
            def log_param(self, run_id, key, value): pass
            @deprecated(since="2.9.0")
            def transition_model_version_stage(self, name, version, stage): pass
        """,
    "mlflow/sklearn/__init__.py": "from mlflow.sklearn.autolog_impl import autolog\ndef log_model(m, name=None): pass\n",
    "mlflow/sklearn/autolog_impl.py": "def autolog(): pass\n",
    "mlflow/utils/__init__.py": "def log_model(): pass\n",  # machinery, not a flavor
}


def test_release_surface_follows_reexports(tmp_path: Path) -> None:
    entries = {e.api: e for e in release_surface(release(tmp_path / "new", NEW))}
    assert entries["mlflow.log_param"].module == "mlflow.tracking.fluent"
    assert entries["mlflow.set_tracking_uri"].module == "mlflow.tracking._tracking_service.utils"
    assert entries["mlflow.log_input"].kind == "function"  # bound inside an `if` block
    assert entries["mlflow.MlflowClient"].kind == "function"
    assert entries["mlflow.sklearn.autolog"].kind == "flavor_function"
    assert entries["mlflow.MlflowClient.transition_model_version_stage"].deprecated
    assert "mlflow.sklearn" not in entries  # a module, not a function
    assert "mlflow.utils.log_model" not in entries


def test_catalog_versions_across_releases(tmp_path: Path) -> None:
    rows = {r.api: r for r in build_catalog({
        "1.0.0": release(tmp_path / "1.0.0", OLD), "2.10.0": release(tmp_path / "2.10.0", NEW)})}
    assert (rows["mlflow.log_param"].first_version, rows["mlflow.log_param"].last_version) == ("1.0.0", "2.10.0")
    assert rows["mlflow.MlflowClient.list_experiments"].last_version == "1.0.0"
    assert rows["mlflow.log_input"].first_version == "2.10.0"
    assert rows["mlflow.sklearn.load_model"].last_version == "1.0.0"
    assert rows["mlflow.MlflowClient.transition_model_version_stage"].deprecated_since == "2.10.0"
    assert rows["mlflow.log_param"].deprecated_since == ""
    assert rows["mlflow.autolog"].first_version == "2.10.0"
    assert rows["mlflow.MlflowClient.log_param"].n_releases == 2
    assert rows["mlflow.MlflowClient.log_param"].category == "param"
    assert rows["mlflow.MlflowClient.log_param"].text()["n_releases"] == "2"


def test_the_corpus_cache_keeps_each_row_as_its_text(tmp_path: Path) -> None:
    """``<corpus>/mlflow/.catalog.json`` holds rows as column -> CSV text, the format it had when rows were
    dicts: a cache written then reads back as the same rows, and this code writes the same format."""
    corpus = tmp_path / "corpus"
    release(corpus / "mlflow" / "1.0.0", OLD)
    release(corpus / "mlflow" / "2.10.0", NEW)
    built = catalog_for(release_dirs(corpus))
    assert load_releases(release_dirs(corpus), releases_dir(corpus)).catalog == built
    path = corpus / "mlflow" / ".catalog.json"
    data = json.loads(path.read_text())
    old_style = {"api": "mlflow.MlflowClient.log_param", "kind": "client_method", "module": "mlflow.tracking.client",
                 "category": "param", "first_version": "1.0.0", "last_version": "2.10.0", "n_releases": "2",
                 "deprecated_since": ""}
    assert old_style in data["rows"] and all(list(r) == list(old_style) for r in data["rows"])
    data["rows"] = [{**r, "category": "from the cache"} if r["api"] == old_style["api"] else r for r in data["rows"]]
    path.write_text(json.dumps(data))
    expected = tuple(replace(r, category="from the cache") if r.api == old_style["api"] else r for r in built.rows)
    assert load_releases(release_dirs(corpus), releases_dir(corpus)).catalog.rows == expected


@pytest.mark.parametrize(
    ("api", "category"),
    [
        ("mlflow.log_metric", "metric"), ("mlflow.log_params", "param"), ("mlflow.start_run", "run"),
        ("mlflow.log_artifacts", "artifact"), ("mlflow.log_figure", "artifact"), ("mlflow.sklearn.log_model", "model"),
        ("mlflow.set_tags", "tag"), ("mlflow.set_experiment", "experiment"), ("mlflow.set_tracking_uri", "config"),
        ("mlflow.pytorch.autolog", "autolog"), ("mlflow.log_input", "dataset"), ("mlflow.register_model", "registry"),
        ("mlflow.MlflowClient.set_registered_model_alias", "registry"), ("mlflow.start_span", "tracing"),
        ("mlflow.MlflowClient.log_batch", "run"), ("mlflow.doctor", "other"),
    ],
)
def test_categorize(api: str, category: str) -> None:
    assert categorize(api) == category


def test_without_releases_the_shipped_snapshot_is_used(tmp_path: Path) -> None:
    catalog = catalog_for(release_dirs(tmp_path))
    assert catalog.origin == "snapshot"
    assert len(catalog.releases) >= 2 and catalog.releases[0].startswith("1.0")
    apis = catalog.by_api
    assert apis["mlflow.log_metric"].first_version == catalog.releases[0]
    assert apis["mlflow.MlflowClient.log_batch"].kind == "client_method"
    assert catalog.aliases()["mlflow.tracking.fluent.log_metric"] == "mlflow.log_metric"


def test_snapshot_matches_the_pass_on_its_own_kind_of_input() -> None:
    snap = load_snapshot()
    assert {r.kind for r in snap.rows} == {"function", "client_method", "flavor_function"}
    assert all(r.first_version and r.last_version and r.n_releases >= 1 for r in snap.rows)
