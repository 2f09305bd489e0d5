"""MLproject files, read exactly as MLflow's ``mlflow/projects/_project_spec.py`` (3.x) reads them.

The checks run in MLflow's order and fail with MLflow's words: several environment fields,
a Databricks Spark job mixed with environments, a ``docker_env`` without image or with bad
volumes/environment, a referenced environment file that is missing. Where MLflow itself crashes
(an empty file, YAML that is not a mapping, an entry point or parameter that is not a mapping),
the project is invalid with a reason saying so. YAML is read by ``analysis.reading.safe_yaml`` (a safe
loader bounded in size, nesting and expansion through aliases), so an alias bomb is a problem
row, not a hang.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from analysis.ftypes import Parameter
from analysis.reading import safe_yaml
from analysis.reading.sources import within_repo

ENV_FIELDS = ("docker_env", "python_env", "conda_env")  # MLflow's env_type.ALL
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class MLprojectInvalid(Exception):
    """MLflow would refuse this project; the message is MLflow's reason (or why it would crash)."""


@dataclass(frozen=True)
class EntryPoint:
    """An entry point: its command template and the script that command runs."""

    name: str
    command: str
    script: str  # relative to the repository, '' when the command runs no file we can name
    parameters: tuple[Parameter, ...]


@dataclass(frozen=True)
class MLproject:
    """One MLproject file as MLflow would load it."""

    path: str  # relative to the repository
    name: str | None = None
    env_type: str = ""  # conda_env | python_env | docker_env ('' only for invalid or Spark-job projects)
    env_declared: str = ""  # the env field written in the file, '' when MLflow fell back
    env_file: str = ""  # relative to the repository
    docker_image: str = ""
    docker_pinned: str = ""  # digest | tag | latest | none | ''
    docker_volumes: tuple[str, ...] = ()
    docker_environment: tuple[str, ...] = ()
    databricks_spark_job: bool = False
    entry_points: tuple[EntryPoint, ...] = field(default_factory=tuple)
    valid: bool = True
    error: str = ""


def is_mlproject_name(name: str) -> bool:
    """MLflow's ``_find_mlproject``: the file name lower-cased equals ``mlproject``."""
    return name.lower() == "mlproject"


def docker_pinning(image: str) -> str:
    """How a docker image reference is pinned: digest, tag, latest or none."""
    if "@sha256:" in image or "@sha512:" in image:
        return "digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "none"
    return "latest" if last.rsplit(":", 1)[1] == "latest" else "tag"


def script_of(command: str, project_dir: str) -> str:
    """The file a command template runs (``python train.py``, ``python -m a.b``, ``Rscript x.R``, ``bash x.sh``)."""
    text = _PLACEHOLDER.sub("P", command.replace("\\\n", " "))
    try:
        words = shlex.split(text.splitlines()[0] if text.strip() else "")
    except ValueError:
        words = text.split()
    for i, word in enumerate(words):
        base = PurePosixPath(word).name
        if re.fullmatch(r"python(\d(\.\d+)?)?|pythonw", base) and i + 1 < len(words):
            rest = [w for w in words[i + 1:] if not w.startswith("-") or w == "-m"]
            if rest[:1] == ["-m"] and len(rest) > 1:
                return _script(project_dir, rest[1].replace(".", "/") + ".py")
            if rest and rest[0].endswith(".py"):
                return _script(project_dir, rest[0])
        if base in ("Rscript", "bash", "sh", "zsh") and i + 1 < len(words):
            target = words[i + 1]
            if target.endswith((".R", ".r", ".sh")):
                return _script(project_dir, target)
        if word.endswith((".sh", ".py")) and (word.startswith("./") or i == 0):
            return _script(project_dir, word)
    return ""


def _script(project_dir: str, rel: str) -> str:
    """A script path from a command: absolute as written, else repository-relative ('' if it leaves)."""
    return rel if rel.startswith("/") else (within_repo(project_dir, rel) or "")


def _parameter(name: str, spec: Any, command: str) -> Parameter:
    used = name in set(_PLACEHOLDER.findall(command or ""))
    if isinstance(spec, str):
        return Parameter(name, spec, None, True, used)
    if not isinstance(spec, Mapping):
        raise MLprojectInvalid(f"parameter {name!r} is neither a type nor a mapping (MLflow fails on it)")
    default = spec.get("default")
    shown = None if default is None else (str(default) if isinstance(default, (str, int, float, bool)) else repr(type(default)))
    return Parameter(name, str(spec.get("type", "string")), shown, default is None, used)


def parse_mlproject(text: str, path: str, files: Set[str]) -> MLproject:
    """Load an MLproject as MLflow does; ``files`` are the repository's paths (to check env files)."""
    project_dir = str(PurePosixPath(path).parent)
    try:
        return _load(text, path, project_dir, files)
    except MLprojectInvalid as err:
        return MLproject(path=path, valid=False, error=str(err))


