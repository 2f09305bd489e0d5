"""Source-order traversal of LibCST trees, for read-only passes (and ``dotted``, the name of a Name/Attribute chain).

``CSTNode.visit`` rebuilds every node it walks (``_visit_and_replace_children`` constructs and
validates a new node even for a read-only ``CSTVisitor``) and calls four hooks per attribute of
every node, whitespace included: on a module of a few hundred lines that costs more than parsing
it. ``Walker.walk`` follows only the fields that can hold code, in the order they appear in the
source (the order LibCST's own visitors use), and calls ``visit_<Node>`` / ``leave_<Node>``
methods with LibCST's semantics: a ``visit_`` returning False skips the node's children, and
``leave_`` runs either way. Node types missing from ``CHILD_FIELDS`` (a newer LibCST) are walked
through ``node.children``, LibCST's own source-ordered list, so nothing is skipped silently.

``CHILD_FIELDS`` was derived from the ``_visit_and_replace_children`` methods of LibCST 1.9.0 with
whitespace and punctuation fields left out; ``tests/analysis/reading/test_cst_walk.py`` derives it again
from the installed LibCST and fails when they differ.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import libcst as cst

from analysis.reading.statement_reuse import StatementReuse

# LibCST's node check is switched off for the whole process during an unchecked parse
# (``parse_accepted``): every LibCST parse holds this lock, so none runs unchecked by accident in
# another thread (a Dask worker runs several tasks at once in threads).
PARSE_LOCK = threading.RLock()
STATEMENTS = StatementReuse()  # this process's parsed statement chunks (used under PARSE_LOCK)


def parse_accepted(source: str, statements: Sequence[tuple[int, int]] = (),
                   members: Mapping[int, Sequence[tuple[int, int]]] | None = None) -> cst.Module:
    """``cst.parse_module`` of a source CPython's parser accepted, without LibCST's check of each node.

    LibCST checks every node it builds (``CSTNode.__post_init__`` calls ``_validate``), which is
    for trees built by hand: it rejects nothing CPython accepts, and takes a sixth of the parse
    (its own comment there says validation could move out of parsing). The check is off for this
    call only; a source ``ast`` has not parsed goes through ``parse_checked``. Inside
    ``STATEMENTS.reusing()``, with ``statements`` and ``members`` (the lines of its top-level statements
    and of the statements in their blocks: ``ModuleScan.statements``, ``ModuleScan.members``), the parse
    of chunks of statements kept from earlier modules is reused (the same tree).
    """
    node_type = cst.CSTNode
    with PARSE_LOCK:
        checked = node_type.__post_init__
        node_type.__post_init__ = _unchecked  # type: ignore[method-assign,assignment]
        try:
            return STATEMENTS.parse(source, statements, members) if statements and STATEMENTS.active else (
                cst.parse_module(source))
        finally:
            node_type.__post_init__ = checked  # type: ignore[method-assign]


def parse_checked(source: str) -> cst.Module:
    """``cst.parse_module``, with LibCST's check of each node (under ``PARSE_LOCK``)."""
    with PARSE_LOCK:
        return cst.parse_module(source)


def _unchecked(_node: cst.CSTNode) -> None:
    return None

