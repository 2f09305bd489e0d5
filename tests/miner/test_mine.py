"""The whole mine: GitHub, local clones, lock files, faults and resumption."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from miner import mine as mine_mod
from miner.fileio import Journal, read_csv
from miner.ftypes import MinerError, RepoStatus
from miner.mine import mine
from tests.conftest import FakeGitHub, git, make_empty_bare, make_repo, repo_item
from tests.miner.mining import PROJECT, settings_for, spec_for, tree_digest


def _rows(corpus: Path) -> dict[str, dict[str, str]]:
    return {r["repo"]: r for r in read_csv(corpus / "manifest.csv")}


# ---- local clones ----------------------------------------------------------------------------

def test_local_mines_bare_and_worktree_repos_at_any_depth_without_touching_them(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_repo(src / "alice" / "proj", PROJECT, origin="https://github.com/alice/proj.git")
    make_repo(src / "deep" / "er" / "bob.git", {"a.py": "x = 1\n"}, bare=True)
    make_repo(src / "carol+thing" / "repo", {"b.py": "y = 2\n"}, bare=True)
    make_repo(src / "we ird ü" / "na:me", {"c.py": "z = 3\n"})
    before = tree_digest(src)
    summary = mine(settings_for(tmp_path, from_local=src))
    assert tree_digest(src) == before
    rows = _rows(tmp_path / "corpus")
    assert set(rows) == {"alice/proj", "deep/er/bob", "carol/thing", "we ird ü/na:me"}
    odd = rows["we ird ü/na:me"]
    assert odd["status"] == "ok" and (tmp_path / "corpus" / odd["clone_path"] / "c.py").read_text() == "z = 3\n"
    assert " " not in odd["clone_path"] and ":" not in odd["clone_path"]
    alice = rows["alice/proj"]
    assert alice["status"] == "ok" and alice["source"] == "local"
    assert alice["commit"] == git("rev-parse", "HEAD", cwd=src / "alice" / "proj").strip()
    assert alice["default_branch"] == "main"
    checkout = tmp_path / "corpus" / alice["clone_path"]
    assert (checkout / "train.py").read_text() == PROJECT["train.py"]
    assert not (checkout / ".git").exists()
    assert summary.count(RepoStatus.OK) == 4 and not summary.failed
    lock = read_csv(tmp_path / "corpus" / "lock.csv")
    assert {r["repo"]: r["commit"] for r in lock} == {k: v["commit"] for k, v in rows.items()}
    prov = (tmp_path / "corpus" / "manifest.csv.provenance.json").read_text()
    assert '"tool_version"' in prov and '"source": "local"' in prov


def test_empty_local_repository_is_skipped_with_reason(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_empty_bare(src / "empty.git")
    make_repo(src / "full", {"a.py": "1\n"})
    mine(settings_for(tmp_path, from_local=src))
    rows = _rows(tmp_path / "corpus")
    assert rows["empty"]["status"] == "skipped"
    assert rows["empty"]["reason"] == "empty repository (no commit)"
    assert rows["full"]["status"] == "ok"


def test_symlink_leaving_the_repository_is_a_problem_row(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_repo(src / "r", {"a.py": "1\n", "evil": "symlink:../../../etc/passwd", "ok_link": "symlink:a.py"})
    summary = mine(settings_for(tmp_path, from_local=src))
    checkout = tmp_path / "corpus" / "repos" / "r"
    assert (checkout / "ok_link").is_symlink()
    assert not (checkout / "evil").exists() and not (checkout / "evil").is_symlink()
    problems = read_csv(tmp_path / "corpus" / "problems.csv")
    assert [(p["repo"], p["path"], p["stage"]) for p in problems] == [("r", "evil", "mine")]
    assert "symlink leaves the repository" in problems[0]["reason"]
    assert summary.rows[0].n_missing == 1


# ---- GitHub ----------------------------------------------------------------------------------

def _github_corpus(tmp_path: Path, fake: FakeGitHub) -> dict[str, Path]:
    """Bare repositories served as file:// URLs and listed by the fake GitHub."""
    served = tmp_path / "served"
    repos = {
        "a/one": make_repo(served / "a-one.git", PROJECT, bare=True),
        "b/two": make_repo(served / "b-two.git", {"x.py": "import os\n"}, bare=True),
        "c/empty": make_empty_bare(served / "c-empty.git"),
        "d/big": make_repo(served / "d-big.git", {"x.py": "1\n"}, bare=True),
        "e/fork": make_repo(served / "e-fork.git", {"x.py": "2\n"}, bare=True),
    }
    fake.repos += [
        repo_item("a/one", repos["a/one"].as_uri(), "2020-02-01"),
        repo_item("b/two", repos["b/two"].as_uri(), "2020-03-01"),
        repo_item("c/empty", repos["c/empty"].as_uri(), "2020-04-01"),
        repo_item("d/big", repos["d/big"].as_uri(), "2020-05-01", size=9_000_000),
        repo_item("e/fork", repos["e/fork"].as_uri(), "2020-06-01", fork=True),
        repo_item("f/gone", (served / "missing.git").as_uri(), "2020-07-01"),
    ]
    return repos


