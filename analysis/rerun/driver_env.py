"""Which MLflow creates a target's run (``rerun --driver-mlflow``): the tool's own, or the release the project pins.

``mlflow run`` is the MLflow of whoever runs it; the code it starts reads the run with the
project's own MLflow. When the two differ by a major release the project may not read what the
driver wrote: MLflow 3 writes a FileStore ``meta.yaml`` without ``run_uuid``, which MLflow 1.x and
2.x require (``RunInfo.__init__() missing ... 'run_uuid'``). So with ``declared`` (the default) a
project whose environment file pins one MLflow release exactly (``pinned_mlflow``) has its run
created by that release, in an environment of its own: the Python and pins the probe gives the
release (``analysis.probe.run.python_for``, ``requirements_for``), ``mlflow-skinny`` where PyPI has
it for that release, else ``mlflow`` (``driver_specs``: the builder tries them in order). Every
other project, and every project under ``current``, gets ``DRIVER_REQUIREMENT`` on the tool's Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from analysis.isolated.uv_env import EnvSpec
from analysis.probe.run import python_for, requirements_for
from analysis.reading.env_files import decode_env_file, parse_conda, parse_python_env
from analysis.versions import exact_pin

CURRENT, DECLARED = "current", "declared"
DRIVER_CHOICES = (DECLARED, CURRENT)  # --driver-mlflow; the first is the default
DRIVER_RELEASE = "3.17.2"
DRIVER_REQUIREMENT = f"mlflow-skinny=={DRIVER_RELEASE}"
DRIVER_SPEC = EnvSpec(python="", requirements=(DRIVER_REQUIREMENT,))
OLDEST_DRIVER = Version("1.0")  # driver.py calls only client methods MLflow has had since 1.0
MLFLOW_NAMES = frozenset({"mlflow", "mlflow-skinny"})
MAX_ENV_FILE_BYTES = 1 << 20
_RELEASE = re.compile(r"\d+(?:\.\d+)*")  # a final release: a driver environment is built for one


@dataclass(frozen=True)
class Driver:
    """The MLflow that creates a run: the choice (``current`` or ``declared``) and the release."""

    choice: str
    release: str

    @property
    def label(self) -> str:
        """``rerun.csv``'s ``driver_mlflow``: ``declared 1.30.1``, ``current 3.17.2``."""
        return f"{self.choice} {self.release}"


def choose_driver(asked: str, pinned: str) -> Driver:
    """The driver of a target whose environment pins ``pinned`` ('' none) under ``--driver-mlflow asked``:
    the pinned release under ``declared`` when it is one (from 1.0 on), else the tool's own."""
    if asked == DECLARED and pinned:
        try:
            if Version(pinned) >= OLDEST_DRIVER:
                return Driver(DECLARED, pinned)
        except InvalidVersion:
            pass
    return Driver(CURRENT, DRIVER_RELEASE)


def driver_specs(driver: Driver) -> tuple[EnvSpec, ...]:
    """The environments that hold ``driver``'s MLflow, to try in order (the next when PyPI has no
    ``mlflow-skinny`` of the release): the probe's Python and pins for the release, without server drivers.
    The tool's own release, declared or not, is ``DRIVER_SPEC``."""
    if driver.release == DRIVER_RELEASE:
        return (DRIVER_SPEC,)
    python = python_for(driver.release)
    return tuple(EnvSpec(python=python, requirements=requirements_for(driver.release, distribution, servers=False))
                 for distribution in ("mlflow-skinny", "mlflow"))


def pinned_mlflow(env_type: str, env_file: str, repo_root: Path) -> str:
    """The MLflow release the environment file pins exactly ('' when none, a range, or two different releases).

    Read with the environments pass's parsers (``analysis.reading.env_files``; ``-r`` includes followed,
    inside the copy): a ``python_env.yaml``'s ``build_dependencies`` and ``dependencies``, a conda file's
    ``pip:`` list and its conda packages (``mlflow=1.30.1`` counts; conda's ``mlflow=1.30`` is a prefix and
    does not): the lines of ``mlflow`` or ``mlflow-skinny`` with one ``==``/``===`` and no wildcard
    (``pip_pin_class`` ``exact``), when they all name one release; ranges beside them are left to the resolver.
    Constraints files pin nothing: they install nothing. ``env_file`` is relative to ``repo_root``.
    """
    if not env_file or env_type not in ("python_env", "conda_env"):
        return ""
    root = repo_root.resolve()

    def read(path: str) -> str | None:
        file = (repo_root / path).resolve()
        if not file.is_relative_to(root) or not file.is_file() or file.stat().st_size > MAX_ENV_FILE_BYTES:
            return None  # a symlink out of the copy is not followed
        try:
            return decode_env_file(file.read_bytes())
        except (OSError, UnicodeDecodeError):
            return None

    text = read(env_file)
    if text is None:
        return ""
    parse = parse_conda if env_type == "conda_env" else parse_python_env
    deps = parse(text, env_file, read)[0]
    pins = set()
    for dep in deps:
        if dep.name not in MLFLOW_NAMES or dep.kind == "constraints":
            continue
        pin = exact_pin(dep.spec) if dep.pin_class == "exact" else ""
        if _RELEASE.fullmatch(pin):  # a range beside an exact pin gives that pin (or no environment at all)
            pins.add(str(Version(pin)))
    return pins.pop() if len(pins) == 1 else ""
