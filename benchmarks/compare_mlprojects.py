"""Compare mlprojects.csv / entry_points.csv / parameters.csv with MLflow's loader output (jsonl).

    python benchmarks/compare_mlprojects.py --results R --reference ../shared/corpus/dev-mlprojects.jsonl

Prints every difference: validity, name, env type, env file, entry points, commands, parameters.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--reference", type=Path, required=True)
    args = parser.parse_args()
    ours = {(r["repo"], r["path"]): r for r in csv.DictReader((args.results / "mlprojects.csv").open())}
    eps: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for r in csv.DictReader((args.results / "entry_points.csv").open()):
        eps.setdefault((r["repo"], r["mlproject_path"]), {})[r["entry_point"]] = r
    params: dict[tuple[str, str, str], dict[str, dict[str, str]]] = {}
    for r in csv.DictReader((args.results / "parameters.csv").open()):
        params.setdefault((r["repo"], r["mlproject_path"], r["entry_point"]), {})[r["name"]] = r
    n = diffs = 0
    for line in args.reference.open():
        ref = json.loads(line)
        key = (ref["repo"], ref["path"])
        n += 1
        mine = ours.get(key)
        found: list[str] = []
        if mine is None:
            found.append("missing from mlprojects.csv")
        else:
            if (mine["valid"] == "true") != ref["ok"]:
                found.append(f"valid {mine['valid']} vs loader ok={ref['ok']} ({mine['error'] or ref.get('error')})")
            if ref["ok"]:
                if (mine["name"] or None) != ref["name"]:
                    found.append(f"name {mine['name']!r} vs {ref['name']!r}")
                if (mine["env_type"] or None) != ref["env_type"]:
                    found.append(f"env_type {mine['env_type']!r} vs {ref['env_type']!r}")
                if (mine["env_file"] or None) != ref["env_config_path"]:
                    found.append(f"env_file {mine['env_file']!r} vs {ref['env_config_path']!r}")
                ref_eps = {e["name"]: e for e in ref["entry_points"]}
                my_eps = eps.get(key, {})
                if set(ref_eps) != set(my_eps):
                    found.append(f"entry points {sorted(my_eps)} vs {sorted(ref_eps)}")
                for name, ep in ref_eps.items():
                    if name in my_eps and (my_eps[name]["command"] or None) != ep["command"]:
                        found.append(f"command of {name}: {my_eps[name]['command']!r} vs {ep['command']!r}")
                    mp = params.get((*key, name), {})
                    for p in ep["parameters"]:
                        m = mp.get(p["name"])
                        default = None if p["default"] is None else str(p["default"])
                        mine_default = None if m is None or m["required"] == "true" else m["default"]
                        if m is None or m["type"] != p["type"] or mine_default != default:
                            found.append(f"parameter {name}.{p['name']}: {m and (m['type'], m['default'])} "
                                         f"vs {(p['type'], p['default'])}")
                    if set(mp) != {p["name"] for p in ep["parameters"]}:
                        found.append(f"parameters of {name}: {sorted(mp)} vs {[p['name'] for p in ep['parameters']]}")
        if found:
            diffs += 1
            print(f"{key[0]} {key[1]}:")
            for f in found:
                print(f"  {f}")
    print(f"{n} MLproject files in the reference, {diffs} with differences")


if __name__ == "__main__":
    main()
