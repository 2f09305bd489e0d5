"""Where mined code runs: bubblewrap namespaces, resource limits, a wall-clock timeout that kills everything.

A run sees a root file system of its own (read-only): ``/usr`` and the ``/lib*`` links, the
dynamic linker's cache, a ``passwd``/``group``/``hosts`` written for it, the environments it runs
in (read-only, at their own paths, with the base interpreter's ``site-packages`` hidden), a
writable copy of the repository at ``/rerun/repo`` and a scratch directory at ``/rerun/scratch``
(``HOME``, ``/tmp`` and the MLflow store are there). Everything else of the host (``/root``,
``/home``, ``/etc``, the corpus, other runs) does not exist for it. bubblewrap runs it with
``--unshare-all`` (user, mount, PID, network, IPC, UTS and cgroup namespaces: no network but a
loopback, no view of host processes; ``--network all`` keeps the host's network namespace, with its
name resolution files, and nothing else), ``--die-with-parent``, ``--new-session`` (no terminal to
inject into), ``--clearenv``, as uid 1000 with every capability dropped.

Limits, applied before bubblewrap starts (so they hold for everything inside): data segment
(``RLIMIT_DATA``: heap and private mappings, what "memory" means for a Python process; address
space is left free because runtimes reserve far more than they use), CPU time, file size, no core
dumps, and processes: a ``pids`` cgroup made below the tool's own cgroup (so it can only narrow what
the machine allows), else ``RLIMIT_NPROC``, which Linux does not enforce for processes whose
user is root on the host, as bubblewrap's mapped uid is when the tool runs as root. The wall-clock
timeout kills bubblewrap, whose PID namespace takes every process of the run with it (background
processes included); the cgroup, when there is one, is emptied too.

Builds run in a sandbox of the same kind with the network shared (they download packages) and
write access only to the environment being built, uv's cache and the project copy: building a
package runs its ``setup.py``.

``--no-sandbox`` runs the same commands without namespaces (limits and timeout still apply; a
process that leaves the process group may survive without a cgroup): only for a machine that is
itself a throw-away container.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analysis.isolated.env_cache import disk_usage
from miner.ftypes import TRUE

log = logging.getLogger(__name__)

SANDBOX_UID = 1000
DISK_SAMPLE_SECONDS = 2.0  # how often a run's disk usage is sampled
REPO = "/rerun/repo"
SCRATCH = "/rerun/scratch"
DRIVER = "/rerun/driver.py"
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_NET_ETC = ("/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf", "/etc/ssl",
            "/etc/ca-certificates", "/etc/pki")  # name resolution and certificates: what a download reads
_BUILD_ETC = (*_NET_ETC, "/etc/hosts", "/etc/ld.so.cache")
_BUILD_PASS = ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_CACHE_DIR",
               "UV_PYTHON_DOWNLOADS", "UV_NO_CONFIG", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "SSL_CERT_FILE",
               "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")

# Runs in the tool's interpreter between fork and bubblewrap: limits, then the cgroup, then exec.
_LAUNCHER = """import json, os, resource, sys
spec = json.loads(sys.argv[1])
for name, value in spec["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if spec["cgroup"]:
    with open(spec["cgroup"], "w") as fh:
        fh.write(str(os.getpid()))
os.execvp(sys.argv[2], sys.argv[2:])
"""


class SandboxUnavailable(Exception):
    """No sandbox can be made on this machine; the message says why and what would help."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run."""

    memory: int  # bytes of data segment per process
    cpu_seconds: int  # per process
    file_size: int  # bytes per file written
    processes: int  # processes and threads of the whole run


@dataclass(frozen=True)
class Sandbox:
    """How runs are contained on this machine: found once by ``probe``, then passed to workers."""

    bwrap: str  # path of bwrap; '' with --no-sandbox
    version: str
    pids_cgroup: str  # the cgroup directory under which each run gets a pids cgroup; '' when none is usable
    process_limit: str  # 'pids cgroup', 'RLIMIT_NPROC' or 'none (...)'

    @property
    def kind(self) -> str:
        """``bubblewrap X`` or ``none``."""
        return f"bubblewrap {self.version}" if self.bwrap else "none"


@dataclass(frozen=True)
class Mount:
    """A host path seen by the run at ``target`` (``source`` None: an empty tmpfs there)."""

    source: Path | None
    target: str
    writable: bool = False


@dataclass(frozen=True)
class Finished:
    """How a contained command ended."""

    returncode: int | None  # None when killed on timeout
    timed_out: bool
    seconds: float
    peak_disk: int = 0  # the most the measured directory took on disk while the command ran (sampled)


# ---------------------------------------------------------------------------------------------- probing

def _bwrap_version(bwrap: str) -> str:
    done = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10)
    return done.stdout.strip().removeprefix("bubblewrap ").strip() or "unknown"


