"""Reading a module that does not parse in part: what is left out around each error, and what stays."""

from __future__ import annotations

import ast
import textwrap

import pytest

from analysis.reading.partial_parse import MAX_ERRORS, read_in_part


def left_out(code: str) -> tuple[list[tuple[int, int, int]], list[str]] | None:
    """(first, last, error line) of every part left out, and the lines read; checks that what is read
    parses and that every line outside the parts left out is the file's own."""
    source = textwrap.dedent(code)
    module = read_in_part(source)
    if module is None:
        return None
    ast.parse(module.text)
    lines, read = source.split("\n"), module.text.split("\n")
    assert len(read) == len(lines)
    skipped = {n for s in module.skips for n in range(s.first - 1, s.last)}
    for n, (line, kept) in enumerate(zip(lines, read)):
        assert kept == line if n not in skipped else kept.strip() in ("", "pass"), n + 1
    return [(s.first, s.last, s.line) for s in module.skips], read


FINDS = [
    pytest.param("""\
        import mlflow
        mlflow.log_param("a", 1)
        print('never closed
        """, [(3, 3, 3)], id="unterminated-string-at-the-end"),
    pytest.param("""\
        import mlflow
        def train(epochs):
            for epoch in range(epochs):
                print "epoch", epoch
                mlflow.log_metric("loss", 1.0, step=epoch)
        """, [(4, 4, 4)], id="python2-print-in-a-loop"),
    pytest.param("""\
        def f():
            try:
                g()
            except Exception, e:
                h()
            mlflow.end_run()
        """, [(2, 5, 4)], id="python2-except-takes-the-try-statement"),
    pytest.param("""\
        for r in runs:
            if a:
                b()
            else if c:
                d()
            e()
        """, [(2, 5, 4)], id="clause-takes-the-if-statement"),
    pytest.param("""\
        import mlflow
        def train():
            mlflow.log_metric("a", 1)
            '''never closed
            mlflow.log_metric("b", 2)
        mlflow.end_run()
        """, [(4, 6, 4)], id="unterminated-triple-quoted-string-runs-to-the-end"),
    pytest.param("""\
        x = 1
        f(1, 2
          3
        y = 2
        """, [(2, 3, 2)], id="unclosed-bracket-resyncs-at-the-next-statement"),
    pytest.param("""\
        @decorate
        def f(:
            pass
        g()
        """, [(1, 3, 2)], id="decorator-goes-with-its-function"),
    pytest.param("""\
        x = 1
            y = 2
            z = 3
        w = 4
        """, [(2, 3, 2)], id="unexpected-indent"),
    pytest.param("""\
        def f():
            if x:
            y = 1
        """, [(2, 2, 3)], id="header-without-a-block"),
    pytest.param("""\
        def f():
                x = 1
            y = 2
        """, [(3, 3, 3)], id="unindent-to-no-outer-level"),
    pytest.param("""\
        import mlflow
        print "a"
        mlflow.start_run()
        exec "b"
        mlflow.end_run()
        """, [(2, 2, 2), (4, 4, 4)], id="two-errors"),
]


@pytest.mark.parametrize(("code", "expected"), FINDS)
def test_leaves_out(code: str, expected: list[tuple[int, int, int]]) -> None:
    found = left_out(code)
    assert found is not None and found[0] == expected


def test_a_statement_in_a_block_becomes_pass() -> None:
    found = left_out("def f():\n    print 'a'\n    g()\n")
    assert found is not None and found[1][:3] == ["def f():", "    pass", "    g()"]


NOT_READ_IN_PART = [
    pytest.param("import mlflow\nmlflow.log_param('a', 1)\n", id="parses-as-is"),
    pytest.param("mlflow models serve -m runs:/x/model\ncurl -d '{}' http://h:5000/invocations\n", id="nothing-left"),
    pytest.param("import mlflow\rprint 'a'\r", id="lone-carriage-returns"),
    pytest.param("import mlflow\n" + "print 'a'\n" * (MAX_ERRORS + 1), id="too-many-errors"),
    pytest.param("x = 1\0\nprint 'a'\n", id="nul-byte"),
]


@pytest.mark.parametrize("code", NOT_READ_IN_PART)
def test_not_read_in_part(code: str) -> None:
    assert read_in_part(code) is None
