"""What the two store readers share: the raw records they fill, the limits on them, the checkout
every read stays inside, bounded reads and the field conversions of MLflow's stored values."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def str_field(value: object) -> str:
    """A stored value as text (None as '')."""
    return "" if value is None else str(value)


def int_field(value: object) -> int | None:
    """A stored value as an int (None when it is not one; a bool is not one)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return None
