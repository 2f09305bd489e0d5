"""The LibCST walker: the same nodes, in the same order, as LibCST's own visitor."""

from __future__ import annotations

import ast
import inspect
import textwrap

import libcst as cst
import pytest

from analysis.reading import cst_walk

from analysis.reading.cst_walk import CHILD_FIELDS, LEAVES, Walker

# Whitespace and punctuation fields: they hold no code.
PUNCTUATION = {
    "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after_decorators", "header", "footer", "dot",
    "colon", "equal", "lbracket", "rbracket", "lbrace", "rbrace", "first_colon", "second_colon",
    "trailing_whitespace", "leading_whitespace", "asynchronous", "operator", "indent", "star", "posonly_ind",
    "trailing_comma", "relative", "newline", "separator",
}


def _source_order(kind: type) -> tuple[str, ...]:
    """The code fields of a node type in the order its ``_visit_and_replace_children`` visits them."""
    method = next(k.__dict__["_visit_and_replace_children"] for k in kind.__mro__
                  if "_visit_and_replace_children" in k.__dict__)
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    calls = sorted((n.lineno, n.col_offset, n.args[1].value) for n in ast.walk(tree)
                   if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id.startswith("visit_")
                   and len(n.args) >= 2 and isinstance(n.args[1], ast.Constant))
    out: list[str] = []
    for *_, name in calls:
        if name not in out and name not in PUNCTUATION and not name.startswith("whitespace"):
            out.append(name)
    return tuple(out)


def _node_types() -> dict[str, type]:
    found: dict[str, type] = {}
    stack = [cst.CSTNode]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if not inspect.isabstract(sub) and getattr(cst, sub.__name__, None) is sub:
                found[sub.__name__] = sub
    return found


def test_child_fields_match_the_installed_libcst() -> None:
    types = _node_types()
    for name, kind in types.items():
        order = _source_order(kind)
        if name in LEAVES:
            assert order in ((), ("comment",), ("first_line", "empty_lines", "last_line")), name  # whitespace
        else:
            assert CHILD_FIELDS.get(name) == order, name
    assert set(CHILD_FIELDS) <= set(types)


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[cst.CSTNode] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.seen.append(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(node)


class _FastCalls(Walker):
    def __init__(self) -> None:
        self.seen: list[cst.CSTNode] = []
        self.left: list[str] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.seen.append(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(node)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False  # children skipped, leave_ still called (LibCST's semantics)

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self.left.append("lambda")


SOURCE = '''\
@deco(a())
def f(x: t() = d(), *args, y=g(), **kw) -> r():
    return b() if c() else e()
class K(base(), metaclass=m()):
    z: ann() = v()
with o() as p, q():
    [h(i) for i in it() if cond()]
{k(): w() for k in s()}
try:
    t1()
except E() as err:
    t2()
else:
    t3()
finally:
    t4()
x = y[sl():up():st()] + (await aw()) - (yield yi())
print(f"{fmt(1)!r:>{width()}}")
match cmd():
    case Point(x=px()) if guard():
        pass
assert ok(), msg()
del d1[k2()]
lam = lambda u=default(): body(u)
'''


def test_walker_visits_what_libcst_visits_in_the_same_order() -> None:
    module = cst.parse_module(SOURCE)
    slow, fast = _Calls(), _FastCalls()
    module.visit(slow)
    fast.walk(module)
    lam = next(n for n in slow.seen if isinstance(n, cst.Name) and n.value == "lam")
    # LibCST's visitor goes into the lambda; ours was told not to, after its default
    expected = [n for n in slow.seen if n is lam or not _inside_lambda(module, n)]
    assert [id(n) for n in fast.seen] == [id(n) for n in expected]
    assert fast.left == ["lambda"]
    assert any(isinstance(n, cst.Call) and isinstance(n.func, cst.Name) and n.func.value == "fmt" for n in fast.seen)


def _inside_lambda(module: cst.Module, node: cst.CSTNode) -> bool:
    lam = next(s.body[0].value for s in module.body if isinstance(s, cst.SimpleStatementLine)  # type: ignore[attr-defined]
               and isinstance(s.body[0], cst.Assign) and isinstance(s.body[0].value, cst.Lambda))
    found: list[bool] = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            if n is node:
                found.append(True)
            return True

    lam.visit(Finder())
    return bool(found)


def test_unknown_node_types_fall_back_to_libcst_children(monkeypatch: pytest.MonkeyPatch) -> None:
    class Only(Walker):
        def __init__(self) -> None:
            self.calls: list[str] = []

        def visit_Call(self, node: cst.Call) -> None:
            self.calls.append(cst.Module([]).code_for_node(node.func))

    fields = dict(cst_walk.CHILD_FIELDS)
    del fields["Call"]  # as if LibCST had a node type this table does not know
    monkeypatch.setattr(cst_walk, "CHILD_FIELDS", fields)
    only = Only()
    only.walk(cst.parse_module("a(b(c))\n"))
    assert only.calls == ["a", "b"]


def test_listeners_take_part_in_the_one_walk() -> None:
    class Names:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.seen.append(node.value)

        def leave_Lambda(self, node: cst.Lambda) -> None:
            self.seen.append("left")

    walker, listener = _FastCalls(), Names()
    walker.listen(listener)
    walker.walk(cst.parse_module("f(a)\nlam = lambda u: body(u)\ng(b)\n"))
    # the walker's own visit_Lambda skips the lambda's children for its listeners too
    assert listener.seen == ["f", "a", "lam", "left", "g", "b"]
    assert [n.value for n in walker.seen if isinstance(n, cst.Name)] == ["f", "a", "lam", "g", "b"]
    assert walker.left == ["lambda"]
    alone = _FastCalls()  # a walker of the same class that does not listen keeps its own plans
    alone.walk(cst.parse_module("h(c)\n"))
    assert [n.value for n in alone.seen if isinstance(n, cst.Name)] == ["h", "c"] and listener.seen[-1] == "b"
