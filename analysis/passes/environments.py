"""The environments pass: environment files (requirements, conda, python_env...) and their dependencies, statically.

The files MLflow and pip read (requirements, conda, ``python_env.yaml``) are parsed by
``analysis.reading.env_files``; the packaging files (``pyproject.toml``, ``setup.cfg``, ``setup.py``) and
Dockerfiles here.
"""

from __future__ import annotations

import ast
import codecs
import re
from pathlib import PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name

from analysis.passes.tracking_uris import scan_text
from analysis.reading.astscan import parse
from analysis.reading.env_files import (
    Dependency,
    EnvProblem,
    decode_env_file,
    parse_conda,
    parse_pip_line,
    parse_python_env,
    parse_requirements,
    python_version,
)
from analysis.reading.sources import is_binary
from analysis.repo_state import Checkout, RepoResult, SourceFile
from analysis.rows import DependencyRow, EnvironmentRow, FileStatus, ProblemRow, Stage, TrackingUriRow

_REQ_NAME = re.compile(r"(?i)^requirements?[^/]*\.(txt|in)$|^constraints?[^/]*\.txt$")
_CONDA_NAME = re.compile(r"(?i)^(conda[^/]*|environment[^/]*)\.ya?ml$")


def env_file_kind(path: str) -> str | None:
    """requirements, conda or python_env for file names that hold environments, else None."""
    return env_name_kind(PurePosixPath(path).name)


def env_name_kind(name: str) -> str | None:
    """``env_file_kind`` of a file by its name (the last part of its path)."""
    lower = name.lower()
    if lower == "python_env.yaml":
        return "python_env"
    if lower in ("pyproject.toml", "setup.cfg", "setup.py"):
        return lower
    if lower.startswith("dockerfile") or lower.endswith(".dockerfile"):
        return "dockerfile"
    if _REQ_NAME.match(name):
        return "requirements"
    if _CONDA_NAME.match(name):
        return "conda"
    return None


def parse_pyproject(text: str, path: str) -> tuple[list[Dependency], list[EnvProblem]]:
    """``[project]`` dependencies and optional dependencies, and Poetry's dependency tables."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return [], [EnvProblem(path, None, f"TOML error: {err}", unread=True)]
    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
    lines = list(project.get("dependencies") or [])
    for extra in (project.get("optional-dependencies") or {}).values():
        lines += list(extra or [])
    for line in lines:
        one = parse_pip_line(str(line), path, None, "pyproject")
        (deps if isinstance(one, Dependency) else problems).append(one)  # type: ignore[arg-type]
    tool: dict[str, Any] = data["tool"] if isinstance(data.get("tool"), dict) else {}
    poetry: dict[str, Any] = tool["poetry"] if isinstance(tool.get("poetry"), dict) else {}
    tables = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    tables += [g.get("dependencies") or {} for g in (poetry.get("group") or {}).values() if isinstance(g, dict)]
    for table in tables:
        for name, value in table.items():
            version = value.get("version", "") if isinstance(value, dict) else str(value)
            if isinstance(value, dict) and ("git" in value or "path" in value or "url" in value):
                pin = "vcs" if "git" in value else ("local" if "path" in value else "url")
            elif not version or version == "*":
                pin = "unpinned"
            elif re.fullmatch(r"=?=?\d[\w.]*", version):
                pin = "exact"  # Poetry: a bare version is an exact pin
            else:
                pin = "range"  # ^, ~, >=, wildcards
            deps.append(Dependency(path, None, "pyproject-poetry", "pip", canonicalize_name(name), version, pin))
    return deps, problems


def parse_setup_cfg(text: str, path: str) -> tuple[list[Dependency], list[EnvProblem]]:
    """``[options] install_requires`` and ``[options.extras_require]`` of a setup.cfg."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as err:
        return [], [EnvProblem(path, None, f"setup.cfg error: {str(err).splitlines()[0]}", unread=True)]
    values = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        values += [v for _k, v in parser.items("options.extras_require")]
    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    for value in values:
        for line in value.splitlines():
            if line.strip():
                one = parse_pip_line(line.strip(), path, None, "setup.cfg")
                (deps if isinstance(one, Dependency) else problems).append(one)  # type: ignore[arg-type]
    return deps, problems


def parse_setup_py(text: str, path: str) -> tuple[list[Dependency], list[EnvProblem]]:
    """Literal ``install_requires``/``extras_require`` of ``setup(...)``, read with ``ast``: never run."""
    try:
        tree = parse(text)
    except (SyntaxError, ValueError) as err:
        return [], [EnvProblem(path, getattr(err, "lineno", None), f"syntax error: {err}", unread=True)]
    names: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and (getattr(node.func, "id", None) == "setup"
                                                or getattr(node.func, "attr", None) == "setup")):
            continue
        for kw in node.keywords:
            if kw.arg not in ("install_requires", "extras_require"):
                continue
            value = names.get(kw.value.id, kw.value) if isinstance(kw.value, ast.Name) else kw.value
            lists = list(value.values) if isinstance(value, ast.Dict) else [value]
            for item in lists:
                item = names.get(item.id, item) if isinstance(item, ast.Name) else item
                if not isinstance(item, (ast.List, ast.Tuple)):
                    problems.append(EnvProblem(path, kw.value.lineno, f"{kw.arg} is computed, not a literal list"))
                    continue
                for element in item.elts:
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        one = parse_pip_line(element.value, path, element.lineno, "setup.py")
                        (deps if isinstance(one, Dependency) else problems).append(one)  # type: ignore[arg-type]
    return deps, problems


