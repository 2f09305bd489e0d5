"""What a repository's packaging files say of it, read as text and never run: the distribution they
declare, the MLflow plugins they register, and signs that the distribution is published.

- ``setup.py``: the ``setup(...)`` call read with ``ast`` (``setup`` or ``setuptools.setup``, keywords
  given directly or as ``**dict`` of a literal dict): a distribution when it is given a ``name`` and
  ``packages`` or ``py_modules``; its ``entry_points`` (a dict, or the INI text setuptools also
  takes; a module-level name bound to one is followed) register a plugin per group ``mlflow.*``.
- ``setup.cfg``: ``[metadata] name``, and the ``mlflow.*`` keys of ``[options.entry_points]``.
- ``pyproject.toml``: ``[project] name`` or ``[tool.poetry] name``, with a ``[build-system]``; the
  ``mlflow.*`` groups of ``[project.entry-points]`` and ``[tool.poetry.plugins]``.
- published: a README line installing the distribution by its name (``pip install <name>``,
  ``pip install git+...#egg=<name>``, ``uv add``, ``poetry add``, ``pipx install``; names compared
  as PEP 503 does), or a publishing step in CI or a script (``twine upload``,
  ``pypa/gh-action-pypi-publish``, ``poetry``/``flit``/``uv``/``hatch``/``pdm publish``,
  ``setup.py ... upload``).

Each finding carries its file and 1-based line (``Evidence``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name

from analysis.reading.astscan import parse

PLUGIN_GROUP = "mlflow."  # entry-point groups MLflow loads plugins from start with this


@dataclass(frozen=True)
class Evidence:
    """A finding and where it is."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.what}"


@dataclass
class Packaging:
    """What one packaging file declares: a distribution (``declared``, with its canonical ``name``, ''
    when computed) and the MLflow plugin groups it registers."""

    declared: Evidence | None = None
    name: str = ""
    plugins: list[Evidence] = field(default_factory=list)


def _canonical(name: str) -> str:
    return str(canonicalize_name(name))


def _ini_groups(text: str, path: str, first_line: int) -> list[Evidence]:
    """``[mlflow.*]`` sections of entry points written as INI text (starting at ``first_line``)."""
    return [Evidence(path, first_line + i, m.group(1)) for i, line in enumerate(text.splitlines())
            if (m := re.match(r"\s*\[\s*(mlflow\.[\w.]+)\s*\]", line))]


def read_setup_py(text: str, path: str) -> Packaging:
    """The distribution and plugins of a ``setup.py``'s ``setup(...)`` call (nothing when it does not parse)."""
    try:
        tree = parse(text)
    except (SyntaxError, ValueError):
        return Packaging()
    names: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            names[statement.targets[0].id] = statement.value

    def resolved(value: ast.expr) -> ast.expr:
        return names.get(value.id, value) if isinstance(value, ast.Name) else value

    out = Packaging()
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and (getattr(n.func, "id", None) == "setup"
                                                                       or getattr(n.func, "attr", None) == "setup")]
    for node in calls:
        keywords: dict[str, ast.expr] = {}
        for kw in node.keywords:
            spread = resolved(kw.value) if kw.arg is None else None
            if isinstance(spread, ast.Dict):  # setup(**CONFIG) of a literal dict
                keywords.update((k.value, v) for k, v in zip(spread.keys, spread.values)
                                if isinstance(k, ast.Constant) and isinstance(k.value, str))
            elif kw.arg is not None:
                keywords[kw.arg] = kw.value
        if "name" in keywords and ({"packages", "py_modules"} & set(keywords)) and out.declared is None:
            value = resolved(keywords["name"])
            name = value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else ""
            given = "packages" if "packages" in keywords else "py_modules"
            out.declared = Evidence(path, node.lineno, f"setup(name={name or '<computed>'!s}, {given}=...)")
            out.name = _canonical(name) if name else ""
        points = resolved(keywords["entry_points"]) if "entry_points" in keywords else None
        if isinstance(points, ast.Dict):
            out.plugins += [Evidence(path, k.lineno, k.value) for k in points.keys
                            if isinstance(k, ast.Constant) and isinstance(k.value, str)
                            and k.value.startswith(PLUGIN_GROUP)]
        elif isinstance(points, ast.Constant) and isinstance(points.value, str):
            out.plugins += _ini_groups(points.value, path, points.lineno)
    return out


