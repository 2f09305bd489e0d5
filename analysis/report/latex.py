"""The report's LaTeX export: one booktabs ``.tex`` per table, figures as PDF, and ``findings.tex`` macros.

``findings.tex`` defines a macro for every number the findings and the KPI table quote, so a written
study cites them (``\\NReposMLproject{} of \\DenReposMLproject{}``) and never retypes them. For a share
``X``: ``\\NX`` (n), ``\\DenX`` (denominator), ``\\PctX``, ``\\LowX``, ``\\HighX`` (95% Wilson bounds,
percent signs included) and ``\\TxtX`` (the phrase the report prints); for a number or a label,
``\\NX`` and ``\\TxtX``. ``findings-text.tex`` holds the key findings written with those macros, and
``report.tex`` a document that inputs all of it (it compiles with pdflatex; the tables need the
``array``, ``booktabs`` and ``longtable`` packages, and ``graphicx`` for the wide ones).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.report.facts import Fact, Finding, Kpi, Number, Sentence, Share, interval_bounds, percent
from miner.fileio import atomic_write_bytes, atomic_write_text

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "|": r"\textbar{}"}
LONG_TABLE_ROWS = 35  # more rows than this: a longtable that breaks across pages
WIDE_CELL = 40  # a column holding longer text wraps in a paragraph column


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


def _inline(text: str) -> str:
    """Escaped text with Markdown's `code` set in typewriter."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(r"\texttt{" + escape(p) + "}" if i % 2 else escape(p) for i, p in enumerate(parts))


def macros(fact: Fact) -> dict[str, str]:
    """The macros of one fact: name -> LaTeX value."""
    if isinstance(fact, Share):
        low, high = fact.ci
        out = {f"N{fact.name}": f"{fact.n:,}".replace(",", "{,}"), f"Den{fact.name}": f"{fact.of:,}".replace(",", "{,}"),
               f"Pct{fact.name}": escape(percent(fact.share) + "%")}
        if fact.interval:
            low_text, high_text = interval_bounds(low, high)
            out |= {f"Low{fact.name}": escape(low_text + "%"), f"High{fact.name}": escape(high_text + "%")}
    elif isinstance(fact, Number):
        out = {f"N{fact.name}": escape(fact.text())}
    else:
        out = {f"N{fact.name}": escape(fact.value)}
    out[f"Txt{fact.name}"] = escape(fact.text())
    return out


def findings_macros(facts: Iterable[Fact]) -> str:
    """``findings.tex``: a ``\\newcommand`` per macro of every fact, each after a comment with its definition."""
    lines = ["% Every number quoted by the key findings and the KPI table, written by mlflow-census.",
             "% Share X: \\NX \\DenX \\PctX \\LowX \\HighX \\TxtX; number or label X: \\NX \\TxtX.", ""]
    for fact in facts:
        lines.append(f"% {fact.name}: {fact.definition} ({fact.source})".replace("\n", " "))
        for name, value in macros(fact).items():
            lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    return "\n".join(lines) + "\n"


def sentence_tex(sentence: Sentence) -> str:
    """A finding's sentence in LaTeX, each quoted number a macro of ``findings.tex``."""
    def fill(fact: Fact, part: str) -> str:
        if isinstance(fact, Share) and part == "n":
            return f"\\N{fact.name}{{}}"
        if isinstance(fact, Share) and part == "of":
            return f"\\Den{fact.name}{{}}"
        if isinstance(fact, Share) and part == "pct":
            return (f"\\Pct{fact.name}, \\Low{fact.name}--\\High{fact.name}" if fact.interval
                    else f"\\Pct{fact.name}")
        if isinstance(fact, Share):
            noun = f" {escape(fact.noun)}" if fact.noun else ""
            interval = f", \\Low{fact.name}--\\High{fact.name}" if fact.interval else ""
            return f"\\N{fact.name}{{}} of \\Den{fact.name}{{}}{noun} (\\Pct{fact.name}{interval})"
        return f"\\N{fact.name}{{}}"

    # the template's own text is escaped, then the placeholders filled with macros
    marker = "@@{}@@"  # survives escaping
    names: list[tuple[Fact, str]] = []

    def hold(fact: Fact, part: str) -> str:
        names.append((fact, part))
        return marker.format(len(names) - 1)

    held = _inline(sentence.render(hold))
    return re.sub(r"@@(\d+)@@", lambda m: fill(*names[int(m.group(1))]), held)


@dataclass(frozen=True)
class TexTable:
    """A table of the report, for its ``.tex`` file."""

    name: str  # file stem
    frame: pd.DataFrame
    caption: str


