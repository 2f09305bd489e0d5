"""The stored-runs pass: every experiment store the checkout commits (``mlruns/`` trees,
SQLite tracking databases, registry trees), read statically into the ``stored_*`` tables."""

from __future__ import annotations

from pathlib import Path

from analysis.repo_state import Checkout, RepoResult
from analysis.rows import ProblemRow, Stage
from analysis.stores.discovery import find_stores
from analysis.stores.recorded_commit import ProjectsAtCommit
from analysis.stores.stored_runs import read_store


def repo_pass(checkout: Checkout, result: RepoResult) -> None:
    """Find the stores by content and read each (a store that cannot be read is a problem row)."""
    repo = checkout.task.repo
    found = find_stores(checkout.root, checkout.paths, checkout.is_symlink)
    if not found:
        return
    valid = {m.path for m in result.mlprojects if m.valid}
    declared: dict[str, set[str]] = {}
    for p in result.parameters:
        if p.mlproject_path in valid:
            declared.setdefault(p.entry_point, set()).add(p.parameter.name)
    for ep in result.entry_points:  # entry points without parameters declare none
        if ep.mlproject_path in valid:
            declared.setdefault(ep.entry_point, set())
    git_dir = Path(checkout.task.git_dir) if checkout.task.git_dir else None
    at_commit = ProjectsAtCommit(git_dir)  # the MLprojects of the commits runs recorded, each read once
    for ref in found:
        reading = read_store(repo, checkout.root, ref, git_dir=git_dir,
                             declared_params={k: frozenset(v) for k, v in declared.items()},
                             revision_releases=checkout.revision_releases, head_commit=checkout.task.commit,
                             at_commit=at_commit)
        result.stores.append(reading.store)
        result.stored_experiments.extend(reading.experiments)
        result.stored_runs.extend(reading.runs)
        result.stored_params.extend(reading.params)
        result.stored_metrics.extend(reading.metrics)
        result.stored_tags.extend(reading.tags)
        result.stored_inputs.extend(reading.inputs)
        result.problems.extend(ProblemRow(repo, p.path, p.line, Stage.STORE, p.reason) for p in reading.problems)
