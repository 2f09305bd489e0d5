"""The MLproject pass: each MLproject file into mlprojects.csv, entry_points.csv and parameters.csv, read as
MLflow reads it (``analysis.reading.mlproject``); a project MLflow would refuse is a problem row too."""

from __future__ import annotations

from analysis.reading.mlproject import MLproject, parse_mlproject
from analysis.repo_state import Checkout, RepoResult, SourceFile
from analysis.rows import EntryPointRow, FileStatus, MlprojectRow, ParameterRow, ProblemRow, Stage


def file_pass(file: SourceFile, checkout: Checkout, result: RepoResult) -> None:
    """One MLproject into the three MLproject tables (and a problem row where MLflow would refuse it)."""
    row, data = file.row, file.data
    repo, rel = row.repo, row.path
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        spec = MLproject(path=rel, valid=False, error=f"bytes not valid utf-8 at line {line}")
    else:
        spec = parse_mlproject(text, rel, checkout.all_paths)  # every path: the scripts it runs
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
