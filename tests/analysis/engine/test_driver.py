"""The analyze job end to end on tiny mined corpora: every file accounted for, bad input as rows."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.engine.analyzer import local_mlflow_dirs, mlflow_reexports
from analysis.engine.driver import AnalysisError, analyze
from analysis.ftypes import AnalyzeSettings
from analysis.passes.code_findings import NO_USE_REASON
from miner.fileio import read_csv
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo


def notebook(*cells: str, language: str = "python") -> str:
    return json.dumps({
        "cells": [{"cell_type": "markdown", "source": ["# title"]}]
        + [{"cell_type": "code", "source": c.splitlines(keepends=True), "outputs": []} for c in cells],
        "metadata": {"kernelspec": {"language": language, "name": language}}, "nbformat": 4, "nbformat_minor": 5,
    })


FILES: dict[str, str | bytes] = {
    "train.py": "import mlflow\nimport os\nos.environ['MLFLOW_TRACKING_URI'] = 'http://localhost:5000'\n"
                "mlflow.set_tracking_uri('sqlite:///mlflow.db')\nmlflow.log_metric('acc', 1)\n",
    "plain.py": "print('no tracking here')\n",
    "broken.py": "import mlflow\ndef f(:\n    pass\n",
    "py2.py": "import mlflow\nprint 'hello'\n",
    "latin.py": b"import mlflow\nx = '\xe9t\xe9'\n",
    "latin_declared.py": b"# -*- coding: latin-1 -*-\nimport mlflow\nmlflow.log_param('\xe9', 1)\n",
    "binary.py": b"mlflow\0\0\0binary",
    "nb.ipynb": notebook("%matplotlib inline\nimport mlflow", "!pip install mlflow\nmlflow.log_param('a', 1)",
                        "def broken(:\n    pass", "mlflow.log_metric('b', 2)"),
    "sql.ipynb": notebook("SELECT mlflow FROM t", language="sql"),
    "mentions.ipynb": notebook("# results are in mlflow\nimport pandas", "print('see the mlflow UI')"),
    "run_nb.ipynb": notebook("%run ./setup.ipynb", "mlflow.log_metric('x', 1)"),
    "env_nb.ipynb": notebook("import os", "%env MLFLOW_TRACKING_URI=http://tracking.example.org:5000\n%set_env OTHER 1"),
    "environ.py": "import os\nos.environ.setdefault('MLFLOW_TRACKING_URI', 'sqlite:///runs.db')\n"
                  "os.environ.update({'MLFLOW_TRACKING_URI': 'databricks'})\nos.putenv('MLFLOW_TRACKING_URI', 'file:./mlruns')\n",
    "timed.ipynb": notebook("%%time\nimport mlflow\nmlflow.log_param('t', 1)", "%time mlflow.log_metric('m', 1)"),
    "db_export.py": "# Databricks notebook source\n# MAGIC %run ./Common\n\n# COMMAND ----------\n\n"
                    "!pip install mlflow\nmlflow.start_run()\n",
    "lightning.py": "from pytorch_lightning.loggers import MLFlowLogger\n"
                    "logger = MLFlowLogger(experiment_name='e', tracking_uri='https://mlflow.example.org')\n"
                    "from transformers import TrainingArguments\nargs = TrainingArguments(report_to='mlflow')\n",
    ".env": "MLFLOW_TRACKING_URI=postgresql://u:p@db.example.org/mlflow\n",
    "run.sh": "export MLFLOW_TRACKING_URI=${TRACKING}\nmlflow run .\n",
    "docker-compose.yml": "services:\n  app:\n    environment:\n      - MLFLOW_TRACKING_URI=http://mlflow:5000\n",
    "mentions.py": "# tracked with mlflow elsewhere\nfrom mlflow_helpers import log_metric\nlog_metric('a', 1)\n",
    "env_only.py": "import os\nos.environ['MLFLOW_TRACKING_URI'] = 'file:./mlruns'\n",
    "data.csv": "a,b\n1,2\n",
    "proj/MLproject": "name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    parameters:\n      alpha: float\n"
                      "    command: python train.py {alpha}\n",
    "proj/conda.yaml": "dependencies: [python=3.10]\n",
    "bad/MLproject": "conda_env: missing.yaml\npython_env: p.yaml\n",
    "requirements.txt": "-r requirements.txt\nmlflow==2.9.2\nnumpy\n",
    "bin/requirements.txt": b"\x00\x01\x02binary",
    "latin/environment.yml": b"dependencies: [caf\xe9]\n",
    "link.py": "symlink:train.py",
}


def _corpus(tmp_path: Path, files: dict[str, str | bytes] = FILES) -> Path:
    make_repo(tmp_path / "src" / "r", files)
    corpus = tmp_path / "corpus"
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=corpus, from_local=tmp_path / "src", skip_mlflow=True))
    return corpus


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("analyze")
    corpus = _corpus(tmp)
    out = tmp / "out"
    summary = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False))
    return out, summary


def _rows(out: Path, name: str) -> list[dict[str, str]]:
    return read_csv(out / name)


def test_every_file_is_accounted_for(results: tuple[Path, object]) -> None:
    out, _ = results
    files = {r["path"]: (r["status"], r["reason"]) for r in _rows(out, "files.csv")}
    tracked = {p for p in FILES}
    assert set(files) == tracked
    assert files["train.py"][0] == "analyzed"
    assert files["plain.py"] == ("no-mlflow", "no 'mlflow' in the text: not parsed")
    assert files["mentions.py"] == ("no-mlflow-use", NO_USE_REASON)  # mentions mlflow, imports only a look-alike
    assert files["mentions.ipynb"] == ("no-mlflow-use", NO_USE_REASON)
    assert files["nb.ipynb"] == ("analyzed", "read in part: cell 3 skipped (syntax error at line 1 of the cell)")
    assert files["env_only.py"][0] == "analyzed"  # no import, but sets MLFLOW_TRACKING_URI
    assert files["lightning.py"][0] == "analyzed"  # imports an integration, not mlflow
    assert files["data.csv"][0] == "not-analyzed"
    assert files["binary.py"] == ("problem", "binary content")
    assert files["link.py"][0] == "skipped"
    assert files["sql.ipynb"] == ("skipped", "notebook language is sql")
    assert files["broken.py"] == ("analyzed", "read in part: lines 2-3 skipped (syntax error at line 2)")


def test_bad_input_becomes_problem_rows_with_lines(results: tuple[Path, object]) -> None:
    out, _ = results
    problems = {(r["path"], r["line"], r["stage"]): r["reason"] for r in _rows(out, "problems.csv")}
    assert problems[("broken.py", "2", "parse")].startswith("syntax error")
    assert "(Python 2 syntax?)" in problems[("py2.py", "2", "parse")]
    assert problems[("latin.py", "2", "read")] == "bytes not valid utf-8"
    assert problems[("binary.py", "", "read")] == "binary content"
    assert problems[("nb.ipynb", "1", "parse")].startswith("cell 3: syntax error")


def test_call_sites_in_code_notebooks_and_exports(results: tuple[Path, object]) -> None:
    out, _ = results
    calls = {(r["path"], r["cell"], r["line"], r["api"]) for r in _rows(out, "call_sites.csv")}
    assert ("train.py", "", "5", "mlflow.log_metric") in calls
    assert ("train.py", "", "4", "mlflow.set_tracking_uri") in calls
    assert ("latin_declared.py", "", "3", "mlflow.log_param") in calls
    assert ("nb.ipynb", "2", "2", "mlflow.log_param") in calls  # cell 2, line 2 of that cell
    assert ("nb.ipynb", "4", "1", "mlflow.log_metric") in calls  # after a cell that does not parse
    assert ("db_export.py", "", "7", "mlflow.start_run") in calls  # mlflow from %run, !pip neutralized
    assert ("run_nb.ipynb", "2", "1", "mlflow.log_metric") in calls  # mlflow from the notebook %run brings
    timed = {(r["cell"], r["line"], r["col"], r["api"]) for r in _rows(out, "call_sites.csv") if r["path"] == "timed.ipynb"}
    assert timed == {("1", "3", "0", "mlflow.log_param"), ("2", "1", "6", "mlflow.log_metric")}  # %%time, %time
    assert not any(c[0] == "link.py" for c in calls)


def test_integrations_and_tracking_uris(results: tuple[Path, object]) -> None:
    out, _ = results
    integrations = {(r["path"], r["line"], r["framework"], r["evidence"]) for r in _rows(out, "integrations.csv")}
    assert integrations == {("lightning.py", "2", "lightning", "call"),
                            ("lightning.py", "4", "huggingface", 'report_to="mlflow"')}
    uris = {(r["path"], r["line"], r["source"], r["scheme"], r["host_kind"]) for r in _rows(out, "tracking_uris.csv")}
    assert uris == {
        ("train.py", "3", "code", "http", "localhost"),
        ("train.py", "4", "code", "sqlite", "none"),
        ("env_only.py", "2", "code", "file", "none"),
        ("env_nb.ipynb", "1", "notebook", "http", "remote"),  # `%env` in the notebook's second code cell
        ("environ.py", "2", "code", "sqlite", "none"),
        ("environ.py", "3", "code", "databricks", "remote"),
        ("environ.py", "4", "code", "file", "none"),
        ("lightning.py", "2", "code", "https", "remote"),
        (".env", "1", "env-file", "postgresql", "remote"),
        ("run.sh", "1", "shell", "env-only", "none"),
        ("docker-compose.yml", "4", "compose", "http", "remote"),
    }


def test_mlproject_tables(results: tuple[Path, object]) -> None:
    out, _ = results
    projects = {r["path"]: r for r in _rows(out, "mlprojects.csv")}
    assert (projects["proj/MLproject"]["env_type"], projects["proj/MLproject"]["env_file"],
            projects["proj/MLproject"]["valid"]) == ("conda_env", "proj/conda.yaml", "true")
    assert projects["bad/MLproject"]["valid"] == "false"
    assert projects["bad/MLproject"]["error"].startswith("Project cannot contain multiple environment fields")
    eps = _rows(out, "entry_points.csv")
    assert [(e["mlproject_path"], e["entry_point"], e["script"], e["n_params"]) for e in eps] == [
        ("proj/MLproject", "main", "proj/train.py", "1")]
    params = _rows(out, "parameters.csv")
    assert [(p["name"], p["type"], p["required"], p["used_in_command"]) for p in params] == [
        ("alpha", "float", "true", "true")]
    problems = [(p["path"], p["stage"]) for p in _rows(out, "problems.csv")]
    assert ("bad/MLproject", "mlproject") in problems


def test_environment_tables(results: tuple[Path, object]) -> None:
    out, _ = results
    envs = {r["path"]: r for r in _rows(out, "environments.csv")}
    assert set(envs) == {"proj/conda.yaml", "requirements.txt"}
    assert (envs["proj/conda.yaml"]["referenced_by_mlproject"], envs["proj/conda.yaml"]["python_version"]) == ("true", "3.10")
    req = envs["requirements.txt"]
    assert (req["n_deps"], req["exact_share"], req["mlflow_pinned"], req["origin"]) == ("2", "0.5", "true", "project")
    deps = {(d["path"], d["line"], d["name"], d["pin_class"]) for d in _rows(out, "dependencies.csv")}
    assert deps == {("proj/conda.yaml", "", "python", "range"), ("requirements.txt", "2", "mlflow", "exact"),
                    ("requirements.txt", "3", "numpy", "unpinned")}
    problems = {(p["path"], p["line"], p["stage"]): p["reason"] for p in _rows(out, "problems.csv")}
    assert problems[("requirements.txt", "1", "environment")] == "recursive include of requirements.txt"
    assert problems[("bin/requirements.txt", "", "environment")] == "binary content"
    assert problems[("latin/environment.yml", "1", "environment")] == "bytes not valid utf-8"


def test_reproducibility_row(results: tuple[Path, object]) -> None:
    out, _ = results
    (row,) = _rows(out, "reproducibility.csv")
    assert (row["repo"], row["has_mlproject"], row["env_spec"], row["python_pinned"]) == ("r", "true", "conda", "true")
    assert (row["seeds_set"], row["data_logged"], row["params_logged"]) == ("false", "false", "true")
    assert (row["n_deps"], row["pinned_share"], row["mlflow_pinned"]) == ("2", "0.5", "true")
    assert 0 < float(row["readiness"]) < 1


def test_outputs_carry_provenance(results: tuple[Path, object]) -> None:
    out, _ = results
    for name in ("call_sites.csv", "files.csv", "problems.csv", "api_catalog.csv", "tracking_uris.csv"):
        prov = json.loads((out / f"{name}.provenance.json").read_text())
        assert prov["tool_version"] and prov["manifest_sha256"] and prov["commits"]["r"]
        assert prov["catalog_origin"] == "snapshot"


def test_second_run_parses_nothing_and_gives_the_same_rows(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "out", draw_report=False)
    first = analyze(settings)
    names = ("call_sites.csv", "problems.csv", "integrations.csv", "tracking_uris.csv")
    before = {n: (tmp_path / "out" / n).read_text() for n in names}
    files_before = [{k: v for k, v in r.items() if k != "cached"} for r in read_csv(tmp_path / "out" / "files.csv")]
    second = analyze(settings)
    assert first.n_parsed > 0 and second.n_parsed == 0 and second.n_cached == first.n_parsed
    assert {n: (tmp_path / "out" / n).read_text() for n in names} == before
    files_after = read_csv(tmp_path / "out" / "files.csv")
    assert [{k: v for k, v in r.items() if k != "cached"} for r in files_after] == files_before
    assert {r["path"] for r in files_after if r["cached"] == "true"} >= {"train.py", "nb.ipynb"}


def test_parallel_jobs_give_the_same_rows(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"a.py": "import mlflow\nmlflow.log_param('a', 1)\n"})
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    one = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o1", jobs=1, use_cache=False, draw_report=False))
    two = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o2", jobs=2, use_cache=False, draw_report=False))
    assert one.n_call_sites == two.n_call_sites == 2
    assert (tmp_path / "o1" / "call_sites.csv").read_text() == (tmp_path / "o2" / "call_sites.csv").read_text()


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_is_over_files(tmp_path: Path, jobs: int) -> None:
    make_repo(tmp_path / "src" / "a", {f"m{i}.py": f"import mlflow\nmlflow.log_param('p{i}', 1)\n" for i in range(30)})
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\n", "README.md": "x\n"})
    calls: list[tuple[str, int, int]] = []
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", jobs=jobs, draw_report=False)
    analyze(settings, lambda repo, done, total: calls.append((repo, done, total)))
    n_files = len(read_csv(tmp_path / "o" / "files.csv"))
    assert n_files == 32
    assert calls[-1][1:] == (n_files, n_files)
    assert all(done <= total for _r, done, total in calls)
    assert [done for _r, done, _t in calls] == sorted(done for _r, done, _t in calls)
    assert {repo for repo, _d, _t in calls} >= {"a", "r"}
    # a second run takes every repository from the cache: its files count as done at once
    calls.clear()
    analyze(settings, lambda repo, done, total: calls.append((repo, done, total)))
    assert calls[-1][1:] == (n_files, n_files)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_repository_a_pass_fails_on_is_a_problem_row_and_is_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    import analysis.passes.traceability as engine_module

    make_repo(tmp_path / "src" / "bad", {"a.py": "import mlflow\nmlflow.log_param('a', 1)\n"})
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    real = engine_module.build_graph

    def fails_on_bad(repo: str, *args: object) -> object:
        if repo == "bad":
            raise RecursionError("maximum recursion depth exceeded")
        return real(repo, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "build_graph", fails_on_bad)
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", jobs=jobs, draw_report=False)
    summary = analyze(settings)
    assert summary.failed == ("bad",)
    problems = read_csv(tmp_path / "o" / "problems.csv")
    assert [(p["repo"], p["path"], p["stage"]) for p in problems] == [("bad", "", "analyze")]
    assert problems[0]["reason"] == "repository not analyzed: RecursionError: maximum recursion depth exceeded"
    assert {c["repo"] for c in read_csv(tmp_path / "o" / "call_sites.csv")} == {"r"}  # the other one is whole
    # left out of the statistics' populations, not counted as a repository that logs nothing
    eligible = {p["population"]: p["n_eligible"] for p in read_csv(tmp_path / "o" / "practices.csv")
                if p["practice"] == "logs params"}
    assert (eligible["one-per-family"], eligible["all"]) == ("1", "1")
    assert sum(int(eligible[k]) for k in ("teaching", "library", "application")) == 1  # a partition of the one
    monkeypatch.setattr(engine_module, "build_graph", real)
    again = analyze(settings)  # the failure was not cached: the repository is analyzed this time
    assert again.failed == () and {c["repo"] for c in read_csv(tmp_path / "o" / "call_sites.csv")} == {"bad", "r"}


def test_a_missing_checkout_is_a_failed_repository_not_an_empty_one(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    shutil.rmtree(corpus / "repos" / "r")
    summary = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", draw_report=False))
    assert summary.failed == ("r",) and summary.n_files == 0
    problem = read_csv(tmp_path / "o" / "problems.csv")[0]
    assert (problem["repo"], problem["stage"]) == ("r", "analyze") and "is missing (mine the corpus again)" in problem["reason"]


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="manifest.csv: no manifest"):
        analyze(AnalyzeSettings(corpus_dir=tmp_path, out_dir=tmp_path / "o", draw_report=False))


def test_huge_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"big.py": "import mlflow\n" + "x = 1\n" * 2000,
                                "conda.yaml": "dependencies:\n" + "  - numpy\n" * 2000})
    settings = replace(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", draw_report=False), max_file_bytes=1000)
    analyze(settings)
    problems = read_csv(tmp_path / "o" / "problems.csv")
    assert [(p["path"], p["stage"]) for p in problems] == [("big.py", "read"), ("conda.yaml", "read")]
    assert problems[0]["reason"].startswith("file too large")


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["mlflow.py", "train.py"], {"."}),
        (["pkg/__init__.py", "pkg/mlflow.py"], set()),
        (["scripts/mlflow/__init__.py", "scripts/run.py"], {"scripts"}),
        (["app/__init__.py", "app/mlflow/__init__.py"], set()),
    ],
)
def test_local_mlflow_dirs(paths: list[str], expected: set[str]) -> None:
    assert local_mlflow_dirs(paths) == expected


def test_mlflow_reexports(tmp_path: Path) -> None:
    (tmp_path / "src" / "mylib").mkdir(parents=True)
    (tmp_path / "src" / "mylib" / "mlflow.py").write_text("from mlflow import *\n")
    (tmp_path / "src" / "mylib" / "other_mlflow.py").write_text("import mlflow\n")
    got = mlflow_reexports(tmp_path, ["src/mylib/mlflow.py", "src/mylib/other_mlflow.py"])
    assert got == frozenset({"src.mylib.mlflow", "mylib.mlflow"})


def test_twenty_megabyte_environment_file_and_non_utf8_mlproject(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"environment.yml": "dependencies:\n" + "  - numpy\n" * 2_000_000,
                                "MLproject": b"name: caf\xe9\nentry_points: {}\n", "a.py": "x = 1\n"})
    analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", draw_report=False))
    problems = {(p["path"], p["stage"]): p["reason"] for p in read_csv(tmp_path / "o" / "problems.csv")}
    assert problems[("environment.yml", "read")].startswith("file too large (20000014 bytes)")
    assert problems[("MLproject", "mlproject")] == "bytes not valid utf-8 at line 1"
    files = {f["path"]: f["status"] for f in read_csv(tmp_path / "o" / "files.csv")}
    assert files == {"environment.yml": "problem", "MLproject": "problem", "a.py": "no-mlflow"}


def test_notebook_cells_are_their_index_in_the_cells_list_and_bad_sources_are_problems(tmp_path: Path) -> None:
    def cells(*listed: tuple[str, object]) -> str:
        return json.dumps({"cells": [{"cell_type": k, "source": s, "metadata": {}} for k, s in listed],
                           "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    corpus = _corpus(tmp_path, {
        "doc.ipynb": cells(("markdown", "# Title"), ("markdown", ["intro"]), ("code", "import mlflow"),
                           ("markdown", "## Train"), ("code", ["x = 1\n", "mlflow.log_metric('m', x)\n"])),
        "null.ipynb": cells(("markdown", "# T"), ("code", "import mlflow"), ("code", None)),
        "number.ipynb": cells(("code", 7), ("code", "import mlflow\nmlflow.log_param('p', 1)")),
    })
    analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", jobs=1, draw_report=False))
    calls = {(c["path"], c["cell"], c["line"], c["api"]) for c in read_csv(tmp_path / "o" / "call_sites.csv")}
    assert calls == {("doc.ipynb", "4", "2", "mlflow.log_metric")}  # the fifth cell of the notebook, line 2 of it
    problems = {p["path"]: (p["stage"], p["reason"]) for p in read_csv(tmp_path / "o" / "problems.csv")}
    assert problems == {
        "null.ipynb": ("read", "cell 2: source is null, not text (nbformat: a string or a list of strings): notebook not read"),
        "number.ipynb": ("read", "cell 0: source is a number, not text (nbformat: a string or a list of strings): "
                                 "notebook not read"),
    }
    files = {f["path"]: f["status"] for f in read_csv(tmp_path / "o" / "files.csv")}
    assert files == {"doc.ipynb": "analyzed", "null.ipynb": "problem", "number.ipynb": "problem"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_worker_killed_by_a_file_costs_that_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         jobs: int) -> None:
    """A native crash while parsing one file (here a real SIGSEGV of the worker) is retried without that file."""
    import os
    import signal

    import analysis.passes.code_findings as code_pass
    from analysis.engine.analyzer import CRASHED

    make_repo(tmp_path / "src" / "boom", {"boom.py": "import mlflow  # SEGV\nmlflow.log_param('x', 1)\n",
                                          "fine.py": "import mlflow\nmlflow.log_metric('m', 1)\n"})
    make_repo(tmp_path / "src" / "calm", {"c.py": "import mlflow\nmlflow.log_param('c', 1)\n"})
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    real = code_pass.python_findings

    def crashes_on_marker(data: bytes, *args: object) -> object:
        if b"# SEGV" in data:
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(code_pass, "python_findings", crashes_on_marker)
    summary = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", jobs=jobs, draw_report=False))
    assert summary.failed == ()
    problems = read_csv(tmp_path / "o" / "problems.csv")
    assert [(p["repo"], p["path"], p["stage"], p["reason"]) for p in problems] == [
        ("boom", "boom.py", "parse", CRASHED)]
    calls = {(c["repo"], c["path"], c["line"]) for c in read_csv(tmp_path / "o" / "call_sites.csv")}
    assert calls == {("boom", "fine.py", "2"), ("calm", "c.py", "2"), ("r", "b.py", "2")}
    assert not (tmp_path / "o" / ".in-flight").exists()


def test_a_read_only_output_directory_is_refused_before_any_work(tmp_path: Path) -> None:
    import os

    from analysis.engine.driver import AnalysisError
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root): the kernel grants the write")
        with pytest.raises(AnalysisError, match="cannot write the results there"):
            analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False))
    finally:
        out.chmod(0o700)


def test_a_failed_write_keeps_the_previous_set_and_leaves_no_temporary_file(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.statistics.community as statistics_module  # practices.csv is written there
    from analysis.engine.driver import OutputError
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", draw_report=False)
    analyze(settings)
    # a stamp that matches nothing: the next run writes every table again (from the cache)
    (tmp_path / "o" / ".tables.json").write_text("{}")
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir() if p.is_file()}
    real = statistics_module.write_csv

    def disk_full_at_practices(path: Path, *args: object) -> None:
        if path.name == "practices.csv":
            raise OSError(28, "No space left on device")
        real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(statistics_module, "write_csv", disk_full_at_practices)
    with pytest.raises(OutputError, match=r"practices.csv: cannot write: No space left on device"):
        analyze(settings)
    after = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir() if p.is_file()}
    assert after.keys() == before.keys()
    assert {k: v for k, v in after.items() if k != ".cache.sqlite" and not k.startswith(".cache")} == {
        k: v for k, v in before.items() if k != ".cache.sqlite" and not k.startswith(".cache")}
    assert not [p for p in (tmp_path / "o").rglob("*") if ".tmp" in p.name or ".staging" in p.name]


def test_an_output_directory_under_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    from analysis.engine.driver import AnalysisError
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    (tmp_path / "plain").write_text("x")
    with pytest.raises(AnalysisError, match=r"plain/out: cannot write the results there"):
        analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "plain" / "out", draw_report=False))
    assert not (corpus / ".." / "plain" / "out").exists()


def test_the_first_rerun_rewrites_only_files_csv_as_a_run_from_the_cache_writes_it(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n", "plain.py": "x = 1\n",
                                "MLproject": "name: p\nentry_points:\n  main:\n    command: python b.py\n"})
    out = tmp_path / "o"
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False)
    analyze(settings)
    assert read_csv(out / "files.csv")[0]["cached"] == "false"
    others = {p.name: p.stat().st_mtime_ns for p in out.glob("*.csv") if p.name != "files.csv"}
    again = analyze(settings)
    assert again.n_parsed == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.csv") if p.name != "files.csv"} == others
    cached = {r["path"]: r["cached"] for r in read_csv(out / "files.csv")}
    assert cached == {"b.py": "true", "plain.py": "false", "MLproject": "false"}
    marked = (out / "files.csv").read_bytes()
    (out / ".tables.json").unlink()  # no stamp: every table is written again, from the cached results
    analyze(settings)
    assert (out / "files.csv").read_bytes() == marked


def test_a_first_rerun_that_cannot_read_files_csv_writes_every_table_again(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    out = tmp_path / "o"
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False)
    analyze(settings)
    (out / "files.csv.provenance.json").unlink()
    written = (out / "call_sites.csv").stat().st_mtime_ns
    again = analyze(settings)
    assert again.n_parsed == 0 and (out / "call_sites.csv").stat().st_mtime_ns != written
    assert json.loads((out / "files.csv.provenance.json").read_text())["tool"] == "mlflow-census"
    assert [r["cached"] for r in read_csv(out / "files.csv") if r["path"] == "b.py"] == ["true"]


def test_a_run_with_nothing_to_redo_keeps_the_tables_as_they_are(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, {"b.py": "import mlflow\nmlflow.log_metric('b', 1)\n"})
    settings = AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "o", draw_report=False)
    cold = analyze(settings)
    analyze(settings)  # the first re-run rewrites files.csv: its `cached` column changes
    written = (tmp_path / "o" / "call_sites.csv").stat().st_mtime_ns
    files = (tmp_path / "o" / "files.csv").read_text()
    again = analyze(settings)
    assert (tmp_path / "o" / "call_sites.csv").stat().st_mtime_ns == written
    assert (tmp_path / "o" / "files.csv").read_text() == files and ",true\n" in files
    assert (again.n_files, again.n_call_sites, again.n_parsed, again.n_cached) == (cold.n_files, cold.n_call_sites,
                                                                                   0, cold.n_parsed + cold.n_cached)
    make_repo(tmp_path / "src" / "new", {"n.py": "import mlflow\nmlflow.log_param('n', 1)\n"})
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=corpus, from_local=tmp_path / "src", skip_mlflow=True))
    grown = analyze(settings)  # a new repository in the manifest: the tables are written again
    assert grown.n_parsed == 1 and {c["repo"] for c in read_csv(tmp_path / "o" / "call_sites.csv")} == {"r", "new"}
