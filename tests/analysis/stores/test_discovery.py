"""Finding committed stores by content: FileStores under any name, registries, symlinks, look-alikes left out."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from analysis.stores.discovery import StoreRef, find_stores
from analysis.stores.stored_runs import read_store
from tests.analysis.stores.makers import paths_of


def test_finds_by_content_not_by_name_and_ignores_look_alikes(new_stores: tuple[Path, dict[str, Any]],
                                                              tmp_path: Path) -> None:
    shutil.copytree(new_stores[0] / "mlruns", tmp_path / "experiments" / "tracking")  # any name
    shutil.copytree(new_stores[0] / "mlruns", tmp_path / "experiments" / "tracking" / "0" / "r" / "artifacts" / "mlruns")
    (tmp_path / "models" / "resnet").mkdir(parents=True)  # ML models, not a registry
    (tmp_path / "models" / "resnet" / "meta.yaml").write_text("name: resnet\nlayers: 50\n")
    other = sqlite3.connect(tmp_path / "optuna.db")
    other.execute("CREATE TABLE studies (id INTEGER)")
    other.commit()
    other.close()
    (tmp_path / "Thumbs.db").write_bytes(b"\0" * 64)
    assert find_stores(tmp_path, paths_of(tmp_path)) == [StoreRef("experiments/tracking", "file")]


def test_model_registry_tree(tmp_path: Path) -> None:
    reg = tmp_path / "registry" / "models" / "clf"
    (reg / "version-1").mkdir(parents=True)
    (reg / "meta.yaml").write_text("name: clf\ncreation_timestamp: 1\nlast_updated_timestamp: 2\n")
    (reg / "version-1" / "meta.yaml").write_text("name: clf\nversion: 1\ncurrent_stage: None\nsource: x\n")
    refs = find_stores(tmp_path, paths_of(tmp_path))
    assert refs == [StoreRef("registry/models", "registry")]
    assert read_store("o/r", tmp_path, refs[0]).store.n_registered_models == 0  # counted below a FileStore root
    assert read_store("o/r", tmp_path, StoreRef("registry", "file")).store.n_model_versions == 1


def test_store_symlinked_to_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mlruns").symlink_to("/")
    refs = find_stores(tmp_path, ["mlruns"])
    assert refs == [StoreRef("mlruns", "file")]
    reading = read_store("o/r", tmp_path, refs[0])
    assert reading.runs == () and [p.path for p in reading.problems] == ["mlruns"]
    assert "symlink leaving the repository" in reading.problems[0].reason


def test_links_as_the_listing_tells_them(tmp_path: Path) -> None:
    (tmp_path / "mlruns").symlink_to("/")
    (tmp_path / "mlflow.db").write_bytes(b"not a database")
    asked: list[str] = []

    def is_symlink(rel: str) -> bool:
        asked.append(rel)
        return rel == "mlruns"

    assert find_stores(tmp_path, ["mlruns", "mlflow.db"], is_symlink) == find_stores(tmp_path, ["mlruns", "mlflow.db"]) \
        == [StoreRef("mlflow.db", "sqlite"), StoreRef("mlruns", "file")]
    assert asked == ["mlruns", "mlflow.db"]
    # told a file is a link, it is one by name only (its bytes are not read)
    assert find_stores(tmp_path, ["mlflow.db", "x.bin"], lambda rel: True) == [StoreRef("mlflow.db", "sqlite")]
