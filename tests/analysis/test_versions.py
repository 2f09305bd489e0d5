"""Tests of analysis/versions.py: one order of releases, and the release a requirement pins."""

from __future__ import annotations

from analysis.versions import pinned_version, version_key


def test_releases_sort_as_versions_and_names_after() -> None:
    assert sorted(["1.10.0", "current", "1.9.1", "2.0.0rc1", "2.0.0"], key=version_key) == [
        "1.9.1", "1.10.0", "2.0.0rc1", "2.0.0", "current"]


def test_pinned_version() -> None:
    assert pinned_version("mlflow==2.9.2") == "2.9.2"
    assert pinned_version("mlflow=1.30.0") == "1.30.0"
    assert pinned_version("mlflow-skinny==2.1;mlflow==2.1") == "2.1"
    assert pinned_version("mlflow>=2") == pinned_version("mlflow") == pinned_version("mlflow==1;mlflow==2") == ""
