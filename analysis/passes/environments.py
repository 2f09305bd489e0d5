"""The environments pass: environment files (requirements, conda, python_env...) and their dependencies, statically.

pip specifiers are parsed with ``packaging``; what it rejects is a problem, not a guess. conda
specs follow conda's match-spec forms: ``numpy=1.21`` is a prefix pin (``range``),
``numpy==1.21.0`` is exact, ``numpy=1.21.0=py39_0`` is build-pinned (``exact``).
"""

from __future__ import annotations

import ast
import codecs
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from analysis.passes.tracking_uris import scan_text
from analysis.reading import safe_yaml
from analysis.reading.astscan import parse
from analysis.reading.sources import is_binary, within_repo
from analysis.repo_state import Checkout, RepoResult, SourceFile
from analysis.rows import DependencyRow, EnvironmentRow, FileStatus, ProblemRow, Stage, TrackingUriRow

MAX_INCLUDE_DEPTH = 10
_REQ_NAME = re.compile(r"(?i)^requirements?[^/]*\.(txt|in)$|^constraints?[^/]*\.txt$")
_CONDA_NAME = re.compile(r"(?i)^(conda[^/]*|environment[^/]*)\.ya?ml$")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+")
_CONDA_SPEC = re.compile(r"^(?:(?P<channel>[^:\s]+)::)?(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class Dependency:
    """One declared dependency (a row of ``dependencies.csv`` without repo)."""

    path: str
    line: int | None
    kind: str  # requirements | constraints | conda | conda-pip | python_env | python_env-build | python_env-python
    manager: str  # pip | conda
    name: str
    spec: str
    pin_class: str  # exact | range | unpinned | url | vcs | local
    marker: str = ""


@dataclass(frozen=True)
class EnvProblem:
    """A line or file that could not be read."""

    path: str
    line: int | None
    reason: str
    unread: bool = False  # the whole file could not be read (not one line of it)


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


def pip_pin_class(req: Requirement) -> str:
    """exact for one ``==``/``===`` without wildcard, unpinned for none, else range."""
    if req.url:
        return "vcs" if _VCS.match(req.url) else ("local" if req.url.startswith("file:") else "url")
    specs = list(req.specifier)
    if not specs:
        return "unpinned"
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return "exact"
    return "range"


def parse_pip_line(text: str, path: str, line: int | None, kind: str) -> Dependency | EnvProblem:
    """One requirement line (options already taken out)."""
    stripped = text.strip()
    if _VCS.match(stripped):
        egg = re.search(r"#egg=([A-Za-z0-9_.\-]+)", stripped)
        return Dependency(path, line, kind, "pip", canonicalize_name(egg.group(1)) if egg else "", stripped, "vcs")
    if stripped.startswith(("http://", "https://")):
        return Dependency(path, line, kind, "pip", "", stripped, "url")
    archive = stripped.endswith((".whl", ".tar.gz", ".zip")) and "://" not in stripped and " @ " not in stripped
    if stripped.startswith((".", "/", "file:")) or archive:
        return Dependency(path, line, kind, "pip", "", stripped, "local")
    try:
        req = Requirement(stripped)
    except InvalidRequirement as err:
        return EnvProblem(path, line, f"not a valid requirement ({err}): {stripped[:120]}")
    spec = req.url or str(req.specifier)
    return Dependency(path, line, kind, "pip", canonicalize_name(req.name), spec, pip_pin_class(req),
                      str(req.marker) if req.marker else "")


def parse_requirements(text: str, path: str, read: Callable[[str], str | None], kind: str = "requirements",
                       _seen: tuple[str, ...] = ()) -> tuple[list[Dependency], list[EnvProblem]]:
    """A requirements file with ``-r``/``-c`` includes followed (relative to it, inside the repository)."""
    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            logical.append((start, buffer.strip()))
        buffer = ""
    for number, line in logical:
        include = re.match(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
        if include:
            target = within_repo(str(PurePosixPath(path).parent), include.group(2))
            sub_kind = "constraints" if include.group(1) in ("-c", "--constraint") else kind
            if target is None:
                problems.append(EnvProblem(path, number, f"include leaves the repository: {include.group(2)}"))
            elif target in _seen or target == path or len(_seen) >= MAX_INCLUDE_DEPTH:
                problems.append(EnvProblem(path, number, f"recursive include of {target}"))
            else:
                content = read(target)
                if content is None:
                    problems.append(EnvProblem(path, number, f"included file not found: {target}"))
                else:
                    d, p = parse_requirements(content, target, read, sub_kind, (*_seen, path))
                    deps += d
                    problems += p
            continue
        if line.startswith("-e ") or line.startswith("--editable"):
            target = line.split(None, 1)[1] if " " in line else ""
            result = parse_pip_line(target, path, number, kind)
        elif line.startswith("-"):
            continue  # --index-url, -f, --hash, --pre...: options, not dependencies
        else:
            result = parse_pip_line(line.split(" --hash")[0], path, number, kind)
        (deps if isinstance(result, Dependency) else problems).append(result)  # type: ignore[arg-type]
    return deps, problems


def conda_pin_class(rest: str) -> tuple[str, str]:
    """(spec, pin class) of a conda match-spec's version part."""
    spec = rest.strip().replace(" ", "=", 1) if rest and not rest.startswith(("=", "<", ">", "!", "~")) else rest.strip()
    if not spec:
        return "", "unpinned"
    if spec.startswith("=="):
        return spec, "exact" if "*" not in spec and "," not in spec and "|" not in spec else "range"
    if spec.startswith("=") and not spec.startswith("=="):
        parts = spec[1:].split("=")
        if len(parts) >= 2 and parts[1]:
            return spec, "exact"  # version and build: build-pinned
        if parts[0].count(".") >= 2 and "*" not in parts[0]:
            return spec, "exact"  # python=3.10.0, openssl=1.1.1n: a prefix of nothing but itself in practice
        return spec, "range"  # numpy=1.21 matches 1.21.*: a prefix pin
    return spec, "range"


def _yaml_mapping(text: str, path: str, what: str) -> dict[str, Any] | EnvProblem:
    """A YAML file's top-level mapping, or the problem that stops it being one."""
    try:
        obj = safe_yaml.load(text, path)
    except safe_yaml.BadYAML as err:
        return EnvProblem(path, err.line, str(err), unread=True)
    return obj if isinstance(obj, dict) else EnvProblem(path, None, f"{what} is not a YAML mapping", unread=True)


def parse_conda(text: str, path: str, read: Callable[[str], str | None]) -> tuple[list[Dependency], list[EnvProblem], str]:
    """A conda environment file: conda specs and its ``pip:`` section; returns the python spec too."""
    obj = _yaml_mapping(text, path, "conda file")
    if isinstance(obj, EnvProblem):
        return [], [obj], ""
    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    python = ""
    entries = obj.get("dependencies") or []
    if not isinstance(entries, list):
        return [], [EnvProblem(path, None, "dependencies is not a list")], ""
    for entry in entries:
        if isinstance(entry, dict):
            for line in entry.get("pip") or []:
                text_line = str(line)
                if text_line.startswith(("-r", "--requirement", "-c")):
                    d, p = parse_requirements(text_line, path, read, "conda-pip")
                else:
                    one = parse_pip_line(text_line, path, None, "conda-pip")
                    d, p = ([one], []) if isinstance(one, Dependency) else ([], [one])
                deps += d
                problems += p
            continue
        match = _CONDA_SPEC.match(str(entry).strip())
        if not match:
            problems.append(EnvProblem(path, None, f"not a conda match-spec: {entry}"))
            continue
        spec, pin = conda_pin_class(match.group("rest"))
        name = canonicalize_name(match.group("name"))
        if name == "python":
            python = spec
        deps.append(Dependency(path, None, "conda", "conda", name, spec, pin))
    return deps, problems, python


def parse_python_env(text: str, path: str, read: Callable[[str], str | None]) -> tuple[list[Dependency], list[EnvProblem], str]:
    """MLflow's ``python_env.yaml``: ``python``, ``build_dependencies`` and ``dependencies``."""
    obj = _yaml_mapping(text, path, "python_env file")
    if isinstance(obj, EnvProblem):
        return [], [obj], ""
    deps: list[Dependency] = []
    problems: list[EnvProblem] = []
    python = str(obj.get("python") or "")
    if python:
        deps.append(Dependency(path, None, "python_env-python", "pip", "python", python,
                               "exact" if re.fullmatch(r"\d+\.\d+\.\d+", python) else "range"))
    for key, kind in (("build_dependencies", "python_env-build"), ("dependencies", "python_env")):
        for line in obj.get(key) or []:
            d, p = parse_requirements(str(line), path, read, kind)
            deps += d
            problems += p
    return deps, problems, python


_ONE_VERSION = re.compile(r"^(?:={1,3})?(?P<version>\d+(?:\.\d+)*)(?:\.?\*)?(?:=\S*)?$")


def python_version(python: str, deps: Iterable[Dependency]) -> str:
    """The Python version an environment file asks for, in one form for every kind of file.

    ``python`` is the spec its parser returned (conda, ``python_env.yaml``), else the spec of a
    dependency named ``python`` is taken (Poetry's ``python``, a Dockerfile's ``FROM python:TAG``).
    One version or prefix is that version without operator or build (conda ``=3.10.12``,
    ``==3.10``, ``3.10.*`` and ``python=3.10.12=h1234_0``, python_env ``3.10.12``, image
    ``python:3.9-slim`` give ``3.10.12``, ``3.10``, ``3.10``, ``3.10.12``, ``3.10.12``, ``3.9``); a
    range keeps its operators (``>=3.8,<3.11``, ``^3.9``); '' when none is given (``python``
    unpinned, ``python:latest``). The spec as written stays in ``dependencies.csv``.
    """
    spec = python
    if not spec:
        dep = next((d for d in deps if d.name == "python"), None)
        if dep is None:
            return ""
        if dep.kind == "dockerfile-from":
            image = dep.spec.split("@")[0]
            tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
            version = re.match(r"\d+(?:\.\d+)*", tag)
            return version.group(0) if version else ""
        spec = dep.spec
    spec = spec.replace(" ", "")
    match = _ONE_VERSION.match(spec)
    return match.group("version") if match else spec


def decode_env_file(data: bytes) -> str:
    """Text of an environment file as pip reads it: a BOM says UTF-8/16/32, else UTF-8 (strict)."""
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    return data.decode("utf-8")


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
