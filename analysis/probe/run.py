"""The probe's driver: for each MLflow release x backend, an environment, a fresh store, the workload, rows.

The workload (the folder ``workload-py38`` beside this file) runs in a subprocess of the release's interpreter
and answers with JSON; this module turns the answers into ``probe.csv`` rows, fits how latency
grows with size, and writes the CSV, its provenance sidecar, the raw answers and a figure.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from analysis.probe.ftypes import (COLUMNS, CURRENT, PROBES, SCALES, ProbeError, ProbeEvent, ProbeFailure, ProbeRow,
                                   ProbeSettings, ProbeSummary)
from analysis.isolated.uv_env import EnvBuildError, EnvSpec, ensure_env

log = logging.getLogger(__name__)

WORKLOAD = Path(__file__).with_name("workload-py38")  # a folder run as a script: python WORKLOAD --backend ...
TIMEOUTS = {"small": 900.0, "medium": 4 * 3600.0, "large": 12 * 3600.0}  # per release x backend
SERVER_SCHEMES = {"postgresql": "psycopg2-binary", "mysql": "pymysql"}  # scheme -> driver the env needs
GROWTH = {"search_runs": "runs", "get_metric_history": "points"}  # probes measured at growing sizes


@dataclass(frozen=True)
class _Backend:
    label: str  # the CSV's backend column: file | sqlite | postgresql | mysql
    kind: str  # file | sqlite | server
    uri: str = ""  # for a server: the URI given


@dataclass(frozen=True)
class _Target:
    release: str  # as asked: x.y.z or current
    python: Path
    version: str
    env_note: str


def python_for(release: str) -> str:
    """The Python minor version a release's environment is built with (one every such release supports)."""
    major = Version(release).major
    return "3.8" if major < 2 else "3.9" if major < 3 else "3.11"


def requirements_for(release: str, distribution: str = "mlflow", servers: bool = True) -> tuple[str, ...]:
    """What the release's environment installs: MLflow, pkg_resources for old releases, every server's driver.

    The drivers are always there (``servers``), so that one environment per release serves every backend.
    ``distribution="mlflow-skinny"`` (``rerun``'s driver, a FileStore only) installs the release without
    SQLAlchemy, so without its bound; ``servers=False`` leaves the drivers out.
    """
    # releases before 3.x import pkg_resources, which setuptools 81 removed; releases before 2.3 call
    # SQLAlchemy 1.x APIs (Connection.connect) but most do not bound it
    old_sql = ("sqlalchemy<2",) if distribution == "mlflow" and Version(release) < Version("2.3") else ()
    drivers = tuple(sorted(SERVER_SCHEMES.values())) if servers else ()
    return (f"{distribution}=={release}", "setuptools<81", *old_sql, *drivers)


def _scheme(backend: str) -> str:
    return urllib.parse.urlsplit(backend).scheme.split("+")[0] if "://" in backend else backend


def _parse_backend(text: str) -> _Backend:
    if text in ("file", "sqlite"):
        return _Backend(text, text)
    scheme = _scheme(text)
    if scheme in SERVER_SCHEMES:
        return _Backend(scheme, "server", text)
    raise ProbeError(f"backend {text!r}: use file, sqlite, or a server URI "
                     f"({', '.join(s + '://...' for s in SERVER_SCHEMES)})")


def _check(settings: ProbeSettings) -> list[_Backend]:
    if settings.scale not in SCALES:
        raise ProbeError(f"scale {settings.scale!r}: choose from {', '.join(SCALES)}")
    unknown = set(settings.probes) - set(PROBES)
    if unknown or not settings.probes:
        raise ProbeError(f"probes {', '.join(sorted(unknown)) or '(none)'}: choose from {', '.join(PROBES)}")
    for release in settings.releases:
        if release == CURRENT:
            continue
        try:
            if Version(release) < Version("1.0"):
                raise ProbeError(f"MLflow {release}: releases before 1.0 are not probed")
        except InvalidVersion as err:
            raise ProbeError(f"release {release!r}: not a version (x.y.z) nor {CURRENT!r}") from err
    if not settings.releases or not settings.backends:
        raise ProbeError("no release or no backend to probe")
    return [_parse_backend(b) for b in settings.backends]