def _system_args() -> list[str]:
    """``/usr`` and the ``/bin``, ``/lib*`` entries as the host has them (symlinks on merged-/usr systems)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for path in _SYSTEM_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    if os.path.isfile("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def _isolation_args(network: bool) -> list[str]:
    args = ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
            "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv", "--hostname", "rerun"]
    return [*args, "--share-net"] if network else args


def probe(use_sandbox: bool = True) -> Sandbox:
    """The sandbox this machine allows, checked by running one; raises ``SandboxUnavailable`` saying why.

    With ``use_sandbox=False`` nothing is checked but the process limit (``--no-sandbox``).
    """
    cgroup = pids_cgroup_parent()
    limit = "pids cgroup" if cgroup else "RLIMIT_NPROC" if os.geteuid() != 0 else \
        "none (running as root without a writable pids cgroup: RLIMIT_NPROC does not bind root)"
    if not use_sandbox:
        return Sandbox("", "", cgroup, limit)
    bwrap = _which("bwrap")
    if not bwrap:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and rerun executes mined code only in a sandbox. "
            "Install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
            "or, only if this machine is itself a throw-away container, pass --no-sandbox.")
    cmd = [bwrap, *_isolation_args(False), *_system_args(), "--proc", "/proc", "--dev", "/dev", "--", "/bin/sh", "-c",
           "test ! -e /root"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as err:
        raise SandboxUnavailable(f"bubblewrap could not be started: {err}") from err
    if done.returncode != 0:
        reason = done.stderr.strip() or f"exit status {done.returncode}"
        raise SandboxUnavailable(
            f"bubblewrap cannot make a sandbox here: {reason}. It needs user namespaces: as an unprivileged "
            "user the kernel must allow them (sysctl kernel.unprivileged_userns_clone=1 on Debian kernels, "
            "user.max_user_namespaces > 0; AppArmor's kernel.apparmor_restrict_unprivileged_userns=0 on "
            "Ubuntu 24.04); inside Docker the default seccomp profile refuses them (run the container with "
            "--security-opt seccomp=unconfined, or as root with CAP_SYS_ADMIN). Or, only if this machine is "
            "itself a throw-away container, pass --no-sandbox.")
    return Sandbox(bwrap, _bwrap_version(bwrap), cgroup, limit)


def container_engine() -> str:
    """A running container engine (``docker info`` succeeds): its name and server version, else ''."""
    for name in ("docker", "podman"):
        exe = _which(name)
        if not exe:
            continue
        try:
            done = subprocess.run([exe, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                                  timeout=15)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return f"{name} {done.stdout.strip()}".strip()
    return ""


def _which(name: str) -> str:
    for folder in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin", "/bin"]:
        candidate = Path(folder) / name
        if folder and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return ""


# ---------------------------------------------------------------------------------------------- cgroups

def _own_pids_cgroup() -> Path | None:
    """The directory of this process's cgroup in a hierarchy with the pids controller (v1 or v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    v1 = {}
    v2 = ""
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3:
            continue
        if extra[0] == "cgroup" and "pids" in extra[2].split(","):
            v1["pids"] = fields[4]
        elif extra[0] == "cgroup2" and not v2:
            v2 = fields[4]
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(",") and "pids" in v1:
            return Path(v1["pids"] + path)
        if controllers == "" and v2 and "pids" in _read(Path(v2 + path) / "cgroup.controllers").split():
            return Path(v2 + path)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


_OURS = re.compile(r"mlflow-census-(?:probe-)?(\d+)-[0-9a-f]+")


def pids_cgroup_parent() -> str:
    """Where per-run pids cgroups can be made (checked by making one), or '' when nowhere.

    Groups a killed run left (``kill -9`` of the tool allows no clean-up) are removed on the way:
    those named after a process that no longer exists.
    """
    own = _own_pids_cgroup()
    if own is None:
        return ""
    try:
        stale = [d for d in own.iterdir() if (m := _OURS.fullmatch(d.name)) and not Path(f"/proc/{m.group(1)}").exists()]
    except OSError:
        stale = []
    for leftover in stale:
        _remove_cgroup(leftover)
    probe_dir = own / f"mlflow-census-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        probe_dir.mkdir()
    except OSError:
        return ""
    try:
        ok = (probe_dir / "pids.max").is_file() and os.access(probe_dir / "cgroup.procs", os.W_OK)
    finally:
        _remove_cgroup(probe_dir)
    return str(own) if ok else ""


