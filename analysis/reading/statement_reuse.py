"""LibCST's parse of a module, reusing the parse of its top-level statements already parsed in this process.

A history analyzes every distinct version of a file, and most versions differ from the one before
in a few statements: parsing each version whole is the history's largest cost. ``StatementReuse``
cuts a module into chunks at the top-level statements ``ast`` found (``ModuleScan.statements``),
parses a chunk it has not seen on its own and keeps it, and puts the module together from the
chunks: the tree is the one ``libcst.parse_module`` gives for the whole text (``deep_equals``: the
tests compare them, and so does ``benchmarks/statement_reuse.py`` on every version of a corpus's
histories).

A chunk is one or more top-level statements, decorators included, with the lines before them; it
ends with its last statement's last line. A cut is made only where every line between two
statements is empty or a comment at column 0: LibCST gives such lines to the next statement
(``leading_lines``), whereas an indented comment after a block belongs to that block (its
``footer``), and a comment at the end of a text is where LibCST's parser can drop a line
(LibCST 1.9.0, two indented comment lines at the end of a text: one is lost). A chunk that is one
statement with a block (a class, a function, ``with``, ``if`` or a loop, without ``else``) is cut
again at the statements of its block (``ModuleScan.members``), by the same rule at their
indentation: the text up to the end of the first is parsed as it is, each other one after a
``class _:`` line, and the statement is put together from them. A text holding a carriage return or
a form feed is parsed whole, as is any module whose chunks disagree on the indentation LibCST takes
as the module's default (that of the text's first indented block: a chunk without one tells
nothing; a block's statements parsed after ``class _:`` must be indented by it).

Reuse is on only inside ``StatementReuse.reusing()`` (the history wraps each repository's history in
it): a HEAD analysis parses every file whole, as before, because parsing many small texts costs more
than parsing one (1.06-1.37x, measured on the dev corpus's HEAD files) and HEAD's files rarely share a
statement. Inside, every module is parsed in chunks, the first version of a file too, so that the next
version finds its chunks; the same chunk twice in one module is parsed twice, so that no node appears
twice in a tree (the passes key nodes by ``id``). Memory is bounded: the chunks kept hold at most
``max_chars`` characters of source (a tree holds about 60 bytes per character), the least recently
used going first, and all are dropped when the block ends. The kept trees are a million objects or
more, which each full collection of Python's cyclic garbage collector walks: inside the block full
collections are spaced out (``FULL_COLLECTION_EVERY``; the trees hold no cycles, their memory is
freed by reference counting), without which the reuse saved nothing.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import libcst as cst

FULL_COLLECTION_EVERY = 1000  # collections of the middle generation between two full ones, while reusing (default 10)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A chunk's own parse, and the indentation of its first indented block (None where it has none)."""

    module: cst.Module
    indent: str | None


def chunk_starts(lines: Sequence[str], statements: Sequence[tuple[int, int]], indent: str = "") -> list[int]:
    """The 0-based lines where chunks start, from the 1-based first and last lines of the top-level statements.

    ``lines`` are the module's lines without their ends. The first chunk starts at line 0 and takes
    the module's header; a chunk starts after a statement's last line where the next statement starts
    on a later line and every line between is empty or a comment at column 0 (at ``indent``, for the
    statements of a block indented by it).
    """
    return [start for start, _group in _groups(lines, statements, indent)]


def _groups(lines: Sequence[str], statements: Sequence[tuple[int, int]], indent: str = ""
            ) -> list[tuple[int, list[int]]]:
    """Each chunk's first line (0-based) and its statements (their indices), as ``chunk_starts`` cuts them."""
    comment = indent + "#"
    groups: list[tuple[int, list[int]]] = [(0, [])]
    previous_last = 0
    for n, (first, last) in enumerate(statements):
        if previous_last and first > previous_last and all(
                not line or line.startswith(comment) for line in lines[previous_last:first - 1]):
            groups.append((previous_last, []))
        groups[-1][1].append(n)
        previous_last = max(previous_last, last)
    return groups


