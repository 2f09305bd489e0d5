"""What stored runs record, matched to the checkout: artifact URI kinds, source paths, projects, commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.stores.checkout_links import (
    artifact_uri_kind,
    commits_in_history,
    match_in_checkout,
    source_in_checkout,
)
from analysis.stores.raw import Checkout
from tests.conftest import git


@pytest.mark.parametrize(("uri", "kind"), [
    pytest.param("file:///C:/Users/a/proj/mlruns/1/x/artifacts", "absolute-local", id="windows-file-uri"),
    pytest.param("/home/a/proj/mlruns/1/x/artifacts", "absolute-local", id="posix-path"),
    pytest.param("C:\\Users\\a\\mlruns", "absolute-local", id="windows-path"),
    pytest.param("file:./mlruns/1/x/artifacts", "relative", id="file-relative"),
    pytest.param("./mlruns/1/x/artifacts", "relative", id="dot-relative"),
    pytest.param("s3://bucket/1/x/artifacts", "remote", id="s3"),
    pytest.param("mlflow-artifacts:/1/x/artifacts", "remote", id="proxied"),
    pytest.param("", "", id="none"),
])
def test_artifact_uri_kind(uri: str, kind: str) -> None:
    assert artifact_uri_kind(uri) == kind


@pytest.mark.parametrize(("recorded", "found"), [
    pytest.param("c:/Users/a/Documents/GitHub/proj/src/train.py", "src/train.py", id="windows-longest-suffix"),
    pytest.param("/home/a/proj/src/train.py", "src/train.py", id="posix-longest-suffix"),
    pytest.param("/home/a/elsewhere/train.py", "train.py", id="shorter-suffix"),
    pytest.param("src/train.py", "src/train.py", id="relative-to-root"),
    pytest.param("train.py", "sub/train.py", id="relative-to-store-dir-first"),
    pytest.param("/usr/lib/python3/ipykernel_launcher.py", "", id="not-in-checkout"),
    pytest.param("../outside.py", "", id="leaves-repo"),
    pytest.param("<console>", "", id="console"),
])
def test_source_matching(tmp_path: Path, recorded: str, found: str) -> None:
    for rel in ("src/train.py", "train.py", "sub/train.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert match_in_checkout(Checkout(tmp_path), recorded, "sub", want_dir=False) == found


@pytest.mark.parametrize(("recorded", "found"), [
    pytest.param("file:///home/me/repo#sub", "sub/MLproject", id="fragment-names-the-project-dir"),
    pytest.param("https://github.com/o/r#sub", "sub/MLproject", id="git-url-with-fragment"),
    pytest.param("C:\\Users\\me\\work\\sub", "sub/MLproject", id="windows-dir-by-suffix"),
    pytest.param("file:///home/me/repo#missing", "", id="fragment-without-mlproject"),
])
def test_project_source_matches_its_mlproject(tmp_path: Path, recorded: str, found: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "MLproject").write_text("name: x\n")
    assert source_in_checkout(Checkout(tmp_path), recorded, "PROJECT", "") == found


def test_commits_in_history(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    for i in range(2):
        (work / "f").write_text(str(i))
        git("add", "f", cwd=work)
        git("commit", "-qm", str(i), cwd=work)
    old, new = git("rev-list", "main", cwd=work).split()[::-1]
    missing = "0123456789abcdef0123456789abcdef01234567"
    full = commits_in_history(work / ".git", [old, new, missing, "not-a-sha"])
    assert full == {old: "yes", new: "yes", missing: "no", "not-a-sha": "no"}
    git("clone", "-q", "--depth", "1", f"file://{work}", str(tmp_path / "shallow"))
    assert commits_in_history(tmp_path / "shallow" / ".git", [old, new]) == {old: "unknown", new: "yes"}
    assert commits_in_history(None, [new]) == {new: "unknown"}
