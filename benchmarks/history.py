"""Speed and memory of ``analyze --history`` on a corpus mined with ``--history``, as ratios in one run.

    python benchmarks/history.py --corpus /tmp/hist-corpus [--jobs 2] [--every commit] [--reference dev-history.csv] [--floor]

Runs, each as a user runs it (``python cli.py analyze --no-report`` in a new process, a fresh output
directory for each cold run): ``analyze`` cold, ``analyze --history`` cold, and ``analyze --history``
again on its output (warm: every repository's history from the cache). Prints the wall time of each,
the ratios history cold / analyze cold (issue 21's target: at most 4x) and warm / history cold (at most
0.1x), the peak memory of each run's processes (the largest resident set of the run and its workers,
target under 2 GB), the commits analyzed and the distinct files parsed. With ``--reference`` (the
shared corpus's ``dev-history.csv``), also how many comparable commits agree on ``.py`` call sites.

With ``--floor``, also the floor the ratio could not go under while each distinct file was parsed whole by
LibCST (since ``af5caff`` the history reuses the parse of a file's unchanged statements, and can go under it;
``benchmarks/statement_reuse.py`` measures that reuse):
``libcst.parse_module`` alone (one process, after the runs) of the ``.py`` files and notebooks the cold
history run parsed (each distinct blob of the first-parent histories whose findings the cold run put in
its results cache, in the default import context), those of HEAD's trees apart from the others. Their
ratio (all / HEAD's) is the parse ratio; HEAD's run parses HEAD's blobs only, so if history cost nothing
but the other blobs' parses, over ``--jobs`` processes, history cold / analyze cold would be
``1 + others / jobs / analyze cold`` (the parse floor). The code pass parses each of those texts with
``ast`` too (its scan, the gate before LibCST): ``ast.parse`` of the same texts is timed apart, and the
floor printed with both parses (still a lower bound: the blobs gated away from LibCST, parsed by ``ast``
alone, are not counted).
"""

from __future__ import annotations

