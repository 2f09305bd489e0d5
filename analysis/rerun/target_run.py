"""One target, start to end, on whichever worker runs it: copy, environment, command, sandboxed run, results.

``rerun_target(context, target)`` is the task ``run_tasks`` sends out. It copies the checkout (or
writes the tree of the recorded commit ``at.resolve_at`` chose, from the history's objects) to a fresh
directory, builds (or takes from the cache) the environment ``mlflow run`` would build,
substitutes the parameters into the command, runs it in the sandbox through ``driver.py`` (which
creates the MLflow run as ``mlflow run`` does), and reads the fresh store. A target MLflow would not
run (docker, a required parameter nobody gave, an environment MLflow refuses or that cannot be
built) is a ``not-attempted`` row; a failing run is a ``failed``/``timeout``/``killed-memory`` row.
Only a bug of the tool raises. The comparison with committed runs is made by the caller, which has
them.

The MLflow that creates the run is in an environment of its own (``driver_env``): under
``--driver-mlflow current`` always ``DRIVER_REQUIREMENT``, as ``mlflow run`` is the MLflow of whoever
re-runs the project today; under ``declared`` (the default) the release the project's environment file
pins exactly, where it pins one, so that the project's own MLflow can read the run. A driver whose
environment cannot be built is ``not-attempted: driver env``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from analysis.isolated.conda_env import CondaSpec, ensure_conda_env
from analysis.isolated.env_cache import shrink
from analysis.rerun.command import ParameterError, compute_command, logged_parameters
from analysis.rerun.envplan import EnvInvalid, EnvPlan, choose_manager, manager_refusal, plan_environment
from analysis.rerun.compare import runs_in
from analysis.rerun.driver_env import Driver, choose_driver, driver_specs, pinned_mlflow
from analysis.rerun.ftypes import RerunRow, RunRecord, Target, TargetResult
from analysis.rerun.outcome import MESSAGE_CHARS, classify
from analysis.rerun.sandbox import DRIVER, REPO, SCRATCH, BuildWrapper, Limits, Mount, Sandbox, SandboxUnavailable, \
    contain, env_mounts, probe, run_contained
from analysis.isolated.uv_env import BuiltEnv, EnvBuildError, EnvSpec, ensure_env
from miner.gitio import GitError, materialize

log = logging.getLogger(__name__)

LOG_CHARS = 1 << 20  # each log keeps its last MiB
FULL_BYTES = 1 << 20  # a disk with less left is full: a run that failed on it failed of it
_DRIVER_FILE = Path(__file__).with_name("driver.py")


@dataclass(frozen=True)
class WorkerContext:
    """What every task needs besides its target; sent to each worker once."""

    sandbox: Sandbox
    limits: Limits
    timeout: float
    build_timeout: float
    env_cache: str
    work_dir: str
    deadline: float | None = None  # time.time() after which no target starts
    keep_work: bool = False
    container_engine: str = ""  # 'docker 27.1' when one runs on the machine that checked
    network: str = "none"  # --network: 'all' runs in the host's network namespace
    env_cache_max: int = 20 << 30  # --env-cache-max: bytes
    driver_mlflow: str = "declared"  # --driver-mlflow: declared | current (driver_env.choose_driver)
    env_manager: str = ""  # --env-manager: '' as ``mlflow run`` chooses per project (envplan.choose_manager)


def _tail(text: str) -> str:
    return text if len(text) <= LOG_CHARS else "[... cut ...]\n" + text[-LOG_CHARS:]


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            fh.seek(max(0, size - LOG_CHARS))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def used_values(target: Target) -> dict[str, str]:
    """The value of every declared parameter the run gets: given, else the default (declared order)."""
    given = dict(target.values)
    return {p.name: given.get(p.name, p.default or "") for p in target.parameters
            if p.name in given or p.default is not None}


def build(context: WorkerContext, spec: EnvSpec, using: ExitStack | None = None) -> BuiltEnv:
    """An environment from the cache, built in the build sandbox when missing; held in use until ``using`` closes.
    A new one may push the cache over its bound: the least recently used others not in use are removed."""
    env = ensure_env(spec, Path(context.env_cache), timeout=context.build_timeout,
                     wrap=BuildWrapper(context.sandbox, context.limits), using=using)
    _bound(context, env)
    return env


def build_conda(context: WorkerContext, spec: CondaSpec, using: ExitStack | None = None) -> BuiltEnv:
    """A conda environment, solved and linked with rattler (``conda_env.ensure_conda_env``) unless cached; its
    ``pip:`` step in the build sandbox; held in use until ``using`` closes."""
    env = ensure_conda_env(spec, Path(context.env_cache), timeout=context.build_timeout,
                           wrap=BuildWrapper(context.sandbox, context.limits), using=using)
    _bound(context, env)
    return env


def _bound(context: WorkerContext, env: BuiltEnv) -> None:
    """After a new environment: the cache back under its bound (least recently used others not in use go)."""
    if not env.cached:
        report = shrink(Path(context.env_cache), context.env_cache_max)
        if report.removed:
            log.info("environment cache over %d bytes: removed %d environments", report.bound, len(report.removed))


def check_worker(context: WorkerContext) -> None:
    """On a cluster worker, before its first target: the sandbox works there too (raises, naming the host)."""
    if context.sandbox.bwrap:
        try:
            probe(True)
        except SandboxUnavailable as err:
            raise RuntimeError(f"worker {socket.gethostname()}: {err}") from err


def rerun_target(context: WorkerContext, target: Target) -> TargetResult:
    """Re-run one target; see the module docstring."""
    row = RerunRow(target.repo, target.mlproject_path, target.entry_point,
                   parameters=json.dumps(used_values(target), ensure_ascii=False),
                   network=context.network if context.sandbox.bwrap else "all",  # no sandbox: the host's network
                   env_kind="docker_env" if target.env_type == "docker_env" else
                   target.env_type if target.env_file else "none",
                   commit=target.run_commit or target.commit, at=target.at or "head")
    row = replace(row, env_manager=choose_manager(row.env_kind, context.env_manager))
    if context.deadline is not None and time.time() > context.deadline:
        return TargetResult(row, skipped=True)
    refused = _refusal(target, context.container_engine)
    if refused is not None:
        return TargetResult(replace(row, status="not-attempted", failure_class=refused[0], message=refused[1]))
    if manager_refusal(row.env_kind, row.env_manager):  # MLflow raises before it runs anything
        return TargetResult(replace(row, status="not-attempted", failure_class="env manager",
                                    message=manager_refusal(row.env_kind, row.env_manager)))
    try:
        logged = logged_parameters(target.parameters, dict(target.values))
    except ParameterError as err:
        return TargetResult(replace(row, status="failed", failure_class="ExecutionException", message=str(err)))
    try:
        work = Path(tempfile.mkdtemp(prefix="rerun-", dir=context.work_dir))
    except OSError as err:
        return _no_space(row, err)
    try:
        with ExitStack() as using:  # the environments stay in use until the run has ended
            return _in_copy(context, target, row, logged, work, using)
    except OSError as err:  # the copy, the scratch directory, the run's output: the tool's own writes
        return _no_space(row, err)
    finally:
        if not context.keep_work:
            shutil.rmtree(work, ignore_errors=True)


def _no_space(row: RerunRow, err: OSError) -> TargetResult:
    """A target the disk had no room for is a row (``not-attempted: no space``); any other error is the tool's."""
    if err.errno not in (errno.ENOSPC, errno.EDQUOT):
        raise err
    return TargetResult(replace(row, status="not-attempted", failure_class="no space",
                                message=f"the disk is full: {err}"[:MESSAGE_CHARS]))


