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


# the tracking-URI fallback and the FileStore's constructor, as three generations of MLflow wrote them
OLD_RELEASE = {  # 1.0-like: the fallback in mlflow/tracking/utils.py, its constant in mlflow/store/__init__.py
    "mlflow/store/__init__.py": 'DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH = "./mlruns"\n',
    "mlflow/tracking/utils.py": """\
        from mlflow.store import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
        _tracking_uri = None
        def get_tracking_uri():
            \"\"\"The URI.\"\"\"
            global _tracking_uri
            if _tracking_uri is not None:
                return _tracking_uri
            elif env.get_env(_TRACKING_URI_ENV_VAR) is not None:
                return env.get_env(_TRACKING_URI_ENV_VAR)
            else:
                return path_to_local_file_uri(os.path.abspath(DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH))
        """,
    "mlflow/store/file_store.py": "class FileStore:\n    def __init__(self, root_directory=None):\n        self.root = root_directory\n",
}
RELEASE_3_6 = {  # 3.6-like: ./mlruns, and a FileStore that warns
    "mlflow/store/tracking/__init__.py": 'DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH = "./mlruns"\n',
    "mlflow/tracking/_tracking_service/utils.py": """\
        from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
        def get_tracking_uri() -> str:
            if _tracking_uri is not None:
                return _tracking_uri
            elif uri := MLFLOW_TRACKING_URI.get():
                return uri
            else:
                return path_to_local_file_uri(os.path.abspath(DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH))
        """,
    "mlflow/store/tracking/file_store.py": """\
        import warnings
        class FileStore(AbstractStore):
            def __init__(self, root_directory=None, artifact_root_uri=None):
                super().__init__()
                warnings.warn("Filesystem tracking backend (e.g., './mlruns') is deprecated.", FutureWarning, stacklevel=2)
        """,
}
RELEASE_3_7 = {  # 3.7-like: SQLite unless ./mlruns holds experiments; 3.13-like: a FileStore only on request
    "mlflow/store/tracking/__init__.py": ('DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH = "./mlruns"\n'
                                         'DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"\n'),
    "mlflow/tracking/_tracking_service/utils.py": """\
        from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH, DEFAULT_TRACKING_URI
        def _has_existing_mlruns_data() -> bool:
            return Path(DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH).exists()
        def _get_default_tracking_uri() -> str:
            return (
                DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
                if _has_existing_mlruns_data()
                else DEFAULT_TRACKING_URI
            )
        def get_tracking_uri() -> str:
            if _tracking_uri is not None:
                return _tracking_uri
            elif uri := MLFLOW_TRACKING_URI.get():
                return uri
            else:
                default_uri = _get_default_tracking_uri()
                if default_uri == DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH:
                    return path_to_local_file_uri(os.path.abspath(default_uri))
                return default_uri
        """,
    "mlflow/environment_variables.py": ('MLFLOW_TRACKING_DIR = _EnvironmentVariable("MLFLOW_TRACKING_DIR", str, None)\n'
                                        'MLFLOW_ALLOW_FILE_STORE = _BooleanEnvironmentVariable("MLFLOW_ALLOW_FILE_STORE", False)\n'),
    "mlflow/store/tracking/file_store.py": """\
        from mlflow.environment_variables import MLFLOW_ALLOW_FILE_STORE
        class FileStore(AbstractStore):
            def __init__(self, root_directory=None, artifact_root_uri=None):
                super().__init__()
                if not MLFLOW_ALLOW_FILE_STORE.get():
                    raise MlflowException("The filesystem tracking backend is in maintenance mode")
                self.root_directory = root_directory
        """,
}


def _defaults(tmp_path: Path, files: dict[str, str]) -> dict[tuple[str, str], str]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return {(r.kind, r.name): r.detail for r in release_storage("9.9.0", tmp_path) if r.kind in ("default", "gate")}


def test_the_default_tracking_uri_and_the_file_store_gate_are_read_from_the_source(tmp_path: Path) -> None:
    """A 3.6-like source falls back to ./mlruns and its FileStore warns; a 3.7-like one to sqlite:///mlflow.db,
    keeping ./mlruns when it holds experiments, and its FileStore opens only with MLFLOW_ALLOW_FILE_STORE."""
    assert _defaults(tmp_path / "1.0", OLD_RELEASE) == {("default", "tracking_uri"): "./mlruns"}
    assert _defaults(tmp_path / "3.6", RELEASE_3_6) == {("default", "tracking_uri"): "./mlruns",
                                                        ("gate", "FileStore"): "warning: FutureWarning"}
    assert _defaults(tmp_path / "3.7", RELEASE_3_7) == {
        ("default", "tracking_uri"): "sqlite:///mlflow.db",
        ("default", "tracking_uri_if_has_existing_mlruns_data"): "./mlruns",
        ("gate", "FileStore"): "opt-in: MLFLOW_ALLOW_FILE_STORE"}
    assert _defaults(tmp_path / "none", {"mlflow/__init__.py": ""}) == {}  # nothing found, nothing claimed
