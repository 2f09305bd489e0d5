"""The call-site pass: MLflow API calls, integrations and tracking URIs in one Python module, in one traversal.

``find_in_module`` parses a module with LibCST and walks it once (``cst_walk.Walker``: LibCST's own
``visit`` rebuilds every node it passes). The walk binds names (``names.ModuleNames``); the
finders take part in it through their ``visit_`` hooks (``Walker.listen``, as pyupgrade's plugins
share one traversal) and, once it ends and every call's callee is resolved, each turns the calls
into its own rows: ``call_sites``, ``integrations`` and ``tracking_uris``. No finder reads or
writes another's state.

Positions come from the module's ``ast`` scan (``ast_positions``). ``may_use_mlflow`` tells from
that scan alone whether this pass can find anything in a module, so most modules that merely
mention mlflow are never parsed by LibCST.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Protocol

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from analysis.reading.astscan import ModuleScan, ast_dotted, parse, scan_source
from analysis.passes.call_sites import CallSites
from analysis.reading.cst_walk import dotted, parse_accepted, parse_checked
from analysis.ftypes import BadSyntax, FileContext, FileFindings, SourceError
from analysis.reading.imports import imported_names
from analysis.passes.integrations import INTEGRATION_ROOTS, Integrations
from analysis.reading.calls import Call, Callee, Where
from analysis.reading.names import ModuleNames
from analysis.reading.resolver import Resolver
from analysis.passes.tracking_uris import TRACKING_ENV, TrackingUris

__all__ = ["TRACKING_ENV", "Finder", "Resolver", "ast_positions", "find_in_module", "local_mlflow_dirs", "may_reexport",
           "may_use_mlflow", "module_names", "python_error_line", "reexports_mlflow", "walk_module"]


def may_use_mlflow(found: ModuleScan, source: str, context: FileContext, implicit_mlflow: bool = False) -> bool:
    """False when the LibCST pass cannot find anything in this module, decided from its ``ast`` scan.

    Every name the pass resolves starts at an import (``ModuleNames.lookup`` only returns what imports,
    assignments of imported names and parameters annotated with them bind), so a module that
    imports neither MLflow nor a package of ``INTEGRATION_ROOTS`` has no call site and no
    integration call. The findings that need no import are looked for in the text: the
    ``report_to`` keyword and ``MLFLOW_TRACKING_URI``. ``%run`` of another notebook and the
    project's own modules re-exporting MLflow (``from .tracking import *``) count as imports.
    """
    if implicit_mlflow or context.reexports or "report_to" in source or TRACKING_ENV in source:
        return True
    for node in found.imports:
        for imported in imported_names(node):
            root = imported.module.split(".")[0]
            if not imported.level and (root == "mlflow" or root in INTEGRATION_ROOTS):
                return True
    return False


def find_in_module(source: str, resolver: Resolver, *, context: FileContext = FileContext(),
                   cell_of_line: Mapping[int, tuple[int, int]] | None = None,
                   implicit_mlflow: bool = False, found: ModuleScan | None = None) -> FileFindings:
    """Parse one module with libcst and return its MLflow findings; raise SourceError if it can't (BadSyntax
    for a syntax error).

    ``found`` is the module's ``ast`` scan when the caller has one (of this same ``source``).
    """
    try:
        module = parse_checked(source) if found is None else parse_accepted(source, found.statements, found.members)
    except cst.ParserSyntaxError as err:
        raise BadSyntax(f"syntax error: {err.message}", python_error_line(source, err.raw_line)) from err
    except cst.CSTValidationError as err:  # parsed, but not valid Python (`u"a" b"b"`): no position of its own
        raise BadSyntax(f"syntax error: {err}", python_error_line(source, 1)) from err
    except (RecursionError, ValueError) as err:
        raise SourceError(f"cannot parse: {type(err).__name__}") from err
    names = ModuleNames(resolver, context, implicit_mlflow)
    call_sites, integrations, uris = CallSites(names), Integrations(names), TrackingUris(names)
    callees, where = walk_module(module, source, names, (call_sites, integrations, uris),
                                 cell_of_line=cell_of_line, found=found)
    return FileFindings(tuple(call_sites.findings(callees, where)), tuple(integrations.findings(callees, where)),
                        tuple(uris.findings(callees, where)))


class Finder(Protocol):
    """A finder of this pass: made on a module's ``ModuleNames``, its ``visit_`` hooks run in their walk."""

    @property
    def needs_positions(self) -> bool:
        """Whether it needs the position of a node that is neither a call nor a decorator."""


