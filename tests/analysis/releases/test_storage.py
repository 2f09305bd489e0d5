"""MLflow's storage model read from a hand-written release."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from analysis.releases.load import load_releases
from analysis.releases.storage import release_storage, storage_rows
from analysis.rows import StorageRow
from miner.corpus import release_dirs, releases_dir

RELEASE = {
    "mlflow/__init__.py": "",
    "mlflow/entities/param.py": "class Param:\n    def __init__(self, key, value):\n        pass\nclass _Hidden:\n    pass\n",
    "mlflow/store/tracking/dbmodels/models.py": """\
        from sqlalchemy import Column, String, Integer
        class SqlParam(Base):
            __tablename__ = "params"
            key = Column(String(250), primary_key=True)
            value = Column(String(8000), nullable=False)
            def helper(self):
                pass
        class NotATable:
            x = Column(Integer)
        """,
    "mlflow/store/db/db_types.py": 'POSTGRES = "postgresql"\nSQLITE = "sqlite"\nDATABASE_ENGINES = [POSTGRES, SQLITE]\n',
    "mlflow/utils/uri.py": '_UC = "uc"\n',
    "mlflow/tracking/_tracking_service/utils.py": """\
        from mlflow.utils.uri import _UC
        _tracking_store_registry = Registry()
        _tracking_store_registry.register("file", f)
        _tracking_store_registry.register(_UC, f)
        for scheme in ["http", "https"]:
            _tracking_store_registry.register(scheme, g)
        for scheme in DATABASE_ENGINES:
            _tracking_store_registry.register(scheme, h)
        _tracking_store_registry.register(SOMETHING_ELSE, h)
        """,
    "mlflow/store/artifact/artifact_repository_registry.py": '_artifact_repository_registry.register("s3", S3)\n',
    "mlflow/store/tracking/file_store.py": 'class FileStore:\n    TRASH_FOLDER_NAME = ".trash"\n    META_DATA_FILE_NAME = "meta.yaml"\n    other = 3\n',
    "mlflow/utils/validation.py": "MAX_PARAM_VAL_LENGTH = 6000\nMAX_BATCH_LOG_REQUEST_SIZE = int(1e6)\nMAX_X = 16 * 1024 * 1024\nOTHER = 3\n",
}


def _release(root: Path) -> Path:
    for name, text in RELEASE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_release_storage(tmp_path: Path) -> None:
    _release(tmp_path)
    storage = release_storage("9.9.0", tmp_path)
    assert {r.release for r in storage} == {"9.9.0"}
    rows = {(r.kind, r.name): r.detail for r in storage}
    assert rows[("entity", "Param")] == "key, value"
    assert ("entity", "_Hidden") not in rows
    assert rows[("sql_table", "params")] == "SqlParam"
    assert rows[("sql_column", "params.key")] == "String(250) primary_key"
    assert rows[("sql_column", "params.value")] == "String(8000)"
    assert not any(k == ("sql_column", "NotATable.x") for k in rows)
    schemes = sorted(n for k, n in rows if k == "tracking_scheme")
    assert schemes == ["(unresolved: SOMETHING_ELSE)", "file", "http", "https", "postgresql", "sqlite", "uc"]
    assert [n for k, n in rows if k == "artifact_scheme"] == ["s3"]
    assert rows[("file_store", "TRASH_FOLDER_NAME")] == ".trash" and ("file_store", "other") not in rows
    assert rows[("limit", "MAX_PARAM_VAL_LENGTH")] == "6000" and rows[("limit", "MAX_X")] == str(16 * 1024 * 1024)
    assert ("limit", "MAX_BATCH_LOG_REQUEST_SIZE") not in rows  # a call, not a constant expression


def test_the_corpus_cache_keeps_each_row_as_column_to_text(tmp_path: Path) -> None:
    """``<corpus>/mlflow/.storage.json`` holds rows as column -> text, the format it had when rows were dicts."""
    corpus = tmp_path / "corpus"
    releases = {v: _release(corpus / "mlflow" / v) for v in ("10.0.0", "9.9.0")}
    built = storage_rows(releases)
    assert (built[0].release, built[-1].release) == ("9.9.0", "10.0.0")
    assert list(load_releases(release_dirs(corpus), releases_dir(corpus)).storage) == built
    path = corpus / "mlflow" / ".storage.json"
    data = json.loads(path.read_text())
    assert {"release": "9.9.0", "kind": "entity", "name": "Param", "detail": "key, value"} in data["rows"]
    data["rows"] = [{"release": "1.0.0", "kind": "limit", "name": "MAX_X", "detail": "1"}]  # as the dict rows were
    path.write_text(json.dumps(data))
    assert list(load_releases(release_dirs(corpus), releases_dir(corpus)).storage) == [StorageRow("1.0.0", "limit", "MAX_X", "1")]
    assert list(load_releases({}, tmp_path / "no-releases").storage) == []
