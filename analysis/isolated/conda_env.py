"""Conda environments, as MLflow's conda manager makes them (``conda env create --file``), with py-rattler.

A ``CondaSpec`` (the channels and packages of a conda file, and its ``pip:`` list) is solved with
``rattler.solve`` over the channels the file names (``conda-forge`` and ``defaults`` where it names
none; ``defaults`` is Anaconda's ``main`` and ``r``; a ``channel::package`` spec adds its channel),
for this platform and ``noarch``, with this machine's virtual packages. The solved records are the
cache key (with the ``pip:`` lines and, when they read project files, ``base_key``), so an
environment is linked once per solution: ``rattler.install`` links the records into
``<key>.tmp-<pid>`` beside the other environments, with the final path patched into the files
(``alternative_target_prefix``) and no package's link scripts run; then the ``pip:`` list is
installed with uv into that prefix (as conda runs pip in the new environment), through the same
build sandbox as uv's environments, shebangs written for the final path, and the prefix renamed
into place. A prefix has no ``bin/activate``: one is written that puts ``<prefix>/bin`` first on
``PATH`` and sets ``CONDA_PREFIX`` and ``CONDA_DEFAULT_ENV``, as ``conda activate`` does.

Solving and linking run in a process of the tool's interpreter of their own (``rattler_child.py``:
rattler's async runtime does not survive a ``fork``, and a timeout kills it), not in the build sandbox:
they read channels' metadata and unpack archives, and run no package's code (link scripts are off).
The link solves again and checks it gets the same solution. Where no channel answers (a name that does not
resolve, a refused connection, a channel without ``noarch``), the build fails with the reason
``channel unreachable``; the solve is made each time (the key is its result), so a machine without
the channels builds nothing, cached or not.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from analysis.isolated.uv_env import DONE, BuiltEnv, CommandWrapper, EnvBuildError, _install, _locked, build_lock, \
    use_lock, uv_build

DEFAULT_CHANNELS = ("conda-forge", "defaults")  # where a file names no channel
ANACONDA_DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")  # conda's `defaults`
KIND = "conda"  # DONE's ``kind``: a conda prefix
_CHILD = Path(__file__).with_name("rattler_child.py")


@dataclass(frozen=True)
class CondaSpec:
    """A conda file's environment: ``channels`` as named (empty: ``DEFAULT_CHANNELS``), conda match ``specs``, and
    the ``pip:`` lines, resolved from ``base_dir`` (``base_key`` names its content, as in ``uv_env.EnvSpec``)."""

    channels: tuple[str, ...] = ()
    specs: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()
    base_dir: Path | None = None
    base_key: str = ""


def channel_urls(spec: CondaSpec) -> list[str]:
    """The channels solved over, in priority order: the file's (or ``DEFAULT_CHANNELS``), ``defaults`` spelled out,
    ``nodefaults`` dropped, then the channels of ``channel::package`` specs."""
    named = [c for c in spec.channels if c != "nodefaults"] or list(DEFAULT_CHANNELS)
    named += [s.split("::", 1)[0].strip() for s in spec.specs if "::" in s]
    out: list[str] = []
    for channel in named:
        for url in ANACONDA_DEFAULTS if channel == "defaults" else (channel,):
            if url and url not in out:
                out.append(url)
    return out


def _reason(name: str, text: str) -> str:
    """The build's failure reason (``uv_env.REASONS``) of an error of rattler's (its class name and message)."""
    text = text.lower()
    if name in ("GatewayError", "FetchRepoDataError", "InvalidChannelError"):
        return "channel unreachable"
    if name in ("InvalidMatchSpecError", "InvalidVersionSpecError", "InvalidPackageNameError", "InvalidVersionError"):
        return "invalid requirement"
    if name == "SolverError":
        return "package not found" if "no candidates were found" in text else "resolver conflict"
    if "no space left" in text or "os error 28" in text:
        return "no space"
    if "error sending request" in text or "connect" in text or "dns" in text:
        return "network"
    return "build error"


@dataclass(frozen=True)
class Solution:
    """A solved environment: its records as ``[url, sha256, md5]`` (sorted), and the version of its ``python``."""

    records: tuple[tuple[str, str, str], ...]
    python: str


def _rattler(request: dict[str, object], timeout: float, what: str) -> Solution:
    """``rattler_child.py`` run on ``request`` in a process of its own (rattler's runtime does not survive a fork)."""
    try:
        done = subprocess.run([sys.executable, str(_CHILD), json.dumps(request)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise EnvBuildError("timeout", f"{what} took more than {timeout:.0f} s") from err
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as err:
        raise EnvBuildError("build error", f"{what} failed: " + (done.stderr.strip()[-300:] or "no answer"),
                            done.stderr) from err
    if "error" in answer:
        text = str(answer.get("message", "")).strip()
        raise EnvBuildError(_reason(str(answer["error"]), text), " ".join(text.split())[:300], text)
    return Solution(tuple((str(u), str(s), str(m)) for u, s, m in answer["records"]), str(answer.get("python", "")))


def _request(spec: CondaSpec) -> dict[str, object]:
    return {"channels": channel_urls(spec), "specs": [s.split("::", 1)[1] if "::" in s else s for s in spec.specs]}


def solve(spec: CondaSpec, timeout: float) -> Solution:
    """The solution of ``spec`` over its channels; raises ``EnvBuildError`` saying why there is none."""
    return _rattler(_request(spec), timeout, "solving")


def conda_key(solution: Solution, spec: CondaSpec) -> str:
    """The cache key of a solved environment: its records (url and digests), the ``pip:`` lines, ``base_key``."""
    content: list[object] = [KIND, [list(r) for r in solution.records], list(spec.pip)]
    if spec.pip and spec.base_key:
        content.append(spec.base_key)
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:20]


def _activate(prefix: Path, final: Path) -> None:
    """``bin/activate`` of a prefix that will live at ``final``: what ``conda activate`` sets that a run needs."""
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    (prefix / "bin" / "activate").write_text(
        f'# written by mlflow-census: conda activate, for the prefix {final}\n'
        f'export CONDA_PREFIX="{final}"\nexport CONDA_DEFAULT_ENV="{final}"\n'
        f'export CONDA_SHLVL=1\nexport PATH="{final}/bin:$PATH"\nhash -r 2>/dev/null || true\n', encoding="utf-8")


def _interpreter_roots(python: Path, inside: Path) -> tuple[Path, ...]:
    """Prefixes a prefix's interpreter needs outside the prefix (where ``bin/python`` leads, a ``pyvenv.cfg`` home)."""
    roots = []
    try:
        roots.append(python.resolve().parent.parent)
        for line in (inside / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                roots.append(Path(value.strip()).parent)
    except OSError:
        pass
    return tuple(dict.fromkeys(r for r in roots if not r.is_relative_to(inside) and r not in (Path("/"), Path("/usr"))))


def _retarget_scripts(prefix: Path, final: Path) -> None:
    """Scripts uv wrote into ``prefix/bin`` start the interpreter by the build's path: give them the final one."""
    old, new = str(prefix).encode(), str(final).encode()
    for entry in (prefix / "bin").iterdir():
        if entry.is_symlink() or not entry.is_file():
            continue
        with entry.open("rb") as fh:
            head = fh.read(2)
        if head == b"#!":
            data = entry.read_bytes()
            first, _, rest = data.partition(b"\n")
            if old in first:
                entry.write_bytes(first.replace(old, new) + b"\n" + rest)


def ensure_conda_env(spec: CondaSpec, cache_root: Path, *, timeout: float = 900.0, wrap: CommandWrapper | None = None,
                     using: ExitStack | None = None) -> BuiltEnv:
    """The conda environment of ``spec`` under ``cache_root``, solved now and linked unless already there.

    Raises ``EnvBuildError`` (``channel unreachable`` when no channel answers, ``no space`` when the disk is
    full: nothing of the build is left). ``wrap`` and ``using`` as in ``uv_env.ensure_env``: the ``pip:``
    step runs through ``wrap``; the environment is held in use until ``using`` closes.
    """
    started = time.perf_counter()
    solution = solve(spec, timeout)
    version = solution.python
    key = conda_key(solution, spec)
    root = cache_root / key
    cache_root.mkdir(parents=True, exist_ok=True)
    if using is not None:
        using.enter_context(_locked(use_lock(cache_root, key), fcntl.LOCK_SH))
    with _locked(build_lock(cache_root, key)):
        if (root / DONE).is_file():
            os.utime(root / DONE)
            return BuiltEnv(root, root / "bin" / "python", version, False, 0.0, True, _seconds(root))
        tmp = cache_root / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        log = ["solved over " + ", ".join(channel_urls(spec)) + ":", *(url for url, _, _ in solution.records)]
        try:
            _rattler({**_request(spec), "prefix": str(tmp), "final": str(root),
                      "expect": [list(r) for r in solution.records]},
                     max(1.0, timeout - (time.perf_counter() - started)), "linking")
            _activate(tmp, root)
            if spec.pip:
                python = tmp / "bin" / "python"
                if not python.exists():
                    raise EnvBuildError("build error", "the conda file has a pip: list but no python package",
                                        "\n".join(log))
                build = uv_build(cache_root, log, _interpreter_roots(python, tmp), wrap)
                _install(build, tmp, spec.pip, spec.base_dir, "condaenv.requirements.txt",
                         max(1.0, timeout - (time.perf_counter() - started)))
                _retarget_scripts(tmp, root)
            seconds = time.perf_counter() - started
            (tmp / "build.log").write_text("\n".join(log), encoding="utf-8")
            (tmp / DONE).write_text(json.dumps({"kind": KIND, "python": version, "channels": channel_urls(spec),
                                                "specs": list(spec.specs),
                                                "records": [url for url, _, _ in solution.records],
                                                "requirements": list(spec.pip), "base_key": spec.base_key,
                                                "seconds": seconds}))
            tmp.rename(root)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise EnvBuildError("no space", f"the disk is full: {err}", "\n".join(log)) from err
            raise
    return BuiltEnv(root, root / "bin" / "python", version, False, seconds, False, seconds)


def _seconds(root: Path) -> float:
    try:
        return float(json.loads((root / DONE).read_text()).get("seconds", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0
