"""The corpus format, its one owner: where ``mine`` puts things and how ``analyze`` (and later commands)
find them. Other packages read a corpus through this module only.

A corpus directory holds ``manifest.csv`` (one ``ManifestRow`` per repository; ``clone_path`` is
relative to the corpus), ``lock.csv``, ``search.csv``, ``problems.csv``, the checkouts under
``repos/<owner>/<name>/`` and MLflow's source under ``mlflow/<version>/mlflow/`` (with
``mlflow/releases.csv``). Each table has a ``.provenance.json`` sidecar.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from miner.fileio import read_csv

MANIFEST = "manifest.csv"
LOCK = "lock.csv"
SEARCH = "search.csv"
PROBLEMS = "problems.csv"
REPOS = "repos"
RELEASES = "mlflow"  # <corpus>/mlflow/<version>/mlflow/...
RELEASES_TABLE = "releases.csv"
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")  # characters a path part of the corpus never holds


@dataclass(frozen=True)
class CorpusRepo:
    """A repository of the corpus that was mined: its name, its checkout and the commit it holds."""

    repo: str
    root: Path
    commit: str


def clone_path_for(repo: str) -> str:
    """Where a repository's checkout lives, relative to the corpus: ``repos/<owner>/<name>``, odd
    characters escaped (a hash of the original part keeps escaped names apart)."""
    parts = []
    for part in repo.split("/"):
        safe = UNSAFE.sub("_", part).strip(".") or "_"
        if safe != part:
            safe = f"{safe}-{hashlib.sha1(part.encode()).hexdigest()[:8]}"
        parts.append(safe)
    return f"{REPOS}/" + "/".join(parts)


def releases_dir(corpus: Path) -> Path:
    """The folder of MLflow releases (``<corpus>/mlflow``)."""
    return corpus / RELEASES


def release_dirs(corpus: Path) -> dict[str, Path]:
    """Release roots of a mined corpus by version: ``<corpus>/mlflow/<version>/`` holding ``mlflow/__init__.py``."""
    root = releases_dir(corpus)
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir())
            if not p.name.startswith(".") and (p / "mlflow" / "__init__.py").is_file()}


def mined_repositories(corpus: Path) -> list[CorpusRepo]:
    """The repositories ``manifest.csv`` lists as mined (``status`` ok, with a checkout), in its order."""
    return [CorpusRepo(r["repo"], corpus / r["clone_path"], r["commit"])
            for r in read_csv(corpus / MANIFEST) if r.get("status") == "ok" and r.get("clone_path")]
