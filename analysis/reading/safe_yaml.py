"""YAML files users wrote, read with ``yaml.SafeLoader`` under bounds: size, nesting, aliases and expansion.

An alias makes a node appear again wherever it is named, so a few lines can stand for billions
of nodes (10 levels of 9 aliases: 81 alias tokens, 9**9 lists). ``safe_load`` builds such a
document as shared objects, and whoever walks it later (``str()``, iteration) pays the
expansion. So every YAML the tool reads goes through :func:`load`, which composes the node
graph, counts its size as if every alias were expanded (nodes plus scalar characters, each
shared node counted once per place it appears, in time linear in the distinct nodes), and
refuses the document before constructing anything when that size is over a bound. Recursive
aliases (a node inside itself) are refused too.

A plain document (no alias, nesting within the bound) is read by libyaml instead, to the same
result: most MLproject and conda files are, at a tenth of the time.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_CHARS = 1_000_000
MAX_ALIASES = 1_000
MAX_DEPTH = 100  # nesting of collections; PyYAML's composer recurses and would raise RecursionError
# Nodes plus scalar characters once every alias is expanded: an alias-free document of MAX_CHARS
# stays under it (each node costs at least one character of text, each scalar character one).
MAX_EXPANDED = 2 * MAX_CHARS


class BadYAML(Exception):
    """A YAML file that was not read: a syntax error, or over one of the bounds.

    ``str()`` is the reason (with the line where there is one); ``path`` and ``line`` say where.
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.line = line
        self.reason = reason


class _Refused(Exception):
    """Raised inside the loader; :func:`load` turns it into :class:`BadYAML`."""

    def __init__(self, mark: Any, reason: str) -> None:  # a yaml Mark (pure-Python or libyaml's), or None
        super().__init__(reason)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` counting alias references and nesting while it composes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.n_aliases = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_ALIASES:
                raise _Refused(event.start_mark, f"YAML holds over {MAX_ALIASES} alias references: not expanded")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _too_deep(event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _too_deep(mark: Any) -> _Refused:
    return _Refused(mark, f"YAML nested over {MAX_DEPTH} levels deep: not read")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED) -> int:
    """Nodes plus scalar characters of ``root`` with every alias expanded; raises ``_Refused``
    when that is over ``limit`` or a node contains itself. Each distinct node is visited once."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # entered, not finished: the ancestors of what is being visited
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            own = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
            size = own + sum(sizes[id(child)] for child in _children(node))
            if size > limit:
                raise _Refused(node.start_mark, f"YAML expands through its aliases to over {limit:,} nodes "
                                                "and characters (an alias bomb): not read")
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _Refused(node.start_mark, "YAML holds a recursive alias (a node inside itself): not read")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


_NOT_PLAIN = object()


def _load_plain(text: str) -> Any:
    """The document through libyaml (``CSafeLoader``, about ten times faster) when it is plain: no
    alias, nested at most ``MAX_DEPTH`` deep, and libyaml reads it without error. Without aliases the
    expansion bound holds by the size bound. Anything else gives ``_NOT_PLAIN``, and ``load`` reads it
    with the bounded pure-Python loader, which counts as it composes and words every refusal and error.

    The check walks libyaml's event stream (its parser keeps its own stack: no recursion, whatever the
    nesting) before anything is composed or constructed. A node nested over ``MAX_DEPTH`` deep is refused
    here, at the event the bounded loader would refuse it at (the pure-Python scanner takes time quadratic
    in the nesting of one line to get there: a second for 5,000 brackets).
    """
    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is None:  # PyYAML built without libyaml
        return _NOT_PLAIN
    depth = 0  # of the collections open
    try:
        for event in yaml.parse(text, Loader=c_loader):
            if isinstance(event, yaml.NodeEvent) and depth + 1 > MAX_DEPTH:  # as _BoundedLoader counts nodes
                raise _too_deep(event.start_mark)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                return _NOT_PLAIN
        return yaml.load(text, Loader=c_loader)  # noqa: S506 (CSafeLoader: the safe constructor)
    except yaml.YAMLError:
        return _NOT_PLAIN


def load(text: str, path: str) -> Any:
    """The one YAML document of ``text`` as ``yaml.safe_load`` gives it, within the bounds above;
    raises :class:`BadYAML` (with ``path`` and the line) otherwise. Empty text gives None."""
    if len(text) > MAX_CHARS:
        raise BadYAML(path, None, f"file too large ({len(text)} characters)")
    loader: _BoundedLoader | None = None
    try:
        fast = _load_plain(text)
        if fast is not _NOT_PLAIN:
            return fast
        loader = _BoundedLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except _Refused as err:
        line = err.mark.line + 1 if err.mark is not None else None
        raise BadYAML(path, line, f"{err} (line {line})" if line else str(err)) from None
    except RecursionError:  # the composer recurses per level: MAX_DEPTH keeps this for deep call stacks
        raise BadYAML(path, None, "YAML nested too deeply: not read") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" (line {line})" if line else ""
        raise BadYAML(path, line, f"YAML error{where}: {getattr(err, 'problem', None) or err}") from err
    finally:
        if loader is not None:
            loader.dispose()
