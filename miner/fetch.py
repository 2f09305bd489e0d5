"""Fetching one repository's tree at its commit into the corpus: its manifest row, its problems and
the fingerprint of its content. Failures are rows, not raises."""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from miner import __version__
from miner.corpus import UNSAFE, clone_path_for, history_path_for
from miner.fileio import utc_now
from miner.ftypes import ManifestRow, MineSettings, Problem, RepoCandidate, RepoStatus
from miner.gitio import (
    FINGERPRINT_NAMES,
    GitError,
    fetch_commit,
    history_state,
    is_empty_remote_error,
    materialize,
    remove_tree,
    resolve_head,
    root_commit,
)
from miner.local_source import git_dir_of


def content_hash(blob_shas: dict[str, str]) -> str:
    """A fingerprint of the code, MLproject and environment files' contents, paths ignored."""
    relevant = sorted({sha for path, sha in blob_shas.items() if FINGERPRINT_NAMES.search(path)})
    if not relevant:
        return ""
    return hashlib.sha256("\n".join(relevant).encode()).hexdigest()[:20]


def base_row(cand: RepoCandidate) -> ManifestRow:
    """The manifest row of a candidate before anything is fetched."""
    return ManifestRow(
        repo=cand.repo, source=cand.source, commit=cand.commit, default_branch=cand.default_branch,
        stars=cand.stars, forks=cand.forks, is_fork=cand.is_fork, archived=cand.archived,
        license=cand.license, topics=";".join(cand.topics), created_at=cand.created_at,
        pushed_at=cand.pushed_at, size_kb=cand.size_kb, description=cand.description.replace("\n", " "),
        tool_version=__version__, clone_url=cand.clone_url,
    )


def _is_local(cand: RepoCandidate) -> bool:
    """True when the clone URL is a git directory on this machine, read in place."""
    path = Path(cand.clone_url)
    return path.is_absolute() and path.is_dir() and git_dir_of(path) is not None


@contextlib.contextmanager
def _partial_dir(corpus: Path, repo: str) -> Iterator[Path]:
    base = corpus / "repos" / ".partial"
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=UNSAFE.sub("_", repo)[:60] + ".", dir=base))
    try:
        yield tmp
    finally:
        remove_tree(tmp)


def fetch_repository(cand: RepoCandidate, settings: MineSettings) -> tuple[ManifestRow, list[Problem]]:
    """Fetch one repository's tree at its commit into ``repos/``; failures are rows, not raises."""
    corpus = settings.corpus_dir
    row = base_row(cand).replace(mined_at=utc_now())
    rel = clone_path_for(cand.repo)
    final = corpus / rel
    n_commits: int | None = None
    state = kept = ""
    with _partial_dir(corpus, cand.repo) as tmp:
        try:
            if _is_local(cand):
                git_dir = Path(cand.clone_url)
                commit = cand.commit or resolve_head(git_dir)
                if not commit:
                    return row.replace(status=RepoStatus.SKIPPED.value, reason="empty repository (no commit)"), []
            else:
                git_dir = tmp / "git"
                commit = fetch_commit(cand.clone_url, git_dir, commit=cand.commit, blob_limit=settings.spec.blob_limit,
                                      timeout=settings.clone_timeout, history=settings.history)
            tree = materialize(git_dir, commit, tmp / "tree", timeout=settings.clone_timeout)
            root = root_commit(git_dir, commit)
            if settings.history:  # a local clone is read in place; a fetched one is kept in the corpus
                n_commits, state = history_state(git_dir, commit)
                kept = str(git_dir) if _is_local(cand) else history_path_for(cand.repo)
        except GitError as err:
            if is_empty_remote_error(err) and not cand.commit:
                return row.replace(status=RepoStatus.SKIPPED.value, reason="empty repository (no commit)"), []
            reason = f"clone failed: {err.last_line}"
            return row.replace(status=RepoStatus.FAILED.value, reason=reason), []
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists() or final.is_symlink():
            remove_tree(final)
        (tmp / "tree").rename(final)
        if kept and not _is_local(cand):
            history = corpus / kept
            history.parent.mkdir(parents=True, exist_ok=True)
            if history.exists():
                remove_tree(history)
            git_dir.rename(history)
    problems = [Problem(cand.repo, path, None, "mine", reason) for path, reason in tree.missing]
    row = row.replace(
        commit=commit, clone_path=rel, root_commit=root, content_hash=content_hash(tree.blob_shas),
        n_files=tree.n_files, n_missing=len(tree.missing), n_commits=n_commits, history=state, git_dir=kept,
    )
    return row, problems
