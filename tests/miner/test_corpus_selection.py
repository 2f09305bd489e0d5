"""A corpus of several sources, selected by named rules and sampled: selection.csv against the loopback GitHub."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from miner.corpus import mined_repositories
from miner.fileio import read_csv
from miner.mine import mine
from miner.sample import allocate
from miner.spec import load_spec
from tests.conftest import FakeGitHub, make_repo, repo_item, spread_dates
from tests.miner.mining import PROJECT, settings_for

FARM = [f"dsci-2024/final-project-{s}" for s in ("alice", "bob", "carol", "dan", "eve", "frank", "gus")]
COURSE = ["a/mlops-zoomcamp", "b/mlflow-homework", "c/ml_workshop", "d/HW3-tracking", "e/MLflowTutorial"]
DECOYS = ["f/labels-detector", "g/collaborative-filtering", "h/courseware-api", "i/hwang-mlflow",
          "j/exercise-recognition", "k/jupyterlab-mlflow"]
GHOSTS = ["ghost/deleted", "nobody/never", "typo/traker"]
SEARCH = "mlflow tracking language:Python"
SPEC = f'''
[corpus]
name = "wide"

[[source]]
kind = "topic"
topic = "mlflow-projects"
created_from = "2020-01-01"

[[source]]
kind = "search"
name = "tracking"
query = "{SEARCH}"
created_from = "2020-01-01"

[[source]]
kind = "list"
path = "names.txt"

[filters]
include_forks = false
exclude_tutorials = true

[sample]
n = 300
seed = 7

[mlflow]
source = "none"
'''


def _populate(fake: FakeGitHub) -> None:
    """718 on the topic: 700 projects (100 of them about MLflow tracking, 14 forks), a classroom farm, course work
    and decoys; 1,050 more the search finds (1,151 with those 100 and d/HW3-tracking); clone URLs on the loopback
    server, which no dry run may ask."""
    def add(name: str, created: str, **extra: object) -> None:
        fake.repos.append(repo_item(name, f"{fake.base_url}/git/{name}.git", created, **extra))

    stars = [0, 0, 0, 2, 5, 8, 15, 40, 120, 3]
    for i, created in enumerate(spread_dates(700, date(2020, 1, 1), per_day=2)):
        add(f"t{i}/proj-{i}", created, stargazers_count=stars[i % 10], fork=i % 50 == 0,
            description="MLflow tracking of a churn model" if i < 100 else f"project {i}")
    for i, created in enumerate(spread_dates(1050, date(2020, 6, 1), per_day=3)):
        add(f"s{i}/exp-{i}", created, stargazers_count=stars[(i * 7) % 10], topics=["mlops"],
            description=f"MLflow tracking experiments {i}")
    for name in FARM:
        add(name, "2023-09-01", description=f"{name.split('/')[1]} created by GitHub Classroom" if name.endswith("gus") else "")
    for name in COURSE + DECOYS:
        add(name, "2022-02-02", stargazers_count=12)


def test_topic_search_and_list_selected_by_rules_and_sampled_the_same_twice(tmp_path: Path,
                                                                           fake_github: FakeGitHub) -> None:
    _populate(fake_github)
    (tmp_path / "names.txt").write_text("t3/proj-3\ns5/exp-5\nS5/EXP-5\n" + "\n".join(GHOSTS) + "\nf/labels-detector\n")
    (tmp_path / "wide.toml").write_text(SPEC)
    spec = load_spec(tmp_path / "wide.toml")
    settings = settings_for(tmp_path, api_url=fake_github.base_url, spec=spec, dry_run=True)
    summary = mine(settings)
    corpus = tmp_path / "corpus"
    rows = read_csv(corpus / "selection.csv")
    names = [r["repo"] for r in rows]
    assert len(names) == len(set(names))  # every candidate once
    assert set(names) == {r["full_name"] for r in fake_github.repos} | set(GHOSTS)
    by = {r["repo"]: r for r in rows}
    # merged by repository id across sources: each source that found it is listed
    assert by["t5/proj-5"]["sources"] == "topic:mlflow-projects;tracking"
    assert by["t3/proj-3"]["sources"] == "topic:mlflow-projects;tracking;list:names.txt"
    assert by["s5/exp-5"]["sources"] == "tracking;list:names.txt"
    assert by["t400/proj-400"]["sources"] == "topic:mlflow-projects"
    assert [by[g]["status"] for g in GHOSTS] == ["not-found"] * 3
    # the rules, by name, and the sample of what they keep
    status = Counter(r["status"] for r in rows)
    assert status["kept"] == 300 and status["not-found"] == 3
    assert {r["rule"] for r in rows if r["status"] == "excluded"} == {"forks", "tutorials"}
    assert all(by[r]["status"] == "excluded" and by[r]["rule"] == "tutorials" for r in FARM + COURSE)
    assert by[FARM[-1]]["tutorial"] == "classroom" and by[FARM[0]]["tutorial"] == "farm"
    assert not [r["repo"] for r in rows if r["tutorial"] and r["status"] == "kept"]  # no tutorial kept
    assert not [d for d in DECOYS if by[d]["tutorial"] or by[d]["rule"]]  # no decoy taken for course work
    assert all(by[f"t{i}/proj-{i}"]["rule"] == "forks" for i in range(0, 700, 50))
    left = Counter(r["stratum"] for r in rows if r["status"] in ("kept", "not-sampled"))
    kept = Counter(r["stratum"] for r in rows if r["status"] == "kept")
    assert kept == allocate(dict(left), 300) and set(kept) == {"0", "1-9", "10-99", "100+"}  # stratified by stars
    prov = json.loads((corpus / "selection.csv.provenance.json").read_text())
    assert prov["sample"]["n"] == 300 and prov["sample"]["seed"] == 7 and prov["sample"]["drawn"] == 300
    assert [r["rule"] for r in prov["rules"]][-1] == "tutorials" and prov["rules"][-1]["setting"] == "exclude_tutorials = true"
    assert {s["name"]: s["found"] for s in prov["sources"]} == {"topic:mlflow-projects": 718, "tracking": 1151,
                                                               "list:names.txt": 6}
    # the search went past the cap in windows; the manifest plans the kept ones only
    assert summary.total_count == 718 + 1151 and summary.complete
    manifest = {r.repo: r for r in summary.rows}
    assert {r for r, m in manifest.items() if m.status == "planned"} == {r["repo"] for r in rows if r["status"] == "kept"}
    assert manifest[FARM[0]].status == "skipped" and manifest[FARM[0]].reason.startswith("course work (farm:")
    # --dry-run fetched no repository
    assert not [p for p, _ in fake_github.requests if p.startswith("/git/")]
    assert not (corpus / "repos").exists() and not (corpus / "lock.csv").exists()
    # a second dry run: the same 300, every answer from the HTTP cache
    text, n_requests = (corpus / "selection.csv").read_text(), len(fake_github.requests)
    mine(settings)
    assert (corpus / "selection.csv").read_text() == text
    assert len(fake_github.requests) == n_requests


def test_the_cli_prints_each_source_and_the_selection(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.repos += [repo_item("a/one", "file:///none", "2021-01-01"),
                          repo_item("b/fork", "file:///none", "2021-01-02", fork=True),
                          repo_item("c/mlflow-tutorial", "file:///none", "2021-01-03")]
    (tmp_path / "names.txt").write_text("a/one\ngone/away\n")
    (tmp_path / "s.toml").write_text('[[source]]\nkind = "topic"\ntopic = "mlflow-projects"\n\n'
                                     '[[source]]\nkind = "list"\nname = "picked"\npath = "names.txt"\n\n'
                                     '[filters]\nexclude_tutorials = true\n\n[mlflow]\nsource = "none"\n')
    result = CliRunner().invoke(app, ["mine", "--spec", str(tmp_path / "s.toml"), "--corpus", str(tmp_path / "c"),
                                      "--api-url", fake_github.base_url, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "source topic:mlflow-projects: 3\nsource picked: 2\n" in result.output
    assert ("selection (selection.csv): 4 candidates, kept: 1  excluded: 2 (forks: 1, tutorials: 1)  "
            "not-sampled: 0  not-found: 1") in result.output
    kept = CliRunner().invoke(app, ["mine", "--spec", str(tmp_path / "s.toml"), "--corpus", str(tmp_path / "c"),
                                    "--api-url", fake_github.base_url, "--dry-run", "--keep-tutorials"])
    assert "kept: 2  excluded: 1 (forks: 1)" in kept.output


def test_a_mined_sample_is_recorded_in_the_lock_and_analyze_reads_the_kept_ones(tmp_path: Path,
                                                                                fake_github: FakeGitHub) -> None:
    served = tmp_path / "served"
    for i, stars in enumerate([0, 0, 4, 4, 30, 30]):
        bare = make_repo(served / f"r{i}.git", {**PROJECT, "n.py": f"n = {i}\n"}, bare=True)
        fake_github.repos.append(repo_item(f"o{i}/r{i}", bare.as_uri(), "2021-01-01", stargazers_count=stars))
    (tmp_path / "s.toml").write_text('[[source]]\nkind = "topic"\ntopic = "mlflow-projects"\ncreated_from = "2021-01-01"\n'
                                     '\n[sample]\nn = 3\nseed = 11\n\n[mlflow]\nsource = "none"\n')
    summary = mine(settings_for(tmp_path, api_url=fake_github.base_url, spec=load_spec(tmp_path / "s.toml")))
    corpus = tmp_path / "corpus"
    kept = {r.repo for r in summary.selection if r.status == "kept"}
    assert len(kept) == 3 and {r.stratum for r in summary.selection if r.status == "kept"} == {"0", "1-9", "10-99"}
    assert {r["repo"] for r in read_csv(corpus / "lock.csv")} == kept
    sample = json.loads((corpus / "lock.csv.provenance.json").read_text())["sample"]
    assert (sample["n"], sample["seed"], sample["population"], sample["drawn"]) == (3, 11, 6, 3)
    assert {r.repo for r in mined_repositories(corpus)} == kept  # analyze reads these
    assert {r.repo: r.reason for r in summary.rows if r.repo not in kept} == {
        r: "not drawn into the sample" for r in {f"o{i}/r{i}" for i in range(6)} - kept}
