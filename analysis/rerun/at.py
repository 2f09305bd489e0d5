"""Which tree a target is re-run from (``rerun --at``): the commit its committed run recorded, else HEAD.

A target is compared with one committed run (``compare.pick``: the latest of its entry point with the
parameters the re-run uses, else the latest). With ``--at recorded`` (the default) and that run's
``mlflow.source.git.commit`` in the repository's history (the manifest's ``git_dir``;
``git cat-file -e <commit>^{commit}``), the work copy is that commit's tree (``gitio.materialize``) and
the MLproject, entry point and parameters are read at that commit (``ProjectsAtCommit``): ``at`` is
``recorded``. Where that commit's MLproject does not declare the entry point (or is not valid) the
tree is still the recorded one and the command HEAD's: ``recorded: head's MLproject``. Otherwise the
checkout (HEAD) is re-run and ``at`` says why: ``head`` (asked), ``head: no-run`` (no committed run
to compare with), ``head: no-commit`` (the run recorded none), ``head: no-history`` (no git directory),
``head: not-in-history`` (a commit the history does not hold), ``head: unreadable`` (its tree or
MLproject cannot be read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from analysis.reading.mlproject import MLproject
from analysis.rerun.compare import of_entry_point, pick
from analysis.rerun.ftypes import ParamDecl, RunRecord, Target
from analysis.rerun.target_run import used_values
from analysis.rerun.targets import required_values
from analysis.stores.recorded_commit import ProjectsAtCommit
from miner.gitio import GitError, run_git

AT_MODES = ("recorded", "head")
HEADS_MLPROJECT = "recorded: head's MLproject"
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")


def in_history(git_dir: Path, commit: str) -> bool:
    """Whether the git directory holds ``commit`` as a commit (nothing fetched)."""
    if not _SHA.fullmatch(commit):
        return False
    try:
        run_git(["cat-file", "-e", f"{commit}^{{commit}}"], git_dir=git_dir, timeout=60)
    except GitError:
        return False
    return True


def _declared(project: MLproject, target: Target) -> Target | None:
    """The target as the commit's MLproject declares it, None when it does not declare the entry point."""
    if not project.valid:
        return None
    entry = next((e for e in project.entry_points if e.name == target.entry_point), None)
    if entry is None:
        return None
    params = tuple(ParamDecl(p.name, p.type or "string", None if p.required else p.default or "")
                   for p in entry.parameters)
    return replace(target, command=entry.command, script=entry.script, parameters=params,
                   env_type=project.env_type, env_file=project.env_file,
                   databricks_spark_job=project.databricks_spark_job)


def resolve_at(target: Target, runs: Sequence[RunRecord], mode: str, git_dir: Path | None,
               projects_at: Callable[[str], list[MLproject] | None]) -> Target:
    """The target with the run it is compared with, the commit it is re-run from and ``at`` (see the docstring)."""
    mine = of_entry_point(runs, target.entry_point, target.script)
    chosen = pick(mine, used_values(target))
    target = replace(target, compare_run=chosen[0].run_id if chosen else "")
    if mode == "head":
        return replace(target, at="head")
    if chosen is None:
        return replace(target, at="head: no-run")
    commit = chosen[0].commit
    if not commit:
        return replace(target, at="head: no-commit")
    if git_dir is None:
        return replace(target, at="head: no-history")
    if commit != target.commit and not in_history(git_dir, commit):
        return replace(target, at="head: not-in-history")
    if commit == target.commit:  # HEAD's own tree: the checkout is that commit
        return replace(target, at="recorded")
    projects = projects_at(commit)
    if projects is None:
        return replace(target, at="head: unreadable")
    project = next((p for p in projects if p.path == target.mlproject_path), None)
    declared = _declared(project, target) if project is not None else None
    if declared is None:
        return replace(target, at=HEADS_MLPROJECT, run_commit=commit, git_dir=str(git_dir))
    required = [p.name for p in declared.parameters if p.default is None]
    values = required_values(of_entry_point(runs, declared.entry_point, declared.script), required)
    return replace(declared, at="recorded", run_commit=commit, git_dir=str(git_dir),
                   values=tuple(values.items()), missing=tuple(n for n in required if n not in values))


def resolve_all(targets: Sequence[Target], mode: str, runs_of: Callable[[str, Path], list[RunRecord]],
                git_dirs: dict[str, Path | None]) -> list[Target]:
    """Every target resolved (``resolve_at``), each repository's commits read once."""
    readers: dict[str, ProjectsAtCommit] = {}
    out = []
    for t in targets:
        git_dir = git_dirs.get(t.repo)
        reader = readers.setdefault(t.repo, ProjectsAtCommit(git_dir))
        out.append(resolve_at(t, runs_of(t.repo, Path(t.checkout)), mode, git_dir, reader))
    return out
