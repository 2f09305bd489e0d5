"""Reading a module that does not parse in part: the statements around each syntax error are left
out, every line keeps its number, and what was left out is said.

CPython names one error at a time; ``read_in_part`` leaves out the statement it lies in and
parses again, until the rest parses. Statements are the tokenizer's logical lines, so a broken
statement inside a function costs that statement, not the function: a simple statement (a Python 2
``print "x"``) becomes ``pass`` at its indentation, a compound one (``except Exception, e:``) is
left out whole, header, block and clauses, and becomes ``pass``. An unterminated triple-quoted
string runs, as Python reads it, to the end of the file; a statement whose bracket never closes
ends where a line at its indentation starts another. Lines are replaced whole, so the columns and
lines of what is read are those of the file.
"""

from __future__ import annotations

import io
import re
import tokenize
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from analysis.reading.astscan import parse

MAX_ERRORS = 500  # past this many syntax errors a file is not read in part (bounded time: about 0.5 s)
CLAUSES = frozenset({"else", "elif", "except", "finally"})  # continue the compound statement above them
COMPOUND = frozenset({"def", "class", "if", "for", "while", "try", "with", "async", "@", *CLAUSES})
_STATEMENT_START = re.compile(r"[ \t]*[A-Za-z_@]")
_LONE_CR = re.compile(r"\r(?!\n)")
_HEADER_WITHOUT_BLOCK = re.compile(r"expected an indented block after .* on line (\d+)")


@dataclass(frozen=True, slots=True)
class Statement:
    """A logical line: 0-based first and last line, indentation depth, first token, whether it opens a block."""

    first: int
    last: int
    depth: int
    head: str
    opens_block: bool

    @property
    def compound(self) -> bool:
        return self.head in COMPOUND or self.opens_block


@dataclass(frozen=True)
class Skip:
    """Lines left out (1-based, inclusive) around a syntax error at ``line``."""

    first: int
    last: int
    line: int
    message: str

    @property
    def lines(self) -> str:
        return f"line {self.first}" if self.first == self.last else f"lines {self.first}-{self.last}"


def statements(text: str) -> tuple[list[Statement], Statement | None, bool]:
    """The complete logical lines of ``text`` up to where its tokenizer gives up, the one it gave up
    inside (its ``last`` is its first line), if any, and whether it read to the end."""
    found: list[Statement] = []
    depth, start, head, last_token = 0, -1, "", ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = token.type
            if kind == tokenize.INDENT:
                depth += 1
            elif kind == tokenize.DEDENT:
                depth -= 1
            elif kind == tokenize.NEWLINE:
                if start >= 0:
                    found.append(Statement(start, token.start[0] - 1, depth, head, last_token == ":"))
                start = -1
            elif kind not in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                if start < 0:
                    start, head = token.start[0] - 1, token.string
                last_token = token.string
    except tokenize.TokenError as err:  # a string or a bracket still open at the end
        if start < 0 and len(err.args) > 1:  # a string that starts a statement is not yet a token
            start, head = err.args[1][0] - 1, "<string>"
    except SyntaxError:  # a dedent to no outer level: what came before stands
        pass
    else:
        return found, None, True
    return found, (Statement(start, start, depth, head, False) if start >= 0 else None), False


