"""The report's document: Markdown and HTML written at once (headings, paragraphs, sortable tables that
fold when long, figures embedded as data URIs), and the tables and PDFs of the LaTeX export."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.report.figures import pyplot
from analysis.report.latex import TexTable
from analysis.report.rendering import FigureRenderer
from analysis.tables import FALSE, TRUE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLLAPSE_ROWS = 25  # a table longer than this is folded under <details>


_CODE = re.compile(r"`([^`]*)`")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


_CONTROLS = str.maketrans({"\t": "\\t", "\r": "\\r", "\n": "\\n"})  # as pandas prints them: \t, \r, \n


def html_table(cells: pd.DataFrame, escape: bool) -> str:
    """``cells.to_html(index=False, escape=escape, classes="sortable", border=0)`` of a frame whose cells
    and column names are text, written here: the same text (a test compares them) in a tenth of the time
    (pandas formats each column, then each cell, through its general printing)."""
    def text(value: str) -> str:
        value = value.strip()
        return html.escape(value, quote=False) if escape else value

    lines = ['<table class="dataframe sortable">', "  <thead>", '    <tr style="text-align: right;">']
    lines += [f"      <th>{text(str(name))}</th>" for name in cells.columns]
    lines += ["    </tr>", "  </thead>", "  <tbody>"]
    for row in cells.itertuples(index=False):
        lines.append("    <tr>")
        lines += [f"      <td>{text(value.translate(_CONTROLS))}</td>" for value in row]
        lines.append("    </tr>")
    lines += ["  </tbody>", "</table>"]
    return "\n".join(lines)


def inline_html(text: str) -> str:
    """Markdown's inline `code` and [links](href) of ``text`` as HTML, the rest escaped."""
    out, last = [], 0
    for m in re.finditer(f"{_CODE.pattern}|{_LINK.pattern}|{_BOLD.pattern}", text):
        out.append(html.escape(text[last:m.start()]))
        if m.group(1) is not None:
            out.append(f"<code>{html.escape(m.group(1))}</code>")
        elif m.group(4) is not None:
            out.append(f"<strong>{inline_html(m.group(4))}</strong>")
        else:
            out.append(f"<a href='{html.escape(m.group(3), quote=True)}'>{inline_html(m.group(2))}</a>")
        last = m.end()
    return "".join(out) + html.escape(text[last:])


