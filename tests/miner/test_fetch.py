"""Fetching one repository into the corpus: the checkout at its commit, its row, and failures as rows."""

from __future__ import annotations

from pathlib import Path

from miner.fetch import base_row, content_hash, fetch_repository
from miner.ftypes import RepoCandidate
from tests.conftest import git, make_empty_bare, make_repo
from tests.miner.mining import PROJECT, settings_for


def test_fetches_a_local_repository_at_its_head(tmp_path: Path) -> None:
    work = make_repo(tmp_path / "src" / "r", PROJECT, commits=2)
    head = git("rev-parse", "HEAD", cwd=work).strip()
    cand = RepoCandidate(repo="o/r", source="local", clone_url=str(work / ".git"))
    row, problems = fetch_repository(cand, settings_for(tmp_path))
    assert (row.status, row.commit, row.clone_path, problems) == ("ok", head, "repos/o/r", [])
    assert row.root_commit == git("rev-list", "--max-parents=0", "HEAD", cwd=work).strip()
    assert (tmp_path / "corpus" / "repos" / "o" / "r" / "MLproject").read_text() == PROJECT["MLproject"]
    assert not any((tmp_path / "corpus" / "repos" / ".partial").iterdir())


def test_an_empty_repository_is_skipped_and_a_missing_one_failed(tmp_path: Path) -> None:
    empty = make_empty_bare(tmp_path / "src" / "e.git")
    row, _ = fetch_repository(RepoCandidate(repo="o/e", source="local", clone_url=str(empty)), settings_for(tmp_path))
    assert (row.status, row.reason) == ("skipped", "empty repository (no commit)")
    gone = RepoCandidate(repo="o/gone", source="github", clone_url=(tmp_path / "missing.git").as_uri())
    row, _ = fetch_repository(gone, settings_for(tmp_path))
    assert row.status == "failed" and row.reason.startswith("clone failed:")
    assert not (tmp_path / "corpus" / "repos" / "o").exists()


def test_content_hash_reads_code_files_not_paths() -> None:
    one = content_hash({"train.py": "s1", "MLproject": "s2", "README.md": "s3"})
    assert one == content_hash({"src/train2.py": "s1", "sub/MLproject": "s2"})  # moved, renamed, README gone
    assert one != content_hash({"train.py": "s9", "MLproject": "s2"})
    assert content_hash({"README.md": "s3"}) == ""


def test_base_row_keeps_the_candidates_facts() -> None:
    row = base_row(RepoCandidate(repo="o/r", source="github", clone_url="u", description="two\nlines",
                                 topics=("a", "b"), stars=3))
    assert (row.repo, row.stars, row.topics, row.description) == ("o/r", 3, "a;b", "two lines")
    assert row.tool_version and row.commit == "" and row.clone_path == ""
