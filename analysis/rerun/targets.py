"""The targets of a re-run: every entry point of every valid MLproject ``analyze`` found, with its checkout.

Read from the results directory (``mlprojects.csv``, ``entry_points.csv``, ``parameters.csv``)
and the corpus (``manifest.csv``: commit and ``clone_path`` of each ``ok`` repository). A required
parameter (no default) takes its value from the latest committed run of the entry point that
logged it; one that no run gives leaves the target ``not-attempted: required parameter``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.rerun.compare import of_entry_point, unquoted
from analysis.rerun.ftypes import ParamDecl, RerunError, RunRecord, Target
from analysis.rows import EntryPointRow, MlprojectRow, ParameterRow
from analysis.tables import read_table
from miner.corpus import mined_repositories

NEEDED = ("mlprojects.csv", "entry_points.csv", "parameters.csv")


def load_targets(corpus: Path, results: Path, runs_of: Callable[[str, Path], list[RunRecord]]) -> list[Target]:
    """Every entry point of every valid MLproject, in the order of ``entry_points.csv``.

    ``runs_of(repo, checkout)`` gives the repository's committed runs (for required parameters).
    Raises ``RerunError`` when the corpus or the results are missing or a table does not read as its row type.
    """
    manifest = corpus / "manifest.csv"
    if not manifest.is_file():
        raise RerunError(f"{manifest}: no manifest; run `python cli.py mine` first")
    missing = [name for name in NEEDED if not (results / name).is_file()]
    if missing:
        raise RerunError(f"{results}: no {', '.join(missing)}; run `python cli.py analyze` first")
    repos = {r.repo: (r.commit, r.root) for r in mined_repositories(corpus)}
    try:
        project_rows = read_table(results / "mlprojects.csv", MlprojectRow)
        parameter_rows = read_table(results / "parameters.csv", ParameterRow)
        entry_points = read_table(results / "entry_points.csv", EntryPointRow)
    except ValueError as err:  # a table another version wrote, or edited by hand
        raise RerunError(f"{err}; run `python cli.py analyze` again") from err
    projects = {(r.repo, r.path): r for r in project_rows if r.valid}
    params: dict[tuple[str, str, str], list[ParamDecl]] = {}
    for row in parameter_rows:
        p = row.parameter
        decl = ParamDecl(p.name, p.type or "string", None if p.required else p.default or "")
        params.setdefault((row.repo, row.mlproject_path, row.entry_point), []).append(decl)
    runs: dict[str, list[RunRecord]] = {}
    targets = []
    for r in entry_points:
        project = projects.get((r.repo, r.mlproject_path))
        if project is None or r.repo not in repos:
            continue
        commit, checkout = repos[r.repo]
        declared = tuple(params.get((r.repo, r.mlproject_path, r.entry_point), ()))
        required = [p.name for p in declared if p.default is None]
        values: dict[str, str] = {}
        if required:
            if r.repo not in runs:
                runs[r.repo] = runs_of(r.repo, checkout)
            values = required_values(of_entry_point(runs[r.repo], r.entry_point, r.script), required)
        targets.append(Target(
            repo=r.repo, commit=commit, checkout=str(checkout.resolve()), mlproject_path=r.mlproject_path,
            entry_point=r.entry_point, command=r.command, script=r.script, parameters=declared,
            env_type=project.env_type, env_file=project.env_file, databricks_spark_job=project.databricks_spark_job,
            values=tuple(values.items()), missing=tuple(n for n in required if n not in values)))
    return targets


def required_values(runs: Sequence[RunRecord], required: Sequence[str]) -> dict[str, str]:
    """Values of required parameters from the first (latest) run that logged them all, else from any that did."""
    for run in runs:
        if all(name in run.params for name in required):
            return {name: unquoted(run.params[name]) for name in required}
    values: dict[str, str] = {}
    for run in runs:
        for name in required:
            if name in run.params and name not in values:
                values[name] = unquoted(run.params[name])
    return values


def select(targets: Sequence[Target], repos: Sequence[str], entry_points: Sequence[str]) -> list[Target]:
    """The targets of the given repositories and entry point names (all when none is given)."""
    return [t for t in targets if (not repos or t.repo in repos) and (not entry_points or t.entry_point in entry_points)]
