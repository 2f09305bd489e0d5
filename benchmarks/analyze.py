"""Speed of ``analyze`` on a mined corpus, as ratios to ``ast.parse`` of the same .py files in this run.

    python benchmarks/analyze.py --corpus corpora/mlflow-projects [--jobs N] [--repeat N] [--no-report]

Prints the floor (``ast.parse`` of every .py file of the corpus's ok repositories, one process),
the cold run (a fresh output directory: every file read, hashed and parsed as analyze does) with
the wall time of each of its phases (repositories, tables, report), the lower bound of any
LibCST-based pass (``libcst.parse_module`` alone of the .py files and notebooks the cold run parsed
with LibCST, one process), the library floor (both parses divided by the jobs) and the cold run's
ratio to it, two warm runs as a user runs them (``python cli.py analyze`` in a new process on the
same output directory: the first rewrites files.csv alone, its `cached` column, the second has nothing to
redo), their ratios to the cold run, and the peak memory of this process and its workers. The same ratio is
printed in CPU seconds too (the cold run's, workers and report included, against both parses'): on a
machine other work shares, wall times move with that work, CPU times much less. The API catalog is built once before timing
(it is a property of the corpus, cached in ``<corpus>/mlflow/.catalog.json``) and reported apart.

With ``--no-report``, the runs write the tables and statistics only (``analyze --no-report``: the report
is drawn later by ``python cli.py report``). With ``--repeat N``, all of the above N times over, each in a new process (as the first), then the
median and range of the two ratios to the library floor: on a machine shared with other work, one run's
ratio moves by 10-20%.
"""

from __future__ import annotations

import argparse
import ast
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.engine.driver import analyze  # noqa: E402
from analysis.ftypes import AnalyzeSettings  # noqa: E402
from analysis.reading.sources import decode_python, notebook_code  # noqa: E402
from analysis.releases.load import load_releases  # noqa: E402
from miner.corpus import release_dirs, releases_dir  # noqa: E402
from miner.fileio import read_csv  # noqa: E402


def ast_floor(corpus: Path) -> tuple[float, float, int]:
    """Seconds (wall, then CPU) to ast.parse every .py file of the corpus's ok repositories, and how many parsed."""
    files = []
    for row in read_csv(corpus / "manifest.csv"):
        if row["status"] == "ok" and row["clone_path"]:
            files += [p for p in sorted((corpus / row["clone_path"]).rglob("*.py")) if p.is_file() and not p.is_symlink()]
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            try:
                ast.parse(path.read_bytes())
                n += 1
            except (SyntaxError, ValueError):
                pass
    return time.perf_counter() - start, time.process_time() - cpu, n