def _refusal(target: Target, engine: str) -> tuple[str, str] | None:
    if target.env_type == "docker_env":
        return "docker", (f"{engine} runs here, but rerun does not run docker_env projects in containers yet"
                          if engine else "docker_env needs a container engine, and none runs here (docker info failed)")
    if target.databricks_spark_job:
        return "databricks", "a Databricks Spark job runs only on Databricks"
    if target.missing:
        return "required parameter", ("no value for " + ", ".join(target.missing) +
                                      " (no default, and no committed run of this entry point gives one)")
    return None


def _in_copy(context: WorkerContext, target: Target, row: RerunRow, logged: dict[str, str], work: Path,
             using: ExitStack) -> TargetResult:
    copy, scratch = work / "repo", work / "scratch"
    if target.run_commit:  # the tree of the commit the compared run recorded, from the history's objects
        try:
            made = materialize(Path(target.git_dir), target.run_commit, copy)
        except GitError as err:
            message = f"the tree of {target.run_commit} cannot be read: {err}"
            return TargetResult(replace(row, status="not-attempted", failure_class="recorded commit",
                                        message=message[:MESSAGE_CHARS]))
        if made.missing:
            log.info("%s@%s: %d files of the tree not written", target.repo, target.run_commit, len(made.missing))
    else:
        shutil.copytree(target.checkout, copy, symlinks=True)
    scratch.mkdir()
    base_key = f"{target.repo}@{target.run_commit or target.commit}:{target.project_dir}"
    try:
        plan = plan_environment(target.env_type, target.env_file, copy, target.project_dir, base_key,
                                manager=row.env_manager or "virtualenv")
    except EnvInvalid as err:
        return TargetResult(replace(row, env_build="failed: invalid environment", status="not-attempted",
                                    failure_class="env build", message=str(err)[:MESSAGE_CHARS]))
    pinned = pinned_mlflow(target.env_type, target.env_file, copy)
    driver = choose_driver(context.driver_mlflow, pinned)
    row = replace(row, conda_packages_dropped=";".join(plan.dropped), python_requested=plan.python_requested,
                  driver_mlflow=driver.label, mlflow_pinned=pinned)
    try:  # the local manager builds nothing: the command runs in the driver's environment
        env = None if plan.manager == "local" else \
            build_conda(context, plan.conda, using) if plan.conda is not None else build(context, plan.spec, using)
    except EnvBuildError as err:  # a full disk and unreachable channels measure the machine: classes of their own
        return TargetResult(replace(row, env_build=f"failed: {err.reason}", status="not-attempted",
                                    failure_class=err.reason if err.reason in ("no space", "channel unreachable")
                                    else "env build", message=err.message[:MESSAGE_CHARS]), build_log=_tail(err.log))
    if env is not None:
        row = replace(row, env_build="ok", python_used=env.python_version, build_seconds=round(env.build_seconds, 3))
    build_log = "" if env is None else _read(env.root / "build.log")
    try:
        driver_env = _driver_env(context, driver, using)
    except EnvBuildError as err:
        if err.reason != "no space" and driver.choice == "current":
            raise  # built at the start and held in use by the job: a failure here is the tool's
        return TargetResult(replace(row, status="not-attempted",
                                    failure_class="no space" if err.reason == "no space" else "driver env",
                                    message=f"{err.reason}: the MLflow that creates the run ({driver.label}): "
                                            f"{err.message}"[:MESSAGE_CHARS]),
                            build_log=_tail(f"{build_log}\n--- the MLflow that creates the run ---\n{err.log}"))
    if env is None:
        env, row = driver_env, replace(row, python_used=driver_env.python_version)
    held = frozenset(r.run_id for r in runs_in(copy))  # the tree's committed runs (HEAD's or the recorded commit's)
    return _run(context, target, row, logged, plan, env, driver_env, copy, scratch, build_log, held)


