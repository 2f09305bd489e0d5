"""Reading one committed experiment store into the rows of ``stored_runs.csv``,
``stored_params.csv``, ``stored_metrics.csv``, ``stored_experiments.csv`` and ``stores.csv`` (plus
tags and dataset inputs), with a problem row for each part that cannot be read or that MLflow
would skip. The stores are found by ``discovery.find_stores`` and read by the FileStore and SQLite
readers; what runs record is matched to the checkout by ``checkout_links``. Nothing here imports
MLflow, runs anything from the checkout, or writes to it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from analysis.reading.mlproject import MLproject
from analysis.rows import Store, StoredExperiment, StoredInput, StoredMetric, StoredParam, StoredRun, StoredTag
from analysis.stores.checkout_links import (
    artifact_summary,
    artifact_uri_kind,
    commits_in_history,
    match_in_checkout,
    model_history,
    source_in_checkout,
)
from analysis.stores.discovery import StoreRef
from analysis.stores.file_store import read_file_store
from analysis.stores.raw import SQL_INF, Checkout, Point, RawRun, RawStore, StoreLimits, StoreProblem
from analysis.stores.recorded_commit import ProjectsAtCommit
from analysis.stores.sqlite_store import read_sqlite

__all__ = ["StoreReading", "declared_parameters", "read_store"]

# where a run's parameters were judged against the MLprojects (``stored_runs.csv`` ``mlproject_at``): at the
# commit it recorded, or at HEAD because that commit could not be read, saying why
AT_RECORDED = "recorded"
NOT_IN_HISTORY = "not-in-history"  # the clone's history does not hold the recorded commit
NO_COMMIT = "no-commit"  # the run recorded none
UNKNOWN_HISTORY = "unknown-history"  # no git directory here, or a shallow clone that cannot tell
UNREADABLE = "unreadable"  # the clone holds the commit, but its tree or an MLproject of it could not be read
FALLBACK = {"no": NOT_IN_HISTORY, "unknown": UNKNOWN_HISTORY}

# mlflow.* tags the run rows read (``mlflow/utils/mlflow_tags.py``)
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_ENTRY_POINT = "mlflow.project.entryPoint"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_USER = "mlflow.user"
TAG_PARENT = "mlflow.parentRunId"
TAG_MODEL_HISTORY = "mlflow.log-model.history"
TAG_RUN_NAME = "mlflow.runName"


@dataclass(frozen=True)
class StoreReading:
    """Every row read from one store."""

    store: Store
    experiments: tuple[StoredExperiment, ...] = ()
    runs: tuple[StoredRun, ...] = ()
    params: tuple[StoredParam, ...] = ()
    metrics: tuple[StoredMetric, ...] = ()
    tags: tuple[StoredTag, ...] = ()
    inputs: tuple[StoredInput, ...] = ()
    problems: tuple[StoreProblem, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)  # what MLflow would skip, by kind
    # (run, key) -> every (timestamp, value, step) in logging order, with keep_history
    history: Mapping[tuple[str, str], tuple[Point, ...]] = field(default_factory=dict)



def declared_parameters(mlprojects: Iterable[MLproject]) -> dict[str, frozenset[str]]:
    """Entry point name -> the parameters MLproject files declare for it (union over the repository's
    valid MLprojects: a run records its entry point's name, not which MLproject it came from)."""
    out: dict[str, set[str]] = {}
    for project in mlprojects:
        if project.valid:
            for entry in project.entry_points:
                out.setdefault(entry.name, set()).update(p.name for p in entry.parameters)
    return {name: frozenset(names) for name, names in out.items()}



_BY_STEP_TIME_VALUE = operator.itemgetter(2, 0, 1)


def _latest(points: Sequence[Point]) -> Point:
    """MLflow's latest value: max step, then max timestamp, then max value (Python's ``max``, as the
    FileStore computes it, NaN comparisons included)."""
    return max(points, key=_BY_STEP_TIME_VALUE)


def _metric_row(repo: str, store: str, run_id: str, key: str, points: Sequence[Point], latest: Point | None,
                sql: bool) -> StoredMetric:
    last_ts, last_value, last_step = latest if latest is not None else _latest(points)
    steps = [p[2] for p in points] or [last_step]
    values = [p[1] for p in points]
    n_nan = sum(map(math.isnan, values))
    n_inf = sum(map(math.isinf, values)) + (sum(1 for v in values if abs(v) == SQL_INF) if sql else 0)
    # NaN != NaN: points holding one are compared with NaN spelled out
    distinct = len(set(points)) if not n_nan else len({(t, "nan" if v != v else v, s) for t, v, s in points})
    return StoredMetric(repo, store, run_id, key, len(points), last_value, last_step, min(steps), max(steps), n_nan,
                        n_inf, steps == sorted(steps), len(points) - distinct,
                        last_ts, len(points) - len(set(steps)))


def read_store(repo: str, root: Path, ref: StoreRef, *, git_dir: Path | None = None,
               declared_params: Mapping[str, frozenset[str]] | None = None,
               revision_releases: Mapping[str, str] | None = None,
               limits: StoreLimits = StoreLimits(), keep_history: bool = False, head_commit: str = "",
               at_commit: ProjectsAtCommit | None = None) -> StoreReading:
    """Every row of one store of the checkout ``root``.

    ``git_dir``: the mined clone's git directory, for ``git_commit_in_history`` (None: unknown) and the
    MLprojects of the commits runs recorded (``at_commit``, made of it when not given: pass one to read
    each commit once across a repository's stores).
    ``declared_params``: entry point -> declared parameter names (``declared_parameters``), at HEAD
    (``head_commit``, the mined commit): ``declared_in_mlproject``; ``declared_at_recorded_commit`` judges
    the same against the MLprojects at the run's recorded commit, or these where it cannot be read.
    ``revision_releases``: alembic head revision -> first MLflow release (``releases.schema``).
    ``keep_history``: also return every metric point (``StoreReading.history``).
    """
    if ref.kind == "sqlite":
        raw = read_sqlite(root, ref.path)
    elif ref.kind == "registry":
        raw = read_file_store(root, ref.path, limits)
        raw.kind = "registry"
    else:
        raw = read_file_store(root, ref.path, limits)
    return _rows(repo, root, ref, raw, git_dir, declared_params, revision_releases or {}, limits, keep_history,
                 head_commit, at_commit or ProjectsAtCommit(git_dir))


def judged_at(commit: str, in_history: str, head_commit: str, head: Mapping[str, frozenset[str]] | None,
              at_commit: ProjectsAtCommit) -> tuple[str, str, Mapping[str, frozenset[str]] | None]:
    """Where a run's parameters are judged (``mlproject_at``), the commit whose MLprojects are read, and what
    they declare: the run's recorded commit when the clone holds it and it can be read, else HEAD's (``head``)."""
    if not commit:
        return NO_COMMIT, head_commit, head
    if in_history != "yes":
        return FALLBACK.get(in_history, UNKNOWN_HISTORY), head_commit, head
    projects = at_commit(commit)
    if projects is None:
        return UNREADABLE, head_commit, head
    return AT_RECORDED, commit, declared_parameters(projects)


def _flag(declared: Mapping[str, frozenset[str]] | None, entry_point: str, key: str) -> str:
    """yes/no: ``key`` is declared by ``entry_point`` in ``declared``; unknown: no entry point, or none declares it."""
    names = declared.get(entry_point) if declared is not None and entry_point else None
    return "unknown" if names is None else "yes" if key in names else "no"


def _rows(repo: str, root: Path, ref: StoreRef, raw: RawStore, git_dir: Path | None,
          declared: Mapping[str, frozenset[str]] | None, releases: Mapping[str, str], limits: StoreLimits,
          keep_history: bool, head_commit: str, at_commit: ProjectsAtCommit) -> StoreReading:
    checkout = Checkout(root)
    store = ref.path
    sql = raw.kind == "sqlite"
    base = str(PurePosixPath(store).parent)  # the directory MLflow ran in, most likely
    problems = list(raw.problems)
    first_release = ""
    if raw.schema_revision:
        first_release = releases.get(raw.schema_revision, "")
        if releases and not first_release:
            problems.append(StoreProblem(store, None, f"schema revision {raw.schema_revision} is not the migration "
                                                      "head of any MLflow release read"))
    exp_names = {e.experiment_id: e.name for e in raw.experiments}
    in_history = commits_in_history(git_dir, (r.tags.get(TAG_GIT_COMMIT, "") for r in raw.runs))
    runs: list[StoredRun] = []
    params: list[StoredParam] = []
    metrics: list[StoredMetric] = []
    tags: list[StoredTag] = []
    inputs: list[StoredInput] = []
    history: dict[tuple[str, str], tuple[Point, ...]] = {}
    n_runs: dict[str, int] = {}
    for run in raw.runs:
        n_runs[run.experiment_id] = n_runs.get(run.experiment_id, 0) + 1
        entry_point, commit = run.tags.get(TAG_ENTRY_POINT, ""), run.tags.get(TAG_GIT_COMMIT, "")
        at = judged_at(commit, in_history.get(commit, ""), head_commit, declared, at_commit)
        for key, value in sorted(run.params.items()):
            params.append(StoredParam(repo, store, run.run_id, key, value, _flag(declared, entry_point, key),
                                      len(value), _flag(at[2], entry_point, key)))
        n_points = 0
        for key in sorted(set(run.metrics) | set(run.latest)):
            points = run.metrics.get(key, [])
            n_points += len(points)
            metrics.append(_metric_row(repo, store, run.run_id, key, points, run.latest.get(key), sql))
            if keep_history:
                history[(run.run_id, key)] = tuple(points)
        tags += [StoredTag(repo, store, run.run_id, k, v) for k, v in sorted(run.tags.items())]
        inputs += [StoredInput(repo, store, run.run_id, i.name, i.digest, i.source_type, i.context) for i in run.inputs]
        runs.append(replace(_run_row(repo, ref, raw, run, checkout, base, exp_names, in_history, n_points,
                                     first_release, limits, problems), mlproject_at=at[0], mlproject_commit=at[1]))
    experiments = [StoredExperiment(repo, store, ref.kind, e.experiment_id, e.name, e.lifecycle_stage,
                                    e.artifact_location, e.creation_time, e.last_update_time,
                                    n_runs.get(e.experiment_id, 0), len(e.tags)) for e in raw.experiments]
    skipped_runs = sum(v for k, v in raw.skipped.items() if k.startswith("runs"))
    row = Store(repo, store, ref.kind, raw.schema_revision, first_release, len(experiments), len(runs), raw.n_bytes,
                raw.n_files, raw.n_registered_models, raw.n_model_versions, len(problems), skipped_runs,
                raw.skipped.get("metric_lines", 0), sum(r.n_metric_points for r in runs),
                sum(size for rel, size in raw.files.items() if "/metrics/" in f"/{rel}" and "/artifacts/" not in f"/{rel}"))
    return StoreReading(row, tuple(experiments), tuple(runs), tuple(params), tuple(metrics), tuple(tags),
                        tuple(inputs), tuple(problems), dict(raw.skipped), history)


def _run_row(repo: str, ref: StoreRef, raw: RawStore, run: RawRun, checkout: Checkout, base: str,
             exp_names: Mapping[str, str], in_history: Mapping[str, str], n_points: int, schema_release: str,
             limits: StoreLimits, problems: list[StoreProblem]) -> StoredRun:
    tags = run.tags
    artifact_dir = ""
    if run.run_dir and (checkout.root / run.run_dir / "artifacts").is_dir():
        artifact_dir = f"{run.run_dir}/artifacts"
    elif artifact_uri_kind(run.artifact_uri) in ("relative", "absolute-local"):
        artifact_dir = match_in_checkout(checkout, run.artifact_uri, base, want_dir=True)
    n_files, n_bytes, flavors, versions = (artifact_summary(checkout, artifact_dir, limits, problems) if artifact_dir
                                           else (0, 0, set(), set()))
    for model_dir in run.output_models:  # 3.x: logged models live beside the runs, not in their artifacts
        more = artifact_summary(checkout, model_dir, limits, problems)
        n_files, n_bytes = n_files + more[0], n_bytes + more[1]
        flavors |= more[2]
        versions |= more[3]
    if TAG_MODEL_HISTORY in tags:
        hist_flavors, hist_versions = model_history(tags[TAG_MODEL_HISTORY])
        flavors |= hist_flavors
        versions = versions or hist_versions
    mlflow_version = ";".join(sorted(versions)) or (f">={schema_release}" if schema_release else "")
    commit = tags.get(TAG_GIT_COMMIT, "")
    source = tags.get(TAG_SOURCE_NAME, "")
    source_path = source_in_checkout(checkout, source, tags.get(TAG_SOURCE_TYPE, ""), base) if source else ""
    return StoredRun(
        repo, ref.path, raw.kind, run.experiment_id, exp_names.get(run.experiment_id, ""), run.run_id,
        run.run_name or tags.get(TAG_RUN_NAME, ""), run.status, run.lifecycle_stage, run.start_time, run.end_time,
        tags.get(TAG_SOURCE_TYPE, ""), source, tags.get(TAG_ENTRY_POINT, ""), commit,
        run.user_id or tags.get(TAG_USER, ""), tags.get(TAG_PARENT, ""), len(run.params), len(set(run.metrics) | set(run.latest)),
        n_points, len(tags), n_files, n_bytes, ";".join(sorted(flavors)), mlflow_version, run.artifact_uri,
        artifact_uri_kind(run.artifact_uri), in_history.get(commit, "") if commit else "",
        ("yes" if source_path else "no") if source else "", source_path, len(run.inputs), bool(artifact_dir))
