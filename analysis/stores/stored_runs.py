"""Experiment stores committed to repositories (``mlruns/`` FileStore trees, SQLite tracking
databases), found by content and read statically, as MLflow's own stores read them.

``find_stores`` names the stores of a checkout from its file list; ``read_store`` reads one into
rows of ``stored_runs.csv``, ``stored_params.csv``, ``stored_metrics.csv``,
``stored_experiments.csv`` and ``stores.csv`` (plus tags and dataset inputs), with a problem row
for each part that cannot be read or that MLflow would skip. ``store_statistics`` turns the rows of
a corpus into shares with denominators and Wilson intervals. Nothing here imports MLflow, runs
anything from the checkout, or writes to it (the git history check runs ``git cat-file`` only).
"""

from __future__ import annotations

import bisect
import json
import math
import operator
import os
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from analysis.passes.mlproject import MLproject, is_mlproject_name
from analysis.reading import safe_yaml
from analysis.reading.sources import within_repo
from analysis.rows import Store, StoredExperiment, StoredInput, StoredMetric, StoredParam, StoredRun, StoredTag
from analysis.stores.readers import (
    LFS_POINTER,
    SQL_INF,
    SQLITE_HEADER,
    TRASH,
    Checkout,
    Point,
    RawRun,
    RawStore,
    StoreLimits,
    StoreProblem,
    is_mlflow_schema,
    mlflow_tables,
    read_bounded,
    read_file_store,
    read_sqlite,
)

__all__ = ["Store", "StoreProblem", "StoreReading", "StoreRef", "StoredExperiment", "StoredInput", "StoredMetric",
           "StoredParam", "StoredRun", "StoredTag", "StoreLimits", "declared_parameters", "find_stores", "read_store",
           "store_statistics"]

# mlflow.* tags the run rows read (``mlflow/utils/mlflow_tags.py``)
TAG_SOURCE_TYPE = "mlflow.source.type"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_ENTRY_POINT = "mlflow.project.entryPoint"
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_USER = "mlflow.user"
TAG_PARENT = "mlflow.parentRunId"
TAG_MODEL_HISTORY = "mlflow.log-model.history"
TAG_RUN_NAME = "mlflow.runName"
REMOTE_SCHEMES = frozenset({"s3", "gs", "wasbs", "wasb", "abfss", "dbfs", "hdfs", "viewfs", "ftp", "sftp", "http",
                            "https", "runs", "models", "mlflow-artifacts", "r2", "b2", "uc", "oss"})
SQLITE_NAMES = re.compile(r"(?i).*mlflow.*\.(db|sqlite3?)$")  # named like a tracking database
_GIT_SHA = re.compile(r"[0-9a-f]{7,64}")
_WINDOWS_DRIVE = re.compile(r"^/?[A-Za-z]:(?=/)")


# ----------------------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class StoreRef:
    """Where a store lies (repository-relative) and what kind it is."""

    path: str
    kind: str  # file | sqlite | registry


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


# ------------------------------------------------------------------------------------ finding


def _looks_like_experiment(root: Path, rel: str) -> bool:
    """A meta.yaml holding an experiment's fields (not a run's, a model's or a dataset's)."""
    try:
        data, more = read_bounded(root / rel, 65536)
        obj = None if more or data.startswith(LFS_POINTER) else safe_yaml.load(data.decode("utf-8", "replace"), rel)
    except (OSError, safe_yaml.BadYAML):
        return False
    return (isinstance(obj, dict) and "experiment_id" in obj and "name" in obj
            and not {"run_id", "run_uuid", "model_id"} & set(obj))


def _looks_like_registered_model(root: Path, rel: str) -> bool:
    try:
        data, more = read_bounded(root / rel, 65536)
        obj = None if more else safe_yaml.load(data.decode("utf-8", "replace"), rel)
    except (OSError, safe_yaml.BadYAML):
        return False
    return isinstance(obj, dict) and "name" in obj and "creation_timestamp" in obj and "experiment_id" not in obj


