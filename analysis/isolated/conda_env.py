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

Solving and linking run in this process: they read channels' metadata and unpack archives, and
run no package's code (link scripts are off). Where no channel answers (a name that does not
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
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.isolated.uv_env import DONE, BuiltEnv, CommandWrapper, EnvBuildError, _Build, _install, _locked, \
    build_lock, use_lock, uv_command

DEFAULT_CHANNELS = ("conda-forge", "defaults")  # where a file names no channel
ANACONDA_DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")  # conda's `defaults`
KIND = "conda"  # DONE's ``kind``: a conda prefix


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


def _reason(err: Exception) -> str:
    """The build's failure reason (``uv_env.REASONS``) of an error of rattler's."""
    name, text = type(err).__name__, str(err).lower()
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


def solve(spec: CondaSpec, timeout: float) -> list[Any]:
    """The records of the solution (``rattler.RepoDataRecord``); raises ``EnvBuildError`` saying why not."""
    import rattler

    async def run() -> list[Any]:
        channels = [rattler.Channel(url) for url in channel_urls(spec)]
        specs = [rattler.MatchSpec(s.split("::", 1)[1] if "::" in s else s) for s in spec.specs]
        platforms: list[Any] = [rattler.Subdir.current(), rattler.Subdir("noarch")]
        solving = rattler.solve(channels, specs, platforms=platforms, virtual_packages=rattler.VirtualPackage.detect())
        return list(await asyncio.wait_for(solving, timeout))

    try:
        return asyncio.run(run())
    except asyncio.TimeoutError as err:
        raise EnvBuildError("timeout", f"solving took more than {timeout:.0f} s") from err
    except Exception as err:  # rattler's errors derive from Exception only
        text = str(err).strip()
        raise EnvBuildError(_reason(err), " ".join(text.split())[:300], text) from err


def conda_key(records: Sequence[Any], spec: CondaSpec) -> str:
    """The cache key of a solved environment: its records (url and digests), the ``pip:`` lines, ``base_key``."""
    solved = sorted([str(r.url), str(r.sha256 or ""), str(r.md5 or "")] for r in records)
    content: list[object] = [KIND, solved, list(spec.pip)]
    if spec.pip and spec.base_key:
        content.append(spec.base_key)
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:20]


def _python_of(records: Sequence[Any]) -> str:
    return next((str(r.version) for r in records if r.name.normalized == "python"), "")


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
    records = solve(spec, timeout)
    version = _python_of(records)
    key = conda_key(records, spec)
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
        log = ["solved over " + ", ".join(channel_urls(spec)) + ":", *sorted(str(r.url) for r in records)]
        try:
            _link(records, tmp, root, max(1.0, timeout - (time.perf_counter() - started)))
            _activate(tmp, root)
            if spec.pip:
                python = tmp / "bin" / "python"
                if not python.exists():
                    raise EnvBuildError("build error", "the conda file has a pip: list but no python package",
                                        "\n".join(log))
                build = _Build(uv_command(), {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_CONFIG": "1"}, log,
                               _interpreter_roots(python, tmp), wrap)
                _install(build, tmp, spec.pip, spec.base_dir, "condaenv.requirements.txt",
                         max(1.0, timeout - (time.perf_counter() - started)))
                _retarget_scripts(tmp, root)
            seconds = time.perf_counter() - started
            (tmp / "build.log").write_text("\n".join(log), encoding="utf-8")
            (tmp / DONE).write_text(json.dumps({"kind": KIND, "python": version, "channels": channel_urls(spec),
                                                "specs": list(spec.specs), "records": sorted(str(r.url) for r in records),
                                                "requirements": list(spec.pip), "base_key": spec.base_key,
                                                "seconds": seconds}))
            tmp.rename(root)
        except BaseException as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise EnvBuildError("no space", f"the disk is full: {err}", "\n".join(log)) from err
            raise
    return BuiltEnv(root, root / "bin" / "python", version, False, seconds, False, seconds)


def _link(records: list[Any], prefix: Path, final: Path, timeout: float) -> None:
    """``rattler.install`` of ``records`` into ``prefix``, the files patched for ``final``, no link scripts run."""
    import rattler

    async def run() -> None:
        await asyncio.wait_for(rattler.install(records, target_prefix=prefix, alternative_target_prefix=final,
                                               execute_link_scripts=False, show_progress=False), timeout)

    try:
        asyncio.run(run())
    except asyncio.TimeoutError as err:
        raise EnvBuildError("timeout", f"linking took more than {timeout:.0f} s") from err
    except OSError:
        raise
    except Exception as err:  # rattler's own errors
        text = str(err).strip()
        raise EnvBuildError(_reason(err), " ".join(text.split())[:300], text) from err


def _seconds(root: Path) -> float:
    try:
        return float(json.loads((root / DONE).read_text()).get("seconds", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0
