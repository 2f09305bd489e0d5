"""A small table of what ``probe.csv`` found, for the report: efficiency, precision, integrity."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.version import InvalidVersion, Version

SUMMARY_COLUMNS = ("section", "backend", "item", "result")
_SIZE = re.compile(r"latency at (\d+) (runs|points)")


def read_probe(directory: Path) -> list[dict[str, str]]:
    """The rows of ``<directory>/probe.csv``."""
    from miner.fileio import read_csv

    return read_csv(directory / "probe.csv")


def _release_key(release: str) -> tuple[int, Version | str]:
    try:
        return 0, Version(release)
    except InvalidVersion:
        return 1, release


def _by_outcome(rows: Iterable[Mapping[str, str]], show_value: bool = False) -> str:
    """``changed (1.7976931348623157e+308) in 1.30.1, 3.17.2; exact in ...``, releases in order."""
    groups: dict[str, list[str]] = {}
    for r in sorted(rows, key=lambda r: _release_key(r["release"])):
        label = r["outcome"] + (f" ({r['value']})" if show_value and r["outcome"] == "changed" and r["value"] else "")
        groups.setdefault(label, []).append(r["release"])
    if len(groups) == 1:
        label, releases = next(iter(groups.items()))
        return f"{label} in {', '.join(releases)}"
    return "; ".join(f"{label} in {', '.join(releases)}" for label, releases in groups.items())


def _grouped(rows: Iterable[Mapping[str, str]]) -> dict[tuple[str, str, str], list[Mapping[str, str]]]:
    out: dict[tuple[str, str, str], list[Mapping[str, str]]] = {}
    for r in rows:
        out.setdefault((r["backend"], r["probe"], r["parameter"]), []).append(r)
    return out


def _efficiency(rows: list[Mapping[str, str]]) -> list[dict[str, str]]:
    """Search and history latency at the largest size each release measured, against SQLite's."""
    largest: dict[tuple[str, str, str], tuple[int, float]] = {}
    for r in rows:
        found = _SIZE.fullmatch(r["parameter"])
        if found and r["outcome"] == "measured":
            key = (r["release"], r["backend"], r["probe"])
            size = int(found.group(1))
            if size >= largest.get(key, (-1, 0.0))[0]:
                largest[key] = (size, float(r["value"]))
    out = []
    for (release, backend, probe), (size, seconds) in sorted(largest.items(),
                                                             key=lambda kv: (kv[0][2], kv[0][1],
                                                                             _release_key(kv[0][0]))):
        unit = "runs" if probe == "search_runs" else "points"
        result = f"{seconds * 1000:.1f} ms"
        base = largest.get((release, "sqlite", probe))
        if backend != "sqlite" and base and base[0] == size and base[1] > 0:
            result += f" ({seconds / base[1]:.2g}x SQLite's)"
        out.append({"section": "efficiency", "backend": backend,
                    "item": f"{probe} at {size:,} {unit}, MLflow {release}", "result": result})
    return out


def summarize(rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Rows of ``SUMMARY_COLUMNS`` from ``probe.csv`` rows (as ``read_probe`` gives them).

    efficiency: search_runs and get_metric_history at the largest size, with the ratio to SQLite;
    precision: every value or param case that is not exact in every release, its outcomes by release;
    integrity: each integrity outcome by release; the FileStore gate; releases that failed.
    """
    rows = list(rows)
    out = _efficiency(rows)
    for (backend, probe, parameter), group in sorted(_grouped(rows).items()):
        if probe.startswith("precision ") and any(r["outcome"] != "exact" for r in group):
            out.append({"section": "precision", "backend": backend, "item": f"{probe.split()[1]} {parameter}",
                        "result": _by_outcome(group, show_value=True)})
        elif probe == "precision" and parameter == "MAX_PARAM_VAL_LENGTH":
            out.append({"section": "precision", "backend": backend, "item": parameter,
                        "result": "; ".join(f"{r['value']} in {r['release']}"
                                            for r in sorted(group, key=lambda r: _release_key(r["release"])))})
    integrity = ("param re-logged", "metric point repeated", "concurrent writers, one run",
                 "concurrent writers, one experiment", "client killed mid-log_batch", "half-written file",
                 "file store gate")
    for (backend, probe, parameter), group in sorted(_grouped(rows).items()):
        if probe in integrity and not parameter.endswith("expected"):
            out.append({"section": "integrity", "backend": backend, "item": f"{probe}: {parameter}".rstrip(": "),
                        "result": _by_outcome(group)})
        elif probe in ("environment", "workload"):
            out.append({"section": "failed", "backend": backend, "item": probe, "result": _by_outcome(group)})
    return out
