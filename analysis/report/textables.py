"""The LaTeX export's tables, laid out to fit the page.

A table whose cells fit the line as they are is a plain booktabs ``tabular`` (numbers right-aligned).
One that does not gets paragraph columns that wrap: each column at least as wide as its longest
unbreakable piece, the columns that need more sharing what is left of the line, so the columns add
up to the line (``p{f\\dimexpr\\linewidth-2n\\tabcolsep}`` with the fractions summing to at most 1).
Long identifiers (paths, dotted or underscored names, hashes) may break after ``/ _ . - :`` and the
like, or every ``CHUNK`` characters. A table that does not fit upright even so, in ``\\small`` or
``\\footnotesize``, is set in landscape (``pdflscape``). A table of more than ``LONG_TABLE_ROWS`` rows,
taller than a page, or in landscape is a ``longtable`` that breaks across pages; the others are
``[htbp]`` floats.

Widths are estimated from Computer Modern's character widths (``text_em``), with a margin.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "|": r"\textbar{}"}

TEXT_WIDTH = 481.0  # pt: the line of report.tex (A4, 2 cm margins), a little under 481.47
TEXT_HEIGHT = 728.0  # pt: the page's text height, the line of a landscape page
SIZES = {"small": 9.0, "footnotesize": 8.3}  # pt, in a 10pt document (8pt type is relatively wider)
LAST_RESORT = {"scriptsize": 7.4}  # a table whose unbreakable pieces fit no other size: smaller type, in landscape
NATURAL_SEP = 6.0  # \tabcolsep of a table whose cells fit as they are
WRAPPED_SEP = 4.0  # \tabcolsep of a table with paragraph columns
LONG_TABLE_ROWS = 35  # more rows than this: a longtable that breaks across pages
FLOAT_LINES = 48  # a table estimated taller than this many lines is a longtable (a float cannot break)
LONG_TOKEN = 12  # a word longer than this may break after BREAK_AFTER characters and between camelCase parts
CHUNK = 12  # ... and a piece of it longer than this that is not a plain word, every CHUNK characters
COMFORT = 6.0  # em: a wrapped column is at least this wide, unless its widest cell is narrower
MARGIN = 1.05  # estimated widths are multiplied by this
BREAK_AFTER = frozenset("/_.-:=,;@+\\|")
_NUMERAL = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?$")  # a number written as text: right-aligned

# Computer Modern Roman's widths in em (cmr10); others count DEFAULT_EM
_EM = dict(zip("abcdefghijklmnopqrstuvwxyz", (.500, .556, .444, .556, .444, .306, .500, .556, .278, .306, .528, .278,
                                              .833, .556, .500, .556, .528, .392, .394, .389, .556, .528, .722, .528,
                                              .528, .444)))
_EM |= dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (.750, .708, .722, .764, .681, .653, .785, .750, .361, .514, .778, .625,
                                              .917, .750, .778, .681, .778, .736, .556, .722, .750, .750, 1.028, .750,
                                              .750, .611)))
_EM |= {d: .500 for d in "0123456789"}
_EM |= {" ": .333, ".": .278, ",": .278, ":": .278, ";": .278, "!": .278, "'": .278, "(": .389, ")": .389,
        "[": .278, "]": .278, "-": .333, "/": .500, "%": .833, "=": .778, "+": .778, "*": .500, "?": .472,
        "&": .778, "#": .833, "@": .778, "<": .778, ">": .778, "|": .278, "_": .800}
DEFAULT_EM = .600


def escape(text: str) -> str:
    """``text`` as LaTeX source; characters pdflatex's utf8 input cannot set become '?'."""
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 32:
            out.append(" ")
        elif ord(ch) > 255:
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def text_em(text: str) -> float:
    """The estimated width of ``text`` set in Computer Modern, in em (with the margin)."""
    return sum(_EM.get(ch, DEFAULT_EM) for ch in text) * MARGIN


def pieces(word: str) -> list[str]:
    """A word (no spaces) cut where it may break: a long one after ``BREAK_AFTER`` characters and before
    the capital of a camelCase part; a piece of it still over ``CHUNK`` characters that holds a digit (a
    hash, a number) or is over twice that every ``CHUNK`` characters. Words are left to hyphenation."""
    if len(word) <= LONG_TOKEN:
        return [word]
    cut, current = [], ""
    for i, ch in enumerate(word):
        if current and ch.isupper() and word[i - 1].islower():
            cut.append(current)
            current = ""
        current += ch
        if ch in BREAK_AFTER:
            cut.append(current)
            current = ""
    if current:
        cut.append(current)
    out = []
    for piece in cut:
        while len(piece) > CHUNK and (any(ch.isdigit() for ch in piece) or len(piece) > 2 * CHUNK):
            out.append(piece[:CHUNK])
            piece = piece[CHUNK:]
        out.append(piece)
    return out


