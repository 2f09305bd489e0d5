"""The command line, through typer's CliRunner, and the README's set-up commands."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import Exit, app
from miner.fileio import read_csv
from tests.conftest import FakeGitHub, make_repo, repo_item

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_help_explains_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("mine", "analyze", "report"):
        assert command in result.output
    mine_help = runner.invoke(app, ["mine", "--help"], env={"COLUMNS": "200"})
    assert mine_help.exit_code == 0
    for option in ("--corpus", "--from-local", "--mlflow-from", "--lock", "--api-url", "--dry-run", "--jobs"):
        assert option in mine_help.output


def test_bad_spec_names_the_file_and_exits_2(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text("[github]\ntopic = 'x'\nmin_stars = 'many'\n")
    result = runner.invoke(app, ["mine", "--spec", str(spec), "--corpus", str(tmp_path / "c")])
    assert result.exit_code == Exit.BAD_INPUT
    assert "bad.toml" in result.output and "min_stars" in result.output


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "broken.toml"
    spec.write_text("[github]\ntopic = \n")
    result = runner.invoke(app, ["mine", "--spec", str(spec)])
    assert result.exit_code == Exit.BAD_INPUT
    assert "broken.toml" in result.output and "line 2" in result.output


def test_mine_from_local_summary_and_exit_code(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\n"})
    (tmp_path / "src" / "e.git").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "src" / "e.git")], check=True)
    result = runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                                 "--no-mlflow"])
    assert result.exit_code == Exit.OK, result.output
    assert "mined: 1" in result.output and "skipped: 1" in result.output
    assert "skipped: e: empty repository (no commit)" in result.output


def test_mine_exit_code_says_something_failed(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.repos.append(repo_item("x/gone", (tmp_path / "nope.git").as_uri(), "2020-01-02"))
    result = runner.invoke(app, ["mine", "--api-url", fake_github.base_url, "--corpus", str(tmp_path / "c"),
                                 "--no-mlflow"])
    assert result.exit_code == Exit.SOME_FAILED
    assert "failed: x/gone: clone failed" in result.output
    assert "search: 1 of total_count 1 collected (complete" in result.output


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)


def test_readme_first_two_commands_are_main_job_then_tests() -> None:
    main_job, tests = _readme_blocks()[:2]
    assert "pip install" in main_job and "python cli.py mine" in main_job and "python cli.py analyze" in main_job
    assert "pip install" in tests and "pytest" in tests


@pytest.mark.slow  # pip installs the project: an environment built
def test_readme_main_job_runs_on_a_fresh_corpus(tmp_path: Path, fake_github: FakeGitHub) -> None:
    """The README's first command, verbatim, against the loopback GitHub and local MLflow releases."""
    served = make_repo(tmp_path / "served" / "p.git", {"train.py": "import mlflow\nmlflow.log_param('a', 1)\n",
                                                        "MLproject": "name: p\n"}, bare=True)
    fake_github.repos.append(repo_item("p/proj", served.as_uri(), "2021-05-05"))
    releases = tmp_path / "releases"
    releases.mkdir()
    with zipfile.ZipFile(releases / "mlflow-2.5.0-py3-none-any.whl", "w") as zf:
        zf.writestr("mlflow/__init__.py", "from mlflow.tracking.fluent import log_param\n")
        zf.writestr("mlflow/version.py", 'VERSION = "2.5.0"\n')
        zf.writestr("mlflow/tracking/fluent.py", "def log_param(key, value):\n    pass\n")
    main_job = _readme_blocks()[0]
    env = {**os.environ, "GITHUB_API_URL": fake_github.base_url, "MLFLOW_CENSUS_CORPUS": str(tmp_path / "corpus"),
           "MLFLOW_CENSUS_MLFLOW_FROM": str(releases), "MLFLOW_CENSUS_RESULTS": str(tmp_path / "results"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-ec", main_job], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    manifest = read_csv(tmp_path / "corpus" / "manifest.csv")
    assert [(r["repo"], r["status"]) for r in manifest] == [("p/proj", "ok")]
    assert (tmp_path / "corpus" / "mlflow" / "2.5.0" / "mlflow" / "tracking" / "fluent.py").is_file()
    calls = read_csv(tmp_path / "results" / "call_sites.csv")
    assert [(c["repo"], c["path"], c["line"], c["api"]) for c in calls] == [("p/proj", "train.py", "2", "mlflow.log_param")]
    catalog = read_csv(tmp_path / "results" / "api_catalog.csv")
    assert {c["api"] for c in catalog} == {"mlflow.log_param"}  # read from the corpus's release
    # the report, drawn by its own process, with each figure in the page as in its file
    report = tmp_path / "results" / "report"
    figures = sorted(report.glob("fig_*.png"))
    page = (report / "index.html").read_text(encoding="utf-8")
    assert figures and page.count("data:image/png;base64,") == len(figures)
    assert all(base64.b64encode(f.read_bytes()).decode() in page for f in figures)


def test_analyze_without_manifest_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "--corpus", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == Exit.BAD_INPUT
    assert "manifest.csv: no manifest" in result.output


def test_analyze_summary(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\nmlflow.log_metric('a', 1)\n", "u.py": "x = 1\n"})
    assert runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                               "--no-mlflow"]).exit_code == 0
    result = runner.invoke(app, ["analyze", "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--jobs", "1"])
    assert result.exit_code == Exit.OK, result.output
    assert "repos: 1  files: 2  call sites: 1  problems: 0" in result.output
    assert "catalog: snapshot" in result.output
    assert (tmp_path / "o" / "report" / "index.html").is_file()
    tables_only = runner.invoke(app, ["analyze", "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "t"),
                                      "--jobs", "1", "--no-report"])
    assert tables_only.exit_code == Exit.OK and "report: not drawn (--no-report)" in tables_only.output
    assert (tmp_path / "t" / "call_sites.csv").is_file() and not (tmp_path / "t" / "report").exists()
    drawn = runner.invoke(app, ["report", "--results", str(tmp_path / "t")])
    assert drawn.exit_code == Exit.OK and (tmp_path / "t" / "report" / "index.html").is_file()


def test_analyze_history_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    for args, said in ((["--history", "--every", "day"], "--every day: not one of commit, week, month"),
                       (["--history", "--since", "last year"], "--since last year: not a date"),
                       (["--since", "2023-01-01"], "need --history"), (["--max-commits", "3"], "need --history")):
        result = runner.invoke(app, ["analyze", "--corpus", str(tmp_path), "--out", str(tmp_path / "o"), *args])
        assert result.exit_code == Exit.BAD_INPUT and said in result.output, result.output


def test_analyze_history_summary(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\nmlflow.log_metric('a', 1)\n"}, commits=3)
    assert runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                               "--no-mlflow", "--history"]).exit_code == 0
    result = runner.invoke(app, ["analyze", "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--jobs", "1",
                                 "--no-report", "--history", "--max-commits", "2"])
    assert result.exit_code == Exit.OK, result.output
    assert "history: 1 repos  commits: 2  distinct files analyzed: 2  parsed by LibCST: 1" in result.output
    assert "problems: 1" in result.output  # the oldest commit, left out by --max-commits