@dataclass(frozen=True, slots=True)
class BlockPiece:
    """A chunk holding one statement with a block (a class, a function, ``with``, ``if`` or a loop without
    ``else``), cut further: the text up to the end of the block's first statement, then each of the
    block's statements (members) with the lines before it, each parsed in a class of its own
    (``MEMBER_PREFIX``: LibCST's grammar takes any statement there)."""

    shell: str
    members: tuple[str, ...]


MEMBER_PREFIX = "class _:\n"  # a member's text is parsed after this line, at its own indentation
_BLOCKS = (cst.ClassDef, cst.FunctionDef, cst.With, cst.If, cst.For, cst.While)  # async ones included


def _block_piece(lines: list[str], parts: list[str], start: int, end: int, last: int,
                 members: Sequence[tuple[int, int]]) -> BlockPiece | None:
    """The chunk ``lines[start:end]`` holding one statement with a block (its last line ``last``, 1-based)
    cut at the block's statements, or None where it cannot be: lines between them other than empty
    ones and comments at their indentation, or lines after the statement in the chunk."""
    if end != last or not members:
        return None
    line = parts[members[0][0] - 1]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if not indent:
        return None
    groups = _groups(parts, members, indent)
    if len(groups) < 2:
        return None
    ends = [members[ns[-1]][1] for _start, ns in groups]  # each group's last line, as a slice end
    shell = "".join(lines[start:ends[0]])
    texts = tuple("".join(lines[a:b]) for (a, _ns), b in zip(groups[1:], ends[1:]))
    return BlockPiece(shell, texts)


def block_indent(module: cst.Module) -> str | None:
    """The default indentation LibCST found in a parsed text, or None where the text has no indented block."""
    return module.default_indent if any(_indents(statement) for statement in module.body) else None


def _indents(node: cst.CSTNode | None) -> bool:
    """Whether a top-level statement (or one of its clauses) holds an indented block."""
    if isinstance(node, cst.Match):
        return True
    if not isinstance(node, (cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler,
                             cst.Finally)):
        return False
    if isinstance(node.body, cst.IndentedBlock):
        return True
    clauses: list[cst.CSTNode | None] = [getattr(node, "orelse", None), getattr(node, "finalbody", None),
                                         *getattr(node, "handlers", ())]
    return any(_indents(clause) for clause in clauses)