def walk_module(module: cst.Module, source: str, names: ModuleNames, finders: Sequence[Finder], *,
                cell_of_line: Mapping[int, tuple[int, int]] | None = None, found: ModuleScan | None = None,
                ) -> tuple[list[tuple[Call, Callee]], Where]:
    """Walk ``module`` once with ``finders`` listening; the calls that resolve and where nodes are, for their findings."""
    names.listen(*finders)
    try:
        names.walk(module)
    except RecursionError as err:
        raise SourceError("cannot analyze: nested too deeply") from err
    positions = None
    if not any(finder.needs_positions for finder in finders):
        calls = [c.node for c in names.calls if isinstance(c.node, cst.Call)]
        decorators = [c.node for c in names.calls if not isinstance(c.node, cst.Call)]
        positions = ast_positions(source, calls, decorators, found)
    if positions is None:
        # LibCST's own positions: exact, but a second full pass over the tree (about 2x the parse)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        resolved = wrapper.resolve(PositionProvider)
        positions = {id(node): (pos.start.line, pos.start.column) for node, pos in resolved.items()}

    def where(node: cst.CSTNode) -> tuple[int | None, int, int]:
        line, col = positions[id(node)]
        if cell_of_line is not None:
            cell, first = cell_of_line.get(line, (0, 1))
            return cell, line - first + 1, col
        return None, line, col

    return [(call, callee) for call in names.calls if (callee := names.callee(call)) is not None], where


def ast_positions(source: str, calls: list[cst.Call], decorators: list[cst.BaseExpression],
                  found_scan: ModuleScan | None = None) -> dict[int, tuple[int, int]] | None:
    """Positions of LibCST call nodes, taken from ``ast`` (a cheaper parse than LibCST's positions).

    Calls are paired in source order (start, then the outer call first) and checked name by name;
    any disagreement, or source ``ast`` cannot parse, returns None and the caller uses LibCST's own
    positions instead. Columns are converted from UTF-8 bytes (``ast``) to characters (LibCST).
    """
    found_scan = found_scan or scan_source(source)
    if found_scan is None:
        return None
    found = list(found_scan.calls)
    decos = list(found_scan.bare_decorators)
    if len(found) != len(calls) or len(decos) != len(decorators):
        return None
    order = lambda n: (n.lineno, n.col_offset, -(n.end_lineno or 0), -(n.end_col_offset or 0))  # noqa: E731
    found.sort(key=order)
    decos.sort(key=order)
    lines = source.split("\n")
    out: dict[int, tuple[int, int]] = {}
    for cst_nodes, ast_nodes in ((calls, found), (decorators, decos)):
        for cst_node, ast_node in zip(cst_nodes, ast_nodes):
            target = cst_node.func if isinstance(cst_node, cst.Call) else cst_node
            ast_target = ast_node.func if isinstance(ast_node, ast.Call) else ast_node
            if dotted(target) != ast_dotted(ast_target):
                return None
            text = lines[ast_node.lineno - 1] if ast_node.lineno <= len(lines) else ""
            col = len(text.encode("utf-8")[: ast_node.col_offset].decode("utf-8", "replace"))
            out[id(cst_node)] = (ast_node.lineno, col)
    return out


def python_error_line(source: str, fallback: int) -> int:
    """The line CPython's own parser blames (more precise than LibCST's), else LibCST's."""
    try:
        parse(source)
    except SyntaxError as err:
        return err.lineno or fallback
    except (ValueError, RecursionError, MemoryError):
        pass
    return fallback


# What the tree around a file says of its imports (``FileContext``): a local module named mlflow, and
# the project's modules that re-export MLflow.

def local_mlflow_dirs(paths: Iterable[str]) -> set[str]:
    """Script directories where ``import mlflow`` would load the project's own module, not MLflow.

    Python puts the directory of the script it runs first on ``sys.path``, so a ``mlflow.py`` or
    ``mlflow/__init__.py`` beside a script shadows MLflow. Inside a package (a directory with
    ``__init__.py``) files are imported, not run, and ``import mlflow`` is absolute: no shadowing.
    """
    listed = [rel for rel in paths if rel.endswith(("__init__.py", "mlflow.py"))]  # the only names looked at
    packages = {str(PurePosixPath(rel).parent) for rel in listed if PurePosixPath(rel).name == "__init__.py"}
    out = set()
    for rel in listed:
        p = PurePosixPath(rel)
        if p.name == "mlflow.py":
            out.add(str(p.parent))
        elif p.name == "__init__.py" and p.parent.name == "mlflow":
            out.add(str(p.parent.parent))
    return out - packages


_STAR = re.compile(rb"(?m)^from\s+mlflow\s+import\s+\*")


def may_reexport(rel: str) -> bool:
    """Whether ``rel`` may be a module re-exporting MLflow: a ``.py`` file named after mlflow (in practice
    they all are; this keeps the look cheap)."""
    return rel.endswith(".py") and "mlflow" in rel.lower()


def reexports_mlflow(data: bytes) -> bool:
    """A module's bytes hold ``from mlflow import *``."""
    return _STAR.search(data) is not None


def module_names(rel: str) -> list[str]:
    """The dotted names a module at ``rel`` may be imported by: every suffix of its path (the import root
    may be any ancestor directory: src/ layouts), never plain ``mlflow``."""
    parts = list(PurePosixPath(rel).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i:] != ["mlflow"]]