class PartialModule:
    """A module's lines, where the statements that do not parse are replaced by ``pass`` or blanked."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.skips: list[Skip] = []
        self.resume = 0  # the first line of the top-level statement where the last statement was left out
        self._tokenize()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def rest(self) -> str:
        """The text from ``resume`` on, after as many empty lines (what comes before parsed already)."""
        return "\n" * self.resume + "\n".join(self.lines[self.resume:])

    def _tokenize(self) -> None:
        self.statements, self.unfinished, self.complete = statements(self.text)
        self.firsts = [s.first for s in self.statements]

    def leave_out(self, line: int, message: str, *, indentation: bool = False) -> bool:
        """Leave out the statement around ``line`` (1-based), where a parser met ``message`` (an
        ``IndentationError`` with ``indentation``); False when nothing is left there to leave out."""
        n = line - 1
        header = _HEADER_WITHOUT_BLOCK.match(message) if indentation else None
        if header:  # CPython blames the line after the header; the header is what goes
            n, indentation = int(header.group(1)) - 1, False
        if not 0 <= n < len(self.lines) or not self.lines[n].strip():
            return False
        if not self.complete and self.unfinished is None and (not self.statements or n > self.statements[-1].last):
            self._tokenize()  # the tokenizer stopped before this line at what was left out last
        first, last, depth, stub = self._span(n, message, indentation)
        above = bisect_right(self.firsts, first - 1) - 1
        while above >= 0 and self.statements[above].head == "@" and self.statements[above].last < first:
            first, above = self.statements[above].first, above - 1  # a decorator goes with what it decorates
        while last > n and not self.lines[last].strip():
            last -= 1  # blank lines after a statement that runs to the end are not part of it
        text = self.lines[first]
        stub = stub and depth > 0 and text.strip() != "pass"  # a block keeps a statement; a stub that fails goes
        replacement = text[: len(text) - len(text.lstrip())] + "pass" if stub else ""
        self.lines[first:last + 1] = [replacement] + [""] * (last - first)
        self.skips.append(Skip(first + 1, last + 1, line, message))
        top = bisect_right(self.firsts, first) - 1
        while top > 0 and self.statements[top].depth > 0:
            top -= 1
        self.resume = min(first, self.statements[top].first) if top >= 0 else 0
        if self.unfinished is not None and self.unfinished.first <= last:
            self._tokenize()  # the tokenizer stopped in what was left out: the rest is read now
            return True
        lo, hi = bisect_left(self.firsts, first), bisect_right(self.firsts, last)
        self.statements[lo:hi] = [Statement(first, first, depth, "pass", False)] if stub else []
        self.firsts[lo:hi] = [first] if stub else []
        return True

    def _span(self, n: int, message: str, indentation: bool) -> tuple[int, int, int, bool]:
        """First and last line (0-based) to leave out for an error at line ``n``, their depth, and
        whether ``pass`` stands in for them."""
        at = bisect_right(self.firsts, n) - 1
        found = self.statements[at] if at >= 0 and self.statements[at].last >= n else None
        if found is None and self.unfinished is not None and self.unfinished.first <= n:
            start = self.unfinished
            if message.startswith("unterminated triple-quoted string"):
                return start.first, len(self.lines) - 1, start.depth, True  # it runs to the end of the file
            return start.first, self._resync(start.first, n) - 1, start.depth, True
        if found is None:
            return n, n, 0, False
        if message.startswith("expected 'except' or 'finally' block"):
            while at > 0 and not (self.statements[at].head == "try" and self.statements[at].depth <= found.depth):
                at -= 1  # the try statement that lacks them goes
            return self._compound(at)
        if indentation:
            if message.startswith("unexpected indent"):
                return found.first, self._block_end(at, found.depth - 1), found.depth, False
            return found.first, found.last, found.depth, False
        if not found.compound:
            return found.first, found.last, found.depth, True
        return self._compound(at)

    def _above(self, at: int, depth: int) -> int | None:
        """The logical line at ``depth`` above ``at``, past deeper ones; None when a shallower one comes first."""
        i = at - 1
        while i >= 0 and self.statements[i].depth > depth:
            i -= 1
        return i if i >= 0 and self.statements[i].depth == depth else None

    def _compound(self, at: int) -> tuple[int, int, int, bool]:
        """The whole compound statement around logical line ``at``: decorators, header, block, clauses."""
        s = self.statements
        depth = s[at].depth
        head = at
        while (above := self._above(head, depth)) is not None and (s[head].head in CLAUSES or s[above].head == "@"):
            head = above
        end = at
        while end + 1 < len(s) and (s[end + 1].depth > depth or s[end + 1].depth == depth and (
                s[end + 1].head in CLAUSES or s[end].depth == depth and s[end].head == "@")):
            end += 1
        return s[head].first, s[end].last, depth, True

    def _block_end(self, at: int, depth: int) -> int:
        """The last line of the logical lines from ``at`` on that are deeper than ``depth``."""
        end = at
        while end + 1 < len(self.statements) and self.statements[end + 1].depth > depth:
            end += 1
        return self.statements[end].last

    def _resync(self, first: int, n: int) -> int:
        """The line after ``n`` where a statement at most as indented as line ``first`` starts, else the end."""
        width = _width(self.lines[first])
        for i in range(n + 1, len(self.lines)):
            text = self.lines[i]
            if (_STATEMENT_START.match(text) and _width(text) <= width
                    and text.split(None, 1)[0].rstrip(":") not in CLAUSES):
                return i
        return len(self.lines)


def _width(line: str) -> int:
    """The width of a line's indentation, tabs to the next multiple of 8 (as CPython counts them)."""
    return len(line.expandtabs()) - len(line.lstrip().expandtabs())


def read_in_part(text: str) -> PartialModule | None:
    """``text`` with the statements CPython cannot parse left out; None when it parses as is, when no
    statement would be left, or when it cannot be read in part (lone carriage returns number its
    lines differently; too many errors; nesting or NUL bytes, which are not syntax errors).

    After each error only the rest of the module is parsed again, from the top-level statement
    that held it; once the rest parses, the whole module is parsed to check.
    """
    if _LONE_CR.search(text):
        return None
    module = PartialModule(text)
    while len(module.skips) <= MAX_ERRORS:
        try:
            tree = parse(module.rest())
        except SyntaxError as err:
            indentation = isinstance(err, IndentationError)
            if err.lineno is None or not module.leave_out(err.lineno, str(err.msg), indentation=indentation):
                return None
            continue
        except (ValueError, RecursionError, MemoryError):
            return None
        if module.resume == 0:
            return module if module.skips and tree.body else None
        module.resume = 0
    return None
