"""Reading one committed experiment store into raw records, as MLflow's own stores read it.

Two readers, one per store kind, both pure reads of the checkout:

- ``read_file_store``: a FileStore tree, with the rules of ``mlflow/store/tracking/file_store.py``
  (experiments are the root's subdirectories and those of ``.trash/``; runs are an experiment's
  subdirectories but ``tags``/``datasets``/``traces``/``models``; metric files hold lines
  ``timestamp value step`` split on single spaces, 2 fields meaning step 0, 5 adding a dataset).
  Where MLflow skips (no ``meta.yaml``, a wrong experiment id) the reader skips too and says so;
  where MLflow would fail the whole search (a malformed line, an empty metric file, broken YAML)
  the reader skips the one item and records a problem.
- ``read_sqlite``: an SQLite database opened read-only and immutable (no lock, no WAL replay, no
  migration), tables read by column name so every schema from 1.0 on reads the same way.

Every file is read with a size bound; a symlink whose target leaves the repository is never
followed; a Git LFS pointer is recognised and reported instead of parsed.
"""

from __future__ import annotations

import math
import os
import sqlite3
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.reading import safe_yaml

SQLITE_HEADER = b"SQLite format 3\x00"
LFS_POINTER = b"version https://git-lfs.github.com/spec/"
# MLflow's run statuses as stored in a FileStore meta.yaml (``entities/run_status.py``)
RUN_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
RESERVED_EXPERIMENT_FOLDERS = frozenset({"tags", "datasets", "traces", "models"})
TRASH = ".trash"
# SqlAlchemyStore stores +-inf as the largest float (``sanitize_metric_value``) and reads it back so
SQL_INF = 1.7976931348623157e308


@dataclass(frozen=True)
class StoreLimits:
    """Bounds on what one store may make the reader do."""

    metric_file_bytes: int = 32 * 1024 * 1024  # ~1M points; a larger file is read up to here
    value_file_bytes: int = 1_000_000  # params and tags (MLflow caps values at 8,000 characters)
    yaml_bytes: int = 1_000_000
    files: int = 500_000  # entries indexed per store


@dataclass(frozen=True)
class StoreProblem:
    """A part of a store that could not be read, or that MLflow would skip (a ``problems.csv`` row)."""

    path: str  # repository-relative
    line: int | None
    reason: str

    def row(self, repo: str) -> dict[str, Any]:
        """As a ``problems.csv`` row (stage ``store``)."""
        return {"repo": repo, "path": self.path, "line": self.line, "stage": "store", "reason": self.reason}


Point = tuple[int, float, int]  # one logged value: (timestamp, value, step); plain tuples keep 100k points cheap


@dataclass
class RawInput:
    """A dataset a run used (``log_input``)."""

    name: str
    digest: str
    source_type: str
    context: str


@dataclass
class RawExperiment:
    experiment_id: str
    name: str
    lifecycle_stage: str
    artifact_location: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RawRun:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    lifecycle_stage: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    user_id: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[Point]] = field(default_factory=dict)
    latest: dict[str, Point] = field(default_factory=dict)  # SQL ``latest_metrics``: what MLflow returns
    inputs: list[RawInput] = field(default_factory=list)
    run_dir: str = ""  # repository-relative (FileStore)
    output_models: list[str] = field(default_factory=list)  # repository-relative dirs of 3.x logged models