def current_mlflow() -> str:
    """The version of the MLflow installed with this interpreter (mlflow or mlflow-skinny)."""
    for dist in ("mlflow", "mlflow-skinny"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    raise ProbeError(f"{CURRENT}: no MLflow is installed with {sys.executable}")


def redact(uri: str) -> str:
    """A URI without its password."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _target(release: str, settings: ProbeSettings, using: contextlib.ExitStack) -> _Target:
    if release == CURRENT:
        return _Target(release, Path(sys.executable), current_mlflow(), "this interpreter")
    built = ensure_env(EnvSpec(python=python_for(release), requirements=requirements_for(release)),
                       settings.env_cache, using=using)  # in use until the probe ends: rerun's cache bound keeps it
    note = (f"Python {built.python_version}{' (substituted)' if built.python_substituted else ''}, "
            f"{'cached' if built.cached else f'built in {built.seconds:.0f} s'}")
    return _Target(release, built.python, release, note)


def _run_workload(target: _Target, backend: _Backend, settings: ProbeSettings) -> dict[str, Any]:
    """The workload's JSON document for one release on one fresh store."""
    timeout = settings.timeout or TIMEOUTS[settings.scale]
    with tempfile.TemporaryDirectory(prefix="mlflow-probe-") as tmp:
        where = Path(tmp)
        uri = {"file": (where / "mlruns").as_uri(), "sqlite": f"sqlite:///{where / 'mlflow.db'}"}.get(backend.kind,
                                                                                                    backend.uri)
        out = where / "result.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}  # the store is ours alone
        cmd = [str(target.python), str(WORKLOAD), "--backend", uri, "--scale", settings.scale,
               "--probes", ",".join(settings.probes), "--out", str(out)]
        try:
            done = subprocess.run(cmd, cwd=where, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            raise _WorkloadError(f"timed out after {timeout:.0f} s") from err
        if done.returncode != 0 or not out.is_file():
            last = [ln for ln in done.stderr.splitlines() if ln.strip()][-1:] or [f"exit {done.returncode}"]
            raise _WorkloadError(f"workload failed (exit {done.returncode}): {last[0][:300]}")
        document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return document


class _WorkloadError(Exception):
    pass


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value) if not value.is_integer() or abs(value) >= 1e16 else str(int(value))
    return "" if value is None else str(value)


def rows_of(document: Mapping[str, Any], backend: str) -> list[ProbeRow]:
    """The workload's rows as ``ProbeRow`` (release: the MLflow version the workload ran)."""
    release = str(document["mlflow"])
    return [ProbeRow(release, backend, str(r["probe"]), str(r["parameter"]), _text(r["value"]), str(r["unit"]),
                     _text(r["n"]), _text(r["spread"]), str(r["outcome"]), str(r["detail"]))
            for r in document["rows"]]


def fit_exponent(points: Sequence[tuple[float, float]]) -> float | None:
    """The slope ``b`` of ``log y = a + b log x`` by least squares; None under two usable points.

    >>> round(fit_exponent([(10, 0.1), (100, 1.0), (1000, 10.0)]) or 0, 3)
    1.0
    """
    logs = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len({x for x, _ in logs}) < 2:
        return None
    mx = sum(x for x, _ in logs) / len(logs)
    my = sum(y for _, y in logs) / len(logs)
    sxx = sum((x - mx) ** 2 for x, _ in logs)
    return sum((x - mx) * (y - my) for x, y in logs) / sxx


def growth_series(document: Mapping[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """(size, median latency) of each probe measured at growing sizes."""
    series: dict[str, list[tuple[float, float]]] = {}
    for r in document["rows"]:
        if r.get("size") is not None and r["outcome"] == "measured" and r["probe"] in GROWTH:
            series.setdefault(r["probe"], []).append((float(r["size"]), float(r["value"])))
    return series


def growth_rows(release: str, backend: str, series: Mapping[str, Sequence[tuple[float, float]]]) -> list[ProbeRow]:
    """One ``fit`` row per probe: the exponent of latency against size."""
    rows = []
    for probe, points in series.items():
        slope = fit_exponent(points)
        if slope is None:
            continue
        sizes = ", ".join(f"{x:,.0f}" for x, _ in points)
        rows.append(ProbeRow(release, backend, probe, f"growth exponent (latency ~ {GROWTH[probe]}^b)",
                             f"{slope:.3f}", "", str(len(points)), "", "fit",
                             f"log-log least squares over {GROWTH[probe]} {sizes}"))
    return rows


def failure_row(failure: ProbeFailure) -> ProbeRow:
    """A release x backend that gave nothing is a row too."""
    probe = "environment" if failure.stage == "env" else "workload"
    return ProbeRow(failure.release, failure.backend, probe, "", "", "", "", "", "error", failure.reason)


def probe(settings: ProbeSettings, progress: Callable[[ProbeEvent], None] | None = None) -> ProbeSummary:
    """Probe every release x backend of ``settings``; write ``probe.csv`` (and more) into ``out_dir``.

    Raises ``ProbeError`` on bad settings before anything runs; a release whose environment cannot
    be built, or whose workload fails, is a ``ProbeFailure`` and an ``error`` row, and the rest goes on.
    """
    backends = _check(settings)
    tell = progress or (lambda event: None)
    started = time.perf_counter()
    rows: list[ProbeRow] = []
    failures: list[ProbeFailure] = []
    runs: list[dict[str, object]] = []
    all_series: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = {}
    total = len(settings.releases) * len(backends)
    done = 0
    raw_dir = settings.out_dir / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    using = contextlib.ExitStack()
    for release in settings.releases:
        tell(ProbeEvent("env", release, "", done, total, "environment"))
        try:
            target = _target(release, settings, using)
        except EnvBuildError as err:
            for backend in backends:
                failures.append(ProbeFailure(release, backend.label, "env", f"{err.reason}: {err.message}"))
                done += 1
                tell(ProbeEvent("failed", release, backend.label, done, total, err.message))
            continue
        for backend in backends:
            tell(ProbeEvent("run", target.version, backend.label, done, total, target.env_note))
            try:
                document = _run_workload(target, backend, settings)
            except _WorkloadError as err:
                failures.append(ProbeFailure(target.version, backend.label, "workload", str(err)))
                done += 1
                tell(ProbeEvent("failed", target.version, backend.label, done, total, str(err)))
                continue
            name = f"{document['mlflow']}-{backend.label}.json"
            (raw_dir / name).write_text(json.dumps(document, indent=1), encoding="utf-8")
            series = growth_series(document)
            all_series[(str(document["mlflow"]), backend.label)] = series
            rows += rows_of(document, backend.label) + growth_rows(str(document["mlflow"]), backend.label, series)
            runs.append({"release": document["mlflow"], "asked": release, "backend": backend.label,
                         "uri": redact(backend.uri) if backend.uri else backend.kind + " (temporary)",
                         "store": document["store"], "python": document["python"], "environment": target.env_note,
                         "facts": document["facts"], "seconds": round(float(document["seconds"]), 1),
                         "seconds_by_step": document.get("seconds_by_step", {}), "raw": f"raw/{name}"})
            done += 1
            tell(ProbeEvent("done", target.version, backend.label, done, total,
                            f"{len(document['rows'])} rows in {document['seconds']:.0f} s"))
    using.close()
    rows += [failure_row(f) for f in failures]
    seconds = time.perf_counter() - started
    write_outputs(settings, rows, runs, seconds)
    drawable = any(all_series.values())
    figure = draw_growth(all_series, settings.out_dir / "growth.png") if settings.draw_figure and drawable else None
    return ProbeSummary(settings.out_dir, tuple(rows), tuple(failures), seconds, figure, tuple(runs))


def machine_facts() -> dict[str, object]:
    """Cores, platform and the driver's Python."""
    return {"cores": os.cpu_count(), "platform": platform.platform(), "machine": platform.machine(),
            "driver_python": platform.python_version(), "processor": platform.processor() or _cpu_model()}


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return ""
    found = re.search(r"^model name\s*:\s*(.+)$", text, flags=re.M)
    return found.group(1).strip() if found else ""


def write_outputs(settings: ProbeSettings, rows: Iterable[ProbeRow], runs: Sequence[Mapping[str, object]],
                  seconds: float) -> Path:
    """``probe.csv`` and its provenance sidecar; returns the CSV's path."""
    from miner import __version__
    from miner.fileio import utc_now, write_csv, write_provenance

    path = settings.out_dir / "probe.csv"
    write_csv(path, COLUMNS, (r.as_dict() for r in rows))
    write_provenance(path, {
        "tool": "mlflow-census probe", "tool_version": __version__, "written_at": utc_now(),
        "scale": settings.scale, "probes": list(settings.probes), "releases_asked": list(settings.releases),
        "backends": [redact(b) for b in settings.backends], "machine": machine_facts(), "runs": list(runs),
        "seconds": round(seconds, 1),
        "columns": "release, backend, probe, parameter, value, unit, n (repetitions or items), spread "
                   "(interquartile range of the repetitions, in unit), outcome, detail; see docs/probe.md",
    })
    return path


def draw_growth(series: Mapping[tuple[str, str], Mapping[str, Sequence[tuple[float, float]]]], path: Path) -> Path:
    """A log-log figure of latency against size, one panel per probe, one line per release x backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    probes = [p for p in GROWTH if any(p in s for s in series.values())]
    fig, axes = plt.subplots(1, max(1, len(probes)), figsize=(5.5 * max(1, len(probes)), 4.2), squeeze=False)
    for ax, name in zip(axes[0], probes):
        for (release, backend), by_probe in sorted(series.items()):
            points = by_probe.get(name)
            if not points:
                continue
            slope = fit_exponent(points)
            label = f"{release} {backend}" + (f" (b={slope:.2f})" if slope is not None else "")
            ax.plot([x for x, _ in points], [y for _, y in points], marker="o",
                    linestyle="-" if backend == "sqlite" else "--" if backend == "file" else ":", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(GROWTH[name])
        ax.set_ylabel("median latency (s)")
        ax.set_title(name)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("MLflow store latency against size (probe.csv)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
