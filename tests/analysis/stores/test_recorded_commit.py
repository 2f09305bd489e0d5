"""The parameters of a committed run judged against the MLprojects of the commit it recorded (read from the clone's
git objects), beside HEAD's judgement; a recorded commit the history does not hold falls back to HEAD, saying so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd

from analysis.engine.analyzer import RepoAnalyzer
from analysis.passes.mlflow_calls import Resolver
from analysis.releases.catalog import load_snapshot
from analysis.repo_state import RepoResult, RepoTask
from analysis.statistics.stores import store_statistics
from analysis.stores.recorded_commit import ProjectsAtCommit, read_blobs
from tests.analysis.history.histories import make_history

OLD_PROJECT = ("name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    parameters:\n      alpha: float\n"
               "      beta: {type: int, default: 1}\n    command: python train.py {alpha} {beta}\n")
NEW_PROJECT = ("name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    parameters:\n      gamma: float\n"
               "    command: python train.py {gamma}\n")
CONDA = "dependencies:\n  - python=3.10\n"
RUN_OLD, RUN_GONE, RUN_NONE, RUN_NEW = "a" * 32, "b" * 32, "c" * 32, "d" * 32


def _run(run_id: str, commit: str, params: dict[str, str]) -> dict[str, str | bytes | None]:
    files: dict[str, str | bytes | None] = {
        f"mlruns/1/{run_id}/meta.yaml": f"run_id: {run_id}\nexperiment_id: '1'\nstatus: 3\nstart_time: 5\nuser_id: u\n"
                                        f"lifecycle_stage: active\nartifact_uri: mlruns/1/{run_id}/artifacts\n",
        f"mlruns/1/{run_id}/tags/mlflow.project.entryPoint": "main"}
    if commit:
        files[f"mlruns/1/{run_id}/tags/mlflow.source.git.commit"] = commit
    files.update({f"mlruns/1/{run_id}/params/{k}": v for k, v in params.items()})
    return files


def _history(tmp_path: Path) -> tuple[Path, list[str]]:
    """Commit 0 declares alpha and beta, commit 1 only gamma; commit 2 commits four runs: one recorded at commit 0
    logging alpha and beta, one at a commit the history does not hold, one recording none, one at commit 1."""
    root = tmp_path / "r"
    shas = make_history(root, [{"MLproject": OLD_PROJECT, "conda.yaml": CONDA, "train.py": "print(1)\n"},
                               {"MLproject": NEW_PROJECT}])
    store: dict[str, str | bytes | None] = {
        "mlruns/1/meta.yaml": "experiment_id: '1'\nname: e\nartifact_location: mlruns/1\nlifecycle_stage: active\n",
        **_run(RUN_OLD, shas[0], {"alpha": "0.5", "beta": "2"}), **_run(RUN_GONE, "f" * 40, {"alpha": "0.1"}),
        **_run(RUN_NONE, "", {"gamma": "3"}), **_run(RUN_NEW, shas[1], {"gamma": "4"})}
    shas += make_history(root, [store], start="2023-02-01", again=True)
    return root, shas


def _analyze(root: Path, head: str) -> RepoResult:
    analyzer = RepoAnalyzer(Resolver.from_catalog(load_snapshot()), "test")
    return analyzer.analyze(RepoTask("o/r", str(root), head, str(root / ".git")))


def test_a_run_matches_the_mlproject_of_its_recorded_commit_and_not_heads(tmp_path: Path) -> None:
    root, shas = _history(tmp_path)
    result = _analyze(root, shas[-1])
    runs = {r.run_id: (r.git_commit_in_history, r.mlproject_at, r.mlproject_commit) for r in result.stored_runs}
    assert runs == {RUN_OLD: ("yes", "recorded", shas[0]), RUN_GONE: ("no", "not-in-history", shas[-1]),
                    RUN_NONE: ("", "no-commit", shas[-1]), RUN_NEW: ("yes", "recorded", shas[1])}
    params = {(p.run_id, p.key): (p.declared_in_mlproject, p.declared_at_recorded_commit) for p in result.stored_params}
    assert params == {
        (RUN_OLD, "alpha"): ("no", "yes"), (RUN_OLD, "beta"): ("no", "yes"),  # declared then, not at HEAD
        (RUN_GONE, "alpha"): ("no", "no"),  # its commit is not in the history: HEAD's judgement, mlproject_at says so
        (RUN_NONE, "gamma"): ("yes", "yes"),  # no commit recorded: HEAD's
        (RUN_NEW, "gamma"): ("yes", "yes")}  # commit 1 declares what HEAD declares
    stats = store_statistics(["o/r"], result.stores, result.stored_runs, result.stored_params).set_index("statistic")
    cells = ["numerator", "denominator", "ci_method", "per_cluster"]
    assert tuple(stats.loc["runs whose params all match the MLproject", cells[:2]]) == (2, 4)  # at HEAD: none, new
    assert tuple(stats.loc["runs whose params all match the MLproject at their recorded commit", cells]) == (
        2, 2, "none", "o/r 2 of 2")  # the old run and the new one, judged at their commits
    assert tuple(stats.loc["runs judged otherwise at their recorded commit than at HEAD", cells]) == (
        1, 2, "none", "o/r 1 of 2")  # the old run


def test_a_recorded_commit_whose_mlproject_cannot_be_read_falls_back_to_head(tmp_path: Path) -> None:
    root, shas = _history(tmp_path)
    blob = subprocess.run(["git", "rev-parse", f"{shas[0]}:MLproject"], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()  # as a partial clone without that blob
    result = _analyze(root, shas[-1])
    old = next(r for r in result.stored_runs if r.run_id == RUN_OLD)
    assert (old.git_commit_in_history, old.mlproject_at, old.mlproject_commit) == ("yes", "unreadable", shas[-1])
    assert {p.key: p.declared_at_recorded_commit for p in result.stored_params if p.run_id == RUN_OLD} == {
        "alpha": "no", "beta": "no"}
    assert read_blobs(root / ".git", [blob]) == {blob: None}


def test_projects_at_a_commit_are_read_from_git_objects_once(tmp_path: Path) -> None:
    root, shas = _history(tmp_path)
    at = ProjectsAtCommit(root / ".git")
    old = at(shas[0])
    assert old is not None and [(p.path, p.valid, [(e.name, [x.name for x in e.parameters]) for e in p.entry_points])
                                for p in old] == [("MLproject", True, [("main", ["alpha", "beta"])])]
    assert at(shas[0]) is old  # read once
    assert at("f" * 40) is None and ProjectsAtCommit(None)(shas[0]) is None
    assert ProjectsAtCommit(root / ".git")(shas[1]) is not None


def test_the_statistics_skip_tables_written_before_the_recorded_commit_columns() -> None:
    runs = pd.DataFrame([{"repo": "o/r", "store": "mlruns", "run_id": "a", "git_commit": "", "entry_point": "main",
                          "git_commit_in_history": "", "source_in_repo": "", "status": "FINISHED",
                          "artifact_uri_kind": "relative"}])
    params = pd.DataFrame([{"repo": "o/r", "store": "mlruns", "run_id": "a", "key": "k", "declared_in_mlproject": "yes"}])
    stats = store_statistics(["o/r"], [], runs, params)
    assert "runs whose params all match the MLproject" in set(stats["statistic"])
    assert not {s for s in stats["statistic"] if "recorded commit" in s}
