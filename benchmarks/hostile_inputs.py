"""The worst inputs of issue 10, each analyzed alone in a child process: exit, time, peak memory, problem row.

    python benchmarks/hostile_inputs.py [--only NAME ...] [--timeout 180] [--memory-limit-mb 8192]

Each input is one file in a repository of its own (built with git in a temporary directory, mined
with ``--from-local``), then ``python cli.py analyze --jobs 1 --no-cache --no-report`` runs in a
child process, so that a segfault or a runaway allocation is observed, not suffered: the child
gets a timeout and an address-space limit (``RLIMIT_AS``; a child stopped by it says so). Printed
per input: the child's exit (a signal by name), its wall time, its peak resident memory (``ru_maxrss``
from ``wait4``: the child and its workers), and the ``problems.csv`` row naming the file, if any,
with the file's ``files.csv`` status. ``control`` is a two-line file: the cost of the tool itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection  # noqa: E402
from miner.mine import mine  # noqa: E402

HEAD = "import mlflow\nmlflow.log_param('a', 1)\n"


def alias_bomb(tail: str) -> str:
    """10 levels of 9 aliases: 81 alias tokens standing for 9**9 lists."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n" + tail


def many_calls(n: int = 138_000, width: int = 36) -> str:
    """``n`` calls, each line padded to ``width`` bytes (138,000 x 36: a 4.97 MB file)."""
    return "import mlflow\n" + "".join(f"mlflow.log_metric('acc', {i})".ljust(width - 1) + "\n" for i in range(n))


def big_notebook(n: int = 50_000) -> str:
    """A notebook of ``n`` code cells, each one call (compact JSON: 4.3 MB)."""
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "source": "import mlflow"}]
    cells += [{"cell_type": "code", "metadata": {}, "outputs": [], "source": f"mlflow.log_metric('m', {i})"}
              for i in range(n - 1)]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, separators=(",", ":"))


@dataclass(frozen=True)
class Hostile:
    """One input: a file name and a function making its text."""

    name: str
    path: str
    text: Callable[[], str]
    what: str


INPUTS = (
    Hostile("control", "train.py", lambda: HEAD, "two lines: the cost of the tool itself"),
    Hostile("plus_chain", "plus.py", lambda: HEAD + "x = " + "+".join(["1"] * 8000) + "\n",
            "x = 1+1+...+1, 8,000 terms (16 KB)"),
    Hostile("attribute_chain", "attr.py", lambda: HEAD + "x = a" + ".b" * 8000 + "\n", "x = a.b.b...b, 8,000 attributes"),
    Hostile("unary_chain", "unary.py", lambda: HEAD + "x = " + "-" * 8000 + "1\n", "x = ------...1, 8,000 minus signs"),
    Hostile("deep_brackets", "brackets.py", lambda: HEAD + "x = " + "[" * 1000 + "]" * 1000 + "\n",
            "x = [[[...]]], 1,000 deep"),
    Hostile("nested_parens", "parens.py", lambda: HEAD + "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n",
            "x = (((...1...))), 1,000 deep (2 KB)"),
    Hostile("many_calls", "calls.py", many_calls, "138,000 calls, 4.97 MB"),
    Hostile("notebook_50k", "big.ipynb", big_notebook, "50,000 code cells, one call each"),
    Hostile("mlproject_alias_bomb", "MLproject", lambda: alias_bomb("entry_points: {main: {command: *a9}}\n"),
            "MLproject, 10 levels of 9 aliases"),
    Hostile("conda_alias_bomb", "conda.yaml", lambda: alias_bomb("dependencies: *a9\n"),
            "conda.yaml, 10 levels of 9 aliases"),
)

GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@example.org", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def build_corpus(case: Hostile, work: Path) -> tuple[Path, int]:
    """A mined corpus holding one repository with the hostile file (and ``HEAD`` beside it); its size."""
    repo = work / "src" / case.name
    repo.mkdir(parents=True)
    text = case.text()
    (repo / case.path).write_text(text, encoding="utf-8")
    if case.path != "train.py":
        (repo / "train.py").write_text(HEAD, encoding="utf-8")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "hostile"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    spec = CorpusSpec(name=case.name, path=work / "spec.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=work / "corpus", from_local=work / "src", skip_mlflow=True))
    return work / "corpus", len(text.encode("utf-8"))


@dataclass(frozen=True)
class Outcome:
    """What the child did."""

    exit: str
    seconds: float
    peak_mb: float


def run_child(cmd: list[str], timeout: float, memory_limit_mb: int, log: Path) -> Outcome:
    """Run ``cmd`` in its own session under an address-space limit; kill it (and its workers) at ``timeout``."""

    def limit() -> None:
        if memory_limit_mb:
            size = memory_limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    started = time.perf_counter()
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=limit, start_new_session=True)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - started > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            _pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here: keep Popen from waiting for it again
    if timed_out:
        shown = f"timeout {timeout:.0f}s"
    elif code < 0:
        shown = f"{signal.Signals(-code).name}"
    else:
        shown = str(code)
        if code and "MemoryError" in log.read_text(errors="replace"):
            shown += " (MemoryError: at the limit)"
    return Outcome(shown, seconds, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV the child wrote; none when it wrote none."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def verdict(out: Path, case: Hostile) -> str:
    """The problem row naming the file (stage: reason), and the file's status; or why there is none."""
    if not (out / "files.csv").is_file():
        return "no output written"
    status = next((f["status"] for f in read_rows(out / "files.csv") if f["path"] == case.path), "not listed")
    rows = [p for p in read_rows(out / "problems.csv") if p["path"] == case.path]
    if not rows:
        return f"no problem row (files.csv: {status})"
    first = rows[0]
    line = f" line {first['line']}" if first["line"] else ""
    return f"{first['stage']}{line}: {first['reason'][:110]} (files.csv: {status})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=[c.name for c in INPUTS], help="run these inputs only")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per input before the child is killed")
    parser.add_argument("--memory-limit-mb", type=int, default=8192,
                        help="address-space limit of the child (0: none); a shared machine needs one")
    args = parser.parse_args()
    cases = [c for c in INPUTS if not args.only or c.name in args.only]
    print(f"python {sys.version.split()[0]}, timeout {args.timeout:.0f}s, child address space "
          f"{args.memory_limit_mb or 'unlimited'} MB")
    print(f"{'input':<22}{'bytes':>10}  {'exit':<12}{'wall s':>8}{'peak MB':>9}  problem row naming the file")
    for case in cases:
        with tempfile.TemporaryDirectory(prefix=f"hostile-{case.name}-") as tmp:
            work = Path(tmp)
            corpus, size = build_corpus(case, work)
            cmd = [sys.executable, "cli.py", "analyze", "--corpus", str(corpus), "--out", str(work / "out"),
                   "--jobs", "1", "--no-cache", "--no-report"]
            outcome = run_child(cmd, args.timeout, args.memory_limit_mb, work / "child.log")
            print(f"{case.name:<22}{size:>10,}  {outcome.exit:<12}{outcome.seconds:>8.1f}{outcome.peak_mb:>9.0f}  "
                  f"{verdict(work / 'out', case)}", flush=True)
    print("\n" + "\n".join(f"{c.name}: {c.what}" for c in cases))


if __name__ == "__main__":
    main()