def _remove_cgroup(path: Path) -> None:
    """Kill whatever is left in a cgroup, then remove it (retrying while the kernel reaps)."""
    for _ in range(100):
        pids = [int(p) for p in _read(path / "cgroup.procs").split() if p.strip()]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
    log.warning("could not remove cgroup %s", path)


@contextmanager
def pids_cgroup(parent: str, processes: int) -> Iterator[str]:
    """A fresh pids cgroup limited to ``processes`` tasks: yields its ``cgroup.procs`` ('' when none)."""
    if not parent:
        yield ""
        return
    path = Path(parent) / f"mlflow-census-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    try:
        (path / "pids.max").write_text(str(processes))
        yield str(path / "cgroup.procs")
    finally:
        _remove_cgroup(path)


def _user_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


def rlimits(limits: Limits, use_nproc: bool) -> dict[str, int]:
    """The ``RLIMIT_*`` values a run starts with."""
    values = {"RLIMIT_DATA": limits.memory, "RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_FSIZE": limits.file_size,
              "RLIMIT_CORE": 0}
    if use_nproc:  # counts every process of the user, so the user's others are added
        values["RLIMIT_NPROC"] = limits.processes + _user_processes()
    return values


# ---------------------------------------------------------------------------------------------- commands

def _python_roots(python: Path) -> list[Path]:
    """The installation prefixes an environment's interpreter needs: its base interpreter's (from pyvenv.cfg)."""
    roots = []
    cfg = python.parent.parent / "pyvenv.cfg"
    for line in _read(cfg).splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            roots.append(Path(value.strip()).parent)
    real = python.resolve()
    roots.append(real.parent.parent)
    return [r for i, r in enumerate(roots) if r not in roots[:i] and r != Path("/usr") and r != Path("/")]


def _hidden_site_packages(prefix: Path) -> list[Mount]:
    """A tmpfs over the base interpreter's own site-packages: a venv does not see it, nor should the run."""
    return [Mount(None, str(p)) for p in sorted(prefix.glob("lib/python3*/site-packages")) if p.is_dir()]


def env_mounts(pythons: Sequence[Path]) -> list[Mount]:
    """Read-only mounts of environments (their roots) and their base interpreters, base site-packages hidden."""
    mounts: list[Mount] = []
    for python in pythons:
        env_root = python.parent.parent
        mounts.append(Mount(env_root, str(env_root)))
        for prefix in _python_roots(python):
            if prefix != env_root:
                mounts += [Mount(prefix, str(prefix)), *_hidden_site_packages(prefix)]
    return list({m.target: m for m in mounts}.values())


def _etc_files(scratch: Path, network: bool = False) -> list[Mount]:
    """``passwd``, ``group`` and ``hosts`` for the sandbox's user, written in the scratch directory; with the
    host's network, also the host's name resolution and certificates (read-only) and its ``hosts`` lines."""
    etc = scratch / ".etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(f"rerun:x:{SANDBOX_UID}:{SANDBOX_UID}:rerun:{SCRATCH}/home:/bin/bash\n"
                                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (etc / "group").write_text(f"rerun:x:{SANDBOX_UID}:\nnogroup:x:65534:\n")
    host = _read(Path("/etc/hosts")) if network else ""
    (etc / "hosts").write_text("127.0.0.1 localhost rerun\n::1 localhost\n" + host)
    mounts = [Mount(etc / name, f"/etc/{name}") for name in ("passwd", "group", "hosts")]
    return mounts + [Mount(Path(p), p) for p in _NET_ETC if network and os.path.exists(p)]


def run_argv(sandbox: Sandbox, argv: Sequence[str], *, mounts: Sequence[Mount], env: Mapping[str, str], cwd: str,
             network: bool = False) -> list[str]:
    """The bwrap command line running ``argv`` with ``mounts`` (parents mounted before children)."""
    args = [sandbox.bwrap, *_isolation_args(network), *_system_args(), "--proc", "/proc", "--dev", "/dev"]
    for mount in sorted(mounts, key=lambda m: (m.target.rstrip("/").count("/"), m.target)):
        if mount.source is None:
            args += ["--tmpfs", mount.target]
        else:
            args += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
    args += ["--remount-ro", "/", "--chdir", cwd]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


