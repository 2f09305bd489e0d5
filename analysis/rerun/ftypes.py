"""Value types of ``rerun``: settings, targets, runs read from a store, outcome rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIB = 1 << 30
NETWORK_POLICIES = ("none", "all")  # --network: a loopback of its own, or the host's network
ENV_MANAGERS = ("conda", "virtualenv", "uv", "local")  # --env-manager: MLflow's (utils/env_manager.py)


class RerunError(Exception):
    """Bad input or a machine that cannot re-run safely: nothing was run."""


@dataclass(frozen=True)
class RerunSettings:
    """Everything one ``rerun`` needs."""

    corpus_dir: Path
    out_dir: Path  # analyze's results directory: its CSVs are read, rerun.csv and rerun/ are written there
    env_cache: Path
    repos: tuple[str, ...] = ()  # only these repositories ('' or empty: all)
    entry_points: tuple[str, ...] = ()  # only these entry point names
    timeout: float = 600.0  # wall-clock seconds of one run
    build_timeout: float = 900.0  # seconds of one environment build
    memory: int = 4 * GIB  # bytes of data segment per process (RLIMIT_DATA)
    max_processes: int = 512  # processes and threads of one run (pids cgroup, or RLIMIT_NPROC)
    max_file_size: int = 4 * GIB  # bytes of any one file written (RLIMIT_FSIZE)
    jobs: int = 1
    scheduler: str | None = None  # tcp://HOST:PORT of a Dask scheduler
    budget: float | None = None  # seconds after which no new target is started
    force: bool = False  # re-run targets already finished
    sandbox: bool = True  # False only with --no-sandbox
    work_dir: Path | None = None  # where each target's copy and scratch directory go (default: the system's temp)
    keep_work: bool = False  # keep each target's copy and scratch directory (debugging)
    network: str = "none"  # one of NETWORK_POLICIES: what a run may reach (builds always have the index)
    at: str = "recorded"  # --at: recorded (the commit the compared run recorded, where the history has it) | head
    env_cache_max: int = 20 * GIB  # bytes the environment cache may take (env_cache.shrink)
    driver_mlflow: str = "declared"  # --driver-mlflow: declared (the project's exact pin, else current) | current
    env_manager: str = ""  # --env-manager: one of ENV_MANAGERS, '' as ``mlflow run`` chooses per project


@dataclass(frozen=True)
class ParamDecl:
    """A declared parameter of an entry point, as ``parameters.csv`` has it."""

    name: str
    type: str
    default: str | None  # None: no default (required)


@dataclass(frozen=True)
class Target:
    """One entry point of one MLproject to re-run, with what it needs to be run anywhere."""

    repo: str
    commit: str
    checkout: str  # absolute path of the repository's tree in the corpus
    mlproject_path: str  # relative to the repository
    entry_point: str
    command: str
    script: str  # the file the command runs, relative to the repository ('' when unknown)
    parameters: tuple[ParamDecl, ...]
    env_type: str  # conda_env | python_env | docker_env
    env_file: str  # relative to the repository; '' when MLflow falls back to a bare environment
    databricks_spark_job: bool = False
    values: tuple[tuple[str, str], ...] = ()  # required parameters' values, taken from a committed run
    missing: tuple[str, ...] = ()  # required parameters nobody gave a value
    # set by ``at.resolve_at`` before the run:
    at: str = ""  # rerun.csv's ``at``: recorded | recorded: head's MLproject | head[: why]
    run_commit: str = ""  # the recorded commit whose tree is re-run ('' : the checkout, at ``commit``)
    git_dir: str = ""  # the repository's history, where ``run_commit``'s tree is read
    compare_run: str = ""  # run id of the committed run compared with ('' : none)

    @property
    def key(self) -> str:
        """What identifies the target across runs of the tool."""
        return f"{self.repo}\0{self.mlproject_path}\0{self.entry_point}"

    @property
    def project_dir(self) -> str:
        """The MLproject's directory, relative to the repository ('' for the root)."""
        parent = self.mlproject_path.rpartition("/")[0]
        return parent


@dataclass(frozen=True)
class RunRecord:
    """One MLflow run as a store holds it: identity, entry point, parameters and final metric values."""

    store: str  # where the store is: relative to the repository, or 'fresh' for the re-run's own store
    run_id: str
    experiment_id: str = ""
    entry_point: str = ""  # tag mlflow.project.entryPoint (or the legacy meta field)
    source_name: str = ""  # tag mlflow.source.name
    status: str = ""  # RUNNING, FINISHED, FAILED, KILLED, SCHEDULED
    start_time: int = 0
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # the final value of each key
    commit: str = ""  # tag mlflow.source.git.commit ('' when none was recorded)


@dataclass(frozen=True)
class RerunRow:
    """One row of ``rerun.csv``: what became of one target. The field names are the columns, in order."""

    repo: str
    mlproject_path: str
    entry_point: str
    parameters: str = ""  # JSON object of the values used, declared order
    env_kind: str = ""  # python_env | conda_env | docker_env | none (MLflow's bare environment)
    env_build: str = ""  # ok | failed: <reason> | '' (not built)
    conda_packages_dropped: str = ""  # ';'-joined conda specs MLflow's virtualenv conversion drops
    python_requested: str = ""
    python_used: str = ""
    network: str = ""  # the policy the run was made under: none | all (a run without a sandbox: all)
    status: str = ""  # succeeded | failed | timeout | killed-memory | not-attempted
    failure_class: str = ""
    message: str = ""
    build_seconds: float | None = None
    run_seconds: float | None = None
    n_runs_logged: int | None = None
    n_metrics_logged: int | None = None
    compared_with: str = ""  # run id of the committed run compared with
    params_equal: bool | None = None
    metrics_equal: bool | None = None
    metrics_close: bool | None = None
    metrics_differ: str = ""  # ';'-joined metric keys outside the tolerance or missing on one side
    commit: str = ""  # the commit whose tree was re-run
    at: str = ""  # recorded | recorded: head's MLproject | head | head: <why> (see analysis/rerun/at.py)
    driver_mlflow: str = ""  # the MLflow that created the run: 'declared 1.30.1' | 'current 3.17.2' ('' : none chosen)
    mlflow_pinned: str = ""  # the MLflow release the environment file pins exactly ('' : none)
    env_manager: str = ""  # conda | virtualenv | uv | local: the manager the environment was made with ('' docker)


RERUN_COLUMNS = tuple(f.name for f in dataclasses.fields(RerunRow))


@dataclass(frozen=True)
class TargetResult:
    """What a worker hands back for one target: the row (without comparison), logs and the fresh runs."""

    row: RerunRow
    build_log: str = ""
    run_log: str = ""
    fresh_runs: tuple[RunRecord, ...] = ()
    run_id: str = ""  # the run the re-run created (as ``mlflow run`` does), '' when none
    skipped: bool = False  # not started: the budget was spent
    peak_disk: int = 0  # the most the run's copy and scratch directory took on disk (sampled)


def row_from_json(data: Mapping[str, Any]) -> RerunRow:
    """A row back from its JSON form (journal records)."""
    values: dict[str, Any] = {k: data[k] for k in RERUN_COLUMNS if k in data}
    values.setdefault("network", "none")  # journaled before --network: runs had a loopback only
    values.setdefault("driver_mlflow", "current")  # journaled before --driver-mlflow: the tool's MLflow made every run
    if "env_manager" not in values:  # journaled before --env-manager: every environment was made as virtualenv's
        values["env_manager"] = "" if values.get("env_kind") == "docker_env" else "virtualenv"
    return RerunRow(**values)
