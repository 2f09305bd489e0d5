"""The engine alone: one checkout analyzed in this process, on a temporary directory, without a corpus."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import analysis.engine.analyzer as analyzer_module
from analysis.engine.analyzer import RepoAnalyzer, file_kind
from analysis.engine.cache import findings_from_json, findings_to_json
from analysis.ftypes import CallSite, FileFindings, LeftOut
from analysis.passes import (
    code_findings,
    environments,
    mlproject,
    project_kind,
    reproducibility,
    stored_runs,
    traceability,
)
from analysis.passes.registry import FILE_PASSES, REPO_PASSES, FilePass
from analysis.passes import code_findings
from analysis.passes.code_findings import NESTED
from analysis.passes.mlflow_calls import Resolver
from analysis.releases.catalog import catalog_for
from analysis.repo_state import Checkout, RepoResult, RepoTask, SourceFile
from analysis.rows import FileStatus
from analysis.tables import TABLES, flat, unflat


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> RepoAnalyzer:
    return RepoAnalyzer(Resolver.from_catalog(catalog_for({})), "test")


def checkout(root: Path, files: dict[str, str]) -> RepoTask:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return RepoTask("o/r", str(root), "0" * 40)


def test_one_checkout_in_process(analyzer: RepoAnalyzer, tmp_path: Path) -> None:
    task = checkout(tmp_path, {
        "train.py": "import mlflow\n\ndef main():\n    mlflow.log_metric('loss', 1.0)\n",
        "MLproject": "name: p\nentry_points:\n  main:\n    command: python train.py\n",
        "requirements.txt": "mlflow==2.9.0\n",
        "notes.txt": "mlflow\n",
    })
    result = analyzer.analyze(task)
    assert [(r.path, r.site.line, r.site.col, r.site.api, r.site.enclosing_function) for r in result.call_sites] == [
        ("train.py", 4, 4, "mlflow.log_metric", "main")]
    assert {f.path: f.status for f in result.files} == {
        "MLproject": FileStatus.ANALYZED, "notes.txt": FileStatus.NOT_ANALYZED,
        "requirements.txt": FileStatus.ANALYZED, "train.py": FileStatus.ANALYZED}
    assert [(e.mlproject_path, e.entry_point, e.script) for e in result.entry_points] == [("MLproject", "main", "train.py")]
    assert [(d.path, d.line, d.name, d.pin_class) for d in result.dependencies] == [("requirements.txt", 1, "mlflow", "exact")]
    assert result.reproducibility[0].repo == "o/r" and result.traceability[0].repo == "o/r"


def test_a_result_survives_the_cache_round_trip(analyzer: RepoAnalyzer, tmp_path: Path) -> None:
    task = checkout(tmp_path, {"a.py": "import mlflow\nmlflow.set_tracking_uri('http://h:5000')\n",
                               "bad.py": "import mlflow\ndef (:\n"})
    result = analyzer.analyze(task)
    again = RepoResult.from_json(result.to_json())
    for name in TABLES:
        assert getattr(again, name) == getattr(result, name), name
    assert [(p.path, p.stage) for p in again.problems] == [("bad.py", "parse")]


def test_a_worker_takes_a_file_the_repository_before_parsed_though_its_entry_is_not_written_yet(tmp_path: Path) -> None:
    from analysis.engine.cache import ResultCache

    shared = "import mlflow\nmlflow.log_param('a', 1)\n"
    first = checkout(tmp_path / "first", {"train.py": shared, "own.py": "import mlflow\nmlflow.log_metric('m', 1)\n"})
    second = dataclasses.replace(checkout(tmp_path / "second", {"copy/train.py": shared}), repo="o/copy")
    ResultCache(tmp_path / ".cache.sqlite").close()  # the driver's cache: it gets the first result after the second began
    worker = RepoAnalyzer(Resolver.from_catalog(catalog_for({})), "test", cache_path=tmp_path / ".cache.sqlite")
    one, two = worker.analyze(first), worker.analyze(second)
    assert (one.n_parsed, one.n_cached, two.n_parsed, two.n_cached) == (2, 0, 0, 1)
    assert [(f.path, f.cached) for f in two.files] == [("copy/train.py", True)]
    assert [(c.path, c.site.api) for c in two.call_sites] == [("copy/train.py", "mlflow.log_param")]
    alone = RepoAnalyzer(Resolver.from_catalog(catalog_for({})), "test")  # no cache: each parses its own
    assert [alone.analyze(t).n_parsed for t in (first, second)] == [2, 1]


def test_columns_come_from_the_row_types() -> None:
    from analysis.ftypes import CallSite
    assert TABLES["call_sites"].columns == ("repo", "path", *(f.name for f in dataclasses.fields(CallSite)))
    assert TABLES["uris"].columns[:4] == ("repo", "path", "cell", "line")
    row = TABLES["files"].row_type("o/r", "a.py", "python", 3, "analyzed", "", True)
    assert unflat(TABLES["files"].row_type, flat(row)) == row


def test_a_missing_checkout_fails_only_that_repository(analyzer: RepoAnalyzer, tmp_path: Path) -> None:
    result = analyzer.analyze_safely(RepoTask("o/gone", str(tmp_path / "gone"), ""))
    assert result.failed and [(p.stage, p.reason.split(":")[0]) for p in result.problems] == [
        ("analyze", "repository not analyzed")]


def test_committed_store_is_read_by_the_engine(analyzer: RepoAnalyzer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A run stored by MLflow's own FileStore in the checkout comes out as stored_* rows, with its entry point's
    declared parameters checked against the MLproject."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    task = checkout(tmp_path, {"MLproject": "name: p\nentry_points:\n  main:\n    parameters:\n      lr: float\n"
                                            "    command: python train.py {lr}\n", "train.py": "print(1)\n"})
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    run = client.create_run("0", tags={"mlflow.project.entryPoint": "main", "mlflow.source.name": "train.py"})
    client.log_param(run.info.run_id, "lr", "0.1")
    client.log_param(run.info.run_id, "epochs", "3")
    client.log_metric(run.info.run_id, "loss", 0.5, step=2)
    client.set_terminated(run.info.run_id, "FAILED")
    result = analyzer.analyze(task)
    assert [(s.store, s.kind, s.n_runs) for s in result.stores] == [("mlruns", "file", 1)]
    assert [(r.run_id, r.status, r.entry_point, r.source_in_repo) for r in result.stored_runs] == [
        (run.info.run_id, "FAILED", "main", "yes")]
    assert sorted((p.key, p.value, p.declared_in_mlproject) for p in result.stored_params) == [
        ("epochs", "3", "no"), ("lr", "0.1", "yes")]
    assert [(m.key, m.latest_value, m.latest_step) for m in result.stored_metrics] == [("loss", 0.5, 2)]


HOSTILE = {
    "plus_chain.py": "import mlflow\nx = " + "+".join(["1"] * 8000) + "\n",
    "attribute_chain.py": "import mlflow\nx = a" + ".b" * 8000 + "\n",
    "unary_chain.py": "import mlflow\nx = " + "-" * 8000 + "1\n",
    "deep_brackets.py": "import mlflow\nx = " + "[" * 1000 + "]" * 1000 + "\n",
    "nested_parens.py": "import mlflow\nx = " + "(" * 1000 + "1" + ")" * 1000 + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_file_too_nested_for_a_safe_parse_is_a_parse_problem(analyzer: RepoAnalyzer, tmp_path: Path,
                                                                name: str) -> None:
    """Inputs that crash or starve LibCST's native parser never reach it; the rest of the repository is read."""
    task = checkout(tmp_path, {name: HOSTILE[name], "ok.py": "import mlflow\nmlflow.log_param('a', 1)\n"})
    result = analyzer.analyze(task)
    assert [(p.path, p.stage, p.reason) for p in result.problems] == [(name, "parse", NESTED)]
    assert {f.path: f.status for f in result.files} == {name: FileStatus.PROBLEM, "ok.py": FileStatus.ANALYZED}
    assert [(c.path, c.site.line) for c in result.call_sites] == [("ok.py", 2)]


