"""The course-work rule: what it finds and what it leaves, case by case."""

from __future__ import annotations

import pytest

from miner.tutorials import FARM_SIZE, Candidate, Find, course_words, farms, find, tutorials, words


@pytest.mark.parametrize(
    ("repo", "description", "topics", "found"),
    [
        pytest.param("acme/mlops-course", "", "", ["course"], id="a word of the name"),
        pytest.param("DataTalksClub/mlops-zoomcamp", "", "", ["zoomcamp"], id="zoomcamp"),
        pytest.param("JedhaBootcamp/01-Package_your_algorithm_training", "", "", ["bootcamp"], id="camelCase owner"),
        pytest.param("victorviro/mlflow_tutorial", "", "", ["tutorial"], id="snake_case"),
        pytest.param("a/MLflowTutorials", "", "", ["tutorials"], id="camelCase plural"),
        pytest.param("a/ml-hw3", "", "", ["hw3"], id="hw and a number"),
        pytest.param("a/HW-03-mlflow", "", "", ["hw3"], id="HW, a dash and a number"),
        pytest.param("a/lab2-tracking", "", "", ["lab"], id="lab before a digit"),
        pytest.param("a/tracking", "Homework for the MLOps course", "", ["homework", "course"], id="description"),
        pytest.param("a/tracking", "", "mlflow;mlops-workshop", ["workshop"], id="topics"),
        pytest.param("a/tracking", "", "", [], id="nothing"),
        pytest.param("a/hwang-mlflow", "", "", [], id="hw inside hwang"),
        pytest.param("a/HWang3", "", "", [], id="HWang is not HW"),
        pytest.param("a/hw-accelerated-serving", "", "", [], id="hw without a number"),
        pytest.param("a/labels-cleaning", "", "", [], id="lab inside labels"),
        pytest.param("a/collaborate", "", "", [], id="lab inside collaborate"),
        pytest.param("a/LabelEncoder", "", "", [], id="camelCase Label is not lab"),
        pytest.param("a/laboratory-data", "", "", [], id="laboratory is another word"),
        pytest.param("a/coursera-notes", "", "", ["coursera"], id="coursera is a word of its own"),
        pytest.param("a/courseware", "", "", [], id="course inside courseware"),
        pytest.param("a/x", "Runs in JupyterLab with GitLab CI", "", [], id="JupyterLab and GitLab"),
        pytest.param("a/x", "Open it in jupyter lab", "", [], id="jupyter lab"),
        pytest.param("a/x", "Of course it logs to MLflow", "", [], id="of course"),
        pytest.param("a/x", "Hungarian algorithm for linear assignment", "", [], id="linear assignment"),
        pytest.param("a/course-recommendation", "", "", [], id="an ML task on courses"),
        pytest.param("a/exercise-recognition", "", "", [], id="an ML task on exercise"),
        pytest.param("a/deep-learning-training", "Machine learning training pipeline", "", [], id="ML words"),
        pytest.param("a/curriculum-learning", "", "", [], id="curriculum learning"),
        pytest.param("a/mlops-lab-example-yelp", "", "", ["lab"], id="lab between words"),
    ],
)
def test_course_words(repo: str, description: str, topics: str, found: list[str]) -> None:
    got = find(Candidate(repo, description, topics))
    words_found = [w for part in got.evidence.split("; ") for w in part.split(": ", 1)[1].split(", ")] if got else []
    assert words_found == found
    assert got is None or got.rule == "course-word"


def test_evidence_names_where_each_word_is() -> None:
    got = find(Candidate("acme/mlops-course", "Labs of the course", ("mlops", "workshop")))
    assert got == Find("course-word", "name: course; description: labs, course; topics: workshop")


def test_words_split_camel_case_digits_and_separators() -> None:
    assert words("JedhaBootcamp/01-Package_your") == ["jedha", "bootcamp", "01", "package", "your"]
    assert words("HWang lab2 MLflowTutorial") == ["h", "wang", "lab", "2", "m", "lflow", "tutorial"]
    assert words("Exercícios de aula") == ["exercícios", "de", "aula"]
    assert course_words("hw1 and HW 2, hw1 again") == ["hw1", "hw2"]


def test_github_classroom_description() -> None:
    got = find(Candidate("org/final-project-alice", "final-project-alice created by GitHub Classroom"))
    assert got == Find("classroom", "description: final-project-alice created by GitHub Classroom")
    assert find(Candidate("org/x", "Deployed by GitHub Actions")) is None


def test_a_farm_is_many_names_of_one_owner_with_one_prefix() -> None:
    students = [f"cs-101/assignment-2-{s}" for s in ("alice", "bob", "carol", "dan", "eve-smith")]
    products = [f"mlflow/mlflow-{p}" for p in ("export-import", "go", "torchserve", "ray-serve", "website", "apps")]
    few = [f"acme/churn-model-{i}" for i in range(FARM_SIZE - 1)]
    found = farms([*students, *products, *few, "other/assignment-2-frank"])
    assert set(found) == set(students)  # not another owner's, not a one-word prefix, not fewer than FARM_SIZE
    assert found["cs-101/assignment-2-eve-smith"] == "5 repositories of cs-101 named assignment-2-*"
    assert farms([f"o/hw3-{s}" for s in "abcde"])["o/hw3-a"] == "5 repositories of o named hw3-*"  # one word, a digit


def test_tutorials_tries_the_rules_in_order() -> None:
    candidates = [Candidate(f"cs-101/project-2-{s}") for s in ("alice", "bob", "carol", "dan")]
    candidates += [Candidate("cs-101/project-2-eve", "project-2-eve created by GitHub Classroom"),
                   Candidate("cs-101/project-2-tutorial"), Candidate("someone/app")]
    found = tutorials(candidates)
    assert set(found) == {c.repo for c in candidates[:6]}
    assert found["cs-101/project-2-alice"] == Find("farm", "6 repositories of cs-101 named project-2-*")
    assert found["cs-101/project-2-eve"].rule == "classroom"
    assert found["cs-101/project-2-tutorial"] == Find("course-word", "name: tutorial")