def libcst_floor(corpus: Path, files_csv: Path) -> tuple[float, float, int]:
    """Seconds (wall, then CPU) to ``libcst.parse_module`` (one process) the .py files and notebooks the cold run
    analyzed with LibCST.

    No LibCST-based pass can be faster than this: it bounds the cold run from below. (LibCST is
    imported here, after the cold run, which then starts as ``python cli.py analyze`` does: with
    nothing of the engine imported.)
    """
    import libcst

    clones = {row["repo"]: row["clone_path"] for row in read_csv(corpus / "manifest.csv")}
    rows = [r for r in read_csv(files_csv) if r["kind"] in ("python", "notebook") and r["status"] == "analyzed"]
    texts = [decode_python(data) if r["kind"] == "python" else notebook_code(data).source
             for r in rows for data in [(corpus / clones[r["repo"]] / r["path"]).read_bytes()]]
    start, cpu = time.perf_counter(), time.process_time()
    n = 0
    for text in texts:
        try:
            libcst.parse_module(text)
            n += 1
        except (libcst.ParserSyntaxError, RecursionError, ValueError):
            pass
    return time.perf_counter() - start, time.process_time() - cpu, n


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the workers, the report's process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def repeat(corpus: Path, jobs: int, n: int, no_report: bool) -> None:
    """This benchmark ``n`` times, each in a new process, its output printed; then the median and range of
    the cold run's ratios to the library floor, wall and CPU."""
    walls, cpus = [], []
    for i in range(n):
        done = subprocess.run([sys.executable, __file__, "--corpus", str(corpus), "--jobs", str(jobs),
                               *(["--no-report"] if no_report else [])], check=True, capture_output=True, text=True)
        print(f"-- run {i + 1} of {n}\n{done.stdout}", end="", flush=True)
        walls.append(float(re.findall(r"cold = ([0-9.]+)x the library floor", done.stdout)[0]))
        cpus.append(float(re.findall(r"= ([0-9.]+)x \(the wall ratio", done.stdout)[0]))
    print(f"-- {n} runs: cold / library floor, median {statistics.median(walls):.2f}x ({min(walls):.2f}-{max(walls):.2f}x); "
          f"in CPU, median {statistics.median(cpus):.2f}x ({min(cpus):.2f}-{max(cpus):.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs, each in a new process; their median is printed")
    parser.add_argument("--no-report", action="store_true", help="tables and statistics only, as analyze --no-report")
    args = parser.parse_args()
    if args.repeat > 1:
        repeat(args.corpus, args.jobs, args.repeat, args.no_report)
        return
    t0 = time.perf_counter()
    catalog = load_releases(release_dirs(args.corpus), releases_dir(args.corpus)).catalog
    t_catalog = time.perf_counter() - t0
    floor, floor_cpu, n_ast = ast_floor(args.corpus)
    with tempfile.TemporaryDirectory() as out:
        settings = AnalyzeSettings(corpus_dir=args.corpus, out_dir=Path(out), jobs=args.jobs,
                                   draw_report=not args.no_report)
        cpu0 = _cpu()
        t0 = time.perf_counter()
        cold = analyze(settings)
        t_cold = time.perf_counter() - t0
        cold_cpu = _cpu() - cpu0
        cst_floor, cst_cpu, n_cst = libcst_floor(args.corpus, Path(out) / "files.csv")
        # warm as a user runs it: a new process, start-up and imports included; the first re-run
        # rewrites files.csv alone (its `cached` column becomes true), the next has nothing to redo
        warm_runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "cli.py"), "analyze", "--corpus", str(args.corpus), "--out", out,
                            "--jobs", str(args.jobs), *(["--no-report"] if args.no_report else [])], check=True,
                           capture_output=True)
            warm_runs.append(time.perf_counter() - t0)
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(f"catalog ({catalog.origin}, {len(catalog.releases)} releases): {t_catalog:.2f}s (built once, then cached)")
    print(f"floor  ast.parse of {n_ast} .py files: {floor:.2f}s")
    print(f"cold   analyze, jobs={args.jobs}: {t_cold:.2f}s = {t_cold / floor:.2f}x floor "
          f"({cold.n_parsed} parsed by LibCST, {cold.n_prefiltered} without 'mlflow', "
          f"{cold.n_gated} mentioning it without importing it, {cold.n_files} files)")
    print("       of which " + ", ".join(f"{phase} {t:.2f}s = {t / floor:.2f}x" for phase, t in cold.seconds.items()))
    print(f"LibCST parse_module of the {n_cst} .py files and notebooks it analyzed, one process: {cst_floor:.2f}s = "
          f"{cst_floor / floor:.2f}x floor ({cst_floor / floor / max(args.jobs, 1):.2f}x on {args.jobs} cores at best)")
    library = (floor + cst_floor) / max(args.jobs, 1)
    print(f"library floor (ast.parse of every .py file + LibCST of those analyzed) / {args.jobs} jobs: {library:.2f}s; "
          f"cold = {t_cold / library:.2f}x the library floor")
    library_cpu = floor_cpu + cst_cpu
    print(f"CPU    (robust to other work on the machine): cold run {cold_cpu:.2f}s (this process, its workers and the "
          f"report's) / library floor {library_cpu:.2f}s (ast {floor_cpu:.2f}s + LibCST {cst_cpu:.2f}s) = "
          f"{cold_cpu / library_cpu:.2f}x (the wall ratio on {args.jobs} idle cores is at least this)")
    for label, t_warm in zip(("warm   re-run, files.csv's `cached` column rewritten", "warm   re-run, nothing to redo"), warm_runs):
        print(f"{label} (python cli.py analyze, a new process, jobs={args.jobs}): {t_warm:.2f}s = "
              f"{t_warm / t_cold:.3f}x cold")
    print(f"peak memory (largest process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
