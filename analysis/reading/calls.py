"""Calls recorded in a module's walk, what they call once every name is bound, and the readers of
their arguments the finders share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from analysis.reading.scopes import Scope

# (cell, line, column) of a node: the line within its notebook cell when there is one
Where = Callable[[cst.CSTNode], tuple[int | None, int, int]]


@dataclass(slots=True)
class Call:
    """A call, or a decorator that is not a call, with where it sits in the module."""

    node: cst.BaseExpression  # the call, or the decorator's expression
    func: cst.BaseExpression  # what is called
    scope: Scope
    enclosing: str  # dotted names of the enclosing functions and classes ("" at module level)
    in_loop: bool  # inside a loop of its function
    run_contexts: tuple[tuple[cst.BaseExpression, Scope], ...]  # calls of the ``with`` statements around it


@dataclass(frozen=True, slots=True)
class Callee:
    """What a call calls, once every name is bound."""

    qualified: str  # the function's qualified name; with ``dynamic``, the object's
    dynamic: bool = False  # ``getattr(obj, <computed name>)(...)``: unresolved
    via_getattr: bool = False  # ``getattr(obj, "name")(...)``


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a string literal, None for anything else."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def argument(args: Sequence[cst.Arg], position: int | None, keyword: str | None) -> cst.BaseExpression | None:
    """The argument given by ``keyword``, else the one at ``position`` among positional arguments."""
    for arg in args:
        if keyword is not None and arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in args if a.keyword is None and not a.star]
    if position is not None and len(positional) > position:
        return positional[position].value
    return None
