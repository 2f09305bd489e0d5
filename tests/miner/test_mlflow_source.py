"""MLflow releases: which ones, and from local archives, folders and git tags."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from miner.ftypes import MineEvent
from miner.mlflow_source import (
    MlflowSourceError,
    ReleaseStore,
    extract_archive,
    local_release_entries,
    select_minor_releases,
    version_from_name,
)
from tests.conftest import git, make_repo


@pytest.mark.parametrize(
    ("available", "lo", "hi", "expected"),
    [
        pytest.param(["1.0.0", "1.0.1", "1.1.0", "1.1.1"], "1.0", "", ["1.0.0", "1.1.0"], id="first-of-minor"),
        pytest.param(["2.0.1", "2.0.0rc0", "2.1.0"], "1.0", "", ["2.0.1", "2.1.0"], id="no-2.0.0-takes-2.0.1"),
        pytest.param(["0.9.1", "1.0.0", "3.18.0", "3.18.1"], "1.0", "3.17", ["1.0.0"], id="range"),
        pytest.param(["1.2.0.post1", "1.2.0", "1.3.0.dev0", "bogus"], "1.0", "", ["1.2.0"], id="no-post-dev"),
    ],
)
def test_select_minor_releases(available: list[str], lo: str, hi: str, expected: list[str]) -> None:
    assert select_minor_releases(available, lo, hi) == expected


def _wheel(path: Path, version: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mlflow/__init__.py", "from mlflow.tracking.fluent import log_metric\n")
        zf.writestr("mlflow/version.py", f'VERSION = "{version}"\n')
        zf.writestr("mlflow/tracking/fluent.py", "def log_metric(key, value, step=None):\n    pass\n")
        zf.writestr("mlflow/server/js/build/app.js", "x" * 100)
        zf.writestr("../evil.py", "bad")
        zf.writestr(f"mlflow-{version}.dist-info/METADATA", "Name: mlflow\n")
    return path


def test_extract_keeps_only_the_package_python(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "mlflow-2.5.0-py3-none-any.whl", "2.5.0")
    n = extract_archive(wheel, tmp_path / "out")
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.py"))
    assert files == ["mlflow/__init__.py", "mlflow/tracking/fluent.py", "mlflow/version.py"]
    assert n == 3
    assert not (tmp_path / "evil.py").exists()


def test_local_folder_of_archives_and_unpacked_releases(tmp_path: Path) -> None:
    src = tmp_path / "releases"
    src.mkdir()
    _wheel(src / "mlflow-1.5.0-py3-none-any.whl", "1.5.0")
    unpacked = src / "mlflow-2.0.1" / "mlflow"
    unpacked.mkdir(parents=True)
    (unpacked / "__init__.py").write_text("")
    (unpacked / "version.py").write_text('VERSION = "2.0.1"\n')
    (src / "notes.txt").write_text("not a release")
    entries = local_release_entries(src)
    assert [e.name for e in entries] == ["mlflow-1.5.0-py3-none-any.whl", "mlflow-2.0.1"]
    events: list[MineEvent] = []
    store = ReleaseStore(tmp_path / "corpus", events.append)
    got = [store.from_local(e) for e in entries]
    assert [(r.version, r.source, r.path) for r in got] == [("1.5.0", "local", "mlflow/1.5.0"), ("2.0.1", "local", "mlflow/2.0.1")]
    assert store.has("1.5.0") and store.has("2.0.1")
    assert len(got[0].sha256) == 64
    assert not list((tmp_path / "corpus" / "mlflow").glob(".partial-*"))


def test_bad_archive_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "mlflow-9.9.9.tar.gz"
    bad.write_bytes(b"not an archive")
    with pytest.raises(MlflowSourceError, match="mlflow-9.9.9.tar.gz: not a zip or tar archive"):
        ReleaseStore(tmp_path / "c", lambda e: None).from_local(bad)


def test_release_from_git_tag_keeps_only_mlflow_package(tmp_path: Path) -> None:
    files = {
        "mlflow/__init__.py": "",
        "mlflow/version.py": 'VERSION = "1.2.0"\n',
        "mlflow/store/tracking/dbmodels/models.py": "class SqlRun: pass\n",
        "mlflow/server/js/huge.js": "x",
        "docs/index.md": "docs",
        "tests/test_x.py": "def test(): pass\n",
    }
    served = make_repo(tmp_path / "mlflow.git", files, bare=True)
    git("tag", "v1.2.0", cwd=served)
    store = ReleaseStore(tmp_path / "corpus", lambda e: None)
    release = store.from_github("1.2.0", served.as_uri())
    root = tmp_path / "corpus" / "mlflow" / "1.2.0"
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert kept == ["mlflow/__init__.py", "mlflow/store/tracking/dbmodels/models.py", "mlflow/version.py"]
    assert (release.source, release.origin) == ("github", "v1.2.0")


def test_missing_tag_is_an_error(tmp_path: Path) -> None:
    served = make_repo(tmp_path / "mlflow.git", {"mlflow/__init__.py": ""}, bare=True)
    with pytest.raises(MlflowSourceError, match="v9.0.0"):
        ReleaseStore(tmp_path / "corpus", lambda e: None).from_github("9.0.0", served.as_uri())
    assert not (tmp_path / "corpus" / "mlflow" / "9.0.0").exists()


@pytest.mark.parametrize(
    ("name", "version"),
    [("mlflow-2.5.0.tar.gz", "2.5.0"), ("mlflow-1.30.1-py3-none-any.whl", "1.30.1"), ("v3.0.0", "3.0.0"),
     ("mlflow", "")],
)
def test_version_from_name(name: str, version: str) -> None:
    assert version_from_name(name) == version
