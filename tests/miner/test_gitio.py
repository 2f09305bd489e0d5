"""Git plumbing on tiny repositories: heads, roots, origins, fetching one commit, writing a tree safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from miner.gitio import (
    GitError,
    fetch_commit,
    head_branch,
    list_tree,
    materialize,
    origin_url,
    resolve_head,
    root_commit,
    run_git,
)
from tests.conftest import git, make_empty_bare, make_repo


def test_head_branch_root_and_origin_of_a_work_tree(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "w", {"a.py": "x = 1\n"}, commits=3, branch="trunk",
                     origin="https://github.com/o/r.git")
    head = git("rev-parse", "HEAD", cwd=work).strip()
    first = git("rev-list", "--max-parents=0", "HEAD", cwd=work).strip()
    git_dir = work / ".git"
    assert (resolve_head(git_dir), root_commit(git_dir, head), head_branch(git_dir)) == (head, first, "trunk")
    assert origin_url(git_dir) == "https://github.com/o/r.git"
    assert [(e.type, e.path) for e in list_tree(git_dir, head)] == [("blob", "a.py")]


def test_an_empty_repository_has_no_head_and_no_origin(tmp_path: Path) -> None:
    bare = make_empty_bare(tmp_path / "e.git")
    assert (resolve_head(bare), origin_url(bare)) == ("", "")


def test_fetch_one_commit_shallowly_its_root_unknown(tmp_path: Path) -> None:
    bare = make_repo(tmp_path / "served.git", {"a.py": "x = 1\n"}, bare=True, commits=2)
    head = git("rev-parse", "HEAD", cwd=bare).strip()
    sha = fetch_commit(bare.as_uri(), tmp_path / "clone")
    assert sha == head
    assert root_commit(tmp_path / "clone", sha) == ""  # shallow: the root lies below the cut


def test_a_failing_git_command_says_gits_last_complaint(tmp_path: Path) -> None:
    with pytest.raises(GitError) as caught:
        run_git(["rev-parse", "--verify", "no-such-ref"], git_dir=make_empty_bare(tmp_path / "e.git"))
    assert caught.value.returncode != 0 and caught.value.last_line.startswith("fatal:")


def test_materialize_writes_the_tree_and_never_a_link_out(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "w", {"a.py": "x = 1\n", "sub/b.txt": "b\n", "in": "symlink:a.py",
                                      "out": "symlink:../../etc/passwd"})
    head = git("rev-parse", "HEAD", cwd=work).strip()
    tree = materialize(work / ".git", head, tmp_path / "tree")
    assert (tmp_path / "tree" / "sub" / "b.txt").read_text() == "b\n"
    assert (tmp_path / "tree" / "in").is_symlink() and not (tmp_path / "tree" / "out").is_symlink()
    assert [path for path, _reason in tree.missing] == ["out"]
    assert set(tree.blob_shas) == {"a.py", "sub/b.txt"} and tree.n_files >= 2
