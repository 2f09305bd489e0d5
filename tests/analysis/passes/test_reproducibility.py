"""Reproducibility signals and the readiness score."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.passes import reproducibility
from analysis.passes.reproducibility import sets_seed, signals
from analysis.repo_state import RepoResult
from analysis.rows import DependencyRow, EnvironmentRow
from tests.analysis.passes.checkouts import checkout_of


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (b"import random\nrandom.seed(42)\n", True), (b"np.random.seed(0)", True), (b"torch.manual_seed(1)", True),
        (b"tf.random.set_seed(3)", True), (b"transformers.set_seed(3)", True), (b"pl.seed_everything(7)", True),
        (b"RandomForestClassifier(random_state=42)", True), (b"RandomForestClassifier(random_state=rs)", False),
        (b"# no seeding here\nx = random.random()\n", False), (b"myseed(3)", False),
    ],
)
def test_sets_seed(code: bytes, expected: bool) -> None:
    assert sets_seed(code) is expected


PROJECT = {"valid": True, "env_type": "conda_env", "env_file": "conda.yaml", "docker_image": "", "docker_pinned": ""}
ENV = {"origin": "project", "kind": "conda", "python_version": "=3.10"}


def dep(name: str, pin: str, kind: str = "conda-pip", origin: str = "project") -> dict[str, str]:
    return {"name": name, "pin_class": pin, "kind": kind, "origin": origin}


def test_a_fully_ready_project_scores_one() -> None:
    row = signals("r", [PROJECT], [ENV], [dep("python", "range", "conda"), dep("mlflow", "exact"), dep("numpy", "exact")],
                  [{"category": "dataset"}, {"category": "param"}], seeds=True)
    assert (row.has_mlproject, row.env_spec, row.pinned_share, row.n_deps) == (True, "conda", 1.0, 2)
    assert (row.python_pinned, row.mlflow_pinned, row.docker_pinned_by_digest) == (True, True, "")
    assert (row.seeds_set, row.data_logged, row.params_logged) == (True, True, True)
    assert row.readiness == 1.0


def test_partial_signals_add_their_weights() -> None:
    # MLproject (0.25) + env spec (0.20) + half pinned (0.10) = 0.55, scaled by 1/0.95 without docker
    row = signals("r", [PROJECT], [{**ENV, "python_version": ""}],
                  [dep("a", "exact"), dep("b", "range"), dep("c", "exact", origin="model-artifact")], [], seeds=False)
    assert row.pinned_share == 0.5 and row.n_deps == 2
    assert row.readiness == round(0.55 / 0.95, 4)


def test_docker_digest_counts_only_with_docker() -> None:
    docker = {**PROJECT, "env_type": "docker_env", "env_file": "", "docker_image": "img@sha256:0", "docker_pinned": "digest"}
    row = signals("r", [docker], [], [], [], seeds=False)
    assert (row.env_spec, row.docker_pinned_by_digest, row.readiness) == ("docker", True, 0.5)
    tagged = {**docker, "docker_pinned": "tag"}
    assert signals("r", [tagged], [], [], [], seeds=False).readiness == 0.45


def test_no_mlproject_takes_the_best_environment_file() -> None:
    row = signals("r", [], [{"origin": "project", "kind": "requirements", "python_version": ""},
                            {"origin": "model-artifact", "kind": "conda", "python_version": "3.9"}], [], [], seeds=False)
    assert (row.has_mlproject, row.env_spec, row.python_pinned) == (False, "requirements", False)
    assert signals("r", [{**PROJECT, "env_file": ""}], [], [], [], seeds=False).env_spec == "none"


def test_the_pass_alone_scores_what_the_passes_before_it_found(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {"train.py": "import random\nrandom.seed(1)\n"})
    result = RepoResult("o/r", seeds=True)  # as the code pass leaves it
    result.environments.append(EnvironmentRow("o/r", "requirements.txt", "requirements", 1, 1.0, "", True, False,
                                              "project"))
    result.dependencies.append(DependencyRow("o/r", "requirements.txt", 1, "requirements.txt", "requirements", "pip",
                                             "mlflow", "==2.9.0", "exact", "", "project"))
    reproducibility.repo_pass(checkout, result)
    (row,) = result.reproducibility
    assert (row.repo, row.env_spec, row.pinned_share, row.seeds_set, row.mlflow_pinned) == (
        "o/r", "requirements", 1.0, True, True)
    assert row.readiness == round((0.20 + 0.20 + 0.10 + 0.05) / 0.95, 4)  # no MLproject, python or data; no docker
