"""The shared ast scan: what one traversal collects, and where."""

from __future__ import annotations

import ast
import re
import textwrap

from analysis.reading import astscan
from analysis.reading.astscan import parse, scan

SOURCE = textwrap.dedent("""\
    import os
    from pkg import helper as h
    x: int = 1
    a, b = 2, 3

    @register
    @wrap(arg())
    class Model:
        def fit(self):
            def inner():
                return h.go()
            if True:
                def hidden():
                    pass
            return inner()

    def main():
        import mlflow
        mlflow.log_metric("k", 1)

    main()
    """)


def test_scan_collects_imports_calls_owners_and_decorators() -> None:
    found = scan(parse(SOURCE))
    assert [(n.lineno, type(n).__name__) for n in found.imports] == [(1, "Import"), (2, "ImportFrom"), (18, "Import")]
    assert found.assigned == {"x"}  # tuple targets are not names bound to one value
    assert sorted(found.defs.values()) == ["Model.fit", "Model.fit.inner", "main"]  # `hidden` is under an `if`
    calls = [(owner, node.lineno) for owner, node in found.events if isinstance(node, ast.Call)]
    # ast's field order: a class's body before its decorators
    assert calls == [("Model.fit.inner", 11), ("Model.fit", 15), ("", 7), ("", 7), ("main", 19), ("", 21)]
    defs = [(owner, node.lineno) for owner, node in found.events if not isinstance(node, ast.Call)]
    assert defs == [("Model.fit", 9), ("Model.fit.inner", 10), ("main", 17)]
    assert [(d.lineno, type(d).__name__) for d in found.bare_decorators] == [(6, "Name")]
    assert len(found.calls) == 6


def test_the_node_types_a_scan_skips_hold_nothing_it_looks_at() -> None:
    # names, literals, aliases, operators: no field of theirs can hold a call, a definition or an import
    for kind in astscan._LEAVES:
        assert set(kind._fields) <= {"id", "ctx", "value", "kind", "name", "asname", "names"}, kind
    code = "f(a)[g(1)] = -h(*x, **{k(): v for v in w()}) or i(b < j(), not c) @ (lambda d=l(): m(d))()\n"
    tree = parse(code)
    assert {id(n) for n in scan(tree).calls} == {id(n) for n in ast.walk(tree) if isinstance(n, ast.Call)}


def test_the_fields_a_scan_skips_hold_no_node_it_goes_into() -> None:
    # ast's own signature of each node type (its docstring, "Attribute(expr value, identifier attr, ...)")
    # gives each field's type: a skipped field holds names, numbers or leaves only
    leaves = {"identifier", "string", "constant", "int", "alias", "expr_context", "operator", "cmpop", "boolop",
              "unaryop"}
    checked = 0
    for kind in astscan._NODES:
        signature = re.fullmatch(rf"{kind.__name__}\((.*)\)", (kind.__doc__ or "").strip())
        if signature is None:
            continue  # an abstract or deprecated class: the parser makes none
        declared = dict(reversed(field.split()) for field in signature[1].split(", ") if field)
        for name in set(kind._fields) - set(astscan._FIELDS[kind]):
            assert declared[name].rstrip("?*") in leaves, (kind, name, declared[name])
        checked += 1
    assert checked > 60