def test_analyze_exit_code_says_a_repository_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import analysis.passes.traceability as engine_module

    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\nmlflow.log_metric('a', 1)\n"})
    assert runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                               "--no-mlflow"]).exit_code == 0

    def broken(*_args: object) -> object:
        raise ValueError("a bug")

    monkeypatch.setattr(engine_module, "build_graph", broken)
    result = runner.invoke(app, ["analyze", "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                                 "--jobs", "1", "--no-report"])  # the exit code and summary: no report looked at
    assert result.exit_code == Exit.SOME_FAILED, result.output
    assert "failed: a (see problems.csv" in result.output


def test_report_without_results_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--results", str(tmp_path)])
    assert result.exit_code == Exit.BAD_INPUT and "practices.csv: no results" in result.output


def test_the_tool_runs_on_itself(tmp_path: Path) -> None:
    """Mine this repository (a local clone of its committed tree) and analyze it: a clean exit, every file listed."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(tmp_path / "src" / "self")], check=True)
    mined = runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                                "--no-mlflow"])
    assert mined.exit_code == Exit.OK, mined.output
    result = runner.invoke(app, ["analyze", "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "o"), "--jobs", "2"])
    assert result.exit_code == Exit.OK, result.output
    files = {r["path"]: r["status"] for r in read_csv(tmp_path / "o" / "files.csv")}
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=tmp_path / "src" / "self", capture_output=True, text=True,
                             check=True).stdout.rstrip("\0").split("\0")
    assert set(files) == set(tracked)
    assert files["analysis/passes/mlflow_calls.py"] in ("analyzed", "no-mlflow-use")
    assert not [p for p in read_csv(tmp_path / "o" / "problems.csv") if p["stage"] == "analyze"]


@pytest.mark.parametrize(
    ("api_url", "cause"),
    [pytest.param("http://nonexistent.invalid", "DNS lookup failed", id="dns"),
     pytest.param("http://127.0.0.1:{port}", "connection refused", id="refused")],
)
def test_mine_without_network_names_host_and_cause_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               api_url: str, cause: str) -> None:
    import socket
    from functools import partial

    import cli
    from miner.ftypes import MineSettings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed below: a port nothing listens on
    api_url = api_url.format(port=port)
    monkeypatch.setattr(cli, "MineSettings", partial(MineSettings, max_retries=1, retry_backoff_s=0.0))  # fast
    result = runner.invoke(app, ["mine", "--api-url", api_url, "--corpus", str(tmp_path / "c"), "--no-mlflow"])
    assert result.exit_code == Exit.SOME_FAILED, result.output
    host = api_url.split("://", 1)[1]
    assert f"error: cannot reach the GitHub API at {host}: {cause}" in result.output
    assert "gave up after 2 attempts" in result.output and "--from-local DIR" in result.output
    assert "Traceback" not in result.output


def test_out_or_corpus_naming_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    for args, option in ((["analyze", "--corpus", str(tmp_path), "--out", str(afile)], "--out"),
                         (["analyze", "--corpus", str(afile), "--out", str(tmp_path / "o")], "--corpus"),
                         (["analyze", "--corpus", str(tmp_path), "--out", str(afile / "sub")], "--out"),
                         (["mine", "--from-local", str(tmp_path), "--corpus", str(afile), "--no-mlflow"], "--corpus")):
        result = runner.invoke(app, args)
        assert result.exit_code == Exit.BAD_INPUT, (args, result.output)
        assert result.output.startswith(f"error: {option} ") and "not a directory" in result.output
        assert len(result.output.strip().splitlines()) == 1  # no traceback
    assert afile.read_text() == "x"


def test_mine_from_local_without_repositories_says_so_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "src" / "plain").mkdir(parents=True)
    result = runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                                 "--no-mlflow"])
    assert result.exit_code == Exit.BAD_INPUT
    assert f"error: {tmp_path / 'src'}: no git repository under it" in result.output


def _command_helps() -> dict[str, str]:
    import typer.main
    group = typer.main.get_command(app)
    return {name: command.help or "" for name, command in group.commands.items()}  # type: ignore[attr-defined]


def test_every_help_paragraph_is_one_line_for_the_terminal_to_wrap() -> None:
    helps = _command_helps()
    assert set(helps) >= {"mine", "analyze", "report", "probe", "rerun"}
    for name, text in helps.items():
        paragraphs = text.split("\n\n")
        assert text and not [p for p in paragraphs if "\n" in p or "  " in p], name
    result = runner.invoke(app, ["probe", "--help"], env={"COLUMNS": "60"}, terminal_width=60)
    # wrapped at 60 columns, at spaces: no line broken where the source's line ended
    assert "each backend a fresh store; a workload shipped with this tool runs" in " ".join(
        line.strip(" │") for line in result.output.splitlines())


def test_analyze_help_names_every_table_and_graph_it_writes(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "a", {"t.py": "import mlflow\nmlflow.log_metric('a', 1)\n"})
    assert runner.invoke(app, ["mine", "--from-local", str(tmp_path / "src"), "--corpus", str(tmp_path / "c"),
                               "--no-mlflow"]).exit_code == 0
    assert runner.invoke(app, ["analyze", "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "o"),
                               "--no-report"]).exit_code == Exit.OK
    written = sorted(p.name for p in (tmp_path / "o").iterdir() if p.suffix in (".csv", ".graphml"))
    assert "stored_runs.csv" in written and "store_statistics.csv" in written
    help_text = _command_helps()["analyze"]
    assert [name for name in written if name not in help_text] == []
