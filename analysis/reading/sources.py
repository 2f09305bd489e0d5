"""Reading files users wrote: decoding Python sources and turning notebooks into parseable code.

Every function here is pure (bytes in, text or a typed record out) and raises ReadError (a SourceError) with
a reason and, where known, a line; the caller turns it into a ``problems.csv`` row.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from analysis.reading.astscan import parse
from analysis.ftypes import ReadError

_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_ENV_MAGIC = re.compile(r"^\s*%(?:env|set_env)\s+(\w+)(?:\s*=\s*|\s+)(\S.*?)\s*$")
_MAGIC = re.compile(r"^(\s*)([%!]|\?\??[\w.]+\s*$|[\w.]+\?\??\s*$)")


def within_repo(base_dir: str, rel: str) -> str | None:
    """``rel`` taken from ``base_dir`` as a repository-relative path; None when it is absolute, a URL,
    or leaves the repository (so nothing outside the checkout is ever named as part of it)."""
    if rel.startswith("/") or "://" in rel:
        return None
    parts = [p for p in PurePosixPath(base_dir).parts if p != "."]
    for part in PurePosixPath(rel).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def is_binary(data: bytes) -> bool:
    """True for bytes that are not text (a NUL in the first 8 KiB)."""
    return b"\0" in data[:8192]


def decode_python(data: bytes) -> str:
    """Decode a Python source as the interpreter would (BOM, PEP 263 cookie, else UTF-8)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        encoding = "utf-8"
    else:
        encoding = "utf-8"
        for first in data.splitlines()[:2]:
            match = _CODING.match(first)
            if match:
                encoding = match.group(1).decode("ascii", "replace")
                break
    try:
        return data.decode(encoding)
    except LookupError as err:
        raise ReadError(f"unknown encoding {encoding!r} declared", 1) from err
    except UnicodeDecodeError as err:
        lineno = data[: err.start].count(b"\n") + 1
        raise ReadError(f"bytes not valid {encoding}", lineno) from err


@dataclass(frozen=True)
class NotebookCode:
    """The code cells of a notebook joined into one module, with where each cell starts."""

    source: str
    # module line -> (cell index, first module line of that cell); a cell's index is its place in the
    # notebook's `cells` list (0-based, markdown and raw cells counted): how nbformat and tools address it
    cell_of_line: Mapping[int, tuple[int, int]]
    n_cells: int
    language: str = "python"
    # (cell index, line within the cell, name, value) of each `%env NAME=value` / `%set_env NAME value`
    env_magics: tuple[tuple[int, int, str, str], ...] = ()

    def cells(self) -> list[tuple[int, int, int]]:
        """(cell index, first module line, last module line) of each code cell."""
        spans: dict[int, list[int]] = {}
        for line, (cell, _first) in self.cell_of_line.items():
            spans.setdefault(cell, []).append(line)
        return [(cell, min(ls), max(ls)) for cell, ls in sorted(spans.items())]


# Magics whose argument (line magic) or body (cell magic) is Python that runs: it is kept.
_PYTHON_MAGICS = frozenset({"time", "timeit", "prun", "memit", "capture"})
_LINE_MAGIC = re.compile(r"^(\s*)%(\w+)((?:\s+-\w+(?:\s+\d+)?)*\s+)(\S.*)$")


def _python_line_magic(line: str) -> str | None:
    """``%time f(x)`` as ``_ =   f(x)``: the statement kept at its columns; None if it is not that."""
    match = _LINE_MAGIC.match(line)
    if match is None or match.group(2) not in _PYTHON_MAGICS:
        return None
    indent, rest = match.group(1), match.group(4)
    prefix = len(line) - len(indent) - len(rest)  # "%time " and its options
    if prefix < 3:
        return None
    rewritten = "_ =" + " " * (prefix - 3) + rest
    try:
        parse(rewritten)
    except (SyntaxError, ValueError):
        return None  # not one expression or assignment: `pass` below
    return indent + rewritten


def neutralize_magics(cell: str) -> str:
    """IPython syntax made Python without moving a line: ``!shell`` lines and line magics become
    ``pass``, except those running Python (``%time f(x)``), kept at their columns; a cell magic
    blanks its cell, except those running Python (``%%time``), whose first line only is blanked."""
    lines = cell.split("\n")
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        name = first[2:].split(None, 1)[0] if first[2:].strip() else ""
        if name not in _PYTHON_MAGICS:
            return "\n".join("" for _ in lines)
        lines = ["", *lines[1:]]
    out = []
    for line in lines:
        match = _MAGIC.match(line)
        if match:
            out.append(_python_line_magic(line) or f"{match.group(1)}pass")
        else:
            out.append(line)
    return "\n".join(out)


def notebook_code(data: bytes) -> NotebookCode:
    """The code cells of an ``.ipynb`` (plain JSON, nbformat 3 or 4), magics neutralized.

    A code cell whose ``source`` is not text (null, a number) makes the notebook a ReadError
    naming the cell: nbformat allows only a string or a list of strings there.
    """
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ReadError("notebook is not UTF-8") from err
    except json.JSONDecodeError as err:
        raise ReadError(f"notebook is not valid JSON: {err.msg}", err.lineno) from err
    if not isinstance(nb, dict):
        raise ReadError("notebook JSON is not an object")
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list) and nb["worksheets"]:
        cells = nb["worksheets"][0].get("cells")  # nbformat 3
    if not isinstance(cells, list):
        raise ReadError("notebook has no cells list")
    parts: list[str] = []
    env: list[tuple[int, int, str, str]] = []
    cell_of_line: dict[int, tuple[int, int]] = {}
    line = 1
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        raw = cell.get("source", cell.get("input", ""))
        if isinstance(raw, list) and all(isinstance(part, str) for part in raw):
            text = "".join(raw)
        elif isinstance(raw, str):
            text = raw
        else:  # read as code, `None` or `3` would be analyzed as if written there
            raise ReadError(f"cell {index}: source is {_json_kind(raw)}, not text (nbformat: a string or a "
                              "list of strings): notebook not read")
        text = text.replace("\r\n", "\n")
        env += [(index, n, m.group(1), m.group(2)) for n, ln in enumerate(text.split("\n"), start=1)
                if (m := _ENV_MAGIC.match(ln))]
        code = neutralize_magics(text)
        n_lines = code.count("\n") + 1
        for offset in range(n_lines):
            cell_of_line[line + offset] = (index, line)
        parts.append(code)
        line += n_lines
    meta = _mapping(nb.get("metadata"))
    kernel, info = _mapping(meta.get("kernelspec")), _mapping(meta.get("language_info"))
    language = str(kernel.get("language") or info.get("name") or "python").lower()
    return NotebookCode("\n".join(parts) + "\n", cell_of_line, len(cells), language, tuple(env))


def _json_kind(value: object) -> str:
    """What a JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "an object" if isinstance(value, dict) else "a list holding non-strings"


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}
