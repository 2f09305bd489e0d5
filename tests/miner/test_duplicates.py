"""Families of repositories: one root commit or one content, marked duplicates of the oldest."""

from __future__ import annotations

from pathlib import Path

from miner.duplicates import mark_duplicates
from miner.ftypes import ManifestRow
from miner.mine import mine
from tests.conftest import git, make_repo
from tests.miner.mining import PROJECT, settings_for


def _row(repo: str, created: str, root: str = "", content: str = "", status: str = "ok") -> ManifestRow:
    return ManifestRow(repo=repo, source="github", created_at=created, root_commit=root, content_hash=content,
                       status=status)


def test_families_join_through_either_key_and_the_oldest_leads() -> None:
    rows = [_row("b/copy", "2021", root="r1"), _row("a/orig", "2020", root="r1", content="c1"),
            _row("c/hand-in", "2022", content="c1"), _row("d/alone", "2019", root="r9", content="c9"),
            _row("e/failed", "2018", root="r1", status="failed")]
    assert [(r.repo, r.duplicate_of) for r in mark_duplicates(rows)] == [
        ("b/copy", "a/orig"), ("a/orig", ""), ("c/hand-in", "a/orig"), ("d/alone", ""), ("e/failed", "")]


def test_duplicates_by_root_commit_and_by_content(tmp_path: Path) -> None:
    src = tmp_path / "src"
    orig = make_repo(src / "orig", PROJECT, commits=2)
    git("clone", "-q", str(orig), str(src / "copy"))  # clone-and-push: same root commit
    (src / "copy" / "extra.py").write_text("z = 3\n")
    git("add", "-A", cwd=src / "copy")
    git("commit", "-qm", "student work", cwd=src / "copy")
    git("remote", "remove", "origin", cwd=src / "copy")
    # same files as orig's head, fresh history: its root commit differs (another message and tree),
    # so only the content can tie it to the family
    classroom = make_repo(src / "classroom", {"README.md": "fresh\n"})
    for name in PROJECT:
        (classroom / name).write_bytes((orig / name).read_bytes())
    (classroom / "README.md").unlink()
    git("add", "-A", cwd=classroom)
    git("commit", "-qm", "handed in", cwd=classroom)
    make_repo(src / "other", {"other.py": "print(1)\n"})
    summary = mine(settings_for(tmp_path, from_local=src))
    rows = {r.repo: r for r in summary.rows}
    assert rows["classroom"].root_commit != rows["orig"].root_commit == rows["copy"].root_commit
    assert rows["classroom"].content_hash == rows["orig"].content_hash != rows["copy"].content_hash
    dup = {r.repo: r.duplicate_of for r in summary.rows}
    assert dup["other"] == ""
    family = {"orig", "copy", "classroom"}
    leaders = {dup[r] for r in family} - {""}
    assert len(leaders) == 1
    leader = leaders.pop()
    assert dup[leader] == "" and all(dup[r] == leader for r in family - {leader})
    assert summary.n_duplicates == 2
