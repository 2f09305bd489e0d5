"""The report's LaTeX export: one booktabs ``.tex`` per table, figures as PDF, ``findings.tex`` macros,
``references.bib`` and ``report.tex``.

``findings.tex`` defines a macro for every number the findings and the KPI table quote, so a written
study cites them (``\\NReposMLproject{} of \\DenReposMLproject{}``) and never retypes them. For a share
``X``: ``\\NX`` (n), ``\\DenX`` (denominator), ``\\PctX``, ``\\LowX``, ``\\HighX`` (95% Wilson bounds,
percent signs included) and ``\\TxtX`` (the phrase the report prints); for a number or a label,
``\\NX`` and ``\\TxtX``. ``findings-text.tex`` holds the key findings written with those macros, each
sentence referring to the tables its numbers come from. The tables are laid out to fit the page by
``analysis.report.textables`` (they need the ``array``, ``booktabs``, ``longtable`` and ``pdflscape``
packages); ``references.bib`` holds the published baselines (``analysis.report.bibliography``).
``report.tex`` inputs all of it in the report's order (its sections, read from the report's
Markdown), cites the baselines and compiles with pdflatex, bibtex and pdflatex twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.report.bibliography import bibtex, citing_paragraph, read_baselines, studies
from analysis.report.facts import Fact, Finding, Kpi, Number, Sentence, Share, interval_bounds, percent
from analysis.report.textables import TexTable, escape, is_long, table_tex
from miner.fileio import atomic_write_bytes, atomic_write_text

__all__ = ["TexTable", "escape", "findings_macros", "macros", "outline", "sentence_tex", "table_tex", "write_latex"]

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
class Part:
    """A step of the report's outline: a heading (its text and level), a table (its name) or a figure (its PDF)."""

    kind: str  # heading, table, figure
    key: str
    level: int = 0


_HEADING = re.compile(r'<a id="[^"]*"></a>\n\n(#{2,6}) ([^\n]+)')
_TABLE = re.compile(r'<a id="t-([^"]*)"></a>\n\n')
_FIGURE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\.png\)")


def outline(markdown: Iterable[str]) -> list[Part]:
    """The report's headings, tables and figures in order, read from its Markdown as ``Doc`` writes it
    (``Doc.md``: a heading or a table after its anchor, a figure as an image)."""
    parts = []
    for chunk in markdown:
        if heading := _HEADING.match(chunk):
            parts.append(Part("heading", heading.group(2).strip(), len(heading.group(1))))
        elif table := _TABLE.match(chunk):
            parts.append(Part("table", table.group(1)))
        elif figure := _FIGURE.match(chunk):
            parts.append(Part("figure", figure.group(1) + ".pdf"))
    return parts


def figure_label(name: str) -> str:
    """``fig_api_popularity.pdf`` -> ``fig:api-popularity``."""
    return "fig:" + re.sub(r"[^A-Za-z0-9]+", "-", name.removesuffix(".pdf").removeprefix("fig_")).strip("-")


def _refs(kind: str, labels: Sequence[str]) -> str:
    """``Table~\\ref{a}``, ``Tables~\\ref{a} and~\\ref{b}``, ``Tables~\\ref{a}, \\ref{b} and~\\ref{c}``."""
    refs = [f"\\ref{{{label}}}" for label in labels]
    joined = refs[0] if len(refs) == 1 else ", ".join(refs[:-1]) + " and~" + refs[-1]
    return f"{kind}{'s' if len(refs) > 1 else ''}~{joined}"


def _with_refs(tex: str, labels: Sequence[str]) -> str:
    """A sentence with a reference to its tables before its closing full stop."""
    if not labels:
        return tex
    note = f" ({_refs('Table', labels)})"
    return tex[:-1] + note + "." if tex.endswith(".") else tex + note


def _sentence_refs(sentence: Sentence, names: Iterable[str]) -> list[str]:
    """The labels of the exported tables that a sentence's facts come from."""
    exported = set(names)
    return [f"tab:{a.removeprefix('t-')}" for a, _source in sentence.sources() if a.removeprefix("t-") in exported]


