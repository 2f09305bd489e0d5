"""Alembic revisions of MLflow releases: the migration graph's heads and the first release of each head."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from analysis.releases.schema import heads, load_snapshot, migration_graph, releases_by_head, revision_releases
from miner.corpus import release_dirs


def test_first_release_of_a_head(tmp_path: Path) -> None:
    def release(version: str, revisions: dict[str, str | None]) -> Path:
        folder = tmp_path / version / "mlflow" / "store" / "db_migrations" / "versions"
        folder.mkdir(parents=True)
        for rev, down in revisions.items():
            (folder / f"{rev}_m.py").write_text(f"revision = {rev!r}\ndown_revision = {down!r}\n")
        return tmp_path / version

    releases = {"1.10.0": release("1.10.0", {"a1": None, "b2": "a1"}),
                "1.9.0": release("1.9.0", {"a1": None, "b2": "a1"}),
                "1.2.0": release("1.2.0", {"a1": None})}
    assert heads(migration_graph(releases["1.10.0"])) == {"b2"}
    assert releases_by_head(releases) == {"a1": "1.2.0", "b2": "1.9.0"}  # version order, not name order


def _installed_mlflow() -> tuple[Path, str]:
    """(the folder holding the installed ``mlflow`` package, ``mlflow.__version__``), read without importing
    MLflow (3 s of imports): ``mlflow.__version__`` is ``mlflow/version.py``'s ``VERSION``."""
    spec = importlib.util.find_spec("mlflow")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    version_spec = importlib.util.spec_from_file_location("_installed_mlflow_version", package / "version.py")
    assert version_spec is not None and version_spec.loader is not None
    version = importlib.util.module_from_spec(version_spec)
    version_spec.loader.exec_module(version)
    return package.parent, version.VERSION


def test_shipped_snapshot_covers_the_installed_mlflow() -> None:
    root, version = _installed_mlflow()
    (head,) = heads(migration_graph(root))
    snapshot = load_snapshot()
    assert head in snapshot and snapshot[head].split(".")[:2] <= version.split(".")[:2]


def test_merge_revisions_old_layout_and_broken_files(tmp_path: Path) -> None:
    folder = tmp_path / "mlflow" / "alembic" / "versions"  # 1.0.0's layout
    folder.mkdir(parents=True)
    (folder / "a_m.py").write_text("revision = 'a'\ndown_revision = None\n")
    (folder / "b_m.py").write_text("revision: str = 'b'\ndown_revision = 'a'\n")
    (folder / "c_m.py").write_text("revision = 'c'\ndown_revision = 'a'\n")
    (folder / "d_m.py").write_text("revision = 'd'\ndown_revision = ('b', 'c')\n")  # a merge
    (folder / "e_m.py").write_text("revision = 'e'\ndown_revision = (\n")  # broken: skipped
    assert migration_graph(tmp_path) == {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}
    assert heads(migration_graph(tmp_path)) == {"d"}


def test_a_corpus_reads_its_releases_and_without_them_the_snapshot(tmp_path: Path) -> None:
    assert revision_releases(release_dirs(tmp_path)) == (load_snapshot(), "snapshot")
    release = tmp_path / "mlflow" / "1.2.0"
    (release / "mlflow" / "store" / "db_migrations" / "versions").mkdir(parents=True)
    (release / "mlflow" / "__init__.py").write_text("")
    (release / "mlflow" / "store" / "db_migrations" / "versions" / "x_m.py").write_text(
        "revision = 'x1'\ndown_revision = None\n")
    assert revision_releases(release_dirs(tmp_path)) == ({"x1": "1.2.0"}, "corpus")