def test_github_mine_end_to_end(tmp_path: Path, fake_github: FakeGitHub) -> None:
    _github_corpus(tmp_path, fake_github)
    settings = settings_for(tmp_path, api_url=fake_github.base_url, spec=spec_for(tmp_path, max_size_kb=1_000_000))
    summary = mine(settings)
    rows = _rows(tmp_path / "corpus")
    assert rows["a/one"]["status"] == "ok"
    assert (tmp_path / "corpus" / "repos" / "a" / "one" / "MLproject").read_text() == PROJECT["MLproject"]
    assert (rows["a/one"]["stars"], rows["a/one"]["license"], rows["a/one"]["topics"]) == ("3", "MIT", "mlflow-projects")
    assert rows["c/empty"]["status"] == "skipped" and "empty" in rows["c/empty"]["reason"]
    assert rows["d/big"]["status"] == "skipped" and "over the 1000000 KB limit" in rows["d/big"]["reason"]
    assert rows["e/fork"]["status"] == "skipped" and rows["e/fork"]["reason"] == "fork"
    assert rows["f/gone"]["status"] == "failed" and rows["f/gone"]["reason"].startswith("clone failed:")
    assert summary.failed  # one clone failed: the exit code must say so
    search = read_csv(tmp_path / "corpus" / "search.csv")
    assert search[0]["total_count"] == "6" and search[0]["collected"] == "6"
    assert not (tmp_path / "corpus" / "repos" / ".partial").exists() or not any((tmp_path / "corpus" / "repos" / ".partial").iterdir())


