"""The environment ``mlflow run`` would build for a project, as an ``EnvSpec`` for ``uv_env``.

MLflow's rules (``mlflow/projects/backend/local.py``, ``mlflow/utils/environment.py``,
``mlflow/utils/virtualenv.py``, 3.x): a ``python_env`` project gets a virtualenv with the file's
``python``, then its ``build_dependencies``, then its ``dependencies``, each installed as a
requirements file written in a directory of symlinks to the project's entries (so ``-r`` and local
paths resolve in the project). A project with no environment file gets ``_PythonEnv()``: the
Python MLflow itself runs on and nothing installed. A ``conda_env`` project run with the
virtualenv or uv manager is converted by ``_PythonEnv.from_conda_yaml``: ``python``, ``pip``,
``setuptools`` and ``wheel`` specs are kept (the latter three as build dependencies, ``=`` read as
``==``), the ``pip:`` list becomes the dependencies, and every other conda package is dropped
(MLflow logs a warning; here each is recorded). A ``python`` spec without a version, or with
``<``, ``>`` or ``!=``, is refused, as MLflow refuses it. No manager adds MLflow itself: a project
that imports MLflow without declaring it fails, as it does under ``mlflow run``. Every environment
is seeded as the virtualenv manager's ``python -m venv`` seeds it: pip, and setuptools below
Python 3.12 (``uv_env.venv_seed``), so ``import pkg_resources`` works where it works under ``mlflow run``.

The manager (``choose_manager``, ``backend/local.py``): ``conda`` for ``conda_env`` projects and
``virtualenv`` for the others unless one is asked for. With ``conda`` a conda file is made as
``conda env create`` makes it (``conda_env.CondaSpec``: its channels, every conda package, its ``pip:``
list); MLflow refuses ``conda`` for a ``python_env`` project and one without an environment file
(``manager_refusal``). ``uv`` builds as ``virtualenv`` does but unseeded (``uv venv``); ``local`` builds
nothing: the command runs in the environment of the MLflow that runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.reading import safe_yaml
from analysis.isolated.conda_env import CondaSpec
from analysis.isolated.uv_env import EnvSpec

# mlflow/utils/environment.py: _CONDA_DEPENDENCY_REGEX
_CONDA_DEPENDENCY = re.compile(r"^(?P<package>python|pip|setuptools|wheel)(?P<operator><|>|<=|>=|=|==|!=)?(?P<version>[\d.]+)?$")


class EnvInvalid(Exception):
    """MLflow would refuse this environment file; the message says why in MLflow's terms."""


@dataclass(frozen=True)
class EnvPlan:
    """What to build: the spec, what kind of file it came from, what was dropped on the way."""

    kind: str  # python_env | conda_env | none
    spec: EnvSpec
    python_requested: str  # as written ('' when the file gives none)
    dropped: tuple[str, ...] = ()  # conda packages the conversion does not install
    manager: str = "virtualenv"  # conda | virtualenv | uv | local (nothing built: the driver's environment)
    conda: CondaSpec | None = None  # what the conda manager makes (``spec`` is then unused)


def choose_manager(kind: str, asked: str = "") -> str:
    """The environment manager ``mlflow run`` uses for a project of ``kind`` (``python_env``, ``conda_env``,
    ``none``, ``docker_env``) given ``--env-manager asked`` ('': none given); '' for docker (its image is the
    environment)."""
    if kind == "docker_env":
        return ""
    return asked or ("conda" if kind == "conda_env" else "virtualenv")


def manager_refusal(kind: str, manager: str) -> str:
    """MLflow's words where it refuses to run a project of ``kind`` with ``manager`` ('' where it runs it): a
    project without a conda file is a ``python_env`` project to MLflow, which conda does not run."""
    if manager == "conda" and kind in ("python_env", "none"):
        return ("python_env project cannot be executed using conda. Set `--env-manager` to 'virtualenv' or "
                "'local' to execute this project.")
    return ""


def _references_files(line: str) -> bool:
    """A requirement line whose meaning depends on files of the project (includes, local paths, options)."""
    text = line.strip()
    return text.startswith(("-", ".", "/", "file:")) or "/" in text.split(";")[0] and "://" not in text