@dataclass
class RawStore:
    """What one store holds, before it becomes rows."""

    kind: str
    experiments: list[RawExperiment] = field(default_factory=list)
    runs: list[RawRun] = field(default_factory=list)
    problems: list[StoreProblem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    schema_revision: str = ""
    n_registered_models: int = 0
    n_model_versions: int = 0
    n_files: int = 0
    n_bytes: int = 0
    files: dict[str, int] = field(default_factory=dict)  # store-relative path -> size (FileStore)


class Checkout:
    """The repository root, to keep every read inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real = os.path.realpath(root)

    def inside(self, path: Path) -> bool:
        """True when ``path`` (symlinks resolved) lies in the repository."""
        try:
            real = os.path.realpath(path)
        except OSError:  # a link into /proc and the like
            return False
        return real == self.real or real.startswith(self.real + os.sep)

    def rel(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()


def read_bounded(path: Path, cap: int) -> tuple[bytes, bool]:
    """At most ``cap`` bytes of a file, and whether there was more."""
    with path.open("rb") as fh:
        data = fh.read(cap + 1)
    return data[:cap], len(data) > cap


def is_lfs_pointer(data: bytes) -> bool:
    return data.startswith(LFS_POINTER)


# ---------------------------------------------------------------------------------------- FileStore


class _Tree:
    """One walk of a store directory: files with sizes, directories, and symlinks refused or kept."""

    def __init__(self, checkout: Checkout, base: Path | None, limits: StoreLimits, store: RawStore) -> None:
        self.files: dict[str, int] = {}
        self.children: dict[str, list[str]] = {"": []}  # dir -> immediate subdirectory names
        if base is not None:
            self._walk(checkout, base, limits, store)

    def _walk(self, checkout: Checkout, base: Path, limits: StoreLimits, store: RawStore) -> None:
        truncated = False
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            here = Path(dirpath)
            rel_dir = "" if here == base else here.relative_to(base).as_posix()
            kept = []
            for name in sorted(dirnames):
                sub = here / name
                if sub.is_symlink():
                    target = os.readlink(sub)
                    why = ("symlink leaving the repository" if not checkout.inside(sub)
                           else "symlinked directory inside a store: not followed")
                    store.problems.append(StoreProblem(checkout.rel(sub), None, f"{why} (-> {target})"))
                    continue
                kept.append(name)
                self.children[f"{rel_dir}/{name}".lstrip("/")] = []
            dirnames[:] = kept
            self.children.setdefault(rel_dir, []).extend(kept)
            for name in sorted(filenames):
                path = here / name
                rel = f"{rel_dir}/{name}".lstrip("/")
                if path.is_symlink() and not checkout.inside(path):
                    store.problems.append(StoreProblem(checkout.rel(path), None,
                                                       f"symlink leaving the repository (-> {os.readlink(path)})"))
                    continue
                try:
                    self.files[rel] = path.lstat().st_size if path.is_symlink() else path.stat().st_size
                except OSError as err:
                    store.problems.append(StoreProblem(checkout.rel(path), None, f"cannot stat: {err.strerror}"))
                if len(self.files) >= limits.files:
                    truncated = True
                    break
            if truncated:
                store.problems.append(StoreProblem(checkout.rel(base), None,
                                                   f"store holds over {limits.files} files: the rest not read"))
                break

    def under(self, prefix: str) -> Iterator[str]:
        """Store-relative files below a directory, sorted (``os.walk`` order need not be)."""
        start = prefix.rstrip("/") + "/"
        return (f for f in sorted(self.files) if f.startswith(start))


class _FileStoreReader:
    def __init__(self, checkout: Checkout, rel: str, limits: StoreLimits) -> None:
        self.checkout = checkout
        self.rel = rel
        self.base = checkout.root / rel
        self.limits = limits
        self.store = RawStore("file")
        self.refused = self.base.is_symlink() and not checkout.inside(self.base)
        self.tree = _Tree(checkout, None if self.refused else self.base, limits, self.store)
        self.sorted_files = sorted(self.tree.files)
        self.store.files = self.tree.files
        self.store.n_files = len(self.tree.files)
        self.store.n_bytes = sum(self.tree.files.values())

    def repo_path(self, store_rel: str) -> str:
        return f"{self.rel}/{store_rel}" if self.rel else store_rel

    def problem(self, store_rel: str, reason: str, line: int | None = None) -> None:
        self.store.problems.append(StoreProblem(self.repo_path(store_rel), line, reason))

    def _bytes(self, store_rel: str, cap: int) -> bytes | None:
        """A file's bytes (bounded), or None with a problem recorded."""
        try:
            data, more = read_bounded(self.base / store_rel, cap)
        except OSError as err:
            self.problem(store_rel, f"cannot read: {err.strerror}")
            return None
        if is_lfs_pointer(data):
            self.problem(store_rel, "Git LFS pointer in place of the file")
            return None
        if more:
            self.problem(store_rel, f"file is {self.tree.files.get(store_rel, 0)} bytes: only the first {cap} read")
        return data

    def _text(self, store_rel: str, cap: int) -> str | None:
        data = self._bytes(store_rel, cap)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.problem(store_rel, "not UTF-8 (MLflow fails on it): read with replacement characters")
            return data.decode("utf-8", "replace")

    def yaml(self, store_rel: str) -> tuple[Any, str]:
        """(mapping or None, why not) of a meta.yaml; why is '' when it parsed to a mapping."""
        if store_rel not in self.tree.files:
            return None, "missing"
        text = self._text(store_rel, self.limits.yaml_bytes)
        if text is None:
            return None, "unreadable"
        try:
            obj = safe_yaml.load(text, store_rel)
        except safe_yaml.BadYAML as err:
            return None, f"malformed YAML: {err}"
        if obj is None:
            return None, "empty"
        if not isinstance(obj, dict):
            return None, f"not a YAML mapping but a {type(obj).__name__}"
        return obj, ""

    def read(self) -> RawStore:
        if self.refused:
            self.store.problems.append(StoreProblem(self.rel, None,
                                                    f"symlink leaving the repository (-> {os.readlink(self.base)})"))
            return self.store
        if not self.base.is_dir():
            self.store.problems.append(StoreProblem(self.rel, None, "not a directory"))
            return self.store
        top = self.tree.children.get("", [])
        active = sorted(d for d in top if not d.endswith(TRASH) and d != "models")
        deleted = sorted(f"{TRASH}/{d}" for d in self.tree.children.get(TRASH, []))
        seen: set[str] = set()
        for exp_dir in active + deleted:
            self._experiment(exp_dir, seen)
        self._registry()
        return self.store

    def _experiment(self, exp_dir: str, seen: set[str]) -> None:
        exp_id = exp_dir.rsplit("/", 1)[-1]
        run_dirs = [d for d in sorted(self.tree.children.get(exp_dir, [])) if d not in RESERVED_EXPERIMENT_FOLDERS]
        meta, why = self.yaml(f"{exp_dir}/meta.yaml")
        if meta is None:
            effect = "MLflow skips it" if why in ("missing", "empty") else "MLflow fails on the store"
            self.problem(f"{exp_dir}/meta.yaml", f"experiment meta.yaml {why}: {effect}; its {len(run_dirs)} "
                                                 "run directories not read")
            self.store.skipped["experiments"] += 1
            self.store.skipped["runs_in_skipped_experiments"] += len(run_dirs)
            return
        recorded = str(meta.get("experiment_id", ""))
        if recorded != exp_id or exp_id in seen:
            reason = (f"experiment id {recorded!r} recorded in a directory named {exp_id!r}: MLflow ignores it"
                      if recorded != exp_id else f"experiment {exp_id} also active: MLflow reads the active one")
            self.problem(f"{exp_dir}/meta.yaml", reason)
            self.store.skipped["experiments"] += 1
            self.store.skipped["runs_in_skipped_experiments"] += len(run_dirs)
            return
        seen.add(exp_id)
        # in .trash is deleted: MLflow 1.x decided by place and left 'active' in the meta; 3.x writes 'deleted'
        stage = "deleted" if exp_dir.startswith(TRASH) else _str(meta.get("lifecycle_stage")) or "active"
        self.store.experiments.append(RawExperiment(
            exp_id, _str(meta.get("name")), stage,
            _str(meta.get("artifact_location")), _int(meta.get("creation_time")),
            _int(meta.get("last_update_time")), self._values(f"{exp_dir}/tags")))
        for run in run_dirs:
            self._run(exp_id, f"{exp_dir}/{run}")

    def _values(self, folder: str) -> dict[str, str]:
        """Key -> content of every file below a folder (params, tags): keys with '/' are subpaths."""
        out = {}
        for rel in self.tree.under(folder):
            text = self._text(rel, self.limits.value_file_bytes)
            if text is not None:
                out[rel[len(folder) + 1:]] = text
        return out

    def _run(self, exp_id: str, run_dir: str) -> None:
        meta, why = self.yaml(f"{run_dir}/meta.yaml")
        if meta is None:
            n_files = sum(1 for _ in self.tree.under(run_dir))
            effect = "MLflow skips it" if why == "missing" else "MLflow fails on the store"
            self.problem(f"{run_dir}/meta.yaml" if why != "missing" else run_dir,
                         f"run directory with meta.yaml {why} ({n_files} files): {effect}")
            self.store.skipped["runs_without_meta" if why == "missing" else "runs_unreadable"] += 1
            return
        recorded = _str(meta.get("experiment_id"))
        if recorded != exp_id:
            self.problem(f"{run_dir}/meta.yaml", f"run records experiment {recorded!r} but lies in {exp_id!r}: "
                                                 "MLflow ignores it")
            self.store.skipped["runs_wrong_experiment"] += 1
            return
        run_id = _str(meta.get("run_id") or meta.get("run_uuid"))
        if run_id != run_dir.rsplit("/", 1)[-1]:
            self.problem(f"{run_dir}/meta.yaml", f"run id {run_id!r} differs from its directory name")
        raw_status = meta.get("status", 1)
        status = RUN_STATUS.get(raw_status) if isinstance(raw_status, int) else None
        if status is None:
            self.problem(f"{run_dir}/meta.yaml", f"run status {raw_status!r} is not one of MLflow's: kept as written")
            status = _str(raw_status)
        run = RawRun(run_id, exp_id, _str(meta.get("run_name")), status,
                     _str(meta.get("lifecycle_stage")) or "active", _int(meta.get("start_time")),
                     _int(meta.get("end_time")), _str(meta.get("artifact_uri")), _str(meta.get("user_id")),
                     run_dir=self.repo_path(run_dir))
        run.params = self._values(f"{run_dir}/params")
        run.tags = self._values(f"{run_dir}/tags")
        for rel in self.tree.under(f"{run_dir}/metrics"):
            key = rel[len(run_dir) + len("/metrics/"):]
            points = self._metric(rel)
            if points:
                run.metrics[key] = points
        exp_dir = run_dir.rsplit("/", 1)[0]
        run.inputs = self._inputs(run_dir, exp_dir)
        run.output_models = [self.repo_path(f"{exp_dir}/models/{m}") for m in
                             sorted(self.tree.children.get(f"{run_dir}/outputs", []))
                             if f"{exp_dir}/models/{m}" in self.tree.children]
        self.store.runs.append(run)

    def _metric(self, rel: str) -> list[Point]:
        data = self._bytes(rel, self.limits.metric_file_bytes)
        if data is None:
            return []
        points, bad = parse_metric_lines(data.decode("utf-8", "replace"))
        for line, reason in bad[:20]:
            self.problem(rel, f"malformed metric line ({reason}): MLflow fails on the run; line skipped", line)
        if len(bad) > 20:
            self.problem(rel, f"{len(bad) - 20} more malformed metric lines skipped")
        self.store.skipped["metric_lines"] += len(bad)
        if not points:
            self.problem(rel, "metric file without a value: MLflow fails on the run ('No data found'); metric skipped")
            self.store.skipped["metrics_empty"] += 1
        return points

    def _inputs(self, run_dir: str, exp_dir: str) -> list[RawInput]:
        out = []
        for input_id in sorted(self.tree.children.get(f"{run_dir}/inputs", [])):
            meta, why = self.yaml(f"{run_dir}/inputs/{input_id}/meta.yaml")
            if meta is None:
                self.problem(f"{run_dir}/inputs/{input_id}/meta.yaml", f"input meta.yaml {why}")
                continue
            if meta.get("source_type") != "DATASET":
                continue
            dataset, why = self.yaml(f"{exp_dir}/datasets/{_str(meta.get('source_id'))}/meta.yaml")
            if dataset is None:
                self.problem(f"{run_dir}/inputs/{input_id}/meta.yaml", f"dataset of the input: meta.yaml {why}")
                continue
            tags = meta.get("tags") if isinstance(meta.get("tags"), dict) else {}
            out.append(RawInput(_str(dataset.get("name")), _str(dataset.get("digest")),
                                _str(dataset.get("source_type")), _str(tags.get("mlflow.data.context"))))
        return out

    def _registry(self) -> None:
        for name in sorted(self.tree.children.get("models", [])):
            if f"models/{name}/meta.yaml" in self.tree.files:
                self.store.n_registered_models += 1
                self.store.n_model_versions += sum(1 for v in self.tree.children.get(f"models/{name}", [])
                                                   if v.startswith("version-"))


def parse_metric_lines(text: str) -> tuple[list[Point], list[tuple[int, str]]]:
    """The points of a FileStore metric file and its malformed lines (line number, why), as MLflow
    parses them: ``str.splitlines``, then each line stripped and split on single spaces into 2
    (timestamp value), 3 (+ step) or 5 (+ dataset name and digest) fields."""
    rows = [line.strip().split(" ") for line in text.splitlines()]
    if rows and set(map(len, rows)) == {3}:  # the common file: converted column by column
        ts, values, steps = zip(*rows)
        try:
            return list(zip(map(int, ts), map(float, values), map(int, steps))), []
        except ValueError:
            pass  # a bad line: find it below
    points: list[Point] = []
    bad: list[tuple[int, str]] = []
    for number, parts in enumerate(rows, start=1):
        n = len(parts)
        try:
            if n == 3:
                points.append((int(parts[0]), float(parts[1]), int(parts[2])))
            elif n == 2 or n == 5:
                # MLflow writes the step into 5-field lines (a dataset) but reads it back as 0: so do we
                points.append((int(parts[0]), float(parts[1]), 0))
            else:
                bad.append((number, f"{n} fields, 2, 3 or 5 expected"))
        except ValueError:
            bad.append((number, f"not numbers: {' '.join(parts)[:40]!r}"))
    return points, bad


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None


def read_file_store(root: Path, rel: str, limits: StoreLimits = StoreLimits()) -> RawStore:
    """A FileStore tree at ``rel`` (repository-relative) of the checkout ``root``."""
    return _FileStoreReader(Checkout(root), rel, limits).read()


# ------------------------------------------------------------------------------------------ SQLite


def sqlite_uri(path: Path) -> str:
    """A read-only, immutable SQLite URI: no lock taken, no journal or WAL replayed, nothing written."""
    return f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&immutable=1"


def mlflow_tables(path: Path) -> frozenset[str] | None:
    """The table names of an SQLite file, or None when it cannot be opened as one."""
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True)
    except sqlite3.Error:
        return None
    try:
        return frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def is_mlflow_schema(tables: frozenset[str]) -> bool:
    """MLflow's tracking tables (every release from 1.0 on has them)."""
    return {"alembic_version", "experiments", "runs"} <= tables


