"""Corpus specs: a TOML spec read into its selections; a bad one names the file and the line or key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from miner.ftypes import Filters, MinerError, Sample, SourceSpec
from miner.spec import DEFAULT_SPEC, load_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_loads_a_spec(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text('[corpus]\nblob_limit = "200k"\n\n[github]\ntopic = "mlflow"\nmin_stars = 5\n'
                    'include_forks = true\n\n[mlflow]\nsource = "none"\n')
    spec = load_spec(path)
    assert (spec.name, spec.path, spec.blob_limit) == ("small", path, "200k")
    assert (spec.github.topic, spec.github.min_stars, spec.github.include_forks) == ("mlflow", 5, True)
    assert spec.mlflow.source == "none"


def test_the_shipped_spec_loads_and_states_its_sources_and_rules_in_the_new_form() -> None:
    spec = load_spec(DEFAULT_SPEC)
    data = tomllib.loads(DEFAULT_SPEC.read_text())
    assert "github" not in data and {"source", "filters"} <= set(data)
    assert spec.sources == (SourceSpec("topic", "topic:mlflow-projects", topic="mlflow-projects"),)
    assert set(data["filters"]) == {f for f in Filters.__dataclass_fields__}  # every rule's setting, said
    assert spec.rules.exclude_tutorials is False and spec.rules.include_forks is False


def test_sources_filters_and_sample(tmp_path: Path) -> None:
    path = tmp_path / "wide.toml"
    path.write_text('[[source]]\nkind = "topic"\ntopic = "mlflow-projects"\n\n'
                    '[[source]]\nkind = "search"\nquery = "mlflow language:Python stars:>=10"\ncreated_from = "2015-01-01"\n\n'
                    '[[source]]\nkind = "list"\nname = "seart"\npath = "seart-export.csv"\n\n'
                    '[[source]]\nkind = "local"\npath = "~/clones"\n\n'
                    '[filters]\ninclude_forks = false\nexclude_tutorials = true\nlanguages = ["Python"]\n\n'
                    '[sample]\nn = 300\nseed = 7\n')
    spec = load_spec(path)
    assert [(s.kind, s.name) for s in spec.sources] == [
        ("topic", "topic:mlflow-projects"), ("search", "search:mlflow language:Python stars:>=10"),
        ("list", "seart"), ("local", "local:~/clones")]
    assert spec.sources[1].created_from == "2015-01-01" and spec.sources[2].path == "seart-export.csv"
    assert spec.rules == Filters(exclude_tutorials=True, languages=("Python",))
    assert spec.sample == Sample(n=300, seed=7)


def test_the_github_section_is_one_topic_source_and_its_filters(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text('[github]\ntopic = "mlflow"\nextra_query = "language:Python"\nmin_stars = 5\nmax_size_kb = 9\n')
    spec = load_spec(path)
    assert spec.sources == (SourceSpec("topic", "topic:mlflow", topic="mlflow", query="language:Python"),)
    assert spec.rules == Filters(min_stars=5, max_size_kb=9) and spec.sample is None


@pytest.mark.parametrize(("text", "message"), [
    pytest.param('[github]\ntopic = "a"\nmin_stars = \n', r"bad\.toml: .*line 3", id="toml-syntax-names-the-line"),
    pytest.param('[github]\nstars = 1\n', r"bad\.toml \[github\]: unknown key\(s\) stars", id="unknown-key"),
    pytest.param('[github]\nmin_stars = "5"\n', r"\[github\]\.min_stars: expected an integer", id="wrong-type"),
    pytest.param('[mlflow]\nsource = "conda"\n', r"\[mlflow\]\.source: expected pypi, github or none", id="bad-source"),
    pytest.param('[other]\n', r"unknown section\(s\) other", id="unknown-section"),
    pytest.param('[github]\ntopic = "a"\n[filters]\nmin_stars = 1\n', r"\[github\] is the one-source form",
                 id="both-forms"),
    pytest.param('[[source]]\nkind = "gitlab"\n', r"\[\[source\]\]\[0\]\.kind: expected one of topic, search, list, local",
                 id="unknown-kind"),
    pytest.param('[[source]]\nkind = "search"\n', r"\[0\] \(kind search\): query is required", id="no-query"),
    pytest.param('[[source]]\nkind = "list"\npath = "a"\ntopic = "x"\n', r"\(kind list\): unknown key\(s\) topic",
                 id="key-of-another-kind"),
    pytest.param('[[source]]\nkind = "search"\nquery = "mlflow created:>2020-01-01"\n', r"\.query: no created:",
                 id="created-is-the-miners"),
    pytest.param('[[source]]\nkind = "list"\npath = "a"\n[[source]]\nkind = "list"\npath = "a"\n',
                 r"two sources named list:a", id="same-name-twice"),
    pytest.param('[[source]]\nkind = "search"\nquery = "a;b"\n', r"holds a ';'", id="semicolon-in-a-name"),
    pytest.param('[filters]\nmin_stars = "10"\n', r"\[filters\]\.min_stars: expected an integer", id="filter-type"),
    pytest.param('[filters]\npushed_after = "last year"\n', r"pushed_after: expected a date", id="filter-date"),
    pytest.param('[filters]\nstars = 1\n', r"\[filters\]: unknown key\(s\) stars", id="unknown-filter"),
    pytest.param('[sample]\nseed = 1\n', r"\[sample\]: missing key\(s\) n", id="sample-without-n"),
    pytest.param('[sample]\nn = 0\n', r"\[sample\]\.n: expected 1 or more", id="empty-sample"),
])
def test_a_bad_spec_names_file_and_where(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(MinerError, match=message):
        load_spec(tmp_path / "bad.toml")


def test_a_missing_spec(tmp_path: Path) -> None:
    with pytest.raises(MinerError, match="corpus spec not found"):
        load_spec(tmp_path / "none.toml")
