"""The ``rerun`` job: every target through ``run_tasks``, each result journaled, compared and written as it comes.

Resumable like ``analyze``: each finished target is appended (fsync'd) to
``<out>/rerun/journal.jsonl`` and ``rerun.csv`` is rewritten atomically from it, so ``kill -9``
loses only the targets that were running. A target already in the journal at the same commit and
under the same driver choice (``--driver-mlflow``: the journal keeps one record per target and
choice, ``rerun.csv`` one row each) is not re-run unless ``force``; a target whose environment
failed for a reason that may pass (network, timeout, a channel that did not answer), that met a full
disk, or that was run under another network policy or environment manager, is tried again.
``budget`` seconds after the start no new target starts (the others are left for the next run).
Tasks go to local worker processes or to a Dask cluster (``scheduler``); each worker needs
bubblewrap, and the corpus and environment cache at the same paths. The environment cache is kept
under ``env_cache_max`` (``env_cache.shrink``: at the start and after each new environment), the
driver's environment held in use for the whole job.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.isolated.env_cache import ShrinkReport, cache_usage, shrink
from analysis.executor import run_tasks
from analysis.rerun.at import AT_MODES, resolve_all
from analysis.rerun.compare import committed_runs, compare_metrics, of_entry_point, pick, same_params
from analysis.rerun.driver_env import CURRENT, DECLARED, DRIVER_CHOICES, DRIVER_REQUIREMENT, DRIVER_SPEC, choose_driver
from analysis.rerun.envplan import choose_manager
from analysis.rerun.ftypes import (
    ENV_MANAGERS,
    NETWORK_POLICIES,
    RERUN_COLUMNS,
    RerunError,
    RerunRow,
    RerunSettings,
    RunRecord,
    Target,
    TargetResult,
    row_from_json,
)
from analysis.rerun.sandbox import DISK_SAMPLE_SECONDS, Limits, Sandbox, SandboxUnavailable, container_engine, probe
from analysis.rerun.statistics import RerunStatistics, rerun_statistics, summary_frame
from analysis.rerun.target_run import (
    WorkerContext,
    build,
    check_worker,
    rerun_target,
    used_values,
)
from analysis.rerun.targets import load_targets, select
from analysis.rows import ReproducibilityRow
from analysis.tables import cells, table_frame
from analysis.isolated.uv_env import EnvBuildError, uv_command
from miner import __version__
from miner.corpus import mined_repositories
from miner.fileio import Journal, atomic_write_text, utc_now, write_csv, write_provenance

log = logging.getLogger(__name__)

RETRIED_BUILDS = ("failed: network", "failed: timeout", "failed: no space",
                  "failed: channel unreachable")  # may pass on another try


@dataclass(frozen=True)
class RerunSummary:
    """What a ``rerun`` did."""

    out_dir: Path
    sandbox: str
    process_limit: str
    n_targets: int  # in the corpus
    n_selected: int  # after --repo/--entry-point
    n_already: int  # finished before this run (journal)
    n_run: int  # finished by this run
    n_budget: int  # left for the next run: the budget was spent
    statuses: Mapping[str, int] = field(default_factory=dict)  # this run's targets by status
    errors: tuple[str, ...] = ()  # targets the tool failed on (a bug): retried next time
    seconds: float = 0.0
    network: str = "none"
    driver_mlflow: str = DECLARED

    def lines(self) -> list[str]:
        """What the command prints at the end."""
        out = [f"results: {self.out_dir / 'rerun.csv'}  summary: {self.out_dir / 'rerun_summary.csv'}  "
               f"logs: {self.out_dir / 'rerun' / 'logs'}",
               f"sandbox: {self.sandbox}  process limit: {self.process_limit}  network: {self.network}  "
               f"driver MLflow: {self.driver_mlflow}",
               f"targets: {self.n_targets}  selected: {self.n_selected}  finished before: {self.n_already}  "
               f"run now: {self.n_run}  seconds: {self.seconds:.0f}"]
        if self.statuses:
            out.append("  " + "  ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())))
        if self.n_budget:
            out.append(f"budget spent: {self.n_budget} targets not started; run the same command again to go on")
        return out + [f"  tool failed: {error} (not journaled, so a re-run tries it again)" for error in self.errors]


def _journal(out: Path) -> Journal:
    return Journal(out / "rerun" / "journal.jsonl")


def _choice_of(row: Mapping[str, Any]) -> str:
    """The driver choice a row was made under: the first word of its ``driver_mlflow`` (``current`` when it has
    none: refused before a driver was chosen, or journaled before the column existed, by the tool's MLflow)."""
    return str(row.get("driver_mlflow") or CURRENT).split(" ")[0]


def record_key(target_key: str, row: Mapping[str, Any]) -> str:
    """The journal's key of a row: its target's key and its driver choice (records journaled before
    ``--driver-mlflow`` have the target's key alone)."""
    return "\0".join(target_key.split("\0")[:3] + [_choice_of(row)])


def _finished(journal: Journal) -> dict[str, dict[str, Any]]:
    """The last record of each target and driver choice (by ``record_key``)."""
    return {record_key(str(r["key"]), r["row"]): r for r in journal.read() if "key" in r and "row" in r}


def finished_under(valid: Mapping[str, dict[str, Any]], target_key: str, asked: str) -> dict[str, Any] | None:
    """The record of a target's run under ``--driver-mlflow asked``: the one made under that choice; under
    ``declared``, also one made by the tool's MLflow for a project whose environment pins no release the
    driver could take (as its row's ``mlflow_pinned`` says: rows journaled before it existed do not say)."""
    record = valid.get(f"{target_key}\0{asked}")
    if record is None and asked == DECLARED:
        current = valid.get(f"{target_key}\0{CURRENT}")
        if current is not None and "mlflow_pinned" in current["row"] and \
                choose_driver(DECLARED, str(current["row"]["mlflow_pinned"])).choice == CURRENT:
            return current
    return record


def _slug(target: Target) -> str:
    raw = f"{target.repo}__{target.mlproject_path}__{target.entry_point}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw.replace("/", "__"))[:200]


def compare(result: TargetResult, runs: list[RunRecord], target: Target) -> RerunRow:
    """The row of a result with its comparison with the committed runs of the same entry point."""
    row = result.row
    if row.status == "not-attempted":  # nothing ran: nothing to compare
        return row
    if target.at:  # resolved (at.resolve_at): the run the tree was chosen for
        committed_run = next((r for r in runs if r.run_id == target.compare_run), None)
        chosen = None if committed_run is None else (committed_run, same_params(committed_run, used_values(target)))
    else:
        chosen = pick(of_entry_point(runs, target.entry_point, target.script), used_values(target))
    if chosen is None:
        return row
    committed, params_equal = chosen
    row = replace(row, compared_with=committed.run_id, params_equal=params_equal)
    fresh = next((r for r in result.fresh_runs if r.run_id == result.run_id), None)
    if row.status != "succeeded" or fresh is None:
        return row
    equal, close, differ = compare_metrics(fresh.metrics, committed.metrics)
    return replace(row, metrics_equal=equal, metrics_close=close, metrics_differ=differ)


def write_rows(out: Path, order: list[str], records: Mapping[str, dict[str, Any]]) -> list[RerunRow]:
    """Rewrite ``rerun.csv`` (atomically) from the journal's records, in target order."""
    rows = [row_from_json(records[k]["row"]) for k in order if k in records]
    write_csv(out / "rerun.csv", RERUN_COLUMNS, (cells(asdict(r)) for r in rows))
    return rows


def machine_facts() -> dict[str, object]:
    """What the provenance records of the machine the runs were made on."""
    uname = os.uname()
    try:
        mem = next((int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal:")), 0)
    except OSError:
        mem = 0
    return {"system": uname.sysname, "kernel": uname.release, "machine": uname.machine, "cpus": os.cpu_count(),
            "memory_bytes": mem, "python": sys.version.split()[0], "user_is_root": os.geteuid() == 0,
            "rlimit_nproc_host": resource.getrlimit(resource.RLIMIT_NPROC)[0]}


def _provenance(settings: RerunSettings, sandbox: Sandbox, targets: Iterable[Target], limits: Limits) -> dict[str, Any]:
    try:
        uv_version = subprocess.run([*uv_command(), "--version"], capture_output=True, text=True,
                                    timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError, EnvBuildError):
        uv_version = ""
    return {
        "tool": "mlflow-census", "tool_version": __version__, "written_at": utc_now(),
        "corpus": str(settings.corpus_dir), "results": str(settings.out_dir),
        "commits": {t.repo: t.commit for t in targets},
        "sandbox": sandbox.kind, "process_limit": sandbox.process_limit,
        "limits": {"timeout_seconds": settings.timeout, "build_timeout_seconds": settings.build_timeout,
                   "memory_bytes": limits.memory, "cpu_seconds": limits.cpu_seconds,
                   "file_size_bytes": limits.file_size, "processes": limits.processes},
        "network": settings.network if settings.sandbox else "all",
        "driver": DRIVER_REQUIREMENT, "uv": uv_version, "env_cache": str(settings.env_cache),
        "driver_mlflow": settings.driver_mlflow,  # declared: a project's exact pin where it has one (rows say which)
        "env_manager": settings.env_manager or "as mlflow run chooses: conda for conda_env, virtualenv otherwise",
        "rattler": _rattler_version(),
        "machine": machine_facts(),
        "executor": settings.scheduler or f"local, {settings.jobs} job(s)",
    }


def _rattler_version() -> str:
    """py-rattler's version (it solves and links conda environments), '' when not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("py-rattler")
    except PackageNotFoundError:
        return ""


def rerun(settings: RerunSettings, progress: Callable[[str, int, int], None] | None = None) -> RerunSummary:
    """Re-run the selected targets of an analyzed corpus; see the module docstring.

    ``progress(label, done, total)`` is called before the first target and as each finishes.
    Raises ``RerunError`` on bad input or when no sandbox can be made (unless ``sandbox=False``).
    """
    started = time.perf_counter()
    out = settings.out_dir
    runs_cache: dict[str, list[RunRecord]] = {}

    def runs_of(repo: str, checkout: Path) -> list[RunRecord]:
        if repo not in runs_cache:
            runs_cache[repo] = committed_runs(out, repo, checkout)
        return runs_cache[repo]

    if settings.network not in NETWORK_POLICIES:
        raise RerunError(f"--network {settings.network}: not one of {', '.join(NETWORK_POLICIES)}")
    if settings.at not in AT_MODES:
        raise RerunError(f"--at {settings.at}: not one of {', '.join(AT_MODES)}")
    if settings.driver_mlflow not in DRIVER_CHOICES:
        raise RerunError(f"--driver-mlflow {settings.driver_mlflow}: not one of {', '.join(DRIVER_CHOICES)}")
    if settings.env_manager and settings.env_manager not in ENV_MANAGERS:
        raise RerunError(f"--env-manager {settings.env_manager}: not one of {', '.join(ENV_MANAGERS)}")
    targets = load_targets(settings.corpus_dir, out, runs_of)
    chosen = select(targets, settings.repos, settings.entry_points)
    if (settings.repos or settings.entry_points) and not chosen:
        raise RerunError("no target matches --repo/--entry-point (" +
                         ", ".join([*settings.repos, *settings.entry_points]) + ")")
    try:
        sandbox = probe(settings.sandbox)
    except SandboxUnavailable as err:
        raise RerunError(str(err)) from err
    limits = Limits(memory=settings.memory, cpu_seconds=int(settings.timeout * max(1, os.cpu_count() or 1)) + 10,
                    file_size=settings.max_file_size, processes=settings.max_processes)
    done = _finished(_journal(out))
    by_key = {t.key: t for t in targets}
    valid = {k: r for k, r in done.items()
             if (target := by_key.get(k.rpartition("\0")[0])) is not None and r.get("commit") == target.commit}
    network = settings.network if settings.sandbox else "all"
    todo = [t for t in chosen if settings.force
            or (record := finished_under(valid, t.key, settings.driver_mlflow)) is None
            or _retried(record, network, settings.at) or _other_manager(record, settings.env_manager)]
    todo = resolve_all(todo, settings.at, runs_of, {r.repo: r.git_dir for r in mined_repositories(settings.corpus_dir)})
    order = [f"{t.key}\0{choice}" for t in targets for choice in (CURRENT, DECLARED)]
    (out / "rerun" / "logs").mkdir(parents=True, exist_ok=True)
    work_dir = settings.work_dir or Path(tempfile.gettempdir()) / "mlflow-census-rerun"
    work_dir.mkdir(parents=True, exist_ok=True)
    engine = container_engine()
    prov = {**_provenance(settings, sandbox, targets, limits), "container_engine": engine or "none"}
    context = WorkerContext(sandbox, limits, settings.timeout, settings.build_timeout, str(settings.env_cache),
                            str(work_dir), None if settings.budget is None else time.time() + settings.budget,
                            settings.keep_work, engine, network, settings.env_cache_max, settings.driver_mlflow,
                            env_manager=settings.env_manager)
    with ExitStack() as using:  # the driver's environment is in use for the whole job: the cache's bound keeps it
        if todo:
            try:
                build(context, DRIVER_SPEC, using)
            except EnvBuildError as err:
                raise RerunError(f"the MLflow that creates runs ({DRIVER_REQUIREMENT}) cannot be installed: "
                                 f"{err}") from err
        shrunk = shrink(settings.env_cache, settings.env_cache_max)
        write_provenance(out / "rerun.csv", prov)  # also for the rows a killed run leaves
        statuses, errors, n_budget = _run_targets(context, settings, todo, order, valid, runs_of, progress)
    rows = write_rows(out, order, valid)
    prov["disk"] = _disk_facts(settings, valid, shrunk)
    write_provenance(out / "rerun.csv", prov)
    stats = statistics_of(out, rows)
    summary = summary_frame(stats)
    write_csv(out / "rerun_summary.csv", list(summary.columns),
              ({k: ("" if v is None or v != v else v) for k, v in r.items()} for r in summary.to_dict("records")))
    write_provenance(out / "rerun_summary.csv", {**prov, "computed_from": ["rerun.csv", "reproducibility.csv"]})
    return RerunSummary(out, sandbox.kind, sandbox.process_limit, len(targets), len(chosen),
                        len(chosen) - len(todo), sum(statuses.values()), n_budget, statuses, tuple(errors),
                        time.perf_counter() - started, network, settings.driver_mlflow)


def _retried(record: Mapping[str, Any], network: str, at: str = "recorded") -> bool:
    """Whether a finished target is run again: its build (or its driver's) or run met what may pass, another
    network policy, or another ``--at`` (a row made at HEAD because it was asked, under ``recorded``; one made
    at the recorded commit, under ``head``; rows journaled before ``--at`` were made at HEAD)."""
    row = record["row"]
    made_at = str(row.get("at") or "head")
    driver_failed = row.get("failure_class") == "driver env" and str(row.get("message", "")).startswith(
        ("network:", "timeout:"))  # the driver's environment could not be had from the index
    return (row.get("env_build") in RETRIED_BUILDS or row.get("failure_class") == "no space" or driver_failed
            or row.get("network", "none") != network
            or (at == "recorded" and made_at == "head") or (at == "head" and made_at.startswith("recorded")))


def _other_manager(record: Mapping[str, Any], asked: str) -> bool:
    """Whether a finished target was made with another environment manager than ``--env-manager asked`` gives it
    (rows journaled before the option were made as virtualenv makes them)."""
    row = row_from_json(record["row"])
    return row.env_manager != choose_manager(row.env_kind, asked)


def _run_targets(context: WorkerContext, settings: RerunSettings, todo: list[Target], order: list[str],
                 valid: dict[str, dict[str, Any]], runs_of: Callable[[str, Path], list[RunRecord]],
                 progress: Callable[[str, int, int], None] | None) -> tuple[dict[str, int], list[str], int]:
    """Every target of ``todo`` through ``run_tasks``, each journaled and written as it finishes (into ``valid``):
    ``(statuses, the tool's errors, targets left for the budget)``."""
    out = settings.out_dir
    journal = _journal(out)
    report = progress or (lambda _label, _done, _total: None)
    statuses: dict[str, int] = {}
    errors: list[str] = []
    n_budget = finished = 0
    report("", 0, len(todo))
    checked = check_worker if settings.scheduler else None  # local workers share this machine's sandbox
    for target, result in run_tasks(rerun_target, context, todo, jobs=settings.jobs, scheduler=settings.scheduler,
                                    setup=checked):
        finished += 1
        label = f"{target.repo}:{target.entry_point}"
        if isinstance(result, BaseException):
            errors.append(f"{label}: {type(result).__name__}: {result}")
            log.error("rerun of %s failed in the tool: %r", label, result)
        elif result.skipped:
            n_budget += 1
        else:
            row = compare(result, runs_of(target.repo, Path(target.checkout)), target)
            key = record_key(target.key, asdict(row))
            # the logs of a target's run under each driver choice: the current one's named as before the option
            slug = _slug(target) + ("" if key.endswith(f"\0{CURRENT}") else f".{DECLARED}")
            if result.build_log:
                atomic_write_text(out / "rerun" / "logs" / f"{slug}.build.log", result.build_log)
            if result.run_log:
                atomic_write_text(out / "rerun" / "logs" / f"{slug}.run.log", result.run_log)
            record = {"key": key, "commit": target.commit, "written_at": utc_now(), "row": asdict(row),
                      "peak_disk_bytes": result.peak_disk}
            journal.append(record)
            valid[key] = record
            write_rows(out, order, valid)
            statuses[row.status] = statuses.get(row.status, 0) + 1
        report(label, finished, len(todo))
    return statuses, errors, n_budget


def _disk_facts(settings: RerunSettings, records: Mapping[str, dict[str, Any]], shrunk: ShrinkReport) -> dict[str, Any]:
    """The provenance's disk: the cache's bound and usage, what the bound removed at the start, the largest run."""
    peak = max(records.values(), key=lambda r: int(r.get("peak_disk_bytes", 0)), default={})
    row = peak.get("row", {})
    return {"env_cache_max_bytes": settings.env_cache_max, "env_cache_bytes": cache_usage(settings.env_cache).total,
            "env_cache_removed_at_start": len(shrunk.removed), "peak_run_bytes": int(peak.get("peak_disk_bytes", 0)),
            "peak_run_target": f"{row.get('repo', '')}:{row.get('entry_point', '')}" if row else "",
            "peak_run_measures": "real blocks of the run's copy and scratch directory, sampled every "
                                 f"{DISK_SAMPLE_SECONDS:g} s and at its end"}


def statistics_of(out: Path, rows: list[RerunRow] | None = None) -> RerunStatistics:
    """The statistics of a results directory's ``rerun.csv`` (or of ``rows``) and ``reproducibility.csv``."""
    if rows is None:
        frame = table_frame(out / "rerun.csv", RerunRow)
    else:
        frame = pd.DataFrame([asdict(r) for r in rows], columns=list(RERUN_COLUMNS))
    repro_path = out / "reproducibility.csv"
    repro = table_frame(repro_path, ReproducibilityRow) if repro_path.is_file() else None
    return rerun_statistics(frame, repro)