def read_sqlite(root: Path, rel: str) -> RawStore:
    """An SQLite tracking database at ``rel`` of the checkout ``root``."""
    checkout = Checkout(root)
    path = root / rel
    store = RawStore("sqlite")

    def fail(reason: str) -> RawStore:
        store.problems.append(StoreProblem(rel, None, reason))
        return store

    if path.is_symlink() and not checkout.inside(path):
        return fail(f"symlink leaving the repository (-> {os.readlink(path)})")
    try:
        store.n_bytes = path.stat().st_size
        head, _more = read_bounded(path, 100)
    except OSError as err:
        return fail(f"cannot read: {err.strerror}")
    store.n_files = 1
    if is_lfs_pointer(head):
        return fail("Git LFS pointer in place of the database")
    if not head.startswith(SQLITE_HEADER):
        return fail("not an SQLite database (no SQLite header: another format, or encrypted)")
    for suffix in ("-wal", "-journal"):
        if Path(f"{path}{suffix}").exists():
            store.problems.append(StoreProblem(rel + suffix, None, "journal beside the database: not replayed "
                                               "(the database is read as committed)"))
    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True)
    except sqlite3.Error as err:
        return fail(f"cannot open the database: {err}")
    try:
        conn.execute("PRAGMA query_only = ON")
        _SqlReader(conn, store).read()
    except sqlite3.Error as err:
        return fail(f"database unreadable (truncated or corrupt?): {err}")
    finally:
        conn.close()
    return store


