"""Readers of a call's arguments the finders share: string literals and arguments by keyword or position."""

from __future__ import annotations

import libcst as cst
import pytest

from analysis.reading.calls import argument, string_value


def _call(code: str) -> cst.Call:
    node = cst.parse_expression(code)
    assert isinstance(node, cst.Call)
    return node


@pytest.mark.parametrize(("code", "value"), [
    pytest.param("f('a')", "a", id="string"),
    pytest.param("f('a' 'b')", "ab", id="concatenated"),
    pytest.param("f(b'a')", None, id="bytes"),
    pytest.param("f(name)", None, id="name"),
    pytest.param("f(f'{x}')", None, id="f-string"),
])
def test_string_value(code: str, value: str | None) -> None:
    assert string_value(_call(code).args[0].value) == value


def test_argument_by_keyword_before_position() -> None:
    call = _call("set_tracking_uri(*rest, 'first', uri='kw')")
    found = argument(call.args, 0, "uri")
    assert isinstance(found, cst.SimpleString) and found.value == "'kw'"
    positional = argument(call.args, 0, "other")  # the starred argument is no position
    assert isinstance(positional, cst.SimpleString) and positional.value == "'first'"
    assert argument(call.args, 1, None) is None