class StatementReuse:
    """Parses of top-level statement chunks, kept for the modules parsed after them while reuse is on.

    Counters: ``whole`` modules parsed in one text, ``chunked`` modules put together from chunks,
    ``reused`` chunks taken from those kept, ``parsed`` chunks parsed on their own.
    """

    def __init__(self, max_chars: int = 1_000_000) -> None:
        self.max_chars = max_chars
        self._kept: OrderedDict[str, Chunk] = OrderedDict()
        self._kept_chars = 0
        self._users = 0
        self._lock = threading.Lock()
        self.whole = self.chunked = self.reused = self.parsed = 0

    @property
    def active(self) -> bool:
        """Whether a ``reusing()`` block is running in this process."""
        return self._users > 0

    @contextmanager
    def reusing(self) -> Iterator[StatementReuse]:
        """Reuse on for the parses inside the block, full garbage collections spaced out; the kept chunks
        dropped when the last block running ends."""
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._thresholds = gc.get_threshold()
                gc.set_threshold(self._thresholds[0], self._thresholds[1], FULL_COLLECTION_EVERY)
        try:
            yield self
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    gc.set_threshold(*self._thresholds)
                    self._kept.clear()
                    self._kept_chars = 0

    def parse(self, source: str, statements: Sequence[tuple[int, int]],
              members: Mapping[int, Sequence[tuple[int, int]]] | None = None,
              parse: Callable[[str], cst.Module] = cst.parse_module) -> cst.Module:
        """The tree ``parse(source)`` gives, put together from chunks (kept ones where there are).

        ``statements`` are the 1-based first (decorators included) and last lines of the module's
        top-level statements, as ``ast`` found them in this same ``source``; ``members`` the same lines
        of the statements in the block of a top-level statement, by its first line (``ModuleScan.members``).
        """
        pieces = self._pieces(source, statements, members or {})
        module = None if pieces is None else self._assemble(pieces, parse)
        if module is None:
            self.whole += 1
            return parse(source)
        self.chunked += 1
        return module

    @staticmethod
    def _pieces(source: str, statements: Sequence[tuple[int, int]], members: Mapping[int, Sequence[tuple[int, int]]]
                ) -> list[str | BlockPiece] | None:
        if len(statements) < 2 and not members or "\r" in source or "\f" in source:
            return None
        parts = source.split("\n")  # the lines ``ast`` counts (no carriage return or form feed here)
        lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        groups = _groups(parts, statements)
        pieces: list[str | BlockPiece] = []
        for (start, ns), end in zip(groups, [*(a for a, _ns in groups[1:]), len(lines)]):
            first, last = statements[ns[0]]
            piece = _block_piece(lines, parts, start, end, last, members[first]) if (
                len(ns) == 1 and first in members) else None
            pieces.append(piece or "".join(lines[start:end]))
        return pieces if len(pieces) > 1 or isinstance(pieces[0], BlockPiece) else None

    def _chunk(self, text: str, used: set[int], parse: Callable[[str], cst.Module]) -> Chunk | None:
        """A text's kept chunk, or its parse (kept); a chunk already in this module is parsed again."""
        chunk = self._kept.get(text)
        if chunk is not None and id(chunk) not in used:
            self._kept.move_to_end(text)
            self.reused += 1
        else:
            try:
                parsed = parse(text)
            except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError, ValueError):
                return None
            self.parsed += 1
            chunk = Chunk(parsed, block_indent(parsed))
            if text not in self._kept:
                self._keep(text, chunk)
        used.add(id(chunk))
        return chunk

    def _block(self, piece: BlockPiece, used: set[int], parse: Callable[[str], cst.Module]) -> Chunk | None:
        """A statement with a block put together from its shell and its members' chunks, as one chunk."""
        shell = self._chunk(piece.shell, used, parse)
        if shell is None or shell.indent is None or len(shell.module.body) != 1:
            return None
        node = shell.module.body[0]
        if not isinstance(node, _BLOCKS) or getattr(node, "orelse", None) is not None or not isinstance(
                node.body, cst.IndentedBlock) or node.body.footer:
            return None
        body = list(node.body.body)
        ends_with_newline = shell.module.has_trailing_newline
        for text in piece.members:
            member = self._chunk(MEMBER_PREFIX + text, used, parse)
            if member is None or member.module.default_indent != shell.indent:
                return None
            wrapper = member.module.body[0]
            if len(member.module.body) != 1 or not isinstance(wrapper, cst.ClassDef) or not isinstance(
                    wrapper.body, cst.IndentedBlock) or wrapper.body.footer or member.module.footer:
                return None
            body += wrapper.body.body
            ends_with_newline = member.module.has_trailing_newline  # the last member's: the statement's end
        module = shell.module.with_changes(body=[node.with_changes(body=node.body.with_changes(body=body))],
                                           has_trailing_newline=ends_with_newline)
        return Chunk(module, shell.indent)

    def _assemble(self, pieces: list[str | BlockPiece], parse: Callable[[str], cst.Module]) -> cst.Module | None:
        chunks: list[Chunk] = []
        used: set[int] = set()
        for piece in pieces:
            chunk = self._chunk(piece, used, parse) if isinstance(piece, str) else self._block(piece, used, parse)
            if chunk is None:
                return None
            chunks.append(chunk)
        indents = {chunk.indent for chunk in chunks if chunk.indent is not None}
        if len(indents) > 1 or any(chunk.module.footer or not chunk.module.body for chunk in chunks[:-1]):
            return None
        body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = []
        for n, chunk in enumerate(chunks):
            first, *rest = chunk.module.body
            if n and chunk.module.header:
                first = first.with_changes(leading_lines=(*chunk.module.header, *first.leading_lines))
            body += [first, *rest]
        head, last = chunks[0].module, chunks[-1].module
        return cst.Module(body=body, header=head.header, footer=last.footer, encoding=head.encoding,
                          default_indent=indents.pop() if indents else head.default_indent,
                          default_newline=head.default_newline, has_trailing_newline=last.has_trailing_newline)

    def _keep(self, text: str, chunk: Chunk) -> None:
        self._kept[text] = chunk
        self._kept_chars += len(text)
        while self._kept_chars > self.max_chars and self._kept:
            old, _chunk = self._kept.popitem(last=False)
            self._kept_chars -= len(old)