def findings_text(findings: Iterable[Finding], kpis: Iterable[Kpi], threats: Iterable[tuple[str, Sentence]],
                  tables: Iterable[str] = ()) -> str:
    """``findings-text.tex``: the findings (each sentence referring to the tables of ``tables`` its numbers
    come from), the KPI table and the threats to validity."""
    names = list(tables)
    text = []
    for finding in findings:
        text.append(f"\\paragraph{{{escape(finding.title)}}}")
        text.append(" ".join(_with_refs(sentence_tex(s), _sentence_refs(s, names)) for s in finding.sentences) + "\n")
    column = ">{{\\raggedright\\arraybackslash\\hspace{{0pt}}}}p{{{:.2f}\\dimexpr\\linewidth-8\\tabcolsep\\relax}}"
    spec = "".join(column.format(f) for f in (0.18, 0.32, 0.36, 0.14))
    head = ["\\toprule", "KPI & measure & value & source \\\\", "\\midrule"]
    rows = ["{\\small", f"\\begin{{longtable}}{{{spec}}}", "\\caption{The proposal's KPIs}\\label{tab:kpis}\\\\", *head,
            "\\endfirsthead", "\\caption[]{The proposal's KPIs (continued)}\\\\", *head, "\\endhead",
            "\\bottomrule", "\\endfoot"]
    for kpi in kpis:
        rows.append(f"{escape(kpi.kpi)} & {escape(kpi.measure)} & {sentence_tex(kpi.value)} & "
                    f"{escape(kpi.source)} \\\\")
    rows += ["\\end{longtable}", "}"]
    items = [f"\\item \\textbf{{{escape(name)}}}: {_with_refs(sentence_tex(s), _sentence_refs(s, names))}"
             for name, s in threats]
    if items:
        rows += ["\\paragraph{Threats to validity}", "\\begin{itemize}", *items, "\\end{itemize}"]
    return "\n".join(text) + "\n" + "\n".join(rows) + "\n"


PREAMBLE = r"""\documentclass[a4paper,10pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage[margin=2cm]{geometry}
\usepackage{array}
\usepackage{booktabs}
\usepackage{longtable}
\usepackage{pdflscape}
\usepackage{graphicx}
\usepackage{url}
% \FloatBarrier: placeins's, or the same where it is not installed (floats held back are put out first)
\makeatletter
\IfFileExists{placeins.sty}{\usepackage{placeins}}{\newcommand{\FloatBarrier}{\par\begingroup\let\@elt\relax
  \edef\@tempa{\@botlist\@deferlist\@dbldeferlist}\ifx\@tempa\@empty\else\clearpage\fi\endgroup}}
% \needspace: needspace's, or the same (a new page unless that much room is left on this one)
\IfFileExists{needspace.sty}{\usepackage{needspace}}{\newcommand{\needspace}[1]{\par\penalty-100\begingroup
  \dimen@=\pagegoal\advance\dimen@-\pagetotal\ifdim\dimen@<##1\relax\ifdim\dimen@>\z@\vfil\fi\break\fi\endgroup}}
% a page of floats only is filled from the top, as a page of text is
\setlength{\@fptop}{0pt}
\setlength{\@fpsep}{12pt plus 4pt}
\setlength{\@fpbot}{0pt plus 1fil}
\makeatother
\renewcommand{\topfraction}{0.9}
\renewcommand{\bottomfraction}{0.8}
\renewcommand{\textfraction}{0.07}
\renewcommand{\floatpagefraction}{0.7}
\setcounter{topnumber}{4}
\setcounter{bottomnumber}{2}
\setcounter{totalnumber}{6}
\setlength{\emergencystretch}{3em}
\input{findings}
"""


def _sections(parts: Sequence[Part], tables: Mapping[str, str], figures: Mapping[str, str]) -> list[
        tuple[str, int, list[Part]]]:
    """(heading, level, tables and figures under it) in the outline's order; what the outline does not
    place comes last."""
    sections: list[tuple[str, int, list[Part]]] = [("", 2, [])]
    for part in parts:
        if part.kind == "heading":
            sections.append((part.key, part.level, []))
        elif part.key in (tables if part.kind == "table" else figures):
            sections[-1][2].append(part)
    placed = {p.key for _title, _level, items in sections for p in items}
    rest = [Part("table", n) for n in tables if n not in placed] + [Part("figure", f) for f in figures
                                                                     if f not in placed]
    if rest:
        sections.append(("Tables and figures" if len(sections) == 1 else "Other tables and figures", 2, rest))
    return sections


