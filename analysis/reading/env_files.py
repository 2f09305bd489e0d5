"""Environment files read as text, never installed: requirements (with ``-r``/``-c`` includes), conda files and
MLflow's ``python_env.yaml``, each line a ``Dependency`` with how tightly it pins.

pip specifiers are parsed with ``packaging``; what it rejects is a problem, not a guess. conda
specs follow conda's match-spec forms: ``numpy=1.21`` is a prefix pin (``range``),
``numpy==1.21.0`` is exact, ``numpy=1.21.0=py39_0`` is build-pinned (``exact``). The environments
pass (``analysis.passes.environments``) reads a repository's files with them, ``rerun`` the MLflow
release a project's environment pins (``analysis.rerun.driver_env``).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from analysis.reading import safe_yaml
from analysis.reading.sources import within_repo
from analysis.versions import conda_exact

MAX_INCLUDE_DEPTH = 10
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
    # ==1.21.0; a version and a build (build-pinned); python=3.10.0, openssl=1.1.1n: a prefix of nothing but
    # itself in practice; not numpy=1.21, which matches 1.21.*: a prefix pin
    return spec, "exact" if conda_exact(spec) else "range"


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