def breakable(text: str) -> str:
    """``text`` escaped, with ``\\allowbreak`` where a long word may break (``pieces``)."""
    return " ".join(r"\allowbreak{}".join(escape(p) for p in pieces(word)) for word in str(text).split())


@dataclass(frozen=True)
class TexTable:
    """A table of the report, for its ``.tex`` file."""

    name: str  # file stem
    frame: pd.DataFrame
    caption: str


@dataclass(frozen=True)
class Layout:
    """How a table is set: its font size, orientation, paragraph widths (pt; None: columns as wide as their
    cells), ``\\tabcolsep`` and whether it is a longtable."""

    size: str
    landscape: bool
    widths: tuple[float, ...] | None
    sep: float
    long: bool


def cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """(header, rows, numeric per column) as text: floats with 4 decimals (whole numbers as integers
    when the whole column is), a missing value blank."""
    header = [str(c) for c in frame.columns]
    columns: list[list[str]] = []
    numeric: list[bool] = []
    for i in range(frame.shape[1]):
        values = list(frame.iloc[:, i])
        kinds = ["missing" if _missing(v) or v == "" else "number" if _is_number(v) else
                 "numeral" if isinstance(v, str) and _NUMERAL.match(v) else "text" for v in values]
        whole = all(float(v).is_integer() for v, k in zip(values, kinds) if k == "number")
        columns.append(["" if k == "missing" else _number(v, whole) if k == "number" else str(v)
                        for v, k in zip(values, kinds)])
        numeric.append(any(k in ("number", "numeral") for k in kinds) and "text" not in kinds)
    rows = [list(r) for r in zip(*columns)] if columns else []
    return header, rows, numeric


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _number(value: object, whole: bool) -> str:
    number = float(value)  # type: ignore[arg-type]
    if isinstance(value, (int, np.integer)) or whole:
        return str(int(number)) if math.isfinite(number) else str(number)
    return f"{number:.4f}"


def header_pieces(name: str) -> list[str]:
    """A column's name cut at spaces and after each ``BREAK_AFTER`` character whatever its length
    (``n_call_`` ``sites``)."""
    return [p for word in name.split() for p in re.split(r"(?<=[/_.\-:=,;@+])", word) if p] or [name]


def header_tex(name: str) -> str:
    """A column's name escaped, breakable where ``header_pieces`` cuts it."""
    return " ".join(r"\allowbreak{}".join(escape(p) for p in re.split(r"(?<=[/_.\-:=,;@+])", word) if p)
                    for word in name.split())