def find_stores(root: Path, paths: Sequence[str]) -> list[StoreRef]:
    """The stores of a checkout, given its sorted repository-relative file paths (symlinks included).

    A FileStore root is a directory with a child ``<id>/meta.yaml`` holding experiment fields, or
    with runs (``<id>/<run>/meta.yaml``), or a ``.trash/`` child; a stand-alone model registry is a
    directory of ``<name>/meta.yaml`` registered models with ``version-N/`` children; an SQLite
    store is any file with the SQLite header and MLflow's tables. A store inside another store (an
    ``mlruns`` logged as an artifact) is part of it, not a store of its own. A symlink named like a
    store (``mlruns``, ``*mlflow*.db``) and a file named like a tracking database that is not one
    (an LFS pointer, an encrypted file) are kept, so reading them reports why they cannot be read.
    """
    ordered = sorted(paths)
    metas = [p for p in ordered if p.endswith("/meta.yaml")]
    meta_set = set(metas)
    candidates: dict[str, str] = {}
    for rel in metas:
        parts = rel.split("/")
        if len(parts) >= 3 and parts[-3] == TRASH and len(parts) >= 4:
            candidates.setdefault("/".join(parts[:-3]), "file")
        if len(parts) < 3:
            continue
        base, child = "/".join(parts[:-2]), parts[-2]
        if base in candidates or child == TRASH:
            continue
        if _looks_like_experiment(root, rel):
            candidates[base] = "file"
        elif any(p.startswith(f"{base}/{child}/version-") for p in _prefixed(metas, f"{base}/{child}/")) \
                and _looks_like_registered_model(root, rel):
            candidates.setdefault(base, "registry")
    # runs under an experiment whose own meta.yaml is broken still name the store
    for rel in metas:
        parts = rel.split("/")
        if len(parts) >= 4 and "/".join(parts[:-2]) + "/meta.yaml" in meta_set:
            base = "/".join(parts[:-3])
            if base not in candidates and (parts[-3] != TRASH) and _has_run_files(ordered, "/".join(parts[:-1])):
                candidates[base] = "file"
    for rel in paths:
        name = PurePosixPath(rel).name
        path = root / rel
        if path.is_symlink():
            if name == "mlruns" or SQLITE_NAMES.match(name):
                candidates.setdefault(rel, "sqlite" if SQLITE_NAMES.match(name) else "file")
            continue
        kind = _sqlite_kind(path, name)
        if kind:
            candidates.setdefault(rel, kind)
    roots = sorted(candidates)
    kept: list[StoreRef] = []
    for rel in roots:
        if any(rel.startswith(other + "/") or other == "" for other in roots if other != rel):
            continue
        kept.append(StoreRef(rel, candidates[rel]))
    return kept


def _prefixed(sorted_paths: list[str], prefix: str) -> Iterable[str]:
    return (p for p in sorted_paths if p.startswith(prefix))


def _has_run_files(ordered: Sequence[str], run_dir: str) -> bool:
    """A metric, param or tag file below ``run_dir`` (``ordered``: the paths sorted)."""
    for sub in ("metrics", "params", "tags"):
        prefix = f"{run_dir}/{sub}/"
        i = bisect.bisect_left(ordered, prefix)
        if i < len(ordered) and ordered[i].startswith(prefix):
            return True
    return False