def table_tex(table: TexTable) -> str:
    """A booktabs table (``Styler.to_latex``): a float with a caption and label, or a longtable when long."""
    frame = table.frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    widths = [max([len(str(c))] + [len(str(v)) for v in frame[c]]) for c in frame.columns]
    n_wide = sum(1 for w in widths if w > WIDE_CELL)
    # the narrow columns take what they need (about 0.1 of the line each), the wide ones share the rest
    wide_width = round(min(0.6, max(0.2, (0.95 - 0.1 * (len(widths) - n_wide)) / max(1, n_wide))), 2)
    fmt = "".join(f">{{\\raggedright\\arraybackslash}}p{{{wide_width}\\linewidth}}" if w > WIDE_CELL else "l"
                  for w in widths)
    styler = frame.style.hide(axis="index").format(escape="latex", precision=4).format_index(escape="latex", axis=1)
    label = f"tab:{table.name}"
    if len(frame) > LONG_TABLE_ROWS:
        body: str = styler.to_latex(hrules=True, environment="longtable", column_format=fmt,
                                    caption=escape(table.caption), label=label)
        return "{\\small\n" + body + "}\n"
    body = str(styler.to_latex(hrules=True, column_format=fmt))
    wide = len(frame.columns) > 6 and "p{" not in fmt
    inner = ("\\resizebox{\\linewidth}{!}{%\n" + body + "}\n") if wide else body
    return ("\\begin{table}[htbp]\n\\centering\n\\small\n" + f"\\caption{{{escape(table.caption)}}}\n"
            f"\\label{{{label}}}\n" + inner + "\\end{table}\n")


def write_latex(out: Path, tables: Iterable[TexTable], figures: Mapping[str, tuple[bytes, str]], facts: Iterable[Fact],
                findings: Iterable[Finding], kpis: Iterable[Kpi],
                threats: Iterable[tuple[str, Sentence]] = ()) -> list[Path]:
    """Write ``out/`` (tables/*.tex, figures/*.pdf, findings.tex, findings-text.tex, report.tex); the paths written.

    ``findings-text.tex`` holds the key findings, the KPI table and the threats to validity, their
    numbers as the macros of ``findings.tex``."""
    written: list[Path] = []
    tables = list(tables)
    for stale in [*(out / "tables").glob("*.tex"), *(out / "figures").glob("*.pdf")]:
        stale.unlink()  # a table or figure of an earlier report that this one no longer has
    for table in tables:
        path = out / "tables" / f"{table.name}.tex"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, table_tex(table))
        written.append(path)
    for name, (data, _caption) in figures.items():
        path = out / "figures" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        written.append(path)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "findings.tex", findings_macros(facts))
    text = []
    for finding in findings:
        text.append(f"\\paragraph{{{escape(finding.title)}}}")
        text.append(" ".join(sentence_tex(s) for s in finding.sentences) + "\n")
    ragged = ">{\\raggedright\\arraybackslash}p"
    kpi_rows = [f"\\begin{{longtable}}{{{ragged}{{0.17\\linewidth}}{ragged}{{0.36\\linewidth}}{ragged}{{0.3\\linewidth}}l}}",
                "\\caption{The proposal's KPIs}\\label{tab:kpis}\\\\", "\\toprule",
                "KPI & measure & value & source \\\\", "\\midrule"]
    for kpi in kpis:
        kpi_rows.append(f"{escape(kpi.kpi)} & {escape(kpi.measure)} & {sentence_tex(kpi.value)} & "
                        f"{escape(kpi.source)} \\\\")
    kpi_rows += ["\\bottomrule", "\\end{longtable}"]
    threat_items = [f"\\item \\textbf{{{escape(name)}}}: {sentence_tex(s)}" for name, s in threats]
    if threat_items:
        kpi_rows += ["\\paragraph{Threats to validity}", "\\begin{itemize}", *threat_items, "\\end{itemize}"]
    atomic_write_text(out / "findings-text.tex", "\n".join(text) + "\n" + "\n".join(kpi_rows) + "\n")
    written += [out / "findings.tex", out / "findings-text.tex"]
    document = ["\\documentclass[a4paper,10pt]{article}", "\\usepackage[T1]{fontenc}", "\\usepackage[utf8]{inputenc}",
                "\\usepackage[margin=2cm]{geometry}", "\\usepackage{array}", "\\usepackage{booktabs}",
                "\\usepackage{longtable}",
                "\\usepackage{graphicx}", "\\input{findings}", "\\begin{document}",
                "\\section*{Key findings}", "\\input{findings-text}"]
    for table in tables:
        document.append(f"\\input{{tables/{table.name}}}")
    for name, (_data, caption) in figures.items():
        document.append("\\begin{figure}[htbp]\\centering"
                        f"\\includegraphics[width=\\linewidth]{{figures/{name}}}"
                        f"\\caption{{{escape(caption)}}}\\end{{figure}}")
    document.append("\\end{document}")
    atomic_write_text(out / "report.tex", "\n".join(document) + "\n")
    written.append(out / "report.tex")
    return written