def _load(text: str, path: str, project_dir: str, files: Set[str]) -> MLproject:
    try:
        obj = safe_yaml.load(text, path)
    except safe_yaml.BadYAML as err:
        raise MLprojectInvalid(str(err)) from err
    if obj is None:
        raise MLprojectInvalid("MLproject is empty (MLflow fails: 'NoneType' object has no attribute 'keys')")
    if not isinstance(obj, Mapping):
        raise MLprojectInvalid(f"MLproject is not a YAML mapping but a {type(obj).__name__} (MLflow fails on it)")
    env_fields = [k for k in ENV_FIELDS if k in obj]
    if len(env_fields) > 1:
        raise MLprojectInvalid(f"Project cannot contain multiple environment fields: {set(env_fields)}")
    name = obj.get("name")
    entry_points = []
    raw_eps = obj.get("entry_points", {})
    if not isinstance(raw_eps, Mapping):
        raise MLprojectInvalid("entry_points is not a mapping (MLflow fails on it)")
    for ep_name, ep in raw_eps.items():
        if not isinstance(ep, Mapping):
            raise MLprojectInvalid(f"entry point {ep_name!r} is not a mapping (MLflow fails on it)")
        command = ep.get("command")
        params = ep.get("parameters", {})
        if not isinstance(params, Mapping):
            raise MLprojectInvalid(f"parameters of entry point {ep_name!r} are not a mapping (MLflow fails on them)")
        cmd = "" if command is None else str(command)
        entry_points.append(EntryPoint(str(ep_name), cmd, script_of(cmd, project_dir),
                                       tuple(_parameter(str(k), v, cmd) for k, v in params.items())))
    common = {"path": path, "name": None if name is None else str(name), "entry_points": tuple(entry_points)}

    spark = obj.get("databricks_spark_job")
    if spark is not None:
        python_file = spark.get("python_file") if isinstance(spark, Mapping) else None
        if python_file is None and not entry_points:
            raise MLprojectInvalid("Databricks Spark job requires either 'databricks_spark_job.python_file' "
                                   "setting or 'entry_points' setting.")
        if python_file is not None and entry_points:
            raise MLprojectInvalid("Databricks Spark job does not allow setting both "
                                   "'databricks_spark_job.python_file' and 'entry_points'.")
        for ep_obj in entry_points:
            for param in ep_obj.parameters:
                if param.type == "path":
                    raise MLprojectInvalid("Databricks Spark job does not support entry point parameter of 'path' "
                                           f"type. '{param.name}' value type is invalid.")
        for key, word in (("docker_env", "docker"), ("python_env", "python"), ("conda_env", "conda")):
            if key in obj:
                raise MLprojectInvalid(f"Databricks Spark job does not support setting {word} environment.")
        return MLproject(**common, databricks_spark_job=True)  # type: ignore[arg-type]

    docker = obj.get("docker_env")
    if docker:
        if not isinstance(docker, Mapping) or not docker.get("image"):
            raise MLprojectInvalid("Project configuration (MLproject file) was invalid: Docker environment "
                                   "specified but no image attribute found.")
        volumes = docker.get("volumes")
        if volumes and not (isinstance(volumes, list) and all(isinstance(v, str) for v in volumes)):
            raise MLprojectInvalid("Project configuration (MLproject file) was invalid: Docker volumes must be "
                                   """a list of strings, e.g.: '["/path1/:/path1", "/path2/:/path2"])""")
        environment = docker.get("environment")
        if environment and not (isinstance(environment, list) and all(isinstance(e, (list, str)) for e in environment)):
            raise MLprojectInvalid(
                "Project configuration (MLproject file) was invalid: environment must be a list containing either "
                "strings (to copy environment variables from host system) or lists of string pairs (to define new "
                """environment variables).E.g.: '[["NEW_VAR", "new_value"], "VAR_TO_COPY_FROM_HOST"])""")
        image = str(docker["image"])
        env_names = tuple(e if isinstance(e, str) else str(e[0]) if e else "" for e in environment or [])
        return MLproject(**common, env_type="docker_env", env_declared="docker_env",  # type: ignore[arg-type]
                         docker_image=image, docker_pinned=docker_pinning(image),
                         docker_volumes=tuple(volumes or ()), docker_environment=env_names)
    for key, what in (("python_env", "python_env file"), ("conda_env", "conda environment file")):
        declared = obj.get(key)
        if declared:
            env_file = within_repo(project_dir, str(declared))
            if env_file is None or env_file not in files:
                shown = env_file or str(PurePosixPath(project_dir) / str(declared))
                raise MLprojectInvalid(f"Project specified {what} {shown}, but no such file was found.")
            return MLproject(**common, env_type=key, env_declared=key, env_file=env_file)  # type: ignore[arg-type]
    for key, default in (("python_env", PYTHON_ENV_FILE), ("conda_env", CONDA_FILE)):
        candidate = within_repo(project_dir, default)
        if candidate in files:
            return MLproject(**common, env_type=key, env_file=candidate)  # type: ignore[arg-type]
    # MLflow's last fallback: a python_env project with no environment file (a plain local environment)
    return MLproject(**common, env_type="python_env")  # type: ignore[arg-type]
