"""An independent second detector (``ast`` only, flow-insensitive) to cross-check ``call_sites.csv``.

    python benchmarks/crosscheck.py --corpus corpora/mlflow-projects --results results/mlflow-projects
        [--reference ../shared/corpus/dev-call-sites.csv]

Its detector shares no code with ``analysis/``: its own import table per file (any depth, no scopes), client
variables as any name or attribute assigned ``MlflowClient(...)``, and every ``ast.Call`` whose
dotted callee starts with a name bound to MLflow. It looks at ``.py`` files only. It prints how
many (path, line, api) sites both found, and the ones only one side found, for reading by hand.
With ``--reference`` it also scores the tool against an adjudicated reference per API family
(``analysis.report.reference``, the scoring ``python cli.py report --reference`` prints).
"""

from __future__ import annotations

import argparse
import ast
import collections
import csv
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's analysis/

import pandas as pd  # noqa: E402

from analysis.report.reference import call_site_agreement, call_site_differences, family  # noqa: E402

CLIENT_PATHS = {"mlflow.MlflowClient", "mlflow.tracking.MlflowClient", "mlflow.tracking.client.MlflowClient",
                "mlflow.client.MlflowClient"}


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def detect(source: bytes) -> set[tuple[int, str]]:
    """(line, api) of every MLflow call this detector sees in one module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "mlflow":
                    names[a.asname or "mlflow"] = a.name if a.asname else "mlflow"
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "mlflow":
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"

    def resolve(expr: ast.expr) -> str | None:
        text = dotted(expr)
        if text is None:
            return None
        head, _, rest = text.partition(".")
        if head in names:
            return names[head] + (f".{rest}" if rest else "")
        return None

    clients: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if resolve(node.value.func) in CLIENT_PATHS:
                clients.update(t for t in (dotted(x) for x in node.targets) if t)
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = dotted(node.func)
        if func is None:
            continue
        owner, _, method = func.rpartition(".")
        if owner and owner in clients:
            found.add((node.lineno, f"mlflow.MlflowClient.{method}"))
            continue
        api = resolve(node.func)
        if api is None:
            continue
        if api in CLIENT_PATHS:
            api = "mlflow.MlflowClient"
        elif api.startswith("mlflow.tracking.fluent."):
            api = "mlflow." + api.rsplit(".", 1)[1]
        found.add((node.lineno, api))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--reference", type=Path)
    parser.add_argument("--show", type=int, default=20, help="disagreements to print per side")
    args = parser.parse_args()
    manifest = list(csv.DictReader((args.corpus / "manifest.csv").open()))
    tool = {(r["repo"], r["path"], int(r["line"]), r["api"]) for r in csv.DictReader((args.results / "call_sites.csv").open())
            if r["path"].endswith(".py") and r["style"] != "unresolved"}
    second: set[tuple[str, str, int, str]] = set()
    for row in manifest:
        if row["status"] != "ok":
            continue
        root = args.corpus / row["clone_path"]
        for path in sorted(root.rglob("*.py")):
            if path.is_symlink() or not path.is_file():
                continue
            try:
                hits = detect(path.read_bytes())
            except (SyntaxError, ValueError, RecursionError):
                continue
            rel = path.relative_to(root).as_posix()
            second.update((row["repo"], rel, line, api) for line, api in hits)
    both, only_tool, only_second = tool & second, tool - second, second - tool
    print(f"sites: tool {len(tool)}, second detector {len(second)}, both {len(both)}, "
          f"tool only {len(only_tool)}, second only {len(only_second)}")
    for label, sites in (("tool only", only_tool), ("second only", only_second)):
        print(f"{label} by family: {dict(collections.Counter(family(s[3]) for s in sites))}")
        for site in sorted(sites)[: args.show]:
            print(f"  {label}: {site[0]} {site[1]}:{site[2]} {site[3]}")
    if args.reference:
        reference = pd.read_csv(args.reference, dtype=str, keep_default_na=False)
        calls = pd.read_csv(args.results / "call_sites.csv", dtype=str, keep_default_na=False)
        scores = call_site_agreement(calls, reference)
        print(f"reference: {int(scores.iloc[-1]['reference'])} sites")
        for row in scores.itertuples(index=False):
            print(f"  {row.family}: reference {row.reference}, tool {row.tool}, both {row.both}, "
                  f"precision {row.precision:.4f}, recall {row.recall:.4f}")
        extra, missed = call_site_differences(calls, reference)
        for site in extra[: args.show]:
            print(f"  tool, not in reference: {site}")
        for site in missed[: args.show]:
            print(f"  reference, not found by tool: {site}")


if __name__ == "__main__":
    sys.exit(main())
