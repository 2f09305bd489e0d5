"""Corpus specs: a TOML spec read into its selections; a bad one names the file and the line or key."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.ftypes import MinerError
from miner.spec import DEFAULT_SPEC, load_spec


def test_loads_a_spec(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text('[corpus]\nblob_limit = "200k"\n\n[github]\ntopic = "mlflow"\nmin_stars = 5\n'
                    'include_forks = true\n\n[mlflow]\nsource = "none"\n')
    spec = load_spec(path)
    assert (spec.name, spec.path, spec.blob_limit) == ("small", path, "200k")
    assert (spec.github.topic, spec.github.min_stars, spec.github.include_forks) == ("mlflow", 5, True)
    assert spec.mlflow.source == "none"


def test_the_shipped_spec_loads() -> None:
    assert load_spec(DEFAULT_SPEC).name


@pytest.mark.parametrize(("text", "message"), [
    pytest.param('[github]\ntopic = "a"\nmin_stars = \n', r"bad\.toml: .*line 3", id="toml-syntax-names-the-line"),
    pytest.param('[github]\nstars = 1\n', r"bad\.toml \[github\]: unknown key\(s\) stars", id="unknown-key"),
    pytest.param('[github]\nmin_stars = "5"\n', r"\[github\]\.min_stars: expected an integer", id="wrong-type"),
    pytest.param('[mlflow]\nsource = "conda"\n', r"\[mlflow\]\.source: expected pypi, github or none", id="bad-source"),
    pytest.param('[other]\n', r"unknown section\(s\) other", id="unknown-section"),
])
def test_a_bad_spec_names_file_and_where(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(MinerError, match=message):
        load_spec(tmp_path / "bad.toml")


def test_a_missing_spec(tmp_path: Path) -> None:
    with pytest.raises(MinerError, match="corpus spec not found"):
        load_spec(tmp_path / "none.toml")
