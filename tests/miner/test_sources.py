"""Sources: lists read (names per line, SEART-GHS-like CSVs), candidates merged by repository id; against the
loopback GitHub: a free-text search past the 1,000-result cap, a list looked up name by name."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from miner.fileio import read_csv
from miner.ftypes import CorpusSpec, Filters, MinerError, MlflowSelection, RepoCandidate, SourceSpec
from miner.mine import mine
from miner.sources import merge, read_list
from tests.conftest import FakeGitHub, make_repo, repo_item, spread_dates
from tests.miner.mining import settings_for

SEART_HEADER = ("id,name,isFork,commits,branches,defaultBranch,releases,contributors,license,watchers,stargazers,"
                "forks,size,createdAt,pushedAt,updatedAt,homepage,mainLanguage,totalIssues,isArchived,topics\n")


def _seart_row(name: str, stars: int = 12, language: str = "Python") -> str:
    return (f"{sum(name.encode()) % 1000},{name},false,40,2,main,0,3,MIT License,4,{stars},1,800,"
            f"2021-03-01T10:00:00,2023-01-01T10:00:00,2023-01-02T10:00:00,,{language},3,false,\"mlops;mlflow\"\n")


def test_a_list_of_names_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "names.txt"
    path.write_text("# chosen by hand\nacme/Tracker\n\nhttps://github.com/b/two.git\nACME/tracker\n"
                    "github.com/c/three/\n")
    assert [(e.repo, e.line) for e in read_list(path)] == [("acme/Tracker", 2), ("b/two", 4), ("c/three", 6)]


def test_a_seart_export_is_read_by_its_name_column_with_its_other_cells(tmp_path: Path) -> None:
    path = tmp_path / "seart.csv"
    path.write_text(SEART_HEADER + _seart_row("a/one") + _seart_row("b/two", 3) + _seart_row("A/One"))
    listed = read_list(path)
    assert [e.repo for e in listed] == ["a/one", "b/two"]  # a/one twice (any case): once
    assert listed[1].cells["stargazers"] == "3" and listed[1].cells["mainLanguage"] == "Python"
    other = tmp_path / "export.txt"  # no .csv: a comma in the first line says CSV
    other.write_text("full_name,stars\nx/y,3\n")
    assert [e.repo for e in read_list(other)] == ["x/y"]


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("a/b\nnot a name\n", r"names.txt:2: expected owner/name", id="bad-line"),
    pytest.param("id,stars\n1,2\n", r"no column named name, full_name, repo", id="no-name-column"),
])
def test_a_bad_list_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "names.txt").write_text(text)
    with pytest.raises(MinerError, match=message):
        read_list(tmp_path / "names.txt")


def test_candidates_merge_by_repository_id_then_by_name() -> None:
    topic = [RepoCandidate("acme/new-name", "github", "u1", repo_id=7, stars=3),
             RepoCandidate("b/two", "github", "u2", repo_id=8)]
    listed = [RepoCandidate("acme/old-name", "github", "u3", repo_id=7, language="Python"),  # renamed: same id
              RepoCandidate("B/Two", "github", "u4", repo_id=8)]
    local = [RepoCandidate("b/two", "local", "/clones/b", default_branch="dev"), RepoCandidate("c/three", "local", "/c")]
    merged = merge([("topic:t", topic), ("list:l", listed), ("local:d", local)])
    assert [(m.candidate.repo, m.sources) for m in merged] == [
        ("acme/new-name", ("topic:t", "list:l")), ("b/two", ("topic:t", "list:l", "local:d")), ("c/three", ("local:d",))]
    first = merged[0].candidate
    assert (first.clone_url, first.stars, first.language) == ("u1", 3, "Python")  # the first wins, the rest fills
    assert merged[1].candidate.default_branch == "dev"


def _spec(tmp_path: Path, *sources: SourceSpec, **filters: object) -> CorpusSpec:
    return CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"), sources=sources,
                      filters=replace(Filters(), **filters))  # type: ignore[arg-type]


def test_a_free_text_search_goes_past_the_cap_keeps_incomplete_results_and_is_cached(
        tmp_path: Path, fake_github: FakeGitHub) -> None:
    for i, created in enumerate(spread_dates(2400, date(2021, 1, 1), per_day=30)):
        topics = ["mlops"] if i % 2 else ["mlflow", "tracking"]
        fake_github.repos.append(repo_item(f"o{i}/p{i}", f"file:///none/{i}", created, topics=topics,
                                           description=f"Experiments with MLflow #{i}" if i % 2 else "a model",
                                           stargazers_count=i % 20))
    fake_github.repos.append(repo_item("r/r-package", "file:///none/r", "2021-02-01", language="R",
                                       description="mlflow for R", stargazers_count=50))
    query = "mlflow stars:>=10"
    search = SourceSpec("search", "search:mlflow", query=query, created_from="2021-01-01")
    settings = settings_for(tmp_path, api_url=fake_github.base_url, dry_run=True, spec=_spec(tmp_path, search))
    # GitHub says the first windows' answers are incomplete (their search timed out): kept in search.csv
    fake_github.incomplete_queries.add("created:2021-01-01..")
    summary = mine(settings)
    expected = {f"o{i}/p{i}" for i in range(2400) if i % 20 >= 10} | {"r/r-package"}
    assert len(expected) > 1000 and {r.repo for r in summary.selection} == expected
    assert summary.total_count == len(expected)
    search_csv = read_csv(tmp_path / "corpus" / "search.csv")
    read = [w for w in search_csv if w["split"] == "false"]
    assert all(w["query"].startswith("mlflow stars:>=10 fork:true created:") for w in read)
    assert any(w["split"] == "true" for w in search_csv) and all(int(w["total_count"]) <= 1000 for w in read)
    assert sum(int(w["collected"]) for w in read) == len(expected)
    assert {w["source"] for w in search_csv} == {"search:mlflow"}
    assert [w["incomplete_results"] for w in read if w["created_from"] == "2021-01-01"] == ["true"]
    assert {w["incomplete_results"] for w in read if w["created_from"] != "2021-01-01"} == {"false"}
    assert not summary.complete  # GitHub's incomplete_results makes the search incomplete
    n_requests = len(fake_github.requests)
    again = mine(settings)
    assert len(fake_github.requests) == n_requests  # every page from the HTTP cache
    assert [r.as_dict() for r in again.selection] == [r.as_dict() for r in summary.selection]


def test_a_list_is_looked_up_name_by_name_and_a_name_github_lacks_is_not_found(
        tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.repos += [repo_item("acme/tracker", "file:///none/a", "2021-01-01", stargazers_count=40),
                          repo_item("b/two", "file:///none/b", "2021-01-02", language=None),
                          repo_item("c/new-name", "file:///none/c", "2021-01-03")]
    fake_github.renamed["c/old-name"] = "c/new-name"
    (tmp_path / "names.txt").write_text("acme/tracker\nb/two\nghost/deleted\nc/old-name\nAcme/Tracker\n")
    (tmp_path / "seart.csv").write_text(SEART_HEADER + _seart_row("b/two", 7) + _seart_row("ghost/deleted")
                                        + _seart_row("nobody/never", 0))
    spec = _spec(tmp_path, SourceSpec("list", "list:names", path="names.txt"),
                 SourceSpec("list", "seart", path="seart.csv"), min_stars=1)
    settings = settings_for(tmp_path, api_url=fake_github.base_url, dry_run=True, spec=spec)
    summary = mine(settings)
    rows = {r["repo"]: r for r in read_csv(tmp_path / "corpus" / "selection.csv")}
    assert list(rows) == ["acme/tracker", "b/two", "c/new-name", "ghost/deleted", "nobody/never"]
    assert rows["c/new-name"]["sources"] == "list:names"  # listed by its old name: GitHub followed the move
    assert rows["b/two"]["sources"] == "list:names;seart"
    assert rows["b/two"]["language"] == "Python"  # GitHub did not say: the export's mainLanguage
    assert (rows["ghost/deleted"]["status"], rows["ghost/deleted"]["sources"]) == ("not-found", "list:names;seart")
    assert rows["nobody/never"]["status"] == "not-found" and rows["nobody/never"]["rule"] == ""
    assert rows["acme/tracker"]["status"] == "kept" and rows["acme/tracker"]["stars"] == "40"
    lookups = [p for p, _ in fake_github.requests if p.startswith("/repos/")]
    assert sorted(lookups) == sorted(["/repos/acme/tracker", "/repos/b/two", "/repos/ghost/deleted",
                                      "/repos/c/old-name", "/repos/nobody/never"])  # each name asked once
    manifest = {r.repo for r in summary.rows}
    assert "ghost/deleted" not in manifest and "acme/tracker" in manifest  # nothing to mine of a name not found
    n_requests = len(fake_github.requests)
    mine(settings)
    assert len(fake_github.requests) == n_requests  # found, moved and not found: all from the HTTP cache


def test_a_local_source_of_the_spec_merges_with_the_search_that_found_the_same_repository(
        tmp_path: Path, fake_github: FakeGitHub) -> None:
    make_repo(tmp_path / "clones" / "one", {"a.py": "1\n"}, origin="https://github.com/Acme/One.git")
    make_repo(tmp_path / "clones" / "two", {"b.py": "2\n"})
    fake_github.repos.append(repo_item("acme/one", "file:///none", "2021-01-01", stargazers_count=30))
    spec = _spec(tmp_path, SourceSpec("local", "mine", path="clones"),  # relative to the spec's folder
                 SourceSpec("topic", "topic:mlflow-projects", topic="mlflow-projects", created_from="2021-01-01"),
                 min_stars=10)
    summary = mine(settings_for(tmp_path, api_url=fake_github.base_url, dry_run=True, spec=spec))
    rows = {r.repo: r for r in summary.selection}
    assert set(rows) == {"Acme/One", "two"}
    assert rows["Acme/One"].sources == ("mine", "topic:mlflow-projects")
    assert (rows["Acme/One"].stars, rows["Acme/One"].repo_id) == (30, fake_github.repos[0]["id"])  # the search told
    assert rows["two"].status == "kept" and rows["two"].stars is None  # no one told its stars: min_stars reads nothing
    manifest = {r.repo: r for r in summary.rows}
    assert manifest["Acme/One"].clone_url.endswith("clones/one/.git")  # the first source's: read in place
