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


def test_a_pin_is_exact_as_the_environments_pass_classes_it() -> None:
    # conda's version and build pin one release; its two-part version is a prefix (1.23.*), as for any package
    assert pinned_version("mlflow=2.12.2=h6eed73b_0;mlflow-skinny=2.12.2=py311h6eed73b_0") == "2.12.2"
    assert pinned_version("mlflow=1.23") == pinned_version("mlflow==2.*") == pinned_version("mlflow>=1.0,==1.2") == ""
    assert pinned_version("mlflow == 2.0.1") == "2.0.1" and pinned_version("mlflow===2.0") == "2.0"
    assert pinned_version("mlflowx==1.0") == ""
    assert pinned_version("mlflow2.2.2") == "2.2.2"  # Poetry's bare version (pyproject.toml): exact
    from analysis.reading.env_files import conda_pin_class, parse_conda
    for spec, cls in (("=1.23", "range"), ("=1.23.0", "exact"), ("=1.23=py_0", "exact"), ("==1.23", "exact"),
                      ("=1.*", "range"), (">=1.23", "range")):
        assert conda_pin_class(spec)[1] == cls, spec
        deps = parse_conda(f"dependencies:\n  - mlflow{spec}\n", "conda.yaml", lambda _p: None)[0]
        assert (pinned_version(f"mlflow{deps[0].spec}") != "") == (deps[0].pin_class == "exact"), spec
