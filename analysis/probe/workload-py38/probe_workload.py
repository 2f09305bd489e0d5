"""The probe's workload, run by the target interpreter: measures one MLflow store, writes JSON rows.

``python workload-py38 --backend URI --scale small --probes capacity,precision,integrity --out result.json``

The folder is run, never imported: its ``__main__.py`` calls ``main`` here, and its modules import
each other by their ``probe_`` names (the folder is ``sys.path[0]`` when it runs). They import
nothing from mlflow-census: they run under Python 3.8+ with whatever MLflow release the interpreter
has (1.x, 2.x, 3.x), feature-detecting the APIs they need. A probe that fails in a release becomes a
row with ``outcome = error`` and the message; the script itself only fails on bad arguments. Each
row: ``probe, parameter, value, unit, n, spread, outcome, detail`` and, for series the driver fits,
``size``.

The same folder is also its own helper processes: a fresh interpreter that measures client start-up
(``--worker startup``), and processes that read values back or log concurrently with their
siblings, forked from a copy of the workload made once it has imported MLflow (``_Zygote``).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

from probe_capacity import probe_capacity
from probe_common import PROBES, SCALES, SECONDS, Row, _client, _guarded, _message, _mlflow, _row
from probe_helpers import _fork_helpers
from probe_integrity import probe_integrity
from probe_precision import probe_precision
from probe_store import Store
from probe_workers import WORKERS


def _file_store_gate(store: Store) -> List[Row]:
    """Whether this release opens a FileStore without MLFLOW_ALLOW_FILE_STORE; then allow it."""
    if store.scheme != "file":
        return []
    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    probe_dir = tempfile.mkdtemp(prefix="gate-")
    try:
        _client("file://" + probe_dir).get_experiment_by_name("Default")
        row = _row("file store gate", "without MLFLOW_ALLOW_FILE_STORE", "", "", 1, "", "accepted",
                   "the FileStore opens without the variable")
    except Exception as err:
        row = _row("file store gate", "without MLFLOW_ALLOW_FILE_STORE", "", "", 1, "", "refused", _message(err, 1000))
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # so the probe goes on, here and in its helpers
    return [row]


def run(uri: str, scale_name: str, probes: Sequence[str]) -> Dict[str, Any]:
    """Every probe asked, on a fresh store at ``uri``; the JSON document."""
    started = time.perf_counter()
    scale = SCALES[scale_name]
    store = Store(uri)
    mlflow = _mlflow()
    if set(probes) & {"precision", "integrity"}:
        _fork_helpers(store)  # before the store is touched
    fresh = store.make_fresh()
    rows: List[Row] = []
    facts: Dict[str, str] = {}
    try:
        rows.extend(_file_store_gate(store))
        client = _client(store.uri)
        client.get_experiment_by_name("Default")  # creates the schema of a new SQL store
        facts = store.facts()
        if "capacity" in probes:
            rows.extend(probe_capacity(store, client, scale))
        if "precision" in probes:
            rows.extend(_guarded("precision", lambda: probe_precision(store, client)))
        if "integrity" in probes:
            rows.extend(probe_integrity(store, client, scale))
    finally:
        store.drop()
    return {"mlflow": mlflow.__version__, "python": "%d.%d.%d" % sys.version_info[:3], "scheme": store.scheme,
            "scale": scale_name, "store": fresh or "fresh store made by the driver", "facts": facts,
            "rows": rows, "seconds": time.perf_counter() - started, "seconds_by_step": SECONDS}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", help="tracking URI of a fresh store (file://, sqlite:///, postgresql://...)")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--probes", default=",".join(PROBES))
    parser.add_argument("--out", help="where the JSON goes (default: stdout)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--args", default="{}", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if ns.worker:
        answer = WORKERS[ns.worker](json.loads(ns.args))
        print(json.dumps(answer))
        return 0
    if not ns.backend:
        parser.error("--backend is required")
    probes = [p for p in ns.probes.split(",") if p]
    unknown = set(probes) - set(PROBES)
    if unknown:
        parser.error("unknown probes: %s (choose from %s)" % (", ".join(sorted(unknown)), ", ".join(PROBES)))
    document = run(ns.backend, ns.scale, probes)
    text = json.dumps(document, indent=1)
    if ns.out:
        with open(ns.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text)
    return 0