def test_second_run_asks_the_network_nothing_and_refetches_nothing(tmp_path: Path, fake_github: FakeGitHub,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _github_corpus(tmp_path, fake_github)
    fake_github.repos = [r for r in fake_github.repos if r["full_name"] != "f/gone"]
    settings = settings_for(tmp_path, api_url=fake_github.base_url, token="ghp_SECRETSECRET123")
    mine(settings)
    assert fake_github.requests[0][1].get("Authorization") == "token ghp_SECRETSECRET123"
    n_requests = len(fake_github.requests)
    fetched: list[str] = []
    real = mine_mod.fetch_repository
    monkeypatch.setattr(mine_mod, "fetch_repository", lambda c, s: fetched.append(c.repo) or real(c, s))
    mine(settings)
    assert len(fake_github.requests) == n_requests  # every answer came from the cache
    assert fetched == []
    journal_repos = [r["row"]["repo"] for r in Journal(settings.corpus_dir / ".mine-journal.jsonl").read()]
    assert len(journal_repos) == len(set(journal_repos))
    # the token never reaches the cache or any output file
    for path in settings.corpus_dir.rglob("*"):
        if path.is_file():
            assert b"SECRETSECRET" not in path.read_bytes(), path
    with sqlite3.connect(settings.corpus_dir / "http_cache.sqlite") as db:
        n = db.execute("select count(*) from responses").fetchone()[0]
    assert n >= 1


def test_clone_over_dumb_http(tmp_path: Path, fake_github: FakeGitHub, dumb_http: tuple[Path, str]) -> None:
    root, url = dumb_http
    make_repo(root / "h.git", PROJECT, bare=True, commits=2)
    fake_github.repos.append(repo_item("h/http", f"{url}/h.git", "2020-02-02"))
    summary = mine(settings_for(tmp_path, api_url=fake_github.base_url))
    row = summary.rows[0]
    assert row.status == "ok", row.reason
    assert row.commit == git("rev-parse", "HEAD", cwd=root / "h.git").strip()
    assert (tmp_path / "corpus" / row.clone_path / "train.py").is_file()


def test_partial_clone_missing_blob_is_a_problem_row(tmp_path: Path, fake_github: FakeGitHub) -> None:
    served = make_repo(tmp_path / "served" / "p.git", {**PROJECT, "data/big.bin": b"\0" * 300_000}, bare=True)
    fake_github.repos.append(repo_item("p/partial", served.as_uri(), "2020-02-02"))
    spec = replace(spec_for(tmp_path), blob_limit="100k")
    summary = mine(settings_for(tmp_path, api_url=fake_github.base_url, spec=spec))
    assert summary.rows[0].status == "ok"
    assert (tmp_path / "corpus" / "repos" / "p" / "partial" / "train.py").is_file()
    assert not (tmp_path / "corpus" / "repos" / "p" / "partial" / "data" / "big.bin").exists()
    assert [(p.path, p.stage) for p in summary.problems] == [("data/big.bin", "mine")]
    assert "missing" in summary.problems[0].reason


def test_dry_run_writes_manifest_and_clones_nothing(tmp_path: Path, fake_github: FakeGitHub) -> None:
    _github_corpus(tmp_path, fake_github)
    mine(settings_for(tmp_path, api_url=fake_github.base_url, dry_run=True))
    rows = _rows(tmp_path / "corpus")
    assert rows["a/one"]["status"] == "planned" and rows["a/one"]["commit"] == ""
    assert rows["e/fork"]["status"] == "skipped"
    assert not (tmp_path / "corpus" / "repos" / "a").exists()
    assert not (tmp_path / "corpus" / "lock.csv").exists()


# ---- resumption ----------------------------------------------------------------------------------

def test_interrupted_run_resumes_without_refetching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    for i in range(5):
        make_repo(src / f"r{i}", {f"m{i}.py": f"x = {i}\n"})
    real = mine_mod.fetch_repository
    calls: list[str] = []

    def flaky(cand, settings):  # type: ignore[no-untyped-def]
        calls.append(cand.repo)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(cand, settings)

    monkeypatch.setattr(mine_mod, "fetch_repository", flaky)
    with pytest.raises(KeyboardInterrupt):
        mine(settings_for(tmp_path, from_local=src))
    assert not (tmp_path / "corpus" / "manifest.csv").exists()
    # a kill -9 in the middle of a journal write leaves a torn last line
    with (tmp_path / "corpus" / ".mine-journal.jsonl").open("ab") as fh:
        fh.write(b'{"type": "repo", "row": {"repo": "r9"')
    calls.clear()
    monkeypatch.setattr(mine_mod, "fetch_repository", lambda c, s: calls.append(c.repo) or real(c, s))
    summary = mine(settings_for(tmp_path, from_local=src))
    assert calls == ["r2", "r3", "r4"]
    assert summary.count(RepoStatus.OK) == 5
    manifest = read_csv(tmp_path / "corpus" / "manifest.csv")
    assert sorted(r["repo"] for r in manifest) == [f"r{i}" for i in range(5)]
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "corpus").iterdir())


def test_lock_file_remines_exactly_those_commits(tmp_path: Path) -> None:
    src = tmp_path / "src"
    work = make_repo(src / "r", {"a.py": "v = 1\n"})
    mine(settings_for(tmp_path, from_local=src))
    pinned = read_csv(tmp_path / "corpus" / "lock.csv")[0]["commit"]
    (work / "a.py").write_text("v = 2\n")
    git("commit", "-qam", "later", cwd=work)
    other = replace(settings_for(tmp_path, lock=tmp_path / "corpus" / "lock.csv"), corpus_dir=tmp_path / "again")
    summary = mine(other)
    assert summary.rows[0].commit == pinned
    assert (tmp_path / "again" / "repos" / "r" / "a.py").read_text() == "v = 1\n"


def test_bad_lock_file_names_file_and_line(tmp_path: Path) -> None:
    lock = tmp_path / "lock.csv"
    lock.write_text("repo,commit,source,clone_url\na/b,abc,local,/x\n")
    from miner.ftypes import MinerError

    with pytest.raises(MinerError, match=r"lock.csv:2: expected a repo and a full 40-hex commit"):
        mine(settings_for(tmp_path, lock=lock))


def test_clone_cut_off_by_a_hanging_server_fails_and_the_run_goes_on(tmp_path: Path, fake_github: FakeGitHub) -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # read nothing, answer nothing: the transfer stalls

    threading.Thread(target=accept, daemon=True).start()
    good = make_repo(tmp_path / "served" / "g.git", PROJECT, bare=True)
    fake_github.repos += [
        repo_item("h/hang", f"http://127.0.0.1:{listener.getsockname()[1]}/h.git", "2020-02-02"),
        repo_item("g/good", good.as_uri(), "2020-02-03"),
    ]
    try:
        summary = mine(settings_for(tmp_path, api_url=fake_github.base_url, clone_timeout=1.0))
    finally:
        listener.close()
        for conn in held:
            conn.close()
    status = {r.repo: (r.status, r.reason) for r in summary.rows}
    assert status["g/good"] == ("ok", "")
    assert status["h/hang"][0] == "failed" and "timed out after 1s" in status["h/hang"][1]
    assert not any((tmp_path / "corpus" / "repos" / ".partial").iterdir())


