"""Repositories under a local folder: bare and with a work tree, at any depth, named, never written to."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.local_source import find_repositories, git_dir_of, identity_from_path, identity_from_url, iter_local_candidates
from tests.conftest import make_repo
from tests.miner.mining import tree_digest


def test_finds_bare_and_work_tree_repositories_without_writing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_repo(src / "alice" / "proj", {"a.py": "1\n"}, origin="git@github.com:alice/proj.git")
    make_repo(src / "deep" / "er" / "bob.git", {"b.py": "2\n"}, bare=True)
    (src / "plain").mkdir()
    (src / "plain" / "c.py").write_text("3\n")
    before = tree_digest(src)
    found = [(repo.relative_to(src).as_posix(), git_dir.name) for repo, git_dir in find_repositories(src)]
    assert found == [("alice/proj", ".git"), ("deep/er/bob.git", "bob.git")]
    candidates = {c.repo: c for c in iter_local_candidates(src)}
    assert set(candidates) == {"alice/proj", "deep/er/bob"}
    assert candidates["alice/proj"].source == "local" and candidates["alice/proj"].default_branch == "main"
    assert candidates["deep/er/bob"].clone_url == str((src / "deep" / "er" / "bob.git").resolve())
    assert tree_digest(src) == before


def test_a_folder_that_is_no_repository(tmp_path: Path) -> None:
    assert git_dir_of(tmp_path) is None and list(find_repositories(tmp_path)) == []


@pytest.mark.parametrize(("url", "name"), [
    pytest.param("https://github.com/o/r.git", "o/r", id="https"),
    pytest.param("git@github.com:o/r.git", "o/r", id="scp-like"),
    pytest.param("ssh://git@host:22/group/sub/r", "sub/r", id="ssh-last-two"),
    pytest.param("/srv/git/r.git", "", id="local-path"),
])
def test_identity_from_url(url: str, name: str) -> None:
    assert identity_from_url(url) == name


def test_identity_from_path(tmp_path: Path) -> None:
    assert identity_from_path(tmp_path / "a" / "b.git", tmp_path) == "a/b"
    assert identity_from_path(tmp_path / "owner+name" / "repo", tmp_path) == "owner/name"
