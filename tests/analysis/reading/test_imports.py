"""Import statements: the names they bind, the same from ``ast`` and from LibCST."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from analysis.reading.astscan import parse
from analysis.reading.imports import cst_imported_names, imported_names, relative_base

BINDS = [
    pytest.param("import os", [("os", "os", "os")], id="import"),
    pytest.param("import a.b.c", [("a", "a", "a.b.c")], id="import-dotted-binds-its-top"),
    pytest.param("import a.b as c, d", [("c", "a.b", "a.b"), ("d", "d", "d")], id="import-as"),
    pytest.param("from a.b import c as d, e", [("d", "a.b.c", "a.b"), ("e", "a.b.e", "a.b")], id="from-import"),
    pytest.param("from . import deep", [("deep", "pkg.sub.deep", "pkg.sub")], id="relative"),
    pytest.param("from ..up import thing", [("thing", "pkg.up.thing", "pkg.up")], id="relative-two-levels"),
    pytest.param("from mlflow import *", [("*", "mlflow.*", "mlflow")], id="star"),
]


@pytest.mark.parametrize(("code", "expected"), BINDS)
def test_binds(code: str, expected: list[tuple[str, str, str]]) -> None:
    (stmt,) = parse(code).body
    assert isinstance(stmt, (ast.Import, ast.ImportFrom))
    from_ast = [(n.bound, n.target, n.module) for n in imported_names(stmt, ["pkg", "sub"])]
    line = cst.parse_statement(code)
    assert isinstance(line, cst.SimpleStatementLine)
    node = line.body[0]
    assert isinstance(node, (cst.Import, cst.ImportFrom))
    assert from_ast == expected
    assert [(n.bound, n.target, n.module) for n in cst_imported_names(node, ["pkg", "sub"])] == expected


def test_relative_base() -> None:
    assert relative_base("m", 0, ["pkg"]) == "m"
    assert relative_base("", 1, ["pkg", "sub"]) == "pkg.sub"
    assert relative_base("m", 2, ["pkg", "sub"]) == "pkg.m"