def _driver_env(context: WorkerContext, driver: Driver, using: ExitStack) -> BuiltEnv:
    """The environment of the driver's MLflow: the first of ``driver_specs`` PyPI has (``mlflow-skinny`` of the
    release, else ``mlflow``); raises the last ``EnvBuildError``."""
    specs = driver_specs(driver)
    for spec in specs[:-1]:
        try:
            return build(context, spec, using)
        except EnvBuildError as err:
            if err.reason != "package not found":
                raise
            log.info("%s: %s is not on the index; trying the next", driver.label, spec.requirements[0])
    return build(context, specs[-1], using)


def _visible(context: WorkerContext, copy: Path, scratch: Path, path: str) -> bool:
    """Whether a path exists as the run sees it."""
    if not context.sandbox.bwrap:
        return os.path.exists(path)
    for inside, host in ((REPO, copy), (SCRATCH, scratch)):
        if path == inside or path.startswith(inside + "/"):
            return (host / os.path.relpath(path, inside)).exists()
    return path.startswith("/usr/") and os.path.exists(path)


def _run(context: WorkerContext, target: Target, row: RerunRow, logged: dict[str, str], plan: EnvPlan,
         env: BuiltEnv, driver: BuiltEnv, copy: Path, scratch: Path, build_log: str,
         held: frozenset[str]) -> TargetResult:
    sandboxed = bool(context.sandbox.bwrap)
    repo_view, scratch_view = (REPO, SCRATCH) if sandboxed else (str(copy), str(scratch))
    workdir = f"{repo_view}/{target.project_dir}" if target.project_dir else repo_view
    try:
        command = compute_command(target.command, target.parameters, dict(target.values),
                                  lambda p: _visible(context, copy, scratch, p), workdir)
    except ParameterError as err:
        return TargetResult(replace(row, status="failed", failure_class="ExecutionException",
                                    message=str(err)[:MESSAGE_CHARS]), build_log=build_log)
    tracking_uri = f"file://{scratch_view}/mlruns"
    request = {"tracking_uri": tracking_uri, "entry_point": target.entry_point, "source_name": workdir,
               "commit": target.run_commit or target.commit, "params": list(logged.items()),
               "activate": f"{env.root}/bin/activate", "env_manager": plan.manager,
               "command": command, "workdir": workdir, "log": f"{scratch_view}/run.log",
               "result": f"{scratch_view}/result.json"}
    (scratch / "request.json").write_text(json.dumps(request), encoding="utf-8")
    if sandboxed:
        driver_path = DRIVER
    else:  # alone in a folder: beside this package, the script's directory on sys.path would shadow modules
        driver_path = str(shutil.copy(_DRIVER_FILE, scratch.parent / "driver.py"))
    argv = [str(driver.python), driver_path, f"{scratch_view}/request.json"]
    extra = [*env_mounts([env.python, driver.python]), Mount(_DRIVER_FILE, DRIVER)]
    cmd, host_env = contain(context.sandbox, argv, copy=copy, scratch=scratch, project_dir=target.project_dir,
                            extra=extra, tracking_uri=tracking_uri, network=context.network == "all")
    driver_log = scratch.parent / "driver.log"
    finished = run_contained(cmd, sandbox=context.sandbox, limits=context.limits, timeout=context.timeout,
                             output=driver_log, env=host_env, cwd=None if sandboxed else copy, measure=copy.parent)
    run_log, driver_text = _read(scratch / "run.log"), _read(driver_log)
    try:
        result = json.loads((scratch / "result.json").read_text())
    except (OSError, ValueError):
        result = {}
    fresh = _fresh_runs(scratch, copy, held)
    if result:
        status, failure, message = classify(run_log, int(result["returncode"]), False)
        seconds = float(result.get("seconds", finished.seconds))
    elif finished.timed_out:
        status, failure, message = classify(run_log, None, True)
        seconds = finished.seconds
    else:  # the driver itself did not get through: its own output says why
        status, failure, message = classify(driver_text, finished.returncode, False)
        failure = failure if status == "killed-memory" or failure == "no space" else f"driver: {failure}"
        seconds = finished.seconds
    if status == "failed" and failure != "no space" and _full(copy.parent):  # its own output may have been cut
        failure, message = "no space", "the disk was full when the run ended: " + (message or "no output")
    row = replace(row, status=status, failure_class=failure, message=message[:MESSAGE_CHARS],
                  run_seconds=round(seconds, 3), n_runs_logged=len(fresh),
                  n_metrics_logged=sum(len(r.metrics) for r in fresh))
    text = run_log + (f"\n--- mlflow-census driver ---\n{driver_text}" if driver_text.strip() else "")
    return TargetResult(row, build_log=build_log, run_log=_tail(text), fresh_runs=tuple(fresh),
                        run_id=str(result.get("run_id", "")), peak_disk=finished.peak_disk)


def _full(path: Path) -> bool:
    """Whether the disk of ``path`` has less than ``FULL_BYTES`` left for a user's files."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize < FULL_BYTES


def _fresh_runs(scratch: Path, copy: Path, held: frozenset[str]) -> list[RunRecord]:
    """Runs of the fresh store, and runs the code wrote into stores of its own copy (``set_tracking_uri``) that
    the copy did not hold before the run (``held``: the committed runs of the tree it was made from)."""
    runs = [replace(r, store="fresh") for r in runs_in(scratch)]  # the store is scratch/mlruns
    return runs + [r for r in runs_in(copy) if r.run_id not in held]
