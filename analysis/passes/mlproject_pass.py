"""The per-file MLproject pass: one MLproject into the three MLproject tables (and a problem row where
MLflow would refuse it)."""

from __future__ import annotations

from analysis.engine.repo_state import RepoResult
from analysis.passes.mlproject import MLproject, parse_mlproject
from analysis.rows import EntryPointRow, FileRow, FileStatus, MlprojectRow, ParameterRow, ProblemRow, Stage


def mlproject_pass(repo: str, rel: str, data: bytes, files: frozenset[str], result: RepoResult, row: FileRow) -> None:
    """Parse the MLproject at ``rel`` (``files``: every path of the checkout, for the scripts it runs)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        spec = MLproject(path=rel, valid=False, error=f"bytes not valid utf-8 at line {line}")
    else:
        spec = parse_mlproject(text, rel, files)
    row.status = FileStatus.ANALYZED if spec.valid else FileStatus.PROBLEM
    row.reason = spec.error
    if not spec.valid:
        result.problems.append(ProblemRow(repo, rel, None, Stage.MLPROJECT, spec.error))
    result.mlprojects.append(MlprojectRow(
        repo, rel, spec.name, spec.env_type, spec.env_declared, spec.env_file, spec.docker_image, spec.docker_pinned,
        spec.databricks_spark_job, len(spec.entry_points), spec.valid, spec.error))
    for ep in spec.entry_points:
        result.entry_points.append(EntryPointRow(repo, rel, ep.name, ep.command, ep.script, len(ep.parameters)))
        result.parameters.extend(ParameterRow(repo, rel, ep.name, p) for p in ep.parameters)