# Node types whose fields hold no code (tokens, operators, whitespace, names and literals).
LEAVES: frozenset[str] = frozenset({
    "Add", "AddAssign", "And", "AssignEqual", "Asynchronous", "BitAnd", "BitAndAssign", "BitInvert",
    "BitOr", "BitOrAssign", "BitXor", "BitXorAssign", "Break", "Colon", "Comma", "Comment",
    "Continue", "Divide", "DivideAssign", "Dot", "Ellipsis", "EmptyLine", "Equal", "Float",
    "FloorDivide", "FloorDivideAssign", "FormattedStringText", "GreaterThan", "GreaterThanEqual",
    "Imaginary", "ImportStar", "In", "Integer", "Is", "IsNot", "LeftCurlyBrace", "LeftParen",
    "LeftShift", "LeftShiftAssign", "LeftSquareBracket", "LessThan", "LessThanEqual",
    "MatrixMultiply", "MatrixMultiplyAssign", "Minus", "Modulo", "ModuloAssign", "Multiply",
    "MultiplyAssign", "Name", "Newline", "Not", "NotEqual", "NotIn", "Or", "ParamSlash",
    "ParamStar", "ParenthesizedWhitespace", "Pass", "Plus", "Power", "PowerAssign",
    "RightCurlyBrace", "RightParen", "RightShift", "RightShiftAssign", "RightSquareBracket",
    "Semicolon", "SimpleString", "SimpleWhitespace", "Subtract", "SubtractAssign",
    "TemplatedStringText", "TrailingWhitespace"
})
# The fields of every other node type that can hold code, in source order.
CHILD_FIELDS: Mapping[str, tuple[str, ...]] = {
    "AnnAssign": ('target', 'annotation', 'value'),
    "Annotation": ('annotation',),
    "Arg": ('keyword', 'value'),
    "AsName": ('name',),
    "Assert": ('test', 'msg'),
    "Assign": ('targets', 'value'),
    "AssignTarget": ('target',),
    "Attribute": ('value', 'attr'),
    "AugAssign": ('target', 'value'),
    "Await": ('expression',),
    "BinaryOperation": ('left', 'right'),
    "BooleanOperation": ('left', 'right'),
    "Call": ('func', 'args'),
    "ClassDef": ('decorators', 'name', 'type_parameters', 'bases', 'keywords', 'body'),
    "CompFor": ('target', 'iter', 'ifs', 'inner_for_in'),
    "CompIf": ('test',),
    "Comparison": ('left', 'comparisons'),
    "ComparisonTarget": ('comparator',),
    "ConcatenatedString": ('left', 'right'),
    "Decorator": ('decorator',),
    "Del": ('target',),
    "Dict": ('elements',),
    "DictComp": ('key', 'value', 'for_in'),
    "DictElement": ('key', 'value'),
    "Element": ('value',),
    "Else": ('body',),
    "ExceptHandler": ('type', 'name', 'body'),
    "ExceptStarHandler": ('type', 'name', 'body'),
    "Expr": ('value',),
    "Finally": ('body',),
    "For": ('target', 'iter', 'body', 'orelse'),
    "FormattedString": ('parts',),
    "FormattedStringExpression": ('expression', 'format_spec'),
    "From": ('item',),
    "FunctionDef": ('decorators', 'name', 'type_parameters', 'params', 'returns', 'body'),
    "GeneratorExp": ('elt', 'for_in'),
    "Global": ('names',),
    "If": ('test', 'body', 'orelse'),
    "IfExp": ('body', 'test', 'orelse'),
    "Import": ('names',),
    "ImportAlias": ('name', 'asname'),
    "ImportFrom": ('module', 'names'),
    "IndentedBlock": ('body',),
    "Index": ('value',),
    "Lambda": ('params', 'body'),
    "LazyImport": ('names',),
    "LazyImportFrom": ('module', 'names'),
    "List": ('elements',),
    "ListComp": ('elt', 'for_in'),
    "Match": ('subject', 'cases'),
    "MatchAs": ('pattern', 'name'),
    "MatchCase": ('pattern', 'guard', 'body'),
    "MatchClass": ('cls', 'patterns', 'kwds'),
    "MatchKeywordElement": ('key', 'pattern'),
    "MatchList": ('patterns',),
    "MatchMapping": ('elements', 'rest'),
    "MatchMappingElement": ('key', 'pattern'),
    "MatchOr": ('patterns',),
    "MatchOrElement": ('pattern',),
    "MatchSequenceElement": ('value',),
    "MatchSingleton": ('value',),
    "MatchStar": ('name',),
    "MatchTuple": ('patterns',),
    "MatchValue": ('value',),
    "Module": ('body',),
    "NameItem": ('name',),
    "NamedExpr": ('target', 'value'),
    "Nonlocal": ('names',),
    "Param": ('name', 'annotation', 'default'),
    "ParamSpec": ('name',),
    "Parameters": ('posonly_params', 'params', 'star_arg', 'kwonly_params', 'star_kwarg'),
    "Raise": ('exc', 'cause'),
    "Return": ('value',),
    "Set": ('elements',),
    "SetComp": ('elt', 'for_in'),
    "SimpleStatementLine": ('body',),
    "SimpleStatementSuite": ('body',),
    "Slice": ('lower', 'upper', 'step'),
    "StarredDictComp": ('value', 'for_in'),
    "StarredDictElement": ('value',),
    "StarredElement": ('value',),
    "Subscript": ('value', 'slice'),
    "SubscriptElement": ('slice',),
    "TemplatedString": ('parts',),
    "TemplatedStringExpression": ('expression', 'format_spec'),
    "Try": ('body', 'handlers', 'orelse', 'finalbody'),
    "TryStar": ('body', 'handlers', 'orelse', 'finalbody'),
    "Tuple": ('elements',),
    "TypeAlias": ('name', 'type_parameters', 'value'),
    "TypeParam": ('param', 'default'),
    "TypeParameters": ('params',),
    "TypeVar": ('name', 'bound'),
    "TypeVarTuple": ('name',),
    "UnaryOperation": ('expression',),
    "While": ('test', 'body', 'orelse'),
    "With": ('items', 'body'),
    "WithItem": ('item', 'asname'),
    "Yield": ('value',),
}