_FROM = re.compile(r"(?im)^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)")
_PIP_INSTALL = re.compile(r"(?i)\bpip3?\s+install\s+([^&|;\n#]+)")
_VALUE_FLAGS = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
                          "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root"})


def parse_dockerfile(text: str, path: str) -> tuple[list[Dependency], list[EnvProblem]]:
    """``FROM`` images (pinned by digest, tag or not) and the packages of ``pip install`` lines."""
    from analysis.reading.mlproject import docker_pinning

    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    joined = re.sub(r"\\\s*\n", " ", text)
    for match in _FROM.finditer(text):
        image = match.group(1)
        line = text[: match.start(1)].count("\n") + 1
        pin = docker_pinning(image)
        deps.append(Dependency(path, line, "dockerfile-from", "docker", image.split("@")[0].rsplit(":", 1)[0]
                               if "/" not in image.rsplit(":", 1)[-1] else image, image,
                               {"digest": "exact", "tag": "range", "latest": "unpinned", "none": "unpinned"}[pin]))
    for match in _PIP_INSTALL.finditer(joined):
        words = match.group(1).split()
        for i, word in enumerate(words):
            word = word.strip("\"'")
            if not word or word.startswith(("-", "$")) or (i and words[i - 1] in _VALUE_FLAGS):
                continue
            one = parse_pip_line(word, path, None, "dockerfile-pip")
            (deps if isinstance(one, Dependency) else problems).append(one)  # type: ignore[arg-type]
    return deps, problems


def file_pass(file: SourceFile, checkout: Checkout, result: RepoResult) -> None:
    """Keep an environment file (``setup.py`` among the ``.py`` files) for ``repo_pass``."""
    rel = file.row.path
    if file.row.kind == "environment" or rel.endswith("setup.py") and env_file_kind(rel) == "setup.py":
        checkout.env_files.append((rel, file.data, file.row))


STATIC_PARSERS = {"pyproject.toml": parse_pyproject, "setup.cfg": parse_setup_cfg, "setup.py": parse_setup_py,
                  "dockerfile": parse_dockerfile}


def repo_pass(checkout: Checkout, result: RepoResult) -> None:
    """Dependencies of every environment file the file stage kept, and of those MLprojects reference."""
    repo, files = checkout.task.repo, checkout.all_paths
    env_files = list(checkout.env_files)
    referenced = {m.env_file for m in result.mlprojects if m.env_file}
    seen = {rel for rel, _d, _r in env_files}
    for rel in sorted(referenced - seen):
        data = checkout.file_bytes(rel)
        if data is not None:
            row = next(f for f in result.files if f.path == rel)
            row.kind = "environment"
            env_files.append((rel, data, row))

    def read(rel: str) -> str | None:
        data = checkout.file_bytes(rel)
        return None if data is None else data.decode("utf-8", "replace")

    for rel, data, row in env_files:
        if is_binary(data) and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            row.status, row.reason = FileStatus.PROBLEM, "binary content"
            result.problems.append(ProblemRow(repo, rel, None, Stage.ENVIRONMENT, "binary content"))
            continue
        try:
            text = decode_env_file(data)
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            row.status, row.reason = FileStatus.PROBLEM, "bytes not valid utf-8"
            result.problems.append(ProblemRow(repo, rel, line, Stage.ENVIRONMENT, "bytes not valid utf-8"))
            continue
        kind = env_file_kind(rel) or ("python_env" if rel.endswith("python_env.yaml") else "conda")
        python = ""
        if kind == "requirements":
            deps, problems = parse_requirements(text, rel, read)
        elif kind in STATIC_PARSERS:
            deps, problems = STATIC_PARSERS[kind](text, rel)
        elif kind == "python_env":
            deps, problems, python = parse_python_env(text, rel, read)
        else:
            deps, problems, python = parse_conda(text, rel, read)
        unread = next((p.reason for p in problems if p.unread and p.path == rel), None)
        if unread is not None and row.kind == "environment":  # setup.py keeps its status as code
            row.status, row.reason = FileStatus.PROBLEM, unread
        row.status = row.status or FileStatus.ANALYZED
        origin = "model-artifact" if ("mlruns/" in f"/{rel}" or f"{PurePosixPath(rel).parent}/MLmodel" in files
                                      or (PurePosixPath(rel).parent.as_posix() == "." and "MLmodel" in files)) else "project"
        for dep in deps:
            result.dependencies.append(DependencyRow(repo, dep.path, dep.line, rel, dep.kind, dep.manager, dep.name,
                                                     dep.spec, dep.pin_class, dep.marker, origin))
        for prob in problems:
            result.problems.append(ProblemRow(repo, prob.path, prob.line, Stage.ENVIRONMENT, prob.reason))
        if kind == "dockerfile":
            result.uris.extend(TrackingUriRow(repo, rel, uri) for uri in scan_text(text, "dockerfile"))
        own = [d for d in deps if d.name != "python" and d.kind != "python_env-build"]
        exact = sum(1 for d in own if d.pin_class == "exact")
        mlflow = [d for d in own if d.name in ("mlflow", "mlflow-skinny")]
        result.environments.append(EnvironmentRow(
            repo, rel, kind, len(own), round(exact / len(own), 4) if own else "",
            python_version(python, deps),
            (mlflow[0].pin_class == "exact") if mlflow else "", rel in referenced, origin))