def document(parts: Sequence[Part], tables: Mapping[str, str], figures: Mapping[str, str], cite: str | None) -> str:
    """``report.tex``: the findings, then a section per heading of the report holding tables or figures, each
    section saying which, its floats kept in it (``\\FloatBarrier``); ``cite`` (the baselines' citing text)
    before the baselines table, and the bibliography when there is one. ``tables``: name -> its LaTeX;
    ``figures``: PDF name -> caption."""
    lines = [PREAMBLE.rstrip("\n"), "\\begin{document}", "\\section*{Key findings}", "\\input{findings-text}",
             "\\FloatBarrier"]
    top: str | None = None
    for title, level, items in _sections(parts, tables, figures):
        if level <= 2:
            top = title
        if not items:
            continue
        if top is not None and top:
            lines += ["\\needspace{0.3\\textheight}", f"\\section*{{{escape(top)}}}"]
        if level > 2 and title:
            lines += ["\\needspace{0.3\\textheight}", f"\\subsection*{{{escape(title)}}}"]
        top = None
        listed = [p for p in items if not (cite and p.key == "baselines")]
        labels = [(p.kind, f"tab:{p.key}" if p.kind == "table" else figure_label(p.key)) for p in listed]
        said = [_refs(kind.capitalize(), [lab for k, lab in labels if k == kind]) for kind in ("table", "figure")
                if any(k == kind for k, _lab in labels)]
        if said:
            lines.append(f"This section holds {', and '.join(said)}.")
        for part in items:
            if part.kind == "table":
                if cite and part.key == "baselines":
                    lines.append(cite)
                if is_long(tables[part.key]):
                    lines.append("\\FloatBarrier")
                lines.append(f"\\input{{tables/{part.key}}}")
            else:
                lines += ["\\begin{figure}[htbp]", "\\centering",
                          (f"\\includegraphics[width=\\linewidth,height=0.42\\textheight,keepaspectratio]"
                           f"{{figures/{part.key}}}"), f"\\caption{{{escape(figures[part.key])}}}",
                          f"\\label{{{figure_label(part.key)}}}", "\\end{figure}"]
        lines.append("\\FloatBarrier")
    if cite and "baselines" not in tables:
        lines += ["\\needspace{0.3\\textheight}", "\\section*{Published baselines}", cite]
    if cite:
        lines += ["\\bibliographystyle{plain}", "\\bibliography{references}"]
    lines.append("\\end{document}")
    return "\n".join(lines) + "\n"


def write_latex(out: Path, tables: Iterable[TexTable], figures: Mapping[str, tuple[bytes, str]], facts: Iterable[Fact],
                findings: Iterable[Finding], kpis: Iterable[Kpi], threats: Iterable[tuple[str, Sentence]] = (), *,
                outline_md: Iterable[str] = (), baselines: pd.DataFrame | None = None) -> list[Path]:
    """Write ``out/`` (tables/*.tex, figures/*.pdf, findings.tex, findings-text.tex, references.bib,
    report.tex); the paths written.

    ``findings-text.tex`` holds the key findings, the KPI table and the threats to validity, their
    numbers as the macros of ``findings.tex``. ``outline_md`` (the report's Markdown, ``Doc.md``) orders
    report.tex's sections, tables and figures as the report's; ``references.bib`` holds the studies of
    ``baselines`` (default: ``analysis/data/baselines.csv``), cited in the baselines section."""
    written: list[Path] = []
    tables = list(tables)
    for stale in [*(out / "tables").glob("*.tex"), *(out / "figures").glob("*.pdf"), out / "references.bib"]:
        stale.unlink(missing_ok=True)  # a table or figure of an earlier report that this one no longer has
    texts = {table.name: table_tex(table) for table in tables}
    for name, tex in texts.items():
        path = out / "tables" / f"{name}.tex"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, tex)
        written.append(path)
    for name, (data, _caption) in figures.items():
        path = out / "figures" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
        written.append(path)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "findings.tex", findings_macros(facts))
    atomic_write_text(out / "findings-text.tex", findings_text(findings, kpis, threats, texts))
    written += [out / "findings.tex", out / "findings-text.tex"]
    entries = studies(read_baselines() if baselines is None else baselines)
    cite = None
    if entries:
        atomic_write_text(out / "references.bib", bibtex(entries))
        written.append(out / "references.bib")
        cite = citing_paragraph(entries, "tab:baselines" if "baselines" in texts else None)
    captions = {name: caption for name, (_data, caption) in figures.items()}
    atomic_write_text(out / "report.tex", document(outline(outline_md), texts, captions, cite))
    written.append(out / "report.tex")
    return written