import argparse
import collections
import csv
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident MB of the run (``/usr/bin/time -v``, children included) and its output."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, str(ROOT / "cli.py"), "analyze", "--no-report", *args],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"analyze {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return seconds, int(peak.group(1)) / 1024 if peak else float("nan"), proc.stdout


def agreement(out: Path, reference: Path) -> str:
    """Comparable commits (the reference parsed every file) whose ``.py`` call sites of the APIs it covers
    agree with ``history_api_usage.csv``, API by API."""
    ours: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for row in csv.DictReader((out / "history_api_usage.csv").open()):
        if row["kind"] == "code":
            ours[row["repo"], row["commit"]][row["api"].replace("mlflow.MlflowClient.", "MlflowClient.")] += int(
                row["n_call_sites"])
    refs = list(csv.DictReader(reference.open()))
    covered = {part.rsplit("=", 1)[0] for r in refs for part in r["apis"].split(";") if part}
    comparable = agree = 0
    for r in refs:
        if r["n_unparsable"] != "0":
            continue
        comparable += 1
        theirs = collections.Counter({a: int(n) for a, n in (p.rsplit("=", 1) for p in r["apis"].split(";") if p)})
        mine = collections.Counter({a: n for a, n in ours[r["repo"], r["commit"]].items() if a in covered and n})
        agree += theirs == mine
    return f"{agree} of {comparable} comparable commits agree API by API ({agree / max(comparable, 1):.1%})"


def _distinct_blobs(git_dir: Path, commit: str) -> tuple[dict[tuple[str, str], str], set[str]]:
    """(blob, kind) -> a path holding it, for every ``.py`` file and notebook of the first-parent history of
    ``commit``; and the blobs of its tree."""
    from analysis.history.gitlog import SUBMODULE, SYMLINK, first_parent_history
    from analysis.passes.registry import file_kind

    blobs: dict[tuple[str, str], str] = {}
    tree: dict[str, str] = {}
    for c in first_parent_history(git_dir, commit):
        for ch in c.changes or ():
            if ch.mode and ch.mode not in (SYMLINK, SUBMODULE) and file_kind(ch.path) in ("python", "notebook"):
                blobs.setdefault((ch.sha, file_kind(ch.path)), ch.path)
                tree[ch.path] = ch.sha
            else:
                tree.pop(ch.path, None)
    return blobs, set(tree.values())


def parse_floor(corpus: Path, cache: Path) -> tuple[float, int, float, int, float, float]:
    """Seconds and count of ``libcst.parse_module`` of the blobs of HEAD's trees the cold history run
    parsed, then of the other blobs it parsed (one process; see the module); then the seconds of
    ``ast.parse`` of the same texts, HEAD's and the others' (the code pass parses each with both)."""
    import ast
    import sqlite3
    import warnings

    import libcst

    from analysis.engine.driver import _read_inputs
    from analysis.ftypes import AnalyzeSettings, FileContext, ReadError
    from analysis.history.gitlog import BlobReader
    from analysis.reading.sources import decode_python, notebook_code
    from analysis.repo_state import file_cache_key

    inputs = _read_inputs(AnalyzeSettings(corpus, cache.parent))
    db = sqlite3.connect(f"file:{cache}?mode=ro", uri=True)
    texts: list[tuple[bool, str]] = []
    for repo in inputs.corpus.repos:
        if repo.git_dir is None:
            continue
        blobs, head = _distinct_blobs(repo.git_dir, repo.commit)
        with BlobReader(repo.git_dir) as reader:
            datas = reader.read_many(sha for sha, _k in blobs)
        for (sha, kind), data in ((k, datas[k[0]]) for k in blobs):
            if data is None or b"mlflow" not in data.lower():
                continue
            key = file_cache_key(data, kind, FileContext(), inputs.parse)
            if db.execute("select 1 from results where key = ?", (key,)).fetchone() is None:
                continue  # not parsed by LibCST (gated, a problem) or in another context
            try:
                text = decode_python(data) if kind == "python" else notebook_code(data).source
            except (ReadError, SyntaxError, UnicodeDecodeError, ValueError):
                continue
            texts.append((sha in head, text))
    db.close()
    # in a shuffled order, so that a change in the machine's load falls on both sets alike
    random.Random(0).shuffle(texts)
    seconds = {True: 0.0, False: 0.0}
    ast_seconds = {True: 0.0, False: 0.0}
    for at_head, text in texts:
        started = time.perf_counter()
        try:
            libcst.parse_module(text)
        except (libcst.ParserSyntaxError, RecursionError, ValueError):
            pass
        parsed = time.perf_counter()
        seconds[at_head] += parsed - started
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ast.parse(text)
            except (SyntaxError, RecursionError, ValueError, MemoryError):
                pass
        ast_seconds[at_head] += time.perf_counter() - parsed
    n_head = sum(at_head for at_head, _t in texts)
    return seconds[True], n_head, seconds[False], len(texts) - n_head, ast_seconds[True], ast_seconds[False]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--every", default="commit")
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--floor", action="store_true", help="also measure the parse floor (see above)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        base = ["--corpus", str(opts.corpus.resolve()), "--jobs", str(opts.jobs)]
        plain_s, plain_mb, _ = run([*base, "--out", f"{tmp}/plain"])
        hist = [*base, "--out", f"{tmp}/history", "--history", "--every", opts.every]
        cold_s, cold_mb, said = run(hist)
        warm_s, warm_mb, _ = run(hist)
        told = re.search(r"^history: .*$", said, re.M)
        print(f"analyze cold:            {plain_s:7.1f} s  peak {plain_mb:6.0f} MB")
        print(f"analyze --history cold:  {cold_s:7.1f} s  peak {cold_mb:6.0f} MB  ({told.group(0) if told else ''})")
        print(f"analyze --history warm:  {warm_s:7.1f} s  peak {warm_mb:6.0f} MB")
        print(f"history cold / analyze cold: {cold_s / plain_s:.2f}x (target <= 4x)")
        print(f"history warm / history cold: {warm_s / cold_s:.3f}x (target <= 0.1x)")
        print(f"peak memory: {max(plain_mb, cold_mb, warm_mb):.0f} MB (target < 2048 MB)")
        if opts.reference is not None:
            print(f"dev-history: {agreement(Path(tmp) / 'history', opts.reference)}")
        if opts.floor:
            head_s, n_head, rest_s, n_rest, head_ast, rest_ast = parse_floor(opts.corpus.resolve(),
                                                                             Path(tmp) / "history" / ".cache.sqlite")
            print(f"LibCST parse of the blobs parsed: HEAD's {n_head} {head_s:.1f} s, the {n_rest} others {rest_s:.1f} s: "
                  f"parse ratio {(head_s + rest_s) / head_s:.2f}x; parse floor of history cold / analyze cold "
                  f"{1 + rest_s / opts.jobs / plain_s:.2f}x")
            print(f"ast.parse of the same texts: HEAD's {head_ast:.1f} s, the others {rest_ast:.1f} s; parse floor with "
                  f"both parses {1 + (rest_s + rest_ast) / opts.jobs / plain_s:.2f}x")


if __name__ == "__main__":
    main()