def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` of a Name/Attribute chain, None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


_Hook = Callable[[Any, Any], Any]
_Plan = tuple[_Hook | None, _Hook | None, tuple[str, ...] | None]


def _visit_then_listeners(own: _Hook | None, hooks: list[tuple[int, _Hook]]) -> _Hook:
    def visit(walker: Walker, node: cst.CSTNode) -> Any:
        result = own(walker, node) if own is not None else None
        for index, hook in hooks:
            hook(walker.listeners[index], node)
        return result
    return visit


def _listeners_then_leave(own: _Hook | None, hooks: list[tuple[int, _Hook]]) -> _Hook:
    def leave(walker: Walker, node: cst.CSTNode) -> None:
        for index, hook in hooks:
            hook(walker.listeners[index], node)
        if own is not None:
            own(walker, node)
    return leave


class Walker:
    """Base class of a read-only pass: subclasses define ``visit_<Node>`` and ``leave_<Node>``.

    Other objects can take part in the same walk (``listen``): their ``visit_<Node>`` run after the
    walker's own (whose result alone decides whether children are walked), their ``leave_<Node>``
    before the walker's own.
    """

    _plans: dict[type, _Plan]
    _listening: dict[tuple[type, ...], dict[type, _Plan]]  # listener types -> their plans
    listeners: tuple[object, ...] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls._plans = {}
        cls._listening = {}

    def listen(self, *listeners: object) -> None:
        """Call the ``visit_``/``leave_`` hooks of ``listeners`` too, in this walker's one traversal."""
        self.listeners = listeners
        self._plans = type(self)._listening.setdefault(tuple(type(x) for x in listeners), {})

    def _plan(self, kind: type) -> _Plan:
        name = kind.__name__
        fields: tuple[str, ...] | None = () if name in LEAVES else CHILD_FIELDS.get(name)
        visit, leave = getattr(type(self), f"visit_{name}", None), getattr(type(self), f"leave_{name}", None)
        visits = [(i, hook) for i, x in enumerate(self.listeners) if (hook := getattr(type(x), f"visit_{name}", None))]
        leaves = [(i, hook) for i, x in enumerate(self.listeners) if (hook := getattr(type(x), f"leave_{name}", None))]
        plan = (_visit_then_listeners(visit, visits) if visits else visit,
                _listeners_then_leave(leave, leaves[::-1]) if leaves else leave, fields)
        self._plans[kind] = plan
        return plan

    def walk(self, node: cst.CSTNode) -> None:
        """Visit ``node`` and, unless its ``visit_`` hook returns False, everything under it."""
        plan = self._plans.get(type(node)) or self._plan(type(node))
        visit, leave, fields = plan
        if visit is None or visit(self, node) is not False:
            if fields is None:
                for child in node.children:
                    self.walk(child)
            else:
                for name in fields:
                    value: Any = getattr(node, name, None)
                    what = _WHAT.get(type(value)) or _what(type(value))
                    if what is _NODE:
                        self.walk(value)
                    elif what is _SEQUENCE:
                        for item in value:
                            if (_WHAT.get(type(item)) or _what(type(item))) is _NODE:
                                self.walk(item)
        if leave is not None:
            leave(self, node)


# What a field's value is, by its type: a node, a sequence (of nodes), or neither; worked out once per
# type (``isinstance`` against ``CSTNode``, an abstract class, costs a call into ``ABCMeta`` each time).
_NODE, _SEQUENCE, _OTHER = "node", "sequence", "other"
_WHAT: dict[type, str] = {}


def _what(kind: type) -> str:
    what = _WHAT[kind] = (_NODE if issubclass(kind, cst.CSTNode) else
                          _SEQUENCE if issubclass(kind, (tuple, list)) else _OTHER)
    return what
