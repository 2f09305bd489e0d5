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

from miner.fileio import read_csv, sha256_file
from miner.ftypes import Problem as ProblemRow  # a row of problems.csv, the corpus's and analyze's

MANIFEST = "manifest.csv"
LOCK = "lock.csv"
SEARCH = "search.csv"
PROBLEMS = "problems.csv"
REPOS = "repos"
HISTORIES = "history"  # <corpus>/history/<owner>/<name>.git: the git directories mined with --history
RELEASES = "mlflow"  # <corpus>/mlflow/<version>/mlflow/...
RELEASES_TABLE = "releases.csv"

__all__ = ["CorpusRepo", "MinedCorpus", "ProblemRow", "clone_path_for", "history_path_for", "local_git_dir",
           "mined_repositories",
           "read_corpus", "release_dirs", "releases_dir"]
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")  # characters a path part of the corpus never holds


@dataclass(frozen=True)
class CorpusRepo:
    """A repository of the corpus that was mined: its name, its checkout and the commit it holds."""

    repo: str
    root: Path
    commit: str
    git_dir: Path | None = None  # the repository it was mined from, when that is a git directory on this machine
    history: str = ""  # how complete that history is (``manifest.csv`` ``history``): '' when not mined with --history


def local_git_dir(clone_url: str) -> Path | None:
    """The git directory a manifest's ``clone_url`` names when it is on this machine (``--from-local``,
    ``file://``), with its history; None for remote URLs and for anything that is not a git directory."""
    text = clone_url.removeprefix("file://")
    if not text.startswith("/"):
        return None
    path = Path(text)
    for candidate in (path / ".git", path):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


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


def history_path_for(repo: str) -> str:
    """Where ``mine --history`` keeps a fetched repository's git directory, relative to the corpus:
    ``history/<owner>/<name>.git``."""
    return HISTORIES + clone_path_for(repo).removeprefix(REPOS) + ".git"


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
    return [CorpusRepo(r["repo"], corpus / r["clone_path"], r["commit"],
                       corpus / r["git_dir"] if r.get("git_dir") else local_git_dir(r.get("clone_url", "")),
                       r.get("history", ""))
            for r in read_csv(corpus / MANIFEST) if r.get("status") == "ok" and r.get("clone_path")]


@dataclass(frozen=True)
class MinedCorpus:
    """What ``analyze`` reads of a corpus: the mined repositories, the mining's problem rows
    (``problems.csv``), the digests of ``manifest.csv`` and ``problems.csv`` ("" when there is none), and
    the MLflow releases (``release_dirs``) with their folder (``releases_dir``)."""

    repos: tuple[CorpusRepo, ...]
    problems: tuple[dict[str, str], ...]
    manifest_sha256: str
    problems_sha256: str
    releases: dict[str, Path]
    releases_dir: Path


def read_corpus(corpus: Path) -> MinedCorpus:
    """The ``MinedCorpus`` of a corpus directory (its ``manifest.csv`` must be there)."""
    problems = corpus / PROBLEMS
    there = problems.is_file()
    return MinedCorpus(tuple(mined_repositories(corpus)), tuple(read_csv(problems)) if there else (),
                       sha256_file(corpus / MANIFEST), sha256_file(problems) if there else "",
                       release_dirs(corpus), releases_dir(corpus))
