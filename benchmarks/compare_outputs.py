#!/usr/bin/env python3
"""Compare two ``analyze`` output directories byte for byte.

    python compare_outputs.py BASELINE_OUT NEW_OUT [--no-sidecars] [--ignore-key KEY ...]

Compares every ``*.csv`` and ``*.graphml`` file (at any depth, so ``graphs/*.graphml`` too) and,
unless ``--no-sidecars``, every ``*.provenance.json`` sidecar. Only provenance that legitimately
changes from run to run is normalised, nothing else:

- GraphML: the graph-level ``<data>`` values of the keys named ``written_at`` and ``tool``
  (``graph.graph.update(tool=..., written_at=...)`` in analysis/engine/driver.py). Their key ids
  (``d1``, ``d3``, ...) differ from file to file, so they are read from each file's ``<key>``
  declarations.
- Sidecars (``miner/fileio.py write_provenance``: ``json.dumps(info, indent=2, sort_keys=True)``):
  the top-level fields ``written_at`` (always) and any ``--ignore-key`` (e.g. ``corpus`` when
  the two runs read copies of the corpus at different paths, ``tool_version`` across a version
  bump). The rest (commits, manifest_sha256, catalog releases, ...) must be equal.

``.cache.sqlite`` and ``report/`` (figures; report.md carries the time and the output path) are
not compared. A file present on one side only counts as a difference.

Known nondeterminism (mlflow-census at 26c6080): ``usage_graph.graphml`` is written from a
``set`` of repository names (analysis/engine/driver.py, ``usage_graph(..., {t.repo for t in tasks})``),
so its node and edge order follows Python's string-hash seed and changes between runs. Run
``analyze`` with ``PYTHONHASHSEED=0`` on both sides, or pass ``--unordered usage_graph.graphml``
to accept a difference in line order only for that file (it then prints ``same (line order
differs)``; any other difference is still reported).

Prints one line per file, ``same`` or ``DIFFERENT (n lines differ, first difference: ...)``,
and exits 0 if everything is the same, 1 otherwise (2 on bad arguments).
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

GRAPHML_VOLATILE = ("written_at", "tool")
SIDECAR_VOLATILE = ("written_at",)
SIDECAR_SUFFIX = ".provenance.json"

_KEY = re.compile(rb'<key\b[^>]*?\bid="([^"]+)"[^>]*>')
_ATTR = re.compile(rb'\b(for|attr\.name)="([^"]*)"')


def normalise_graphml(data: bytes) -> bytes:
    """Blank the graph-level ``written_at`` / ``tool`` values; every other byte unchanged."""
    ids = []
    for m in _KEY.finditer(data):
        attrs = dict((k, v) for k, v in _ATTR.findall(m.group(0)))
        if attrs.get(b"for") == b"graph" and attrs.get(b"attr.name", b"").decode() in GRAPHML_VOLATILE:
            ids.append(m.group(1))
    for key_id in ids:
        pattern = re.compile(rb'(<data key="' + re.escape(key_id) + rb'">)[^<]*(</data>)')
        data = pattern.sub(rb"\1<normalised>\2", data)
    return data


def normalise_sidecar(data: bytes, ignore: tuple[str, ...]) -> bytes:
    """Drop the volatile top-level fields and re-serialise exactly as write_provenance does."""
    try:
        info = json.loads(data)
    except ValueError:
        return data  # not JSON: compare raw
    if not isinstance(info, dict):
        return data
    for key in ignore:
        info.pop(key, None)
    return (json.dumps(info, indent=2, sort_keys=True) + "\n").encode()


def wanted(rel: Path, sidecars: bool) -> bool:
    if rel.parts and rel.parts[0] in ("report", ".cache.sqlite"):
        return False
    name = rel.name
    if name.endswith(SIDECAR_SUFFIX):
        return sidecars
    return name.endswith(".csv") or name.endswith(".graphml")


def files_under(root: Path, sidecars: bool) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and wanted(p.relative_to(root), sidecars)}


def _short(line: bytes, limit: int = 160) -> str:
    text = line.decode("utf-8", "backslashreplace").rstrip("\r\n")
    return text if len(text) <= limit else text[:limit] + "..."


def describe(a: bytes, b: bytes) -> str:
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, la, lb, autojunk=False)
    n = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            n += max(i2 - i1, j2 - j1)
    first = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
    left = _short(la[first]) if first < len(la) else "<end of file>"
    right = _short(lb[first]) if first < len(lb) else "<end of file>"
    extra = f"; {len(la)} vs {len(lb)} lines" if len(la) != len(lb) else ""
    return f"{n} lines differ, first difference: line {first + 1}: {left!r} != {right!r}{extra}"


def compare(a_dir: Path, b_dir: Path, sidecars: bool, ignore: tuple[str, ...],
            unordered: frozenset[str] = frozenset()) -> int:
    a_files, b_files = files_under(a_dir, sidecars), files_under(b_dir, sidecars)
    n_diff = n_same = 0
    for rel in sorted(a_files | b_files, key=lambda p: (len(p.parts), str(p))):
        if rel not in b_files or rel not in a_files:
            where = b_dir if rel not in b_files else a_dir
            print(f"{rel}: DIFFERENT (missing in {where})")
            n_diff += 1
            continue
        a, b = (a_dir / rel).read_bytes(), (b_dir / rel).read_bytes()
        if rel.name.endswith(SIDECAR_SUFFIX):
            a, b = normalise_sidecar(a, ignore), normalise_sidecar(b, ignore)
        elif rel.name.endswith(".graphml"):
            a, b = normalise_graphml(a), normalise_graphml(b)
        if a == b:
            print(f"{rel}: same")
            n_same += 1
        elif (str(rel) in unordered or rel.name in unordered) and sorted(a.splitlines()) == sorted(b.splitlines()):
            print(f"{rel}: same (line order differs)")
            n_same += 1
        else:
            print(f"{rel}: DIFFERENT ({describe(a, b)})")
            n_diff += 1
    print(f"-- {n_same} same, {n_diff} different, {n_same + n_diff} compared")
    return 1 if n_diff else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="first output directory (e.g. the baseline)")
    parser.add_argument("b", type=Path, help="second output directory")
    parser.add_argument("--no-sidecars", action="store_true", help="do not compare *.provenance.json sidecars")
    parser.add_argument("--ignore-key", action="append", default=[], metavar="KEY",
                        help="also drop this top-level sidecar field (repeatable; written_at always is)")
    parser.add_argument("--unordered", action="append", default=[], metavar="FILE",
                        help="for this file (name or path relative to the output directory; repeatable) "
                             "a difference in line order only counts as same")
    args = parser.parse_args(argv)
    for d in (args.a, args.b):
        if not d.is_dir():
            parser.error(f"{d}: not a directory")
    return compare(args.a, args.b, not args.no_sidecars, (*SIDECAR_VOLATILE, *args.ignore_key),
                   frozenset(args.unordered))


if __name__ == "__main__":
    sys.exit(main())
