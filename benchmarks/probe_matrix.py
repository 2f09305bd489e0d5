"""The probe's full matrix: the default MLflow releases x file and SQLite (and PostgreSQL if given).

    python benchmarks/probe_matrix.py [--scale medium] [--postgres URI] [--mlflow X ...] [--out DIR]

Probes one release at a time into ``DIR/<release>/`` (so an interrupted matrix keeps the
releases it finished), then writes every row into ``DIR/probe.csv`` (with its provenance and the
growth figure), and prints the summary table the report shows, each release's time and the total.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.probe import ProbeSettings, probe, summarize  # noqa: E402
from analysis.probe.ftypes import DEFAULT_RELEASES, ProbeEvent, ProbeRow  # noqa: E402
from analysis.probe.run import draw_growth, growth_series, write_outputs  # noqa: E402
from analysis.isolated.uv_env import default_cache  # noqa: E402
from miner.fileio import read_csv  # noqa: E402


def _finished(settings: ProbeSettings) -> tuple[list[ProbeRow], list[dict[str, object]]] | None:
    """The rows and runs of an earlier, complete run of the same release, backends and scale."""
    path = settings.out_dir / "probe.csv"
    sidecar = settings.out_dir / "probe.csv.provenance.json"
    if not path.is_file() or not sidecar.is_file():
        return None
    provenance = json.loads(sidecar.read_text(encoding="utf-8"))
    runs: list[dict[str, object]] = provenance["runs"]
    if provenance["scale"] != settings.scale or len(runs) != len(settings.backends):
        return None
    return [ProbeRow(**row) for row in read_csv(path)], runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--postgres", help="a PostgreSQL server URI (the probe makes a database per release)")
    parser.add_argument("--mlflow", action="append", help="releases (default: the probe's defaults)")
    parser.add_argument("--out", type=Path, default=Path("results") / "probe-matrix")
    ns = parser.parse_args()
    releases = tuple(ns.mlflow or DEFAULT_RELEASES)
    backends = ("file", "sqlite") + ((ns.postgres,) if ns.postgres else ())
    started = time.perf_counter()
    rows: list[ProbeRow] = []
    runs: list[dict[str, object]] = []
    times: dict[str, float] = {}

    def tell(event: ProbeEvent) -> None:
        if event.kind in ("done", "failed"):
            print(f"  {event.kind}: MLflow {event.release} on {event.backend}: {event.message}", flush=True)

    for release in releases:
        settings = ProbeSettings(out_dir=ns.out / release, env_cache=default_cache(), releases=(release,),
                                 backends=backends, scale=ns.scale, draw_figure=False)
        done = _finished(settings)
        if done is not None:
            print(f"MLflow {release}: kept from {settings.out_dir} (a finished run; delete it to measure again)")
            rows += done[0]
            runs += done[1]
            continue
        t0 = time.perf_counter()
        summary = probe(settings, tell)
        times[release] = time.perf_counter() - t0
        print(f"MLflow {release}: {len(summary.rows)} rows in {times[release]:.0f} s", flush=True)
        rows += summary.rows
        runs += summary.runs
    seconds = time.perf_counter() - started
    combined = ProbeSettings(out_dir=ns.out, env_cache=default_cache(), releases=releases, backends=backends,
                             scale=ns.scale)
    write_outputs(combined, rows, runs, seconds)
    series: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = {}
    for run in runs:
        document = json.loads((ns.out / str(run["release"]) / str(run["raw"])).read_text(encoding="utf-8"))
        series[(str(run["release"]), str(run["backend"]))] = growth_series(document)
    draw_growth(series, ns.out / "growth.png")
    print()
    print("| section | backend | item | result |\n|---|---|---|---|")
    for line in summarize(read_csv(ns.out / "probe.csv")):
        print(f"| {line['section']} | {line['backend']} | {line['item']} | {line['result']} |")
    print()
    print("seconds per release: " + ", ".join(f"{r} {t:.0f}" for r, t in times.items()))
    print(f"total: {seconds:.0f} s ({len(releases)} releases x {len(backends)} backends, scale {ns.scale})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
