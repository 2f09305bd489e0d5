"""Compare mlprojects.csv / entry_points.csv / parameters.csv with MLflow's loader output (jsonl).

    python benchmarks/compare_mlprojects.py --results R --reference ../shared/corpus/dev-mlprojects.jsonl

Prints every difference: validity, name, env type, env file, entry points, commands, parameters
(``analysis.report.reference.mlproject_differences``; ``python cli.py report --reference DIR`` shows the counts).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's analysis/

from analysis.report.reference import mlproject_differences, read_jsonl  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--reference", type=Path, required=True)
    args = parser.parse_args()
    tables = [list(csv.DictReader((args.results / name).open()))
              for name in ("mlprojects.csv", "entry_points.csv", "parameters.csv")]
    compared = mlproject_differences(*tables, read_jsonl(args.reference))
    for repo, path, found in compared:
        if found:
            print(f"{repo} {path}:")
            for f in found:
                print(f"  {f}")
    print(f"{len(compared)} MLproject files in the reference, {sum(1 for c in compared if c[2])} with differences")


if __name__ == "__main__":
    main()