def layout(header: Sequence[str], rows: Sequence[Sequence[str]]) -> Layout:
    """The layout of a table: as it is, upright, in ``\\small`` then ``\\footnotesize``, if its cells fit the
    line; else wrapped paragraph columns, upright then in landscape, in the first size where every column
    gets at least its longest unbreakable piece (or ``COMFORT``). A wrapped column is first given the width
    of its widest cell (its name may wrap), then, while the line has room, the width of its name."""
    n = len(header)
    natural = [max([text_em(h), *(text_em(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for size, pt in SIZES.items():
        if sum(natural) * pt + 2 * n * NATURAL_SEP <= TEXT_WIDTH:
            lines = len(rows) + 1
            return Layout(size, False, None, NATURAL_SEP, len(rows) > LONG_TABLE_ROWS or lines > FLOAT_LINES)
    named = [max(text_em(p) for p in header_pieces(h)) for h in header]
    body = [max([0.0, *(text_em(r[i]) for r in rows)]) for i in range(n)]
    need = [max(b, h) for b, h in zip(body, named)]
    smallest = [max([h, *(text_em(p) for r in rows for w in r[i].split() for p in pieces(w))])
                for i, h in enumerate(named)]
    least = [max(s, min(b, COMFORT)) for s, b in zip(smallest, need)]
    options = [(False, "small"), (False, "footnotesize"), (True, "small"), (True, "footnotesize"),
               (True, "scriptsize")]
    sizes = {**SIZES, **LAST_RESORT}
    for landscape, size in options:
        line = (TEXT_HEIGHT if landscape else TEXT_WIDTH) - 2 * n * WRAPPED_SEP
        if sum(least) * sizes[size] <= line:
            break
    pt = sizes[size]
    if sum(need) * pt <= line:  # every cell on one line; the names wrap as little as the room left allows
        widths = _share(line, [x * pt for x in natural], [x * pt for x in need])
    else:
        widths = _share(line, [x * pt for x in need], [x * pt for x in least])
    lines = sum(max(math.ceil(text_em(c) * pt / (w * 0.9)) if c else 1 for c, w in zip(row, widths))
                for row in [header, *rows])
    return Layout(size, landscape, tuple(widths), WRAPPED_SEP,
                  landscape or len(rows) > LONG_TABLE_ROWS or lines > FLOAT_LINES)


def _share(line: float, most: Sequence[float], least: Sequence[float]) -> list[float]:
    """Column widths between their least and most, adding up to ``line`` when the most do not: the columns
    that need more than the others get equal shares (water filling). Least widths that do not fit are
    scaled down."""
    if sum(most) <= line:
        return list(most)
    if sum(least) >= line:
        return [x * line / sum(least) for x in least]
    low, high = 0.0, max(most)
    for _ in range(60):
        mid = (low + high) / 2
        if sum(min(n, max(m, mid)) for n, m in zip(most, least)) > line:
            high = mid
        else:
            low = mid
    return [min(n, max(m, low)) for n, m in zip(most, least)]


def column_spec(plan: Layout, numeric: Sequence[bool]) -> str:
    """The columns of the tabular: ``r``/``l``, or paragraph columns whose fractions of the line less the
    column separation add up to at most 1."""
    if plan.widths is None:
        return "".join("r" if num else "l" for num in numeric)
    total = sum(plan.widths)
    spans = f"\\dimexpr\\linewidth-{2 * len(plan.widths)}\\tabcolsep\\relax"
    out = []
    for width, num in zip(plan.widths, numeric):
        fraction = math.floor(width / total * 1000) / 1000
        align = r"\raggedleft" if num else r"\raggedright\hspace{0pt}"
        out.append(f">{{{align}\\arraybackslash}}p{{{fraction:.3f}{spans}}}")
    return "".join(out)


def table_tex(table: TexTable) -> str:
    """A booktabs table laid out by ``layout``: a float with a caption and label, or a longtable (in a
    ``landscape`` environment when it is set across the page)."""
    header, rows, numeric = cells(table.frame.reset_index(drop=True))
    plan = layout(header, rows)
    cell = escape if plan.widths is None else breakable
    head = " & ".join(escape(h) if plan.widths is None else header_tex(h) for h in header) + r" \\"
    body = [" & ".join(cell(v) for v in row) + r" \\" for row in rows]
    if plan.widths is not None:  # rows of paragraphs a little apart
        body = [line + r" \addlinespace[2pt]" for line in body[:-1]] + body[-1:]
    spec = column_spec(plan, numeric)
    caption, label = escape(table.caption), f"tab:{table.name}"
    sep = "" if plan.sep == NATURAL_SEP else f"\\setlength{{\\tabcolsep}}{{{plan.sep:g}pt}}\n"
    if plan.long:
        out = [f"{{\\{plan.size}\n{sep}\\begin{{longtable}}{{{spec}}}",
               f"\\caption{{{caption}}}\\label{{{label}}}\\\\", r"\toprule", head, r"\midrule", r"\endfirsthead",
               f"\\caption[]{{{caption} (continued)}}\\\\", r"\toprule", head, r"\midrule", r"\endhead",
               r"\midrule", f"\\multicolumn{{{len(header)}}}{{r}}{{\\emph{{continued on the next page}}}}\\\\",
               r"\endfoot", r"\bottomrule", r"\endlastfoot", *body, r"\end{longtable}", "}"]
        text = "\n".join(out) + "\n"
        return f"\\begin{{landscape}}\n{text}\\end{{landscape}}\n" if plan.landscape else text
    out = [r"\begin{table}[htbp]", r"\centering", f"\\{plan.size}", sep.rstrip("\n"), f"\\caption{{{caption}}}",
           f"\\label{{{label}}}", f"\\begin{{tabular}}{{{spec}}}", r"\toprule", head, r"\midrule", *body,
           r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(line for line in out if line) + "\n"


def is_long(tex: str) -> bool:
    """Whether a table's LaTeX is a longtable (set in place, not floated)."""
    return re.search(r"\\begin\{longtable\}", tex) is not None
