"""The shared ast scan: what one traversal collects, and where."""

from __future__ import annotations

import ast
import textwrap

from analysis.astscan import parse, scan

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
