"""rerun --at: which tree a target is re-run from, and ``at`` saying why (no sandbox: ``at.resolve_at`` alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.ftypes import Parameter
from analysis.reading.mlproject import EntryPoint, MLproject
from analysis.rerun.at import HEADS_MLPROJECT, in_history, resolve_at
from analysis.rerun.ftypes import ParamDecl, RunRecord, Target, row_from_json
from analysis.rerun.job import _retried
from tests.conftest import git, make_repo

HEAD = "f" * 40


def _target(**kw: object) -> Target:
    base = Target(repo="o/r", commit=HEAD, checkout="/nowhere", mlproject_path="MLproject", entry_point="main",
                  command="python new.py {alpha}", script="new.py", parameters=(ParamDecl("alpha", "float", "0.5"),),
                  env_type="python_env", env_file="python_env.yaml")
    return Target(**{**base.__dict__, **kw})  # type: ignore[arg-type]


def _run(commit: str, run_id: str = "r1", **kw: object) -> RunRecord:
    values: dict[str, object] = {"status": "FINISHED", "start_time": 1, "params": {"alpha": "0.5"}, **kw}
    return RunRecord(store="mlruns", run_id=run_id, entry_point="main", commit=commit, **values)  # type: ignore[arg-type]


OLD = MLproject(path="MLproject", env_type="conda_env", env_file="conda.yaml", entry_points=(
    EntryPoint("main", "python old.py {alpha} {n}", "old.py",
               (Parameter("alpha", "float", "0.5", False, True), Parameter("n", "int", None, True, True))),))


def _resolve(runs: list[RunRecord], mode: str = "recorded", git_dir: Path | None = Path("/g"),
             known: tuple[str, ...] = ("a" * 40,), projects: list[MLproject] | None = None) -> Target:
    def projects_at(commit: str) -> list[MLproject] | None:
        return projects if commit in known else None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("analysis.rerun.at.in_history", lambda _g, c: c in known)
        return resolve_at(_target(), runs, mode, git_dir, projects_at)


def test_a_recorded_commit_in_the_history_is_rerun_with_its_own_mlproject() -> None:
    runs = [_run("a" * 40, params={"alpha": "0.5", "n": "'7'"})]
    t = _resolve(runs, projects=[OLD])
    assert (t.at, t.run_commit, t.git_dir, t.compare_run) == ("recorded", "a" * 40, "/g", "r1")
    assert (t.command, t.script, t.env_type, t.env_file) == ("python old.py {alpha} {n}", "old.py", "conda_env",
                                                            "conda.yaml")
    assert t.parameters == (ParamDecl("alpha", "float", "0.5"), ParamDecl("n", "int", None))
    assert (t.values, t.missing) == ((("n", "7"),), ())  # the required parameter the commit declares, from the run


def test_head_is_used_and_says_why() -> None:
    assert _resolve([_run("a" * 40)], mode="head").at == "head"
    assert _resolve([]).at == "head: no-run"
    assert _resolve([_run("")]).at == "head: no-commit"
    assert _resolve([_run("a" * 40)], git_dir=None).at == "head: no-history"
    t = _resolve([_run("b" * 40)], projects=[OLD])
    assert (t.at, t.run_commit, t.command, t.compare_run) == ("head: not-in-history", "", "python new.py {alpha}", "r1")
    assert _resolve([_run("a" * 40)], projects=None).at == "head: unreadable"
    head = _resolve([_run(HEAD)], known=())  # HEAD's own commit: the checkout, recorded
    assert (head.at, head.run_commit) == ("recorded", "")


def test_a_commit_whose_mlproject_lacks_the_entry_point_runs_its_tree_with_heads_command() -> None:
    t = _resolve([_run("a" * 40)], projects=[MLproject(path="MLproject", env_type="python_env")])
    assert (t.at, t.run_commit, t.command) == (HEADS_MLPROJECT, "a" * 40, "python new.py {alpha}")


def test_the_run_compared_with_decides_the_commit() -> None:
    """The latest run with the re-run's parameters, as ``compare.pick``: its commit, not the latest run's."""
    runs = [_run("b" * 40, "late", start_time=9, params={"alpha": "9"}), _run("a" * 40, "same", start_time=2)]
    t = _resolve(runs, projects=[OLD])
    assert (t.compare_run, t.run_commit) == ("same", "a" * 40)


def test_in_history_asks_the_git_directory(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "r", {"a.txt": "x"})
    sha = git("rev-parse", "HEAD", cwd=work).strip()
    assert in_history(work / ".git", sha) and in_history(work / ".git", sha[:10])
    assert not in_history(work / ".git", "deadbeef" * 5) and not in_history(work / ".git", "--all")


def test_rows_before_the_columns_read_and_at_changes_rerun() -> None:
    assert (row_from_json({"repo": "o/r", "mlproject_path": "MLproject", "entry_point": "main"}).at) == ""
    made = {"head": {"row": {"at": "head"}}, "old": {"row": {}}, "fallback": {"row": {"at": "head: no-commit"}},
            "recorded": {"row": {"at": "recorded"}}}
    assert [k for k, r in made.items() if _retried(r, "none", "recorded")] == ["head", "old"]
    assert [k for k, r in made.items() if _retried(r, "none", "head")] == ["recorded"]
