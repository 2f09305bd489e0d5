"""Isolated Python environments built with ``uv``: one per content (interpreter, requirements), cached and shared.

Used by ``probe`` (one environment per MLflow release) and ``rerun`` (one per MLproject
environment). An environment is built into a temporary directory beside the cache and renamed
into place when complete, under a lock, so concurrent builders of the same content build it once
and an interrupted build leaves nothing that looks finished. Interpreters are never downloaded
(``UV_PYTHON_DOWNLOADS=never``): the version asked for is taken from this machine (``PATH``,
pyenv), else the nearest available one is used and the result says so.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

UV_CACHE = "uv-cache"  # uv's own cache, inside the environment cache (``uv_cache_of``)
DONE = ".mlflow-census-env.json"  # written last: its presence means the environment is complete; its mtime, last use


@dataclass(frozen=True)
class EnvSpec:
    """What an environment holds: a Python version (``""``: this interpreter's) and requirement lines.

    ``build_requirements`` are installed first, in their own step (MLflow's ``build_dependencies``).
    Relative paths in requirement lines (``-r more.txt``, ``./pkg``, ``-e .``) are resolved from
    ``base_dir`` as MLflow's virtualenv manager resolves them: uv runs in a temporary directory of
    symlinks to ``base_dir``'s entries, which holds the requirements file. Their content is then
    not in the lines, so ``base_key`` (what identifies ``base_dir``'s content, such as
    ``repo@commit:dir``) joins the cache key. ``seed`` environments get first what ``python -m venv``
    installs with that interpreter (``venv_seed``).
    """

    python: str = ""
    requirements: tuple[str, ...] = ()
    build_requirements: tuple[str, ...] = ()
    base_dir: Path | None = None
    base_key: str = ""
    seed: bool = False  # seeded as ``python -m venv`` seeds (``venv_seed``): MLflow's virtualenv manager does


@dataclass(frozen=True)
class BuiltEnv:
    """A complete environment: its interpreter, the version used and whether it differs from the one asked."""

    root: Path
    python: Path
    python_version: str
    python_substituted: bool
    seconds: float  # build time; 0.0 when taken from the cache
    cached: bool
    build_seconds: float = 0.0  # how long the build took when it was done, also when taken from the cache


class EnvBuildError(Exception):
    """The environment could not be built; ``reason`` is one of ``REASONS``, ``log`` uv's output."""

    def __init__(self, reason: str, message: str, log: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.log = log


REASONS = ("python unavailable", "package not found", "resolver conflict", "build error", "network", "timeout",
           "invalid requirement", "uv missing", "no space", "channel unreachable")  # the last: conda_env's


def uv_command() -> list[str]:
    """How to run uv: the binary of the ``uv`` package this tool depends on, else the ``uv`` on PATH, else
    the one beside this interpreter. (The package's binary first: a ``uv`` on PATH may be a shim script,
    such as pyenv's, which a build sandbox cannot run.)"""
    try:
        from uv import find_uv_bin

        return [find_uv_bin()]
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found:
        return [found]
    beside = Path(sys.executable).with_name("uv")
    if beside.is_file():
        return [str(beside)]
    raise EnvBuildError("uv missing", "uv is not installed (pip install uv)")


def _versions_of(pythons: Sequence[str], timeout: float = 30.0) -> dict[str, str]:
    """The full version (``3.9.18``) of each interpreter that answers, all asked at once.

    Processes, not threads: with a thread pool here, the test of ``rerun`` stopped by Ctrl-C
    hung in both of two runs of its module in one process (the executor forks its workers).
    """
    started: dict[str, subprocess.Popen[str]] = {}
    for python in pythons:
        try:
            started[python] = subprocess.Popen([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            continue
    deadline = time.monotonic() + timeout
    versions: dict[str, str] = {}
    for python, proc in started.items():
        try:
            out, _ = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            continue
        if proc.returncode == 0 and out.strip():
            versions[python] = out.strip()
    return versions


def find_interpreters() -> dict[str, Path]:
    """Python 3 interpreters on this machine, by full version (``3.9.18``): this one, ``PATH``, pyenv's."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    # pyenv's shims are scripts that start `pyenv exec` (a tenth of a second each, a second for the
    # nine of a usual install) to reach the interpreters of versions/, which are asked directly
    shims = {os.path.realpath(p) for p in (pyenv_root / "shims", *pyenv_root.glob("plugins/*/shims"))}
    candidates = [Path(sys.executable)]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and os.path.realpath(folder) not in shims:
            candidates += sorted(Path(folder).glob("python3*"))
    candidates += sorted((pyenv_root / "versions").glob("*/bin/python3"))
    usable = [p for p in candidates if re.fullmatch(r"python3(\.\d+)?", p.name) and os.access(p, os.X_OK)]
    # each file asked once (PATH and pyenv name the same interpreters several times: python3,
    # python3.11, /bin and /usr/bin), all at once: starting ~20 interpreters one by one took 2 s
    version_of_file = _versions_of(list(dict.fromkeys(os.path.realpath(p) for p in usable)))
    found: dict[str, Path] = {}
    for path in usable:  # the first path of each version, in the order above
        version = version_of_file.get(os.path.realpath(path))
        if version and version.startswith("3.") and version not in found:
            found[version] = path
    return found


def _minor(version: str) -> tuple[int, int]:
    parts = (re.findall(r"\d+", version) + ["0", "0"])[:2]
    return int(parts[0]), int(parts[1])


def pick_interpreter(asked: str, available: dict[str, Path]) -> tuple[str, Path, bool]:
    """(version, interpreter, substituted) for a version asked as ``3.9``, ``3.9.18`` or ``""`` (this one).

    The same full version wins, then the same minor (newest patch); otherwise the nearest minor,
    the newer one on a tie, and ``substituted`` is true.
    """
    if not asked:
        here = "%d.%d.%d" % sys.version_info[:3]
        return here, Path(sys.executable), False
    if not available:
        raise EnvBuildError("python unavailable", f"no Python interpreter found for {asked}")
    if asked in available:
        return asked, available[asked], False
    want = _minor(asked)
    same = sorted((v for v in available if _minor(v) == want), key=lambda v: [int(x) for x in v.split(".")])
    if same:
        return same[-1], available[same[-1]], False
    def distance(v: str) -> tuple[int, int, list[int]]:
        major, minor = _minor(v)
        return abs(minor - want[1]) + 100 * abs(major - want[0]), -minor, [-int(x) for x in v.split(".")]

    nearest = min(available, key=distance)
    return nearest, available[nearest], True


def env_key(spec: EnvSpec, python_version: str) -> str:
    """The cache key of an environment: the interpreter version used, the requirement lines as given, and
    (when present) the build requirements and ``base_key``."""
    content: list[object] = [python_version, list(spec.requirements)]
    if spec.build_requirements or spec.base_key:
        content += [list(spec.build_requirements), spec.base_key]
    if spec.seed:
        content.append("seed: python -m venv")
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:20]


@contextmanager
def _locked(path: Path, how: int = fcntl.LOCK_EX) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, how)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def use_lock(cache_root: Path, key: str) -> Path:
    """The file a user of an environment holds a shared lock on (``ensure_env(using=...)``): one that a remover
    of environments (``env_cache.shrink``) cannot lock exclusively is in use."""
    return cache_root / f"{key}.use"


def uv_cache_of(cache_root: Path) -> Path:
    """uv's own cache (downloads, built wheels) for the builds of ``cache_root``: inside it, so the cache's
    bound counts it (``env_cache.shrink``), unless ``UV_CACHE_DIR`` names another."""
    return cache_root / UV_CACHE


def build_lock(cache_root: Path, key: str) -> Path:
    """The file a builder of an environment holds locked while it checks and builds it."""
    return cache_root / f"{key}.lock"


def classify_failure(output: str) -> str:
    """The reason (one of ``REASONS``) uv's output gives for a failed install."""
    low = output.lower()
    if "no space left on device" in low or "os error 28" in low or "errno 28" in low:
        return "no space"  # the disk the environment is written to is full
    if "couldn't parse requirement" in low or "failed to parse" in low and "requirement" in low:
        return "invalid requirement"  # a line that is no PEP 508 requirement (``mlflow == 2..7.1``)
    if "was not found in the package registry" in low or "there is no version of" in low \
            or "no matching distribution" in low or "not found in the package registry" in low:
        return "package not found"
    if "failed to fetch" in low or "connection" in low and "error" in low or "dns" in low:
        return "network"
    if "failed to build" in low or "failed to download and build" in low or "build backend" in low:
        return "build error"
    if "no solution found" in low or "unsatisfiable" in low:
        return "resolver conflict"
    return "build error"


class CommandWrapper(Protocol):
    """Wraps a build command (for a sandbox): it may write only ``writable`` and read ``readable`` besides
    the system; ``env`` is what the command would be given."""

    def __call__(self, cmd: Sequence[str], *, cwd: Path | None, writable: Sequence[Path],
                 readable: Sequence[Path], env: Mapping[str, str]) -> list[str]: ...


@dataclass(frozen=True)
class _Build:
    """One build's settings, shared by its steps."""

    uv: list[str]
    env: dict[str, str]
    log: list[str]
    readable: tuple[Path, ...]
    wrap: CommandWrapper | None
    cache_lock: Path | None = None  # held shared by each uv command: env_cache.shrink empties uv's cache only unheld


def uv_build(cache_root: Path, log: list[str], readable: tuple[Path, ...], wrap: CommandWrapper | None) -> _Build:
    """The settings of a build into ``cache_root``: uv's cache there (``uv_cache_of``, unless ``UV_CACHE_DIR``
    names another), no interpreter downloaded, no uv configuration of the machine read."""
    env = {"UV_CACHE_DIR": str(uv_cache_of(cache_root)), **os.environ, "UV_PYTHON_DOWNLOADS": "never",
           "UV_NO_CONFIG": "1"}
    return _Build(uv_command(), env, log, readable, wrap, uv_cache_lock(cache_root))


def uv_cache_lock(cache_root: Path) -> Path:
    """The lock every uv command of a build into ``cache_root`` holds shared while it runs (uv's own check did not
    keep ``uv cache clean`` from emptying a cache another uv was unpacking into: a build failed on it)."""
    return cache_root / f"{UV_CACHE}.lock"


def failure_message(output: str) -> str:
    """The line of uv's output that says what failed (its last ``error:``/``×`` line and the causes under
    it), else the last line; at most 300 characters."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(("error:", "×")):
            causes = [ln for ln in lines[i + 1:i + 4] if ln.startswith(("cause:", "├─▶", "╰─▶", "Caused by:"))]
            return " ".join([lines[i], *causes])[:300]
    return lines[-1][:300] if lines else "uv failed"


def _run(build: _Build, cmd: Sequence[str], timeout: float, writable: Sequence[Path], cwd: Path | None = None) -> None:
    build.log.append("$ " + " ".join(cmd))
    full = list(cmd) if build.wrap is None else build.wrap(cmd, cwd=cwd, writable=writable, readable=build.readable,
                                                           env=build.env)
    try:
        with _locked(build.cache_lock, fcntl.LOCK_SH) if build.cache_lock else ExitStack():
            done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, env=build.env, cwd=cwd)
    except subprocess.TimeoutExpired as err:
        build.log.append(str(err.stderr or ""))
        raise EnvBuildError("timeout", f"took more than {timeout:.0f} s", "\n".join(build.log)) from err
    build.log.append(done.stdout + done.stderr)
    if done.returncode != 0:
        text = done.stdout + done.stderr
        raise EnvBuildError(classify_failure(text), failure_message(text), "\n".join(build.log))


def ensure_env(spec: EnvSpec, cache_root: Path, *, timeout: float = 900.0, substitute: bool = True,
               interpreters: dict[str, Path] | None = None, wrap: CommandWrapper | None = None,
               using: ExitStack | None = None) -> BuiltEnv:
    """The environment of ``spec`` under ``cache_root``, built with uv unless already there.

    Raises ``EnvBuildError`` (with uv's log) when the interpreter or a requirement cannot be had
    (``no space`` when the disk is full: nothing of the build is left); with ``substitute=False`` a
    missing Python version is an error rather than replaced. ``wrap`` runs every uv command through
    a sandbox (``rerun`` does: building may run a package's ``setup.py``); without it uv runs
    directly. With ``using``, the environment is held in use (a shared lock on its ``use_lock``,
    taken before it is looked for) until that stack closes: ``env_cache.shrink`` removes no
    environment in use. Each use is recorded (the mtime of its ``DONE`` file) for the least
    recently used to go first.
    """
    version, interpreter, substituted = pick_interpreter(spec.python, interpreters if interpreters is not None
                                                         else find_interpreters() if spec.python else {})
    if substituted and not substitute:
        raise EnvBuildError("python unavailable", f"Python {spec.python} is not on this machine (nearest: {version})")
    key = env_key(spec, version)
    root = cache_root / key
    if using is not None:
        using.enter_context(_locked(use_lock(cache_root, key), fcntl.LOCK_SH))
    with _locked(build_lock(cache_root, key)):
        if (root / DONE).is_file():
            os.utime(root / DONE)  # used now
            return BuiltEnv(root, root / "bin" / "python", version, substituted, 0.0, True, _recorded_seconds(root))
        started = time.perf_counter()
        tmp = cache_root / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        build = uv_build(cache_root, [], (interpreter.parent.parent, interpreter.resolve().parent.parent), wrap)
        try:
            tmp.mkdir(parents=True)
            _run(build, [*build.uv, "venv", "--quiet", "--relocatable", "--allow-existing", "--python",
                         str(interpreter), str(tmp)], timeout, [tmp])
            seeded = _seed(build, tmp, interpreter, version, timeout) if spec.seed else []
            for step, lines in enumerate((spec.build_requirements, spec.requirements)):
                if lines:
                    left = max(1.0, timeout - (time.perf_counter() - started))
                    _install(build, tmp, lines, spec.base_dir, f"requirements-{step}.in", left)
            seconds = time.perf_counter() - started
            (tmp / "build.log").write_text("\n".join(build.log), encoding="utf-8")
            (tmp / DONE).write_text(json.dumps({"python": version, "asked": spec.python,
                                                "requirements": list(spec.requirements),
                                                "build_requirements": list(spec.build_requirements),
                                                "base_key": spec.base_key, "seed": seeded, "seconds": seconds}))
            tmp.rename(root)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise EnvBuildError("no space", f"the disk is full: {err}", "\n".join(build.log)) from err
            raise
    return BuiltEnv(root, root / "bin" / "python", version, substituted, seconds, False, seconds)


def _install(build: _Build, venv: Path, lines: Sequence[str], base_dir: Path | None, name: str, timeout: float) -> None:
    """``uv pip install -r`` of ``lines``, compiled to bytecode (environments are mounted read-only where they run)."""
    with tempfile.TemporaryDirectory(prefix="reqs-", dir=venv.parent) as work:
        here = Path(work)
        if base_dir is not None:
            for entry in base_dir.iterdir():  # as MLflow does: relative lines resolve into base_dir
                (here / entry.name).symlink_to(entry.absolute())
        req = here / name
        while req.exists():
            req = req.with_name("_" + req.name)
        req.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _run(build, [*build.uv, "pip", "install", "--quiet", "--compile-bytecode", "--python",
                     str(venv / "bin" / "python"), "-r", str(req)], timeout,
             [venv, here, *([base_dir] if base_dir is not None else [])], cwd=here)


# Run by the interpreter itself: the wheels its ensurepip installs (what ``python -m venv`` seeds), as
# [name, version, wheel path or null]; null when it has no ensurepip.
_ENSUREPIP = r"""
import glob, json, os
try:
    import ensurepip
except ImportError:
    print("null")
    raise SystemExit
folders = [os.path.join(os.path.dirname(ensurepip.__file__), "_bundled"), getattr(ensurepip, "_WHEEL_PKG_DIR", None)]
found = []
for name, attr in (("setuptools", "_SETUPTOOLS_VERSION"), ("pip", "_PIP_VERSION")):
    version = getattr(ensurepip, attr, None)
    if version:
        wheels = [w for f in folders if f for w in sorted(glob.glob(os.path.join(f, name + "-" + version + "-*.whl")))]
        found.append([name, version, wheels[0] if wheels else None])
print(json.dumps(found))
"""


def venv_seed(interpreter: Path, version: str) -> list[tuple[str, str, str]]:
    """What ``python -m venv`` installs into a new environment with ``interpreter``: ``(name, version, wheel)``.

    ``venv`` runs ``ensurepip``, which installs the wheels bundled with the interpreter: pip, and
    setuptools below Python 3.12 (3.10.13: pip 23.0.1 and setuptools 65.5.0; 3.12.1: pip 23.2.1).
    ``wheel`` is the bundled file ('' when the interpreter's build left it out: the same version is
    then taken from the index). An interpreter without ``ensurepip`` (Debian's, without
    ``python3-venv``) gets pip, and setuptools below 3.12, at the index's newest.
    """
    try:
        done = subprocess.run([str(interpreter), "-I", "-c", _ENSUREPIP], capture_output=True, text=True, timeout=60)
        found = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        found = None
    if not isinstance(found, list):
        return [(name, "", "") for name in (("setuptools", "pip") if _minor(version) < (3, 12) else ("pip",))]
    return [(str(name), str(ver), str(wheel or "")) for name, ver, wheel in found]


def _seed(build: _Build, venv: Path, interpreter: Path, version: str, timeout: float) -> list[str]:
    """Install ``venv_seed``'s packages into a new environment (the bundled wheels need no index); their specs."""
    seed = venv_seed(interpreter, version)
    specs = [f"{name}=={ver}" if ver else name for name, ver, _ in seed]
    wheels = [wheel for _, _, wheel in seed if wheel]
    if wheels:
        _run(build, [*build.uv, "pip", "install", "--quiet", "--compile-bytecode", "--no-index", "--python",
                     str(venv / "bin" / "python"), *wheels], timeout, [venv])
    fetched = [spec for spec, (_, _, wheel) in zip(specs, seed) if not wheel]
    if fetched:
        _run(build, [*build.uv, "pip", "install", "--quiet", "--compile-bytecode", "--python",
                     str(venv / "bin" / "python"), *fetched], timeout, [venv])
    return specs


def _recorded_seconds(root: Path) -> float:
    try:
        return float(json.loads((root / DONE).read_text()).get("seconds", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0


def default_cache() -> Path:
    """Where environments are kept unless told otherwise: ``$MLFLOW_CENSUS_ENVS`` or ``~/.cache/mlflow-census/envs``."""
    return Path(os.environ.get("MLFLOW_CENSUS_ENVS", Path.home() / ".cache" / "mlflow-census" / "envs"))