def test_local_directory_without_repositories_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "src" / "not-a-repo").mkdir(parents=True)
    (tmp_path / "src" / "not-a-repo" / "a.py").write_text("x = 1\n")
    with pytest.raises(MinerError, match="src: no git repository under it"):
        mine(settings_for(tmp_path, from_local=tmp_path / "src"))
    assert not (tmp_path / "corpus" / "manifest.csv").exists()


# ---- --history -------------------------------------------------------------------------------

def test_without_history_the_history_columns_are_empty(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "r", {"a.py": "1\n"}, commits=3)
    mine(settings_for(tmp_path, from_local=tmp_path / "src"))
    row = _rows(tmp_path / "corpus")["r"]
    assert (row["n_commits"], row["history"], row["git_dir"]) == ("", "", "")
    assert not (tmp_path / "corpus" / "history").exists()


def test_local_history_is_read_in_place_counted_and_said_complete_or_shallow(tmp_path: Path) -> None:
    src = tmp_path / "src"
    full = make_repo(src / "full", {"a.py": "1\n"}, commits=4)
    git("clone", "-q", "--depth", "2", (full / ".git").as_uri(), str(src / "cut"))
    grafted = make_repo(src / "grafted", {"a.py": "1\n"}, commits=3)
    head = git("rev-parse", "HEAD", cwd=grafted).strip()
    (grafted / ".git" / "info").mkdir(exist_ok=True)
    (grafted / ".git" / "info" / "grafts").write_text(f"{head}\n")  # HEAD made a root: its history cut
    before = tree_digest(src)
    mine(settings_for(tmp_path, from_local=src, history=True))
    assert tree_digest(src) == before  # read only
    rows = _rows(tmp_path / "corpus")
    assert (rows["full"]["n_commits"], rows["full"]["history"]) == ("4", "complete")
    assert rows["full"]["git_dir"] == str((full / ".git").resolve())
    cut = rows["full@cut"] if "full@cut" in rows else rows["cut"]
    assert (cut["n_commits"], cut["history"]) == ("2", "shallow")
    assert (rows["grafted"]["n_commits"], rows["grafted"]["history"]) == ("1", "grafted")
    assert not (tmp_path / "corpus" / "history").exists()  # nothing copied


def test_github_history_is_one_blob_limited_fetch_kept_in_the_corpus(tmp_path: Path, fake_github: FakeGitHub) -> None:
    served = make_repo(tmp_path / "served" / "p.git", {**PROJECT, "data/big.bin": b"\0" * 300_000}, bare=True,
                       commits=3)
    fake_github.repos.append(repo_item("p/hist", served.as_uri(), "2020-02-02"))
    spec = replace(spec_for(tmp_path), blob_limit="100k")
    summary = mine(settings_for(tmp_path, api_url=fake_github.base_url, spec=spec, history=True))
    row = summary.rows[0]
    assert (row.status, row.n_commits, row.history, row.git_dir) == ("ok", 3, "complete", "history/p/hist.git")
    kept = tmp_path / "corpus" / row.git_dir
    assert git("--git-dir", str(kept), "rev-list", "--count", row.commit).strip() == "3"
    missing = git("--git-dir", str(kept), "-c", "protocol.allow=never", "rev-list", "--objects", "--missing=print",
                  row.commit)
    assert sum(1 for ln in missing.splitlines() if ln.startswith("?")) == 1  # one big blob, shared by the commits
    assert [(p.path, p.stage) for p in summary.problems] == [("data/big.bin", "mine")]
    # mined again with the history there: nothing fetched; and the corpus names the git directory
    again = mine(settings_for(tmp_path, api_url=fake_github.base_url, spec=spec, history=True))
    assert again.rows[0] == row
    from miner.corpus import mined_repositories
    assert [(r.git_dir, r.history) for r in mined_repositories(tmp_path / "corpus")] == [(kept, "complete")]


def test_a_corpus_mined_without_history_is_fetched_again_with_it(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "r", {"a.py": "1\n"}, commits=2)
    mine(settings_for(tmp_path, from_local=tmp_path / "src"))
    mine(settings_for(tmp_path, from_local=tmp_path / "src", history=True))
    row = _rows(tmp_path / "corpus")["r"]
    assert (row["n_commits"], row["history"]) == ("2", "complete")
