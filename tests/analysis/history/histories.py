"""Small git repositories with histories, for the history tests: each commit a dict of changes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from analysis.ftypes import HistoryOptions
from analysis.history.commits import HistoryAnalyzer, HistoryResult, HistoryTask
from analysis.releases.catalog import load_snapshot
from analysis.passes.mlflow_calls import Resolver
from tests.conftest import GIT_ENV

Changes = dict[str, "str | bytes | None"]  # path -> new content, None to delete it

LOG = "import mlflow\nmlflow.log_param('a', 1)\n"
METRIC = "import mlflow\nmlflow.log_metric('m', 1)\n"
PLAIN = "print('no tracking')\n"
MLPROJECT = "name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    command: python train.py\n"
CONDA = "dependencies:\n  - python=3.10\n  - pip:\n    - mlflow==2.9.2\n"


def make_history(path: Path, commits: Sequence[Changes], *, start: str = "2023-01-02", days_apart: int = 1,
                 again: bool = False) -> list[str]:
    """A repository at ``path`` (a work tree) whose commits make ``commits``' changes in order, one every
    ``days_apart`` days from ``start`` at noon UTC; returns the commits' shas, oldest first. With ``again``,
    the commits go on the repository already at ``path``."""
    if not again:
        path.mkdir(parents=True)
    env = {**os.environ, **GIT_ENV}

    def git(*args: str, **extra: str) -> str:
        return subprocess.run(["git", *args], cwd=path, env={**env, **extra}, check=True, capture_output=True,
                              text=True).stdout

    if not again:
        git("init", "-q", "-b", "main")
    shas = []
    for i, changes in enumerate(commits):
        for name, content in changes.items():
            target = path / name
            if content is None:
                git("rm", "-q", "-r", "--", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        git("add", "-A")
        when = (date.fromisoformat(start) + timedelta(days=i * days_apart)).isoformat() + "T12:00:00+00:00"
        git("commit", "-q", "--allow-empty", "-m", f"commit {i}", GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
        shas.append(git("rev-parse", "HEAD").strip())
    return shas


def analyzer(options: HistoryOptions = HistoryOptions(), cache: Path | None = None) -> HistoryAnalyzer:
    """A history analyzer with the shipped catalog."""
    return HistoryAnalyzer(Resolver.from_catalog(load_snapshot()), "test-stamp", options, cache_path=cache)


def walk(path: Path, options: HistoryOptions = HistoryOptions(), repo: str = "o/r") -> HistoryResult:
    """The history of the work tree at ``path`` up to its HEAD."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True,
                          text=True).stdout.strip()
    return analyzer(options).analyze(HistoryTask(repo, str(path / ".git"), head, "complete"))