def _lines(value: Any, path: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EnvInvalid(f"{path}: `{key}` must be a list but got {type(value).__name__}")
    return tuple(str(v) for v in value)


def _mapping(text: str, path: str) -> dict[str, Any]:
    try:
        obj = safe_yaml.load(text, path)
    except safe_yaml.BadYAML as err:
        raise EnvInvalid(f"{path}: {err}") from err
    if not isinstance(obj, dict):
        raise EnvInvalid(f"{path}: not a YAML mapping")
    return obj


def from_python_env(text: str, path: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``(python, build_dependencies, dependencies)`` of a ``python_env.yaml`` (``_PythonEnv.from_yaml``)."""
    obj = _mapping(text, path)
    unknown = set(obj) - {"python", "build_dependencies", "dependencies"}
    if unknown:  # _PythonEnv(**dict) raises TypeError on any other key
        raise EnvInvalid(f"{path}: unexpected keys {sorted(unknown)}")
    python = obj.get("python")
    if python is not None and not isinstance(python, str):
        raise EnvInvalid(f"{path}: `python` must be a string but got {type(python).__name__}")
    return python or "", _lines(obj.get("build_dependencies"), path, "build_dependencies"), \
        _lines(obj.get("dependencies"), path, "dependencies")


def from_conda(text: str, path: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(python, build_dependencies, dependencies, dropped)`` as ``_PythonEnv.from_conda_yaml`` converts a conda file."""
    obj = _mapping(text, path)
    python = ""
    build: list[str] = []
    deps: tuple[str, ...] = ()
    dropped: list[str] = []
    entries = obj.get("dependencies") or []
    if not isinstance(entries, list):
        raise EnvInvalid(f"{path}: `dependencies` is not a list")
    for dep in entries:
        if isinstance(dep, str):
            match = _CONDA_DEPENDENCY.match(dep)
            if not match:
                dropped.append(dep)
                continue
            package, operator, version = match.group("package"), match.group("operator"), match.group("version")
            if not python and package == "python":
                if operator is None:
                    raise EnvInvalid(f"Invalid dependency for python: {dep}. It must be pinned (e.g. python=3.8.13).")
                if operator in ("<", ">", "!="):
                    raise EnvInvalid(f"Invalid version comparator for python: '{operator}'. "
                                     "Must be one of ['<=', '>=', '=', '=='].")
                python = version or ""
                continue
            build.append(package + ("==" if operator == "=" else operator or "") + (version or ""))
        elif isinstance(dep, dict) and list(dep) == ["pip"]:
            deps = _lines(dep["pip"], path, "pip")
        else:
            raise EnvInvalid(f"Invalid conda dependency: {dep}. Must be str or dict in the form of "
                             '{"pip": [...]}')
    return python, tuple(build), deps, tuple(dropped)


def from_conda_env(text: str, path: str) -> tuple[str, CondaSpec]:
    """``(python as written, spec)`` of a conda file as ``conda env create`` reads it: ``channels``, every string of
    ``dependencies`` a package, a ``{pip: [...]}`` entry the pip lines (``base_dir`` is left to the caller)."""
    obj = _mapping(text, path)
    channels = _lines(obj.get("channels"), path, "channels")
    entries = obj.get("dependencies") or []
    if not isinstance(entries, list):
        raise EnvInvalid(f"{path}: `dependencies` is not a list")
    specs: list[str] = []
    pip: tuple[str, ...] = ()
    for dep in entries:
        if isinstance(dep, (str, int, float)):
            specs.append(str(dep).strip())
        elif isinstance(dep, dict) and list(dep) == ["pip"]:
            pip += _lines(dep["pip"], path, "pip")
        else:
            raise EnvInvalid(f"{path}: invalid conda dependency: {dep}")
    asked = next((s[len("python"):].strip() for s in specs if re.match(r"python(?![\w.-])", s)), "")
    return re.sub(r"^==?\s*", "", asked), CondaSpec(channels=channels, specs=tuple(specs), pip=pip)


def plan_environment(env_type: str, env_file: str, repo_root: Path, project_dir: str, base_key: str,
                     manager: str = "virtualenv") -> EnvPlan:
    """The environment of a ``python_env``/``conda_env`` project in the copy at ``repo_root``, made by ``manager``.

    ``env_file`` and ``project_dir`` (the MLproject's directory) are relative to ``repo_root``;
    ``base_key`` names the copy's content (``repo@commit:dir``), for environments whose
    requirement lines read project files. Raises ``EnvInvalid`` where MLflow refuses the file.
    ``local`` reads no file (MLflow's local manager does not): its plan builds nothing.
    """
    seed = manager == "virtualenv"  # `uv venv` seeds nothing
    if manager == "local":
        return EnvPlan(env_type if env_file else "none", EnvSpec(), "", manager="local")
    if not env_file:
        return EnvPlan("none", EnvSpec(seed=seed), "", manager=manager)
    try:
        text = (repo_root / env_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise EnvInvalid(f"{env_file}: cannot be read ({err})") from err
    dropped: tuple[str, ...] = ()
    if env_type == "conda_env" and manager == "conda":
        python, conda = from_conda_env(text, env_file)
        local = any(_references_files(line) for line in conda.pip)
        file_dir = repo_root / env_file.rpartition("/")[0]  # conda runs pip beside the file
        conda = CondaSpec(conda.channels, conda.specs, conda.pip, file_dir if local else None,
                          base_key if local else "")
        return EnvPlan("conda_env", EnvSpec(), python, manager="conda", conda=conda)
    if env_type == "conda_env":
        python, build, deps, dropped = from_conda(text, env_file)
        kind = "conda_env"
    else:
        python, build, deps = from_python_env(text, env_file)
        kind = "python_env"
    local = any(_references_files(line) for line in (*build, *deps))
    spec = EnvSpec(python=python, requirements=deps, build_requirements=build,
                   base_dir=repo_root / project_dir if local else None, base_key=base_key if local else "", seed=seed)
    return EnvPlan(kind, spec, python, dropped, manager=manager)