def read_setup_cfg(text: str, path: str) -> Packaging:
    """``[metadata] name`` and the ``mlflow.*`` keys of ``[options.entry_points]``, read line by line."""
    out = Packaging()
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip().lower()
            continue
        if not stripped or stripped.startswith(("#", ";")) or raw[:1].isspace():
            continue  # a blank, a comment, or the continuation of a value
        key, _sep, value = _key_value(stripped)
        if section == "metadata" and key == "name" and value and out.declared is None:
            out.declared = Evidence(path, number, f"[metadata] name = {value}")
            out.name = _canonical(value)
        elif section == "options.entry_points" and key.startswith(PLUGIN_GROUP):
            out.plugins.append(Evidence(path, number, key))
    return out


def _key_value(line: str) -> tuple[str, str, str]:
    match = re.match(r"([^=:]+?)\s*([=:])\s*(.*)", line)
    return (match.group(1), match.group(2), match.group(3).strip()) if match else (line, "", "")


def _line_of(text: str, pattern: str, after: int = 0) -> int:
    """The 1-based line of ``pattern``'s first match at or after line ``after`` (1 when none)."""
    lines = text.splitlines()
    for number in range(max(after, 1), len(lines) + 1):
        if re.search(pattern, lines[number - 1]):
            return number
    return 1


def read_pyproject(text: str, path: str) -> Packaging:
    """``[project]``/``[tool.poetry]`` name with a ``[build-system]``, and the ``mlflow.*`` plugin groups."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeError):
        return Packaging()
    out = Packaging()
    project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
    tool: dict[str, Any] = data["tool"] if isinstance(data.get("tool"), dict) else {}
    poetry: dict[str, Any] = tool["poetry"] if isinstance(tool.get("poetry"), dict) else {}
    build = "build-system" in data
    for table, header, values in (("[project]", r"^\s*\[\s*project\s*\]", project),
                                  ("[tool.poetry]", r"^\s*\[\s*tool\.poetry\s*\]", poetry)):
        name = values.get("name")
        if isinstance(name, str) and name and build and out.declared is None:
            line = _line_of(text, r"^\s*name\s*=\s*[\"']" + re.escape(name), _line_of(text, header))
            out.declared = Evidence(path, line, f"{table} name = {name}, with a [build-system]")
            out.name = _canonical(name)
    groups: list[str] = []
    for points in (project.get("entry-points"), poetry.get("plugins")):
        if isinstance(points, dict):
            groups += [g for g in points if isinstance(g, str) and g.startswith(PLUGIN_GROUP)]
    out.plugins = [Evidence(path, _line_of(text, "[\"']" + re.escape(g) + "[\"']"), g) for g in groups]
    return out


_INSTALL = re.compile(r"(?:\bpip3?|\bpipx|\buv\s+pip|\bpython3?\s+-m\s+pip)\s+install\s+(.+)"
                      r"|\b(?:uv|poetry)\s+add\s+(.+)")
# flags whose value is not a distribution's name (``-e DIR``: a local checkout, not the published package)
_VALUE_FLAGS = frozenset({"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
                          "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
                          "--python"})


def installs(text: str, path: str, name: str) -> list[Evidence]:
    """Lines of a README that install the distribution ``name`` (canonical) by its name."""
    out: list[Evidence] = []
    if not name:
        return out
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _INSTALL.finditer(line):
            tokens = (match.group(1) or match.group(2)).split()
            for i, token in enumerate(tokens):
                token = token.strip("`'\"(),;")
                if not token or token.startswith("-") or (i and tokens[i - 1] in _VALUE_FLAGS):
                    continue
                egg = re.search(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)", token)
                bare = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?([<>=!~].*)?", token)
                got = egg.group(1) if egg else bare.group(1) if bare and "/" not in token else ""
                if got and _canonical(got) == name:
                    out.append(Evidence(path, number, f"installs {name} by its name"))
                    break
    return out


PUBLISH = re.compile(r"\btwine\s+upload\b|pypa/gh-action-pypi-publish|\b(?:poetry|flit|uv|hatch|pdm)\s+publish\b"
                     r"|\bsetup\.py\b.*\bupload\b")


def publishing(text: str, path: str) -> list[Evidence]:
    """Lines of a CI file or script that publish a distribution."""
    return [Evidence(path, number, f"publishes: {match.group(0)}") for number, line in enumerate(text.splitlines(), 1)
            if (match := PUBLISH.search(line))]