class _SqlReader:
    def __init__(self, conn: sqlite3.Connection, store: RawStore) -> None:
        self.conn = conn
        self.store = store
        self.tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def columns(self, table: str) -> set[str]:
        return {r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')} if table in self.tables else set()

    def select(self, table: str, wanted: tuple[str, ...], order: str = "") -> Iterator[dict[str, Any]]:
        """Rows of a table as dicts; columns the schema lacks read as None."""
        have = self.columns(table)
        present = [c for c in wanted if c in have]
        if not present:
            return
        sql = f'SELECT {", ".join(chr(34) + c + chr(34) for c in present)} FROM "{table}"' + (f" ORDER BY {order}" if order else "")
        for row in self.conn.execute(sql):
            values = dict(zip(present, row))
            yield {c: _text(values.get(c)) for c in wanted}

    def read(self) -> None:
        store = self.store
        if not is_mlflow_schema(frozenset(self.tables)):
            store.problems.append(StoreProblem("", None, "not an MLflow tracking database"))
            return
        store.schema_revision = ";".join(sorted(str(r[0]) for r in self.conn.execute("SELECT version_num FROM alembic_version")))
        exp_tags: dict[str, dict[str, str]] = {}
        for row in self.select("experiment_tags", ("key", "value", "experiment_id")):
            exp_tags.setdefault(str(row["experiment_id"]), {})[_str(row["key"])] = _str(row["value"])
        for row in self.select("experiments", ("experiment_id", "name", "lifecycle_stage", "artifact_location",
                                               "creation_time", "last_update_time"), "experiment_id"):
            exp_id = str(row["experiment_id"])
            store.experiments.append(RawExperiment(exp_id, _str(row["name"]), _str(row["lifecycle_stage"]),
                                                   _str(row["artifact_location"]), _int(row["creation_time"]),
                                                   _int(row["last_update_time"]), exp_tags.get(exp_id, {})))
        runs: dict[str, RawRun] = {}
        for row in self.select("runs", ("run_uuid", "experiment_id", "name", "status", "lifecycle_stage",
                                        "start_time", "end_time", "artifact_uri", "user_id"), "start_time, run_uuid"):
            run = RawRun(_str(row["run_uuid"]), _str(row["experiment_id"]), _str(row["name"]), _str(row["status"]),
                         _str(row["lifecycle_stage"]), _int(row["start_time"]), _int(row["end_time"]),
                         _str(row["artifact_uri"]), _str(row["user_id"]))
            runs[run.run_id] = run
        for table, attr in (("params", "params"), ("tags", "tags")):
            for row in self.select(table, ("run_uuid", "key", "value")):
                run_or_none = runs.get(_str(row["run_uuid"]))
                if run_or_none is not None:
                    getattr(run_or_none, attr)[_str(row["key"])] = _str(row["value"])
        self._metrics(runs)
        self._inputs(runs)
        store.runs = list(runs.values())
        if "registered_models" in self.tables:
            store.n_registered_models = self.conn.execute("SELECT count(*) FROM registered_models").fetchone()[0]
        if "model_versions" in self.tables:
            store.n_model_versions = self.conn.execute("SELECT count(*) FROM model_versions").fetchone()[0]

    def _metrics(self, runs: dict[str, RawRun]) -> None:
        """Metric histories (in rowid order: the order of logging, which 'steps_monotonic' reads) and
        the ``latest_metrics`` rows MLflow returns as a run's metrics. Read as tuples: 100k rows."""
        for table, latest in (("metrics", False), ("latest_metrics", True)):
            have = self.columns(table)
            if not {"run_uuid", "key", "value"} <= have:
                continue
            step = '"step"' if "step" in have else "0"  # 1.0 schemas had no step, no is_nan
            is_nan = '"is_nan"' if "is_nan" in have else "0"
            order = "" if latest else " ORDER BY rowid"
            sql = f'SELECT run_uuid, key, "timestamp", value, {step}, {is_nan} FROM "{table}"{order}'
            for run_uuid, key, timestamp, value, step_value, nan in self.conn.execute(sql):
                run = runs.get(_text(run_uuid))
                if run is None:
                    continue
                point = (_int(timestamp) or 0, math.nan if nan or value is None else float(value), _int(step_value) or 0)
                if latest:
                    run.latest[_text(key)] = point
                else:
                    run.metrics.setdefault(_text(key), []).append(point)

    def _inputs(self, runs: dict[str, RawRun]) -> None:
        if not {"datasets", "inputs"} <= self.tables:
            return
        datasets = {row["dataset_uuid"]: row for row in
                    self.select("datasets", ("dataset_uuid", "name", "digest", "dataset_source_type"))}
        context = {row["input_uuid"]: _str(row["value"]) for row in self.select("input_tags", ("input_uuid", "name", "value"))
                   if row["name"] == "mlflow.data.context"}
        for row in self.select("inputs", ("input_uuid", "source_type", "source_id", "destination_type",
                                          "destination_id")):
            dataset = datasets.get(row["source_id"])
            run = runs.get(_str(row["destination_id"]))
            if row["source_type"] != "DATASET" or row["destination_type"] != "RUN" or dataset is None or run is None:
                continue
            run.inputs.append(RawInput(_str(dataset["name"]), _str(dataset["digest"]),
                                       _str(dataset["dataset_source_type"]), context.get(row["input_uuid"], "")))


def _text(value: object) -> Any:
    """SQLite values as MLflow's models read them (a BLOB in a text column is decoded)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
