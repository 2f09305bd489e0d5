"""Runs one finder of the call-site pass alone over an inline snippet, for the finders' tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import libcst as cst

from analysis.releases.catalog import load_snapshot
from analysis.passes.mlflow_calls import Resolver, walk_module
from analysis.reading.calls import Call, Callee, Where
from analysis.reading.names import ModuleNames

RESOLVER = Resolver.from_catalog(load_snapshot())
Row = TypeVar("Row", covariant=True)


class RowFinder(Protocol[Row]):
    @property
    def needs_positions(self) -> bool: ...

    def findings(self, calls: Sequence[tuple[Call, Callee]], where: Where) -> Sequence[Row]: ...


def run_alone(make: Callable[[ModuleNames], RowFinder[Row]], code: str) -> Sequence[Row]:
    """The rows of the finder ``make`` builds, run as the only finder in the walk of ``code`` (dedented)."""
    source = textwrap.dedent(code)
    names = ModuleNames(RESOLVER)
    finder = make(names)
    calls, where = walk_module(cst.parse_module(source), source, names, (finder,))
    return finder.findings(calls, where)
