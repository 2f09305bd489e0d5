"""Tests of analysis/history/commits.py: histories of small repositories, commit by commit, each distinct file once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from analysis.ftypes import HistoryOptions
from analysis.history import commits as commits_mod
from analysis.history.commits import HistoryResult
from tests.analysis.history.histories import CONDA, LOG, METRIC, MLPROJECT, PLAIN, make_history, walk
from tests.conftest import git


def _by_commit(res: HistoryResult) -> dict[str, dict[str, object]]:
    return {r.commit: vars(r) for r in res.history}


def _apis(res: HistoryResult, commit: str) -> dict[tuple[str, str], int]:
    return {(u.api, u.kind): u.n_call_sites for u in res.api_usage if u.commit == commit}


def test_adoption_then_abandonment_commit_by_commit(tmp_path: Path) -> None:
    shas = make_history(tmp_path / "r", [
        {"train.py": PLAIN},  # before MLflow
        {"train.py": LOG},  # adoption
        {"eval.py": METRIC, "nb.ipynb": '{"cells": [{"cell_type": "code", "source": "import mlflow\\n'
                                         'mlflow.log_metric(\'x\', 1)"}], "metadata": {}, "nbformat": 4}'},
        {"train.py": PLAIN, "eval.py": None, "nb.ipynb": None},  # abandoned
    ])
    res = walk(tmp_path / "r")
    rows = [(r.commit, r.parent, r.n_py_files, r.n_notebooks, r.n_call_sites, r.n_param, r.n_metric)
            for r in res.history]
    assert rows == [(shas[0], "", 1, 0, 0, 0, 0), (shas[1], shas[0], 1, 0, 1, 1, 0), (shas[2], shas[1], 2, 1, 3, 1, 2),
                    (shas[3], shas[2], 1, 0, 0, 0, 0)]
    assert res.history[0].committed_at == "2023-01-02T12:00:00+00:00"
    assert _apis(res, shas[2]) == {("mlflow.log_param", "code"): 1, ("mlflow.log_metric", "code"): 1,
                                   ("mlflow.log_metric", "notebook"): 1}
    assert _apis(res, shas[3]) == {} and _apis(res, shas[0]) == {}
    assert res.problems == []


def test_a_renamed_file_keeps_its_call_sites_and_is_not_analyzed_again(tmp_path: Path) -> None:
    shas = make_history(tmp_path / "r", [{"train.py": LOG}, {"train.py": None, "src/train_model.py": LOG}])
    res = walk(tmp_path / "r")
    assert [(r.n_py_files, r.n_call_sites, r.changes_code) for r in res.history] == [(1, 1, True), (1, 1, True)]
    assert _apis(res, shas[1]) == {("mlflow.log_param", "code"): 1}
    assert (res.n_blobs, res.n_parsed) == (1, 1)  # one blob, at two paths


def test_a_file_broken_at_some_commits_is_one_problem_row_per_blob(tmp_path: Path) -> None:
    broken = "import mlflow\nmlflow.log_param('a', 1)\ndef f(:\n    pass\n"
    shas = make_history(tmp_path / "r", [
        {"train.py": LOG},
        {"train.py": broken},  # broken here ...
        {"other.py": PLAIN},  # ... still broken (the same blob) ...
        {"copy/train.py": broken},  # ... and copied: the same blob again
        {"train.py": LOG, "copy/train.py": None},  # fixed
    ])
    res = walk(tmp_path / "r")
    assert [(p.commit, p.path, p.stage) for p in res.problems] == [(shas[1], "train.py", "parse")]
    assert res.problems[0].blob == git("rev-parse", f"{shas[1]}:train.py", cwd=tmp_path / "r").strip()
    assert "syntax error" in res.problems[0].reason and res.problems[0].line == 3
    # read in part, as at HEAD: the statements around the error still count
    assert [r.n_call_sites for r in res.history] == [1, 1, 1, 2, 1]


def test_an_mlproject_added_later_and_the_requirement_it_names(tmp_path: Path) -> None:
    shas = make_history(tmp_path / "r", [
        {"train.py": LOG},
        {"train.py": LOG + "# tuned\n"},
        {"MLproject": MLPROJECT, "conda.yaml": CONDA},
        {"conda.yaml": CONDA.replace("2.9.2", "2.10.0"), "train.py": LOG + "# again\n"},
        {"sub/mlproject": MLPROJECT},
    ])
    res = walk(tmp_path / "r")
    got = [(r.n_mlproject_files, r.mlflow_requirement, r.changes_code, r.changes_mlproject_env) for r in res.history]
    assert got == [(0, "", True, False), (0, "", True, False), (1, "mlflow==2.9.2", False, True),
                   (1, "mlflow==2.10.0", True, True), (2, "mlflow==2.10.0", False, True)]
    assert res.history[2].commit == shas[2]


def test_the_requirement_follows_includes_and_files_an_mlproject_names(tmp_path: Path) -> None:
    make_history(tmp_path / "r", [
        {"requirements.txt": "-r base/deps.in\n", "base/deps.in": "mlflow>=2\n"},
        {"base/deps.in": "mlflow==2.3.1\n"},  # only the included file changes: read again
        {"MLproject": "name: p\nconda_env: envs/mine.yml\nentry_points:\n  main:\n    command: python t.py\n",
         "envs/mine.yml": "dependencies:\n  - mlflow=1.30.0\n"},
    ])
    res = walk(tmp_path / "r")
    assert [r.mlflow_requirement for r in res.history] == ["mlflow>=2", "mlflow==2.3.1", "mlflow=1.30.0;mlflow==2.3.1"]
    assert [r.changes_mlproject_env for r in res.history] == [True, True, True]


def test_a_local_mlflow_module_shadows_mlflow_from_the_commit_it_appears(tmp_path: Path) -> None:
    make_history(tmp_path / "r", [{"train.py": LOG}, {"mlflow.py": "x = 1\n"}, {"mlflow.py": None}])
    res = walk(tmp_path / "r")
    assert [r.n_call_sites for r in res.history] == [1, 0, 1]


def test_submodules_and_symlinks(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    make_history(inner, [{"a.py": LOG}])
    shas = make_history(tmp_path / "r", [{"train.py": LOG}])
    git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "vendor/inner", cwd=tmp_path / "r")
    (tmp_path / "r" / "link.py").symlink_to("train.py")
    git("add", "-A", cwd=tmp_path / "r")
    git("commit", "-q", "-m", "submodule", cwd=tmp_path / "r")
    res = walk(tmp_path / "r")
    head = res.history[-1]
    assert (head.n_py_files, head.n_call_sites) == (1, 1)  # the symlink is not a file of its own, as at HEAD
    assert [(p.path, p.stage) for p in res.problems] == [("vendor/inner", "history")]
    assert "submodule" in res.problems[0].reason and res.problems[0].commit != shas[0]


def test_every_since_and_max_commits_choose_commits_and_say_what_was_left_out(tmp_path: Path) -> None:
    shas = make_history(tmp_path / "r", [{"train.py": LOG + f"# {i}\n"} for i in range(10)], start="2023-01-25",
                        days_apart=3)  # Jan 25, 28, 31, Feb 3 ... Feb 21
    monthly = walk(tmp_path / "r", HistoryOptions(every="month"))
    assert [r.commit for r in monthly.history] == [shas[2], shas[9]]  # the last of January, the last (HEAD) of February
    assert [r.changes_code for r in monthly.history] == [True, True] and monthly.problems == []
    weekly = walk(tmp_path / "r", HistoryOptions(every="week"))
    assert weekly.history[-1].commit == shas[9] and len(weekly.history) == 5
    since = walk(tmp_path / "r", HistoryOptions(since="2023-02-10"))
    assert [r.commit for r in since.history] == shas[6:]
    capped = walk(tmp_path / "r", HistoryOptions(max_commits=3))
    assert [r.commit for r in capped.history] == shas[7:]  # the newest kept
    assert [(p.commit, p.stage) for p in capped.problems] == [(shas[7], "history")]
    assert "10 commits selected, over --max-commits 3" in capped.problems[0].reason
    assert capped.history[0].n_call_sites == 1  # the first kept commit sees the whole tree


def test_a_tree_that_cannot_be_read_costs_its_commit_only(tmp_path: Path) -> None:
    shas = make_history(tmp_path / "r", [{"train.py": LOG}, {"sub/eval.py": METRIC}, {"other.py": PLAIN}])
    repo = tmp_path / "r"
    sub_tree = git("rev-parse", f"{shas[1]}:sub", cwd=repo).strip()
    (repo / ".git" / "objects" / sub_tree[:2] / sub_tree[2:]).unlink()  # git gc has not run: loose objects
    res = walk(repo)
    assert [r.commit for r in res.history] == [shas[0]]  # the sub tree is in both later commits
    assert [(p.commit, p.stage) for p in res.problems] == [(shas[1], "history"), (shas[2], "history")]
    assert "tree cannot be read" in res.problems[0].reason


def test_a_blob_missing_from_a_partial_clone_is_a_problem_row_not_a_fetch(tmp_path: Path) -> None:
    make_history(tmp_path / "src", [{"train.py": LOG}, {"big.py": LOG + "#" * 5000 + "\n"}])
    git("config", "uploadpack.allowFilter", "true", cwd=tmp_path / "src")
    partial = tmp_path / "partial.git"
    git("clone", "-q", "--bare", "--filter=blob:limit=1k", (tmp_path / "src").as_uri(), str(partial))
    head = git("rev-parse", "HEAD", cwd=tmp_path / "src").strip()
    from tests.analysis.history.histories import analyzer
    from analysis.history.commits import HistoryTask
    res = analyzer().analyze(HistoryTask("o/r", str(partial), head, "complete"))
    assert [(p.path, p.stage, p.reason) for p in res.problems] == [
        ("big.py", "read", "object missing from the clone (partial clone or snapshot)")]
    assert [r.n_call_sites for r in res.history] == [1, 1]


def test_each_distinct_blob_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []
    real = commits_mod.FILE_PASSES["python"][-1]
    from analysis.passes import code_findings
    original = code_findings.python_findings

    def counting(data: bytes, *args: object, **kw: object) -> object:
        parsed.append(data)
        return original(data, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(code_findings, "python_findings", counting)
    assert real is code_findings.file_pass
    versions = [LOG + f"# v{i}\n" for i in range(3)]
    # 12 commits, 3 distinct contents of train.py that come and go, one renamed copy, a file without MLflow
    make_history(tmp_path / "r", [{"train.py": versions[i % 3], "n.py": PLAIN + f"# {i}\n"} for i in range(12)]
                 + [{"again/train.py": versions[0]}])
    res = walk(tmp_path / "r")
    assert len(res.history) == 13
    assert sorted(parsed) == sorted(v.encode() for v in versions)  # each distinct blob parsed once
    assert res.n_parsed == 3


def test_no_module_graph_facts_nor_seeds_are_worked_out_for_a_commit(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """History keeps call sites per commit: the module graph's facts and the seeds, which only HEAD's graphs
    and reproducibility row use, are not worked out for its blobs (the same rows without them)."""
    from analysis.passes import code_findings

    make_history(tmp_path / "r", [{"train.py": LOG, "util.py": PLAIN}, {"eval.py": METRIC, "train.py": PLAIN}])
    expected = walk(tmp_path / "r")
    for name in ("module_facts", "sets_seed"):
        monkeypatch.setattr(code_findings, name, lambda *a, _n=name: pytest.fail(f"{_n} called by history"))
    res = walk(tmp_path / "r")
    assert [vars(r) for r in res.history] == [vars(r) for r in expected.history]
    assert [r.n_call_sites for r in res.history] == [1, 1]


def test_a_worker_reuses_the_blobs_of_the_repository_before_whose_entries_are_not_written_yet(tmp_path: Path) -> None:
    from analysis.engine.cache import ResultCache
    from analysis.history.commits import HistoryTask
    from tests.analysis.history.histories import analyzer

    shared = [LOG + f"# shared {i}\n" for i in range(2)]
    heads = {name: make_history(tmp_path / name, [{"a.py": shared[0]}, {"a.py": shared[1]}, {"a.py": LOG + extra}])[-1]
             for name, extra in (("first", "# 1\n"), ("second", "# 2\n"))}
    cache = tmp_path / ".cache.sqlite"
    ResultCache(cache).close()  # the driver's cache, which gets the first result only after the second started
    worker = analyzer(cache=cache)
    first, second = (worker.analyze(HistoryTask(f"o/{name}", str(tmp_path / name / ".git"), heads[name], "complete"))
                     for name in ("first", "second"))
    assert (first.n_parsed, second.n_parsed) == (3, 1)  # the second parsed its own last version only
    assert _apis(first, heads["first"]) == _apis(second, heads["second"])
    # without a cache (``--no-cache``) nothing is kept from one repository to the next
    alone = analyzer()
    assert [alone.analyze(HistoryTask(f"o/{name}", str(tmp_path / name / ".git"), heads[name], "complete")).n_parsed
            for name in ("first", "second")] == [3, 3]


def test_a_blob_whose_findings_are_cached_is_not_parsed_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another walk of the same histories (other options, a new history stage) reads each blob's findings from the
    cache without ``ast``'s parse either: the facts its scan gives are not kept for a commit."""
    from analysis.engine.cache import ResultCache
    from analysis.history.commits import HistoryTask
    from analysis.passes import code_findings
    from tests.analysis.history.histories import analyzer

    nb = '{"cells": [{"cell_type": "code", "source": "import mlflow\\nmlflow.log_metric(\'x\', 1)"}], "metadata": {}}'
    head = make_history(tmp_path / "r", [{"train.py": LOG}, {"eval.py": METRIC, "nb.ipynb": nb}, {"train.py": None}])[-1]
    task = HistoryTask("o/r", str(tmp_path / "r" / ".git"), head, "complete")
    cache = tmp_path / ".cache.sqlite"
    first = analyzer(cache=cache).analyze(task)
    db = ResultCache(cache)
    db.put(first.new_cache.items())
    db.close()
    for name in ("scan_python", "scan_notebook", "python_findings", "notebook_findings"):
        monkeypatch.setattr(code_findings, name, lambda *a, _n=name, **k: pytest.fail(f"{_n} called"))
    again = analyzer(cache=cache).analyze(task)
    assert (first.n_parsed, again.n_parsed) == (3, 0)
    assert [vars(r) for r in again.history] == [vars(r) for r in first.history]
    assert again.api_usage == first.api_usage and [r.n_call_sites for r in again.history] == [1, 3, 2]