def sandbox_env(home: str, tmp: str, tracking_uri: str) -> dict[str, str]:
    """The whole environment a run starts with (nothing of the host's is passed on)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": tmp, "USER": "rerun", "LOGNAME": "rerun",
            "SHELL": "/bin/bash", "LANG": "C.UTF-8", "MLFLOW_TRACKING_URI": tracking_uri,
            "MLFLOW_ALLOW_FILE_STORE": TRUE, "MLFLOW_DISABLE_TELEMETRY": TRUE, "DO_NOT_TRACK": "1"}


def contain(sandbox: Sandbox, argv: Sequence[str], *, copy: Path, scratch: Path, project_dir: str,
            extra: Sequence[Mount], tracking_uri: str, network: bool = False) -> tuple[list[str], dict[str, str]]:
    """``(command line, host environment)`` running ``argv`` on the copy, inside the sandbox or not; ``network``:
    the host's network namespace (``--network all``), nothing else of the host besides."""
    (scratch / "home").mkdir(parents=True, exist_ok=True)
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    if not sandbox.bwrap:
        env = sandbox_env(str(scratch / "home"), str(scratch / "tmp"), tracking_uri)
        return list(argv), env
    mounts = [Mount(scratch / "tmp", "/tmp", True), *_etc_files(scratch, network), *extra,
              Mount(copy, REPO, True), Mount(scratch, SCRATCH, True)]
    cwd = f"{REPO}/{project_dir}" if project_dir else REPO
    env = sandbox_env(f"{SCRATCH}/home", "/tmp", tracking_uri)
    return run_argv(sandbox, argv, mounts=mounts, env=env, cwd=cwd, network=network), {}


def run_contained(cmd: Sequence[str], *, sandbox: Sandbox, limits: Limits, timeout: float, output: Path,
                  env: Mapping[str, str], cwd: Path | None = None, measure: Path | None = None) -> Finished:
    """Run a command line under the limits, its output to ``output``; on timeout kill it and all it started.
    ``measure``: a directory whose disk usage is sampled every ``DISK_SAMPLE_SECONDS`` and at the end."""
    started = time.perf_counter()
    peak = 0
    with pids_cgroup(sandbox.pids_cgroup, limits.processes) as procs, output.open("wb") as out:
        spec = json.dumps({"limits": rlimits(limits, use_nproc=not procs and os.geteuid() != 0), "cgroup": procs})
        proc = subprocess.Popen([sys.executable, "-S", "-E", "-c", _LAUNCHER, spec, *cmd], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, env=dict(env), cwd=cwd,
                                start_new_session=True, close_fds=True)
        timed_out = False
        try:
            while True:
                left = timeout - (time.perf_counter() - started)
                step = min(left, DISK_SAMPLE_SECONDS) if measure is not None else left
                try:
                    proc.wait(timeout=max(0.0, step))
                    break
                except subprocess.TimeoutExpired:
                    if step >= left:  # the whole time is spent
                        timed_out = True
                        break
                    if measure is not None:
                        peak = max(peak, disk_usage(measure))
            if measure is not None:
                peak = max(peak, disk_usage(measure))
        finally:  # also on Ctrl-C and errors: nothing outlives its run
            _kill_group(proc.pid)
            proc.wait()
    return Finished(None if timed_out else proc.returncode, timed_out, time.perf_counter() - started, peak)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ---------------------------------------------------------------------------------------------- builds

@dataclass(frozen=True)
class BuildWrapper:
    """Runs uv's build commands in the sandbox, network shared (``uv_env.CommandWrapper``)."""

    sandbox: Sandbox
    limits: Limits

    def __call__(self, cmd: Sequence[str], *, cwd: Path | None, writable: Sequence[Path], readable: Sequence[Path],
                 env: Mapping[str, str]) -> list[str]:
        """The command line of one build step."""
        launcher = [sys.executable, "-S", "-E", "-c", _LAUNCHER,
                    json.dumps({"limits": rlimits(self.limits, use_nproc=False), "cgroup": ""})]
        if not self.sandbox.bwrap:
            return [*launcher, *cmd]
        uv_cache = Path(env.get("UV_CACHE_DIR") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "uv")
        uv_cache.mkdir(parents=True, exist_ok=True)
        mounts = [Mount(None, "/tmp"), *(Mount(Path(p), p) for p in _BUILD_ETC if os.path.exists(p))]
        mounts += [Mount(Path(cmd[0]), cmd[0]), Mount(uv_cache, str(uv_cache), True)]
        for prefix in readable:
            if prefix not in (Path("/usr"), Path("/")):
                mounts += [Mount(prefix, str(prefix)), *_hidden_site_packages(prefix)]
        mounts += [Mount(p, str(p), True) for p in writable]
        passed = {k: v for k, v in env.items() if k in _BUILD_PASS}
        cert = passed.get("SSL_CERT_FILE")
        if cert and os.path.isfile(cert):
            mounts.append(Mount(Path(cert), cert))
        inner_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
                     **passed, "UV_CACHE_DIR": str(uv_cache)}
        return [*launcher, *run_argv(self.sandbox, cmd, mounts=list({m.target: m for m in mounts}.values()),
                                     env=inner_env, cwd=str(cwd or writable[0]), network=True)]
