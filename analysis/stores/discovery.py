"""Finding the experiment stores committed to a checkout, by content: FileStore trees (``mlruns/``),
stand-alone model registries and SQLite tracking databases."""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from analysis.reading import safe_yaml
from analysis.stores.raw import LFS_POINTER, SQLITE_HEADER, TRASH, read_bounded
from analysis.stores.sqlite_store import is_mlflow_schema, mlflow_tables

SQLITE_NAMES = re.compile(r"(?i).*mlflow.*\.(db|sqlite3?)$")  # named like a tracking database


@dataclass(frozen=True)
class StoreRef:
    """Where a store lies (repository-relative) and what kind it is."""

    path: str
    kind: str  # file | sqlite | registry



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


def find_stores(root: Path, paths: Sequence[str], is_symlink: Callable[[str], bool] | None = None) -> list[StoreRef]:
    """The stores of a checkout, given its sorted repository-relative file paths (symlinks included);
    ``is_symlink(rel)`` where the caller's listing knows them (else the file system is asked).

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
        if is_symlink(rel) if is_symlink is not None else path.is_symlink():
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
    try:  # os's calls, not a file object: every file of every checkout is opened here
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return ""
    try:
        head = os.read(fd, len(SQLITE_HEADER))
    except OSError:
        return ""
    finally:
        os.close(fd)
    if head == SQLITE_HEADER:
        tables = mlflow_tables(path)
        return "sqlite" if tables is None or is_mlflow_schema(tables) else ""
    return "sqlite" if SQLITE_NAMES.match(name) else ""
