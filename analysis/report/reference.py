"""Agreement of the results with adjudicated reference files (the format of ``shared/corpus/``).

- call sites against ``dev-call-sites.csv`` (repo, path, line, api, evidence; ``.py`` files and the APIs
  it lists): precision and recall per API family (fluent, flavor, client);
- MLproject files against ``dev-mlprojects.jsonl`` (MLflow's own loader): every field that differs;
- dependencies against ``dev-dependencies.csv`` (repo, path, kind, dependency, spec, pin_class,
  parse_error): reference rows found here with the same file and name, and with the same pin class.

Used by ``report --reference`` and by ``benchmarks/crosscheck.py`` and ``benchmarks/compare_mlprojects.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.utils import canonicalize_name

from analysis.tables import TRUE

FAMILIES = ("fluent", "flavor", "client")
Site = tuple[str, str, int, str]  # repo, path, line, api


def family(api: str) -> str:
    """The API family of a canonical API name: client (``mlflow.MlflowClient.*``), flavor (deeper) or fluent."""
    if api.startswith("mlflow.MlflowClient"):
        return "client"
    return "flavor" if api.count(".") > 1 else "fluent"


def tool_sites(call_sites: pd.DataFrame) -> set[Site]:
    """The resolved call sites of ``call_sites.csv`` in ``.py`` files (what the reference covers)."""
    py = call_sites[call_sites["path"].str.endswith(".py") & (call_sites["style"] != "unresolved")]
    return {(r, p, int(line), a) for r, p, line, a in py[["repo", "path", "line", "api"]].itertuples(index=False)}


def reference_sites(reference: pd.DataFrame) -> set[Site]:
    """The sites of ``dev-call-sites.csv``, client methods named as the tool names them."""
    return {(r, p, int(line), "mlflow." + a if a.startswith("MlflowClient.") else a)
            for r, p, line, a in reference[["repo", "path", "line", "api"]].itertuples(index=False)}


def call_site_agreement(call_sites: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per API family: reference sites, the tool's sites of the APIs the reference covers, both, precision, recall."""
    ref = reference_sites(reference)
    covered = {s[3] for s in ref}
    mine = {s for s in tool_sites(call_sites) if s[3] in covered}
    rows = []
    for fam in (*FAMILIES, "all"):
        r = {s for s in ref if fam == "all" or family(s[3]) == fam}
        m = {s for s in mine if fam == "all" or family(s[3]) == fam}
        both = len(r & m)
        rows.append({"family": fam, "reference": len(r), "tool": len(m), "both": both,
                     "precision": round(both / len(m), 4) if m else 1.0,
                     "recall": round(both / len(r), 4) if r else 1.0})
    return pd.DataFrame(rows)


def call_site_differences(call_sites: pd.DataFrame, reference: pd.DataFrame) -> tuple[list[Site], list[Site]]:
    """(sites the tool finds that the reference lacks, reference sites the tool misses), APIs the reference covers."""
    ref = reference_sites(reference)
    covered = {s[3] for s in ref}
    mine = {s for s in tool_sites(call_sites) if s[3] in covered}
    return sorted(mine - ref), sorted(ref - mine)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mlproject_differences(mlprojects: Iterable[Mapping[str, str]], entry_points: Iterable[Mapping[str, str]],
                          parameters: Iterable[Mapping[str, str]],
                          reference: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """(repo, path, differences) of every reference MLproject file, compared field by field with
    ``mlprojects.csv``, ``entry_points.csv`` and ``parameters.csv`` rows as their CSV text (``csv.DictReader``'s
    rows; an empty list: the same)."""
    ours = {(r["repo"], r["path"]): r for r in mlprojects}
    eps: dict[tuple[str, str], dict[str, Mapping[str, str]]] = {}
    for r in entry_points:
        eps.setdefault((r["repo"], r["mlproject_path"]), {})[r["entry_point"]] = r
    params: dict[tuple[str, str, str], dict[str, Mapping[str, str]]] = {}
    for r in parameters:
        params.setdefault((r["repo"], r["mlproject_path"], r["entry_point"]), {})[r["name"]] = r
    out = []
    for ref in reference:
        key = (ref["repo"], ref["path"])
        mine = ours.get(key)
        found: list[str] = []
        if mine is None:
            found.append("missing from mlprojects.csv")
        else:
            if (mine["valid"] == TRUE) != ref["ok"]:
                found.append(f"valid {mine['valid']} vs loader ok={ref['ok']} ({mine['error'] or ref.get('error')})")
            if ref["ok"]:
                found += _mlproject_fields(mine, ref, eps.get(key, {}), params, key)
        out.append((key[0], key[1], found))
    return out


def _mlproject_fields(mine: Mapping[str, str], ref: Mapping[str, Any], my_eps: Mapping[str, Mapping[str, str]],
                      params: Mapping[tuple[str, str, str], Mapping[str, Mapping[str, str]]],
                      key: tuple[str, str]) -> list[str]:
    found = []
    for ours, theirs, label in ((mine["name"], ref["name"], "name"), (mine["env_type"], ref["env_type"], "env_type"),
                                (mine["env_file"], ref["env_config_path"], "env_file")):
        if (ours or None) != theirs:
            found.append(f"{label} {ours!r} vs {theirs!r}")
    ref_eps = {e["name"]: e for e in ref["entry_points"]}
    if set(ref_eps) != set(my_eps):
        found.append(f"entry points {sorted(my_eps)} vs {sorted(ref_eps)}")
    for name, ep in ref_eps.items():
        if name in my_eps and (my_eps[name]["command"] or None) != ep["command"]:
            found.append(f"command of {name}: {my_eps[name]['command']!r} vs {ep['command']!r}")
        mp = params.get((*key, name), {})
        for p in ep["parameters"]:
            m = mp.get(p["name"])
            default = None if p["default"] is None else str(p["default"])
            mine_default = None if m is None or m["required"] == TRUE else m["default"]
            if m is None or m["type"] != p["type"] or mine_default != default:
                found.append(f"parameter {name}.{p['name']}: {m and (m['type'], m['default'])} "
                             f"vs {(p['type'], p['default'])}")
        if set(mp) != {p["name"] for p in ep["parameters"]}:
            found.append(f"parameters of {name}: {sorted(mp)} vs {[p['name'] for p in ep['parameters']]}")
    return found


def pin_class_agreement(dependencies: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per reference pin class (and all): reference rows that parse, those with a row here of the same
    file and name, and those of the same pin class too."""
    parsed = reference[reference["parse_error"] == ""]
    ours = dependencies.assign(key=[(r, p, canonicalize_name(n)) for r, p, n in
                                    dependencies[["repo", "path", "name"]].itertuples(index=False)])
    names = set(ours["key"])
    classes = set(zip(ours["key"], ours["pin_class"]))
    rows = []
    keys = [(r, p, canonicalize_name(d)) for r, p, d in parsed[["repo", "path", "dependency"]].itertuples(index=False)]
    frame = parsed.assign(key=keys)
    for pin in sorted(set(frame["pin_class"])) + ["all"]:
        part = frame if pin == "all" else frame[frame["pin_class"] == pin]
        found = sum(1 for k in part["key"] if k in names)
        same = sum(1 for k, c in zip(part["key"], part["pin_class"]) if (k, c) in classes)
        rows.append({"pin_class": pin, "reference": len(part), "found": found, "same_pin_class": same,
                     "agreement": round(same / len(part), 4) if len(part) else 1.0})
    return pd.DataFrame(rows)
