"""Tests of analysis/history/gitlog.py: the first-parent walk, its changes, which commits are chosen."""

from __future__ import annotations

from pathlib import Path

from analysis.history.gitlog import BlobReader, Change, Commit, count_first_parent, first_parent_history, period, select
from tests.analysis.history.histories import LOG, PLAIN, make_history
from tests.conftest import git


def _commit(date: str) -> Commit:
    return Commit("x", "", date, [])


def test_merges_are_one_first_parent_commit_with_what_they_bring(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    shas = make_history(repo, [{"a.py": LOG}, {"b.py": PLAIN}])
    git("checkout", "-q", "-b", "side", shas[0], cwd=repo)
    (repo / "side.py").write_text(PLAIN)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "side", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "--no-edit", "side", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    commits = first_parent_history(repo / ".git", head)
    assert [c.sha for c in commits] == [*shas, head]  # the side branch's own commit is not on the line
    assert commits[0].parent == "" and commits[2].parent == shas[1]
    assert commits[2].changes is not None and [(ch.path, ch.mode) for ch in commits[2].changes] == [("side.py", "100644")]
    removed = make_history(tmp_path / "d", [{"a.py": LOG, "b/c.py": PLAIN}, {"a.py": None}])
    deleted = first_parent_history(tmp_path / "d" / ".git", removed[-1])[-1]
    assert deleted.changes == [Change("a.py", "", "")]


def test_period_is_the_utc_iso_week_or_month() -> None:
    assert period("2023-01-01T23:30:00-02:00", "month") == "2023-01" or period("2023-01-01T23:30:00-02:00", "month") == "2023-01"
    assert period("2023-01-31T23:30:00-02:00", "month") == "2023-02"  # 01:30 UTC on February 1st
    assert period("2023-01-01T12:00:00+00:00", "week") == "2022-W52"  # ISO weeks: Sunday Jan 1st is 2022's


def test_select_every_since_and_max_commits() -> None:
    commits = [_commit(d) for d in ("2023-01-05T00:00:00+00:00", "2023-01-20T00:00:00+00:00", "2023-03-01T00:00:00+00:00",
                                    "2023-02-27T00:00:00+00:00", "2023-03-02T00:00:00+00:00")]
    assert select(commits) == ([0, 1, 2, 3, 4], 0)
    assert select(commits, every="month") == ([1, 3, 4], 0)  # the last in first-parent order, not by date
    assert select(commits, since="2023-02-01") == ([2, 3, 4], 0)
    assert select(commits, max_commits=2) == ([3, 4], 3)
    assert select(commits, since="2023-01-10", every="month", max_commits=1) == ([4], 2)


def test_read_many_answers_every_blob_in_one_batch_and_goes_on_past_a_missing_one(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_history(src, [{"a.py": LOG}, {"big.py": LOG + "#" * 5000 + "\n", "b.py": PLAIN}])
    git("config", "uploadpack.allowFilter", "true", cwd=src)
    partial = tmp_path / "partial.git"
    git("clone", "-q", "--bare", "--filter=blob:limit=1k", src.as_uri(), str(partial))
    sha = {name: git("rev-parse", f"HEAD:{name}", cwd=src).strip() for name in ("a.py", "big.py", "b.py")}
    tree = git("rev-parse", "HEAD^{tree}", cwd=src).strip()
    with BlobReader(partial) as reader:
        got = reader.read_many([sha["a.py"], sha["big.py"], tree, sha["b.py"], "0" * 40, sha["a.py"]])
        assert got == {sha["a.py"]: LOG.encode(), sha["big.py"]: None, tree: None, sha["b.py"]: PLAIN.encode(),
                       "0" * 40: None}
        assert reader.read(sha["b.py"]) == PLAIN.encode()  # the reader goes on after git ended


def test_count_first_parent(tmp_path: Path) -> None:
    shas = make_history(tmp_path / "r", [{"a.py": LOG}, {"b.py": PLAIN}, {"a.py": None}])
    assert count_first_parent(tmp_path / "r" / ".git", shas[-1]) == 3
    assert count_first_parent(tmp_path / "r" / ".git", "0" * 40) == 0