def _sqlite_kind(path: Path, name: str) -> str:
    """'sqlite' for an MLflow tracking database or a file named like one; else ''."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError:
        return ""
    if head == SQLITE_HEADER:
        tables = mlflow_tables(path)
        return "sqlite" if tables is None or is_mlflow_schema(tables) else ""
    return "sqlite" if SQLITE_NAMES.match(name) else ""


# ------------------------------------------------------------------------------------ reading


def declared_parameters(mlprojects: Iterable[MLproject]) -> dict[str, frozenset[str]]:
    """Entry point name -> the parameters MLproject files declare for it (union over the repository's
    valid MLprojects: a run records its entry point's name, not which MLproject it came from)."""
    out: dict[str, set[str]] = {}
    for project in mlprojects:
        if project.valid:
            for entry in project.entry_points:
                out.setdefault(entry.name, set()).update(p.name for p in entry.parameters)
    return {name: frozenset(names) for name, names in out.items()}


def artifact_uri_kind(uri: str) -> str:
    """relative (moves with the store), absolute-local (a path on the author's machine) or remote."""
    if not uri:
        return ""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", uri)
    scheme = match.group(1).lower() if match and len(match.group(1)) > 1 else ""
    if scheme and scheme != "file":
        return "remote"
    rest = uri[len("file:"):] if scheme == "file" else uri
    if rest.startswith("//"):
        rest = rest[2:]
        rest = rest[rest.find("/"):] if not rest.startswith("/") and "/" in rest else rest
    return "absolute-local" if rest.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", rest) else "relative"


def match_in_checkout(checkout: Checkout, recorded: str, base: str, want_dir: bool, least: int = 0) -> str:
    """The checkout path a recorded path names, '' if none.

    A relative path is taken from ``base`` (the directory the store sits in: MLflow's working
    directory when it wrote the store), then from the repository root. An absolute path (the
    author's machine, a drive letter, ``file://``) matches by its longest suffix of components
    that names a file (or directory) of the checkout; for a directory at least two components must
    match (``least`` overrides), so a bare ``artifacts`` matches nothing.
    """
    text = recorded.replace("\\", "/")
    text = text[len("file://"):] if text.startswith("file://") else text.removeprefix("file:")
    if _WINDOWS_DRIVE.match(text) or text.startswith("/"):
        parts = [p for p in _WINDOWS_DRIVE.sub("", text).split("/") if p not in ("", ".")]
        least = least or (2 if want_dir else 1)
        candidates = ["/".join(parts[i:]) for i in range(len(parts) - least + 1) if ".." not in parts[i:]]
    else:
        candidates = [c for c in (within_repo(base, text), within_repo("", text)) if c]
    for rel in candidates:
        path = checkout.root / rel
        if rel and (path.is_dir() if want_dir else path.is_file()) and checkout.inside(path):
            return rel
    return ""


def source_in_checkout(checkout: Checkout, recorded: str, source_type: str, base: str) -> str:
    """The checkout file ``mlflow.source.name`` names, '' if none.

    A project run records the project's URI (``file:///home/me/repo#sub``, a git URL): it matches
    the MLproject of the fragment's directory; without one, of the directory its path names (longest
    suffix, one component enough) or else of the repository root. Any other source is a script path,
    matched by ``match_in_checkout``.
    """
    if source_type == "PROJECT" or "#" in recorded or re.match(r"^(https?|git|ssh)://", recorded):
        location, _, fragment = recorded.partition("#")
        project_dir = within_repo("", fragment) if fragment else (
            match_in_checkout(checkout, location, base, want_dir=True, least=1) if "://" not in location.removeprefix("file://") else "")
        folder = checkout.root / project_dir if project_dir is not None else None
        if folder is None or not folder.is_dir() or not checkout.inside(folder):
            return ""
        names = [p.name for p in folder.iterdir() if is_mlproject_name(p.name) and p.is_file()]
        return f"{project_dir}/{names[0]}".lstrip("/") if names else ""
    return match_in_checkout(checkout, recorded, base, want_dir=False)


def _artifacts(checkout: Checkout, rel_dir: str, limits: StoreLimits,
               problems: list[StoreProblem]) -> tuple[int, int, set[str], set[str]]:
    """(files, bytes, flavors, mlflow versions) of an artifact directory of the checkout."""
    n = size = 0
    flavors: set[str] = set()
    versions: set[str] = set()
    base = checkout.root / rel_dir
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() and not checkout.inside(path):
                problems.append(StoreProblem(checkout.rel(path), None, "symlink leaving the repository"))
                continue
            n += 1
            try:
                size += path.lstat().st_size
            except OSError:
                continue
            if name == "MLmodel":
                model = _mlmodel(path, limits, problems, checkout)
                flavors.update(model[0])
                versions.update(model[1])
            if n >= limits.files:
                problems.append(StoreProblem(rel_dir, None, f"over {limits.files} artifact files: the rest not counted"))
                return n, size, flavors, versions
    return n, size, flavors, versions


def _mlmodel(path: Path, limits: StoreLimits, problems: list[StoreProblem], checkout: Checkout) -> tuple[set[str], set[str]]:
    try:
        data, more = read_bounded(path, limits.yaml_bytes)
        if data.startswith(LFS_POINTER):
            problems.append(StoreProblem(checkout.rel(path), None, "Git LFS pointer in place of the MLmodel"))
            return set(), set()
        obj = None if more else safe_yaml.load(data.decode("utf-8", "replace"), checkout.rel(path))
    except (OSError, safe_yaml.BadYAML) as err:
        problems.append(StoreProblem(checkout.rel(path), None, f"MLmodel unreadable: {err}"))
        return set(), set()
    if not isinstance(obj, dict):
        return set(), set()
    flavors = set(obj["flavors"]) if isinstance(obj.get("flavors"), dict) else set()
    version = obj.get("mlflow_version")
    return {str(f) for f in flavors}, {str(version)} if version else set()


def _model_history(value: str) -> tuple[set[str], set[str]]:
    """Flavors and MLflow versions of the ``mlflow.log-model.history`` tag (a JSON list of MLmodels)."""
    try:
        models = json.loads(value)
    except ValueError:
        return set(), set()
    flavors: set[str] = set()
    versions: set[str] = set()
    for model in models if isinstance(models, list) else []:
        if isinstance(model, dict):
            if isinstance(model.get("flavors"), dict):
                flavors.update(str(f) for f in model["flavors"])
            if model.get("mlflow_version"):
                versions.add(str(model["mlflow_version"]))
    return flavors, versions


def commits_in_history(git_dir: Path | None, commits: Iterable[str]) -> dict[str, str]:
    """Commit -> yes/no/unknown: is it an object of the clone (``git cat-file --batch-check``).

    Without a git directory every answer is unknown; a commit missing from a shallow clone is
    unknown (it may lie below the cut), from a full clone no. Nothing is written or fetched.
    """
    wanted = sorted({c for c in commits if c})
    if git_dir is None or not wanted:
        return {c: "unknown" for c in wanted}
    shallow = (git_dir / "shallow").is_file()
    valid = [c for c in wanted if _GIT_SHA.fullmatch(c)]
    out = {c: "no" for c in wanted if c not in valid}
    try:
        proc = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch-check"],
                              input="".join(f"{c}^{{commit}}\n" for c in valid), capture_output=True, text=True,
                              timeout=120, env={**os.environ, "GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return {c: "unknown" for c in wanted}
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != len(valid):
        return {c: "unknown" for c in wanted}
    for commit, line in zip(valid, lines):
        found = line.split()[1:2] == ["commit"]
        out[commit] = "yes" if found else "unknown" if shallow else "no"
    return out


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
               limits: StoreLimits = StoreLimits(), keep_history: bool = False) -> StoreReading:
    """Every row of one store of the checkout ``root``.

    ``git_dir``: the mined clone's git directory, for ``git_commit_in_history`` (None: unknown).
    ``declared_params``: entry point -> declared parameter names (``declared_parameters``).
    ``revision_releases``: alembic head revision -> first MLflow release (``store_schema``).
    ``keep_history``: also return every metric point (``StoreReading.history``).
    """
    if ref.kind == "sqlite":
        raw = read_sqlite(root, ref.path)
    elif ref.kind == "registry":
        raw = read_file_store(root, ref.path, limits)
        raw.kind = "registry"
    else:
        raw = read_file_store(root, ref.path, limits)
    return _rows(repo, root, ref, raw, git_dir, declared_params, revision_releases or {}, limits, keep_history)


def _rows(repo: str, root: Path, ref: StoreRef, raw: RawStore, git_dir: Path | None,
          declared: Mapping[str, frozenset[str]] | None, releases: Mapping[str, str], limits: StoreLimits,
          keep_history: bool) -> StoreReading:
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
        entry_point = run.tags.get(TAG_ENTRY_POINT, "")
        names = declared.get(entry_point) if declared is not None and entry_point else None
        for key, value in sorted(run.params.items()):
            flag = "unknown" if names is None else "yes" if key in names else "no"
            params.append(StoredParam(repo, store, run.run_id, key, value, flag, len(value)))
        n_points = 0
        for key in sorted(set(run.metrics) | set(run.latest)):
            points = run.metrics.get(key, [])
            n_points += len(points)
            metrics.append(_metric_row(repo, store, run.run_id, key, points, run.latest.get(key), sql))
            if keep_history:
                history[(run.run_id, key)] = tuple(points)
        tags += [StoredTag(repo, store, run.run_id, k, v) for k, v in sorted(run.tags.items())]
        inputs += [StoredInput(repo, store, run.run_id, i.name, i.digest, i.source_type, i.context) for i in run.inputs]
        runs.append(_run_row(repo, ref, raw, run, checkout, base, exp_names, in_history, n_points, first_release,
                             limits, problems))
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
    n_files, n_bytes, flavors, versions = (_artifacts(checkout, artifact_dir, limits, problems) if artifact_dir
                                           else (0, 0, set(), set()))
    for model_dir in run.output_models:  # 3.x: logged models live beside the runs, not in their artifacts
        more = _artifacts(checkout, model_dir, limits, problems)
        n_files, n_bytes = n_files + more[0], n_bytes + more[1]
        flavors |= more[2]
        versions |= more[3]
    if TAG_MODEL_HISTORY in tags:
        hist_flavors, hist_versions = _model_history(tags[TAG_MODEL_HISTORY])
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