def test_a_module_too_large_for_libcst_keeps_its_graph_facts(analyzer: RepoAnalyzer, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # the bound lowered: a module of a million characters takes seconds to parse with ast alone
    monkeypatch.setattr(code_findings, "LIBCST_MAX_CHARS", 2_000)
    big = "import mlflow\n" + "mlflow.log_param('k', 1)\n" * (2_000 // 24 + 1)
    result = analyzer.analyze(checkout(tmp_path, {"gen.py": big}))
    assert [(p.path, p.stage, p.reason.split(" (")[0]) for p in result.problems] == [
        ("gen.py", "parse", "too large to parse safely")]
    assert result.call_sites == []


def test_an_environment_file_that_cannot_be_read_is_a_problem_file(analyzer: RepoAnalyzer, tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
    result = analyzer.analyze(checkout(tmp_path, {"conda.yaml": bomb, "environment.yml": "dependencies:\n  - numpy=1.2\n"}))
    status = {f.path: (f.status, f.reason.split(" (")[0]) for f in result.files}
    assert status["conda.yaml"][0] == FileStatus.PROBLEM and "alias" in status["conda.yaml"][1]
    assert status["environment.yml"] == (FileStatus.ANALYZED, "")
    assert [(p.path, p.stage) for p in result.problems] == [("conda.yaml", "environment")]


BROKEN = {  # a file with syntax errors: (source, its calls that are read, the parts left out)
    "error-at-the-end": ("import mlflow\nmlflow.set_experiment('e')\n\ndef train():\n    mlflow.log_param('a', 1)\n"
                         + "\n" * 155 + "x = 'never closed\n",
                         [(2, "mlflow.set_experiment"), (5, "mlflow.log_param")],
                         [(161, "line 161 skipped (syntax error at line 161)")]),
    "error-in-the-middle": ("import mlflow\nmlflow.start_run()\nx = (1,\nmlflow.log_metric('m', 1.0)\n"
                            "def f():\n    mlflow.log_param('p', 2)\n",
                            [(2, "mlflow.start_run"), (4, "mlflow.log_metric"), (6, "mlflow.log_param")],
                            [(3, "line 3 skipped (syntax error at line 3)")]),
    "unterminated-triple-quoted-string": ("import mlflow\ndef train():\n    mlflow.log_metric('a', 1)\n"
                                          "    '''never closed\n    mlflow.log_metric('b', 2)\nmlflow.end_run()\n",
                                          [(3, "mlflow.log_metric")],
                                          [(4, "lines 4-6 skipped (syntax error at line 4)")]),
    "python2-print": ("import mlflow\ndef train(epochs):\n    for epoch in range(epochs):\n        print 'epoch', epoch\n"
                      "        mlflow.log_metric('loss', 1.0, step=epoch)\n    print 'done'\nmlflow.log_param('a', 1)\n",
                      [(5, "mlflow.log_metric"), (7, "mlflow.log_param")],
                      [(4, "line 4 skipped (syntax error at line 4)"), (6, "line 6 skipped (syntax error at line 6)")]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_file_with_syntax_errors_is_read_in_part(analyzer: RepoAnalyzer, tmp_path: Path, name: str) -> None:
    """The calls of the statements that parse are found at the file's own lines; every error stays a problem
    row (stage parse, CPython's line) and files.csv says which lines were skipped."""
    source, calls, parts = BROKEN[name]
    result = analyzer.analyze(checkout(tmp_path, {"broken.py": source}))
    assert [(c.site.line, c.site.api) for c in result.call_sites] == calls
    assert [(p.line, p.stage) for p in result.problems] == [(line, "parse") for line, _ in parts]
    assert all(p.reason.startswith("syntax error: ") for p in result.problems)
    (row,) = result.files
    assert (row.status, row.reason) == (FileStatus.ANALYZED, "read in part: " + "; ".join(s for _, s in parts))


def test_a_python2_file_read_in_part_says_so_in_its_problem_rows(analyzer: RepoAnalyzer, tmp_path: Path) -> None:
    source, _calls, _parts = BROKEN["python2-print"]
    result = analyzer.analyze(checkout(tmp_path, {"old.py": source}))
    assert [p.reason for p in result.problems] == [
        "syntax error: Missing parentheses in call to 'print'. Did you mean print(...)? (Python 2 syntax?)"] * 2
    in_loop = result.call_sites[0].site
    assert (in_loop.enclosing_function, in_loop.in_loop, in_loop.has_step) == ("train", True, True)


def test_a_file_of_which_nothing_parses_stays_a_problem_file(analyzer: RepoAnalyzer, tmp_path: Path) -> None:
    shell = "# serve it\nmlflow models serve -m runs:/abc/model -p 8787\ncurl http://localhost:8787/invocations\n"
    result = analyzer.analyze(checkout(tmp_path, {"notes.py": shell}))
    assert [(f.status, f.reason.split(":")[0]) for f in result.files] == [(FileStatus.PROBLEM, "syntax error")]
    assert [(p.line, p.stage) for p in result.problems] == [(2, "parse")]
    assert result.call_sites == []


def test_what_was_left_out_survives_the_findings_cache() -> None:
    findings = FileFindings(call_sites=(CallSite(None, 2, 0, "mlflow.start_run", "run", "fluent", "", False, False,
                                                 "none", "", False, 0),))
    bad = [LeftOut(3, "syntax error: x", "line 3 skipped (syntax error at line 3)")]
    assert findings_from_json(findings_to_json(findings, bad)) == (findings, bad)


@pytest.mark.parametrize(("rel", "kind", "passes"), [
    pytest.param("pkg/train.py", "python", (environments.file_pass, code_findings.file_pass), id="python"),
    pytest.param("setup.py", "python", (environments.file_pass, code_findings.file_pass), id="setup.py"),
    pytest.param("nb/explore.ipynb", "notebook", (code_findings.file_pass,), id="notebook"),
    pytest.param("MLproject", "mlproject", (mlproject.file_pass,), id="mlproject"),
    pytest.param("requirements-dev.txt", "environment", (environments.file_pass,), id="requirements"),
    pytest.param("conda.yaml", "environment", (environments.file_pass,), id="conda"),
    pytest.param("python_env.yaml", "environment", (environments.file_pass,), id="python_env"),
    pytest.param("pyproject.toml", "environment", (environments.file_pass,), id="pyproject"),
    pytest.param("docker/Dockerfile", "environment", (environments.file_pass,), id="dockerfile"),
    pytest.param("scripts/run.sh", "config", (code_findings.file_pass,), id="shell"),
    pytest.param(".env", "config", (code_findings.file_pass,), id="env-file"),
    pytest.param("README.md", "other", (), id="other"),
])
def test_the_file_kind_table_gives_each_kind_its_passes(rel: str, kind: str, passes: tuple[FilePass, ...]) -> None:
    assert file_kind(rel) == kind
    assert FILE_PASSES.get(kind, ()) == passes


def test_the_file_stage_dispatches_by_the_table(analyzer: RepoAnalyzer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str, bytes]] = []

    def recorder(name: str) -> FilePass:
        def file_pass(file: SourceFile, checkout: Checkout, result: RepoResult) -> None:
            seen.append((name, file.row.path, file.data))
        return file_pass

    table = {kind: (recorder(kind),) for kind in ("python", "notebook", "config", "mlproject", "environment")}
    table["python"] = (recorder("python"), recorder("python again"))
    monkeypatch.setattr(analyzer_module, "FILE_PASSES", table)
    monkeypatch.setattr(analyzer_module, "REPO_PASSES", ())
    task = checkout(tmp_path, {"a.py": "x = 1\n", "b.ipynb": "{}", "run.sh": "echo\n", "MLproject": "name: p\n",
                               "requirements.txt": "numpy\n", "notes.txt": "mlflow\n"})
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    result = analyzer.analyze(task)
    assert seen == [("mlproject", "MLproject", b"name: p\n"), ("python", "a.py", b"x = 1\n"),
                    ("python again", "a.py", b"x = 1\n"), ("notebook", "b.ipynb", b"{}"),
                    ("environment", "requirements.txt", b"numpy\n"), ("config", "run.sh", b"echo\n")]
    assert {f.path: f.status for f in result.files if f.status} == {
        "link.py": FileStatus.SKIPPED, "notes.txt": FileStatus.NOT_ANALYZED}  # the recorders set none


def test_the_repository_passes_in_order() -> None:
    assert REPO_PASSES == (environments.repo_pass, stored_runs.repo_pass, reproducibility.repo_pass,
                           traceability.repo_pass, project_kind.repo_pass)


def os_walk_order(root: Path) -> list[tuple[str, bool]]:
    """The listing's entries as ``os.walk`` (top down, no links followed) gives them, asked of the file system."""
    out = []
    for dirpath, dirnames, filenames in __import__("os").walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        prefix = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        out += [(prefix + n, (Path(dirpath) / n).is_symlink()) for n in sorted(filenames)]
        out += [(prefix + n, True) for n in dirnames if (Path(dirpath) / n).is_symlink()]
    return out


def test_the_listing_is_os_walks_with_each_link_told(tmp_path: Path) -> None:
    for rel in ("b.py", "a/z.py", "a/b/c.txt", "ab/x.py", "a-b/y.py", ".git/HEAD", "sub/.git", "A/Z.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    (tmp_path / "a" / "to_dir").symlink_to(tmp_path / "ab")  # a link to a directory: listed, not entered
    (tmp_path / "a" / "to_file.py").symlink_to(tmp_path / "b.py")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    listed = [(rel, link) for rel, _path, link in analyzer_module.listing(tmp_path)]
    assert listed == os_walk_order(tmp_path)
    assert listed == [("b.py", False), ("dangling", True), ("A/Z.py", False), ("a/to_file.py", True),
                      ("a/z.py", False), ("a/to_dir", True), ("a/b/c.txt", False), ("a-b/y.py", False),
                      ("ab/x.py", False), ("sub/.git", False)]


def test_the_checkout_knows_its_links_from_the_listing(tmp_path: Path, analyzer: RepoAnalyzer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    task = checkout(tmp_path, {"a.py": "import mlflow\nmlflow.log_param('a', 1)\n", "mlruns/0/meta.yaml": "x: 1\n"})
    (tmp_path / "b.py").symlink_to(tmp_path / "a.py")
    seen: list[Checkout] = []
    monkeypatch.setattr(analyzer_module, "REPO_PASSES", (lambda c, _r: seen.append(c),))
    monkeypatch.setattr(Path, "is_symlink", lambda self: pytest.fail(f"asked the file system of {self}"))
    result = analyzer.analyze(task)
    assert seen[0].symlinks == {"b.py"} and seen[0].py_files == ["a.py"]
    assert seen[0].is_symlink("b.py") and not seen[0].is_symlink("a.py")
    assert {f.path: (f.kind, f.status) for f in result.files}["b.py"] == ("symlink", FileStatus.SKIPPED)