def as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans shown as the CSVs write them (``true``/``false``), whatever the frame was read as."""
    flags = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, (bool, np.bool_))).any()]
    if not flags:
        return frame
    return frame.assign(**{c: frame[c].map(lambda v: (TRUE if v else FALSE) if isinstance(v, (bool, np.bool_)) else v)
                           for c in flags})


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


@dataclass
class Doc:
    """The report being written, in Markdown and HTML at once (and its tables and PDFs for LaTeX)."""

    href: Callable[[str], str]  # a source (CSV name) -> its link from the report directory
    latex: bool = False
    md: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)
    pdfs: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    tables: list[TexTable] = field(default_factory=list)
    n_images: int = 0
    renderer: FigureRenderer = field(default_factory=lambda: FigureRenderer(0))  # here, or in child processes
    pending: list[tuple[str, int, str]] = field(default_factory=list)  # (figure, its place in html, caption)

    def heading(self, text: str, level: int = 2, anchor: str = "") -> None:
        anchor = anchor or f"sec-{slug(text)}"
        self.md.append(f'<a id="{anchor}"></a>\n\n{"#" * level} {text}\n')
        self.html.append(f"<h{level} id='{anchor}'>{html.escape(text)}</h{level}>")

    def para(self, text: str, css: str = "") -> None:
        """A paragraph; `code` and [links](href) are Markdown in both outputs."""
        self.md.append(text + "\n")
        self.html.append(f"<p{f' class={css!r}' if css else ''}>{inline_html(text)}</p>")

    def items(self, entries: list[str]) -> None:
        self.md.append("\n".join(f"- {e}" for e in entries) + "\n")
        self.html.append("<ul>" + "".join(f"<li>{inline_html(e)}</li>" for e in entries) + "</ul>")

    def source_link(self, source: str) -> str:
        return f"[{source}]({self.href(source)})"

    def raw(self, md: str, html_text: str) -> None:
        """Markdown and HTML written apart (the caller escapes the HTML)."""
        self.md.append(md + "\n")
        self.html.append(html_text)

    def table(self, frame: pd.DataFrame, source: str, caption: str, *, anchor: str = "",
              collapse: bool | None = None, tex: bool = True, markup: bool = False) -> None:
        """A table naming its source; longer than ``COLLAPSE_ROWS`` rows (or ``collapse``), it folds.
        With ``markup``, its cells' `code` and [links](href) are Markdown in the HTML too."""
        anchor = anchor or f"t-{slug(caption)}"
        note = f"{caption} (computed from {self.source_link(source)})"
        self.md.append(f'<a id="{anchor}"></a>\n\n{note}\n')
        if frame.empty:
            self.md.append("(no rows)\n")
            self.html.append(f"<p class='caption' id='{anchor}'>{inline_html(note)}</p><p>(no rows)</p>")
            return
        frame = as_written(frame)
        if tex and self.latex:
            self.tables.append(TexTable(anchor.removeprefix("t-"), frame, caption))
        frame = frame.round(4)
        cells = frame.astype(object).where(frame.notna(), "").astype(str)  # a missing value (NaN, None) is blank
        folded = len(cells) > COLLAPSE_ROWS if collapse is None else collapse
        lines = ["| " + " | ".join(cells.columns) + " |", "|" + "---|" * len(cells.columns)]
        lines += ["| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in row) + " |"
                  for row in cells.itertuples(index=False)]
        summary = f"{len(cells)} rows: show"
        if folded:
            self.md.append(f"<details><summary>{summary}</summary>\n\n" + "\n".join(lines) + "\n\n</details>\n")
        else:
            self.md.append("\n".join(lines) + "\n")
        shown = cells.map(inline_html) if markup else cells
        table = html_table(shown, escape=not markup)
        self.html.append(f"<p class='caption' id='{anchor}'>{inline_html(note)}</p>"
                         + (f"<details><summary>{summary}</summary>{table}</details>" if folded else table))

    def figure(self, name: str, fig: Figure, source: str, caption: str) -> None:
        note = f"{caption} (computed from {self.source_link(source)})"
        self.md.append(f"![{caption}]({name})\n\n{note}\n")
        self.html.append(f"<figcaption>{inline_html(note)}</figcaption></figure>")  # the image goes before it
        self.pending.append((name, len(self.html) - 1, caption))
        self.renderer.submit(name, fig, self.latex)
        pyplot().close(fig)
        self.n_images += 1

    def finish(self) -> None:
        """Put each figure's image in place (waiting for those rendered in child processes)."""
        for name, where, caption in self.pending:
            self.figures[name], pdf = self.renderer.result(name)
            if pdf is not None:
                self.pdfs[name.removesuffix(".png") + ".pdf"] = (pdf, caption)
            uri = "data:image/png;base64," + base64.b64encode(self.figures[name]).decode()
            self.html[where] = f"<figure><img alt='{html.escape(caption)}' src='{uri}'>" + self.html[where]
        self.pending.clear()



STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.45}"
          "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}td,th{border:1px solid #ccc;padding:2px 6px;"
          "vertical-align:top}th{background:#f3f3f3;cursor:pointer;text-align:left!important}th.asc:after{content:' \\25B2'}"
          "th.desc:after{content:' \\25BC'}.caption,figcaption{color:#555;font-size:12px}img{max-width:100%}"
          ".not-measured{color:#555;font-style:italic}.src{color:#777;font-size:11px}code{background:#f3f3f3;padding:0 3px}"
          "details summary{cursor:pointer;color:#4477AA;font-size:12px}")
# the page counts its own figures once loaded (a test reads it back through headless Chromium), and
# sorts a table by a column on a click on its header (numbers as numbers: 1,234, 57% and 0.57 too)
SCRIPT = (
    "window.addEventListener('load',function(){var i=document.images,n=0;for(var k=0;k<i.length;k++)"
    "{if(i[k].complete&&i[k].naturalWidth>0)n++;}document.body.setAttribute('data-images',n+'/'+i.length);"
    "document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){"
    "var t=th.closest('table'),b=t.tBodies[0],c=th.cellIndex,d=th.classList.contains('asc')?-1:1;"
    "t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc');});"
    "th.classList.add(d>0?'asc':'desc');var num=function(s){var v=parseFloat(s.replace(/[,%]/g,''));"
    "return isNaN(v)?null:v;};var r=Array.prototype.slice.call(b.rows);r.sort(function(x,y){"
    "var a=x.cells[c].textContent.trim(),e=y.cells[c].textContent.trim(),p=num(a),q=num(e);"
    "if(p!==null&&q!==null)return d*(p-q);return d*a.localeCompare(e);});"
    "r.forEach(function(row){b.appendChild(row);});});});});")



def page(doc: Doc) -> str:
    """The HTML page of ``doc``: its style and script inline, nothing fetched."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>MLflow census report</title>"
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>{''.join(doc.html)}</body></html>")
