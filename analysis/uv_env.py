"""Isolated Python environments built with ``uv``: one per content (interpreter, requirements), cached and shared.

Used by ``probe`` (one environment per MLflow release) and ``rerun`` (one per MLproject
environment). An environment is built into a temporary directory beside the cache and renamed
into place when complete, under a lock, so concurrent builders of the same content build it once
and an interrupted build leaves nothing that looks finished. Interpreters are never downloaded
(``UV_PYTHON_DOWNLOADS=never``): the version asked for is taken from this machine (``PATH``,
pyenv), else the nearest available one is used and the result says so.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_DONE = ".mlflow-census-env.json"  # written last: its presence means the environment is complete


@dataclass(frozen=True)
class EnvSpec:
    """What an environment holds: a Python version (``""``: this interpreter's) and requirement lines."""

    python: str = ""
    requirements: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuiltEnv:
    """A complete environment: its interpreter, the version used and whether it differs from the one asked."""

    root: Path
    python: Path
    python_version: str
    python_substituted: bool
    seconds: float  # build time; 0.0 when taken from the cache
    cached: bool


class EnvBuildError(Exception):
    """The environment could not be built; ``reason`` is one of ``REASONS``, ``log`` uv's output."""

    def __init__(self, reason: str, message: str, log: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.log = log


REASONS = ("python unavailable", "package not found", "resolver conflict", "build error", "network", "timeout",
           "uv missing")


def uv_command() -> list[str]:
    """How to run uv: the ``uv`` on PATH, else the one installed beside this interpreter."""
    found = shutil.which("uv")
    if found:
        return [found]
    beside = Path(sys.executable).with_name("uv")
    if beside.is_file():
        return [str(beside)]
    raise EnvBuildError("uv missing", "uv is not installed (pip install uv)")


def _version_of(python: Path) -> str | None:
    try:
        out = subprocess.run([str(python), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def find_interpreters() -> dict[str, Path]:
    """Python 3 interpreters on this machine, by full version (``3.9.18``): this one, ``PATH``, pyenv's."""
    candidates = [Path(sys.executable)]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder:
            candidates += sorted(Path(folder).glob("python3*"))
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(pyenv.glob("*/bin/python3"))
    found: dict[str, Path] = {}
    for path in candidates:
        if not re.fullmatch(r"python3(\.\d+)?", path.name) or not os.access(path, os.X_OK):
            continue
        version = _version_of(path)
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
    """The cache key of an environment: the interpreter version used and the requirement lines, as given."""
    payload = json.dumps([python_version, list(spec.requirements)])
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def classify_failure(output: str) -> str:
    """The reason (one of ``REASONS``) uv's output gives for a failed install."""
    low = output.lower()
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


def _run(cmd: Sequence[str], log: list[str], timeout: float, env: dict[str, str]) -> None:
    log.append("$ " + " ".join(cmd))
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        log.append(str(err.stderr or ""))
        raise EnvBuildError("timeout", f"took more than {timeout:.0f} s", "\n".join(log)) from err
    log.append(done.stdout + done.stderr)
    if done.returncode != 0:
        text = done.stdout + done.stderr
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "uv failed")
        raise EnvBuildError(classify_failure(text), last[:300], "\n".join(log))


def ensure_env(spec: EnvSpec, cache_root: Path, *, timeout: float = 900.0, substitute: bool = True,
               interpreters: dict[str, Path] | None = None) -> BuiltEnv:
    """The environment of ``spec`` under ``cache_root``, built with uv unless already there.

    Raises ``EnvBuildError`` (with uv's log) when the interpreter or a requirement cannot be had;
    with ``substitute=False`` a missing Python version is an error rather than replaced.
    """
    version, interpreter, substituted = pick_interpreter(spec.python, interpreters if interpreters is not None
                                                         else find_interpreters() if spec.python else {})
    if substituted and not substitute:
        raise EnvBuildError("python unavailable", f"Python {spec.python} is not on this machine (nearest: {version})")
    key = env_key(spec, version)
    root = cache_root / key
    with _locked(cache_root / f"{key}.lock"):
        if (root / _DONE).is_file():
            return BuiltEnv(root, root / "bin" / "python", version, substituted, 0.0, True)
        started = time.perf_counter()
        tmp = cache_root / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"}
        log: list[str] = []
        uv = uv_command()
        try:
            _run([*uv, "venv", "--quiet", "--relocatable", "--python", str(interpreter), str(tmp)], log, timeout, env)
            if spec.requirements:
                req = tmp / "requirements.in"
                req.write_text("\n".join(spec.requirements) + "\n", encoding="utf-8")
                left = max(1.0, timeout - (time.perf_counter() - started))
                _run([*uv, "pip", "install", "--quiet", "--python", str(tmp / "bin" / "python"), "-r", str(req)],
                     log, left, env)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        seconds = time.perf_counter() - started
        (tmp / _DONE).write_text(json.dumps({"python": version, "asked": spec.python,
                                             "requirements": list(spec.requirements), "seconds": seconds}))
        (tmp / "build.log").write_text("\n".join(log), encoding="utf-8")
        tmp.rename(root)
    return BuiltEnv(root, root / "bin" / "python", version, substituted, seconds, False)


def default_cache() -> Path:
    """Where environments are kept unless told otherwise: ``$MLFLOW_CENSUS_ENVS`` or ``~/.cache/mlflow-census/envs``."""
    return Path(os.environ.get("MLFLOW_CENSUS_ENVS", Path.home() / ".cache" / "mlflow-census" / "envs"))
