"""The corpus layout: safe, distinct checkout paths, and the MLflow releases a corpus holds."""

from __future__ import annotations

from pathlib import Path

from miner.corpus import clone_path_for, release_dirs


def test_odd_names_get_safe_distinct_paths() -> None:
    assert clone_path_for("owner/name.with-dots_ok") == "repos/owner/name.with-dots_ok"
    weird = clone_path_for("we ird/na:me")
    assert weird.startswith("repos/we_ird-") and "/na_me-" in weird
    assert clone_path_for("a/..") != clone_path_for("a/.")
    assert ".." not in clone_path_for("a/..").split("/")


def test_release_dirs_are_the_folders_holding_mlflow(tmp_path: Path) -> None:
    for name in ("2.9.2", "1.30.1", ".partial-3.0.0"):
        (tmp_path / "mlflow" / name / "mlflow").mkdir(parents=True)
        (tmp_path / "mlflow" / name / "mlflow" / "__init__.py").write_text("")
    (tmp_path / "mlflow" / "3.1.0").mkdir()  # no mlflow/ package: an unfinished download
    assert release_dirs(tmp_path) == {"1.30.1": tmp_path / "mlflow" / "1.30.1", "2.9.2": tmp_path / "mlflow" / "2.9.2"}
    assert release_dirs(tmp_path / "elsewhere") == {}
