"""The selection rules: their order, what each reads, course work excluded or kept and flagged, the sample."""

from __future__ import annotations

from dataclasses import replace

import pytest

from miner.ftypes import Filters, RepoCandidate, Sample
from miner.selection import RULES, first_rule, select
from miner.sources import Merged

BASE = RepoCandidate(repo="a/app", source="github", clone_url="", stars=5, is_fork=False, archived=False,
                     pushed_at="2023-05-01T00:00:00Z", size_kb=100, language="Python", repo_id=1)
FARM = [f"dsci-2024/mlflow-project-{s}" for s in ("alice", "bob", "carol", "dan", "eve", "frank")]
COURSE = ["a/mlops-zoomcamp", "b/mlflow-homework", "c/ml_workshop", "d/HW3-tracking", "e/lab2-mlflow"]
DECOYS = ["f/labels-detector", "g/collaborative-filtering", "h/courseware-api", "i/hwang-mlflow",
          "j/exercise-recognition", "k/JupyterLab-mlflow", "l/curriculum-learning"]


def test_the_rules_are_named_and_in_the_stated_order() -> None:
    assert [r.name for r in RULES] == ["forks", "archived", "stars", "pushed_after", "size", "empty", "language",
                                       "tutorials"]


@pytest.mark.parametrize(("change", "filters", "expected"), [
    pytest.param({}, Filters(), ("", ""), id="kept"),
    pytest.param({"is_fork": True, "stars": 0}, Filters(min_stars=10), ("forks", "fork"), id="fork-before-stars"),
    pytest.param({"is_fork": True}, Filters(include_forks=True), ("", ""), id="forks-included"),
    pytest.param({"archived": True}, Filters(include_archived=False), ("archived", "archived"), id="archived"),
    pytest.param({}, Filters(min_stars=10), ("stars", "stars 5 < 10"), id="stars"),
    pytest.param({"stars": None}, Filters(min_stars=10), ("", ""), id="stars-unknown-not-read"),
    pytest.param({}, Filters(pushed_after="2024-01-01"), ("pushed_after", "pushed 2023-05-01 before 2024-01-01"),
                 id="pushed"),
    pytest.param({"size_kb": 9000}, Filters(max_size_kb=1000), ("size", "size 9000 KB over the 1000 KB limit"),
                 id="size"),
    pytest.param({"size_kb": 0}, Filters(), ("empty", "empty repository (size 0)"), id="empty"),
    pytest.param({"language": "R"}, Filters(languages=("python", "Jupyter Notebook")),
                 ("language", "language R not in python, Jupyter Notebook"), id="language"),
    pytest.param({"language": ""}, Filters(languages=("Python",)),
                 ("language", "language (none detected) not in Python"), id="language-none-detected"),
    pytest.param({"language": None}, Filters(languages=("Python",)), ("", ""), id="language-unknown-not-read"),
])
def test_the_first_rule_that_holds(change: dict[str, object], filters: Filters, expected: tuple[str, str]) -> None:
    assert first_rule(replace(BASE, **change), filters) == expected  # type: ignore[arg-type]


def _merged(names: list[str], **fields: object) -> list[Merged]:
    return [Merged(replace(BASE, repo=n, repo_id=i + 100, **fields), ("topic:t",))  # type: ignore[arg-type]
            for i, n in enumerate(names)]


def _classroom() -> list[Merged]:
    return _merged(FARM, description="created by GitHub Classroom")[:1] + _merged(FARM[1:]) + _merged(COURSE) \
        + _merged(DECOYS) + _merged(["m/churn-model"])


def test_course_work_excluded_with_its_rule_when_asked() -> None:
    rows, _ = select(_classroom(), [], Filters(exclude_tutorials=True), None)
    status = {r.repo: (r.status, r.rule) for r in rows}
    for repo in FARM + COURSE:
        assert status[repo] == ("excluded", "tutorials"), repo
    by = {r.repo: r for r in rows}
    assert by[FARM[0]].tutorial == "classroom" and by[FARM[1]].tutorial == "farm"
    assert by[FARM[1]].reason == "course work (farm: 6 repositories of dsci-2024 named mlflow-project-*)"
    assert by["d/HW3-tracking"].tutorial_evidence == "name: hw3"
    for repo in DECOYS + ["m/churn-model"]:
        assert status[repo] == ("kept", ""), repo  # a course word inside another word, an ML task: not course work
        assert by[repo].tutorial == ""


def test_course_work_kept_and_flagged_by_default() -> None:
    rows, _ = select(_classroom(), [], Filters(), None)
    assert {r.status for r in rows} == {"kept"}
    flagged = {r.repo for r in rows if r.tutorial}
    assert flagged == set(FARM + COURSE)


def test_a_lock_is_re_mined_as_it_is_and_not_found_names_come_last() -> None:
    gone = [Merged(RepoCandidate(repo="z/gone", source="github", clone_url=""), ("list:l",))]
    rows, drawn = select(_merged(["a/x"], is_fork=True), gone, None, Sample(1, 1))
    assert [(r.repo, r.status, r.reason) for r in rows] == [
        ("a/x", "kept", ""), ("z/gone", "not-found", "GitHub does not serve it (HTTP 404, 410 or 451)")]
    assert drawn is None


def test_the_sample_draws_from_what_the_rules_keep() -> None:
    merged = _merged([f"o{i}/r{i}" for i in range(40)]) + _merged(["f/fork"], is_fork=True)
    rows, drawn = select(merged, [], Filters(), Sample(n=10, seed=3))
    assert drawn is not None and len(drawn.repos) == 10
    assert sum(r.status == "kept" for r in rows) == 10 and sum(r.status == "not-sampled" for r in rows) == 30
    assert next(r for r in rows if r.repo == "f/fork").status == "excluded"  # not in the draw's population
    assert {r.stratum for r in rows} == {"1-9"}
