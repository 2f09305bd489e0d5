"""The selection funnel from selection.csv: each source, the merge, names not found, each rule in order, the
sample; and a corpus mined before selection.csv keeps the funnel of its manifest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.inputs import ReportInputs
from analysis.report.methodology import selection_funnel
from miner.fileio import write_csv
from miner.ftypes import CorpusSpec, Filters, MlflowSelection, Sample, SourceSpec
from miner.mine import mine
from tests.conftest import FakeGitHub, repo_item
from tests.miner.mining import settings_for


def _funnel(results: Path, corpus: Path) -> dict[str, tuple[object, object, str]]:
    frame = selection_funnel(ReportInputs(results, corpus))
    return {r["step"]: (r["repositories"], r["removed"], r["reason"]) for r in frame.to_dict("records")}


def test_the_funnel_counts_each_source_and_each_rule(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.repos += [repo_item(f"o{i}/p{i}", "file:///none", f"2021-01-{i + 1:02d}", stargazers_count=i)
                          for i in range(12)]
    fake_github.repos += [repo_item("f/fork", "file:///none", "2021-02-01", fork=True),
                          repo_item("c/mlflow-course", "file:///none", "2021-02-02", stargazers_count=9),
                          repo_item("x/listed-only", "file:///none", "2021-02-03", topics=[], stargazers_count=50)]
    (tmp_path / "names.txt").write_text("o1/p1\nx/listed-only\ngone/away\n")
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"),
                      sources=(SourceSpec("topic", "topic:mlflow-projects", topic="mlflow-projects",
                                          created_from="2021-01-01"),
                               SourceSpec("list", "picked", path="names.txt")),
                      filters=Filters(min_stars=2, exclude_tutorials=True), sample=Sample(n=5, seed=1))
    mine(settings_for(tmp_path, api_url=fake_github.base_url, dry_run=True, spec=spec))
    (tmp_path / "out").mkdir()
    steps = _funnel(tmp_path / "out", tmp_path / "corpus")
    assert steps["source topic:mlflow-projects"][:2] == (14, "")
    assert "GitHub's total_count 14, 1 created: windows in search.csv, complete" in steps["source topic:mlflow-projects"][2]
    assert steps["source picked"] == (3, "", "repositories listed in names.txt, each looked up on GitHub; 1 not found")
    assert steps["candidates, merged by repository id"][:2] == (16, "")
    assert steps["candidates, merged by repository id"][2].startswith("1 found by more than one source")
    assert steps["found on GitHub"] == (15, 1, "listed, but GitHub does not serve them (404, 410 or 451): gone/away")
    assert steps["rule forks"] == (14, 1, "include_forks = false")
    assert steps["rule stars"] == (12, 2, "min_stars = 2; e.g. stars 0 < 2")  # o0 and o1
    assert steps["rule tutorials"] == (11, 1, "exclude_tutorials = true")
    assert steps["sample"][:2] == (5, 6) and steps["sample"][2].startswith("n = 5, seed = 1, stratified by stars: ")
    assert steps["mined"] == (0, 5, "planned, not fetched (a dry run): 5")
    assert list(steps).index("rule forks") < list(steps).index("rule stars") < list(steps).index("rule tutorials")


def test_a_corpus_without_selection_csv_keeps_its_manifests_funnel(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    columns = ("repo", "status", "reason", "duplicate_of")
    write_csv(corpus / "manifest.csv", columns, [
        {"repo": "a/x", "status": "ok"}, {"repo": "b/fork", "status": "skipped", "reason": "fork"},
        {"repo": "c/small", "status": "skipped", "reason": "stars 0 < 1"}])
    (tmp_path / "out").mkdir()
    steps = _funnel(tmp_path / "out", corpus)
    assert steps["not forks"][:2] == (2, 1) and steps["selected by the spec's filters"] == (1, 1, "stars: 1")
    assert steps["mined"] == (1, 0, "none failed")
    assert not pd.isna(steps["analyzed"][0])