def test_head_rows_equal_what_the_census_finds_at_head(tmp_path: Path) -> None:
    from analysis.engine.analyzer import RepoAnalyzer
    from analysis.passes.mlflow_calls import Resolver
    from analysis.releases.catalog import load_snapshot
    from analysis.repo_state import RepoTask
    from collections import Counter
    make_history(tmp_path / "r", [{"a.py": LOG}, {"b.py": METRIC, "pkg/__init__.py": "", "pkg/mlflow_utils.py":
                                                 "from mlflow import *\n"},
                                  {"c.py": "from pkg.mlflow_utils import log_param\nlog_param('x', 1)\n"}])
    res = walk(tmp_path / "r")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path / "r", capture_output=True, text=True).stdout.strip()
    census = RepoAnalyzer(Resolver.from_catalog(load_snapshot()), "x").analyze(RepoTask("o/r", str(tmp_path / "r"), head))
    assert Counter(s.site.api for s in census.call_sites) == {a: n for (a, _k), n in _apis(res, head).items()}
    assert res.history[-1].n_call_sites == len(census.call_sites) == 3


def test_a_blob_outcome_kept_under_the_history_stamp_spares_another_walk_its_reads_and_passes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cache and a ``history`` stamp, each blob's outcome is kept: a walk with other options
    (here every commit, then the last of each week) neither reads a code blob nor runs a pass, and gives
    the rows a walk without the cache gives; under another stamp (other code) nothing is taken. A blob a
    partial clone lacks is not kept: a later fetch may bring it."""
    from analysis.engine.cache import ResultCache
    from analysis.history import gitlog
    from analysis.history.commits import HistoryAnalyzer, HistoryTask
    from tests.analysis.history.histories import analyzer

    nb = '{"cells": [{"cell_type": "code", "source": "import mlflow\\nmlflow.log_metric(\'x\', 1)"}], "metadata": {}}'
    make_history(tmp_path / "src", [{"train.py": LOG, "n.py": PLAIN}, {"eval.py": METRIC, "nb.ipynb": nb},
                                    {"train.py": LOG + "# 2\n"}, {"big.py": LOG + "#" * 5000 + "\n"},
                                    {"train.py": None}], days_apart=3)
    git("config", "uploadpack.allowFilter", "true", cwd=tmp_path / "src")
    repo = tmp_path / "partial.git"
    git("clone", "-q", "--bare", "--filter=blob:limit=1k", (tmp_path / "src").as_uri(), str(repo))
    head = git("rev-parse", "HEAD", cwd=tmp_path / "src").strip()
    task = HistoryTask("o/r", str(repo), head, "complete")
    cache = tmp_path / ".cache.sqlite"
    base = analyzer(cache=cache)

    def run(stamp: str, every: str = "commit") -> HistoryResult:
        res = HistoryAnalyzer(base.resolver, base.fingerprint, HistoryOptions(every=every), cache_path=cache,
                              stamp=stamp).analyze(task)
        db = ResultCache(cache)
        db.put(res.new_cache.items())
        db.close()
        return res

    first = run("s1")
    assert sum(k.startswith("outcome:") for k in first.new_cache) == 5  # n.py, eval.py, nb.ipynb, train.py twice
    read: list[str] = []
    real_many = gitlog.BlobReader.read_many
    monkeypatch.setattr(gitlog.BlobReader, "read_many", lambda self, shas: real_many(self, read.extend(shas) or shas))
    monkeypatch.setattr(commits_mod, "FILE_PASSES", {k: (lambda *a: pytest.fail("a pass ran"),) for k in ("python", "notebook")})
    weekly = run("s1", "week")
    code = {git("rev-parse", f"HEAD~{n}:{p}", cwd=tmp_path / "src").strip() for n, p in
            ((4, "n.py"), (3, "eval.py"), (3, "nb.ipynb"), (4, "train.py"), (2, "train.py"))}
    assert not code & set(read) and weekly.n_parsed == 0
    monkeypatch.undo()
    alone = analyzer(HistoryOptions(every="week")).analyze(task)  # no cache
    assert [vars(r) for r in weekly.history] == [vars(r) for r in alone.history] and len(alone.history) < 5
    assert weekly.api_usage == alone.api_usage and weekly.problems == alone.problems
    assert [(p.path, p.stage) for p in weekly.problems] == [("big.py", "read")]  # still missing: asked again
    other = run("s2")  # other code: each blob through the passes again (their findings from the cache)
    kept = {k for k in other.new_cache if k.startswith("outcome:")}
    assert len(kept) == 5 and not kept & set(first.new_cache) and other.n_parsed == 0
