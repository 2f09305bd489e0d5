"""The report's document: inline Markdown as HTML, tables that name their source and fold when long,
the LaTeX tables collected, a page that loads nothing from the network."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report.writer import COLLAPSE_ROWS, Doc, inline_html, page, slug


def test_inline_markdown_becomes_html_and_the_rest_is_escaped() -> None:
    assert inline_html("a <b> `x<y>` [csv](../a b.csv) **bold `c`**") == (
        "a &lt;b&gt; <code>x&lt;y&gt;</code> [csv](../a b.csv) <strong>bold <code>c</code></strong>")
    assert inline_html("see [practices.csv](../practices.csv)") == (
        "see <a href='../practices.csv'>practices.csv</a>")
    assert slug("Tracking practices: n_repos of N!") == "tracking-practices-n-repos-of-n" and slug("!!") == "table"


def test_a_heading_and_a_paragraph_are_written_in_both_outputs() -> None:
    doc = Doc(lambda source: f"../{source}")
    doc.heading("1. Storage", anchor="sec-1")
    doc.para("See `x`.", css="not-measured")
    assert doc.md == ['<a id="sec-1"></a>\n\n## 1. Storage\n', "See `x`.\n"]
    assert doc.html == ["<h2 id='sec-1'>1. Storage</h2>", "<p class='not-measured'>See <code>x</code>.</p>"]


def test_a_table_names_its_source_blanks_missing_cells_and_folds_when_long() -> None:
    doc = Doc(lambda source: f"../{source}", latex=True)
    doc.table(pd.DataFrame({"name": ["a", "b|c"], "share": [0.123456, None]}), "x.csv", "Shares", anchor="t-shares")
    assert doc.md[0] == '<a id="t-shares"></a>\n\nShares (computed from [x.csv](../x.csv))\n'
    assert doc.md[1] == "| name | share |\n|---|---|\n| a | 0.1235 |\n| b\\|c |  |\n"
    assert [t.name for t in doc.tables] == ["shares"]  # collected for LaTeX
    long = pd.DataFrame({"n": range(COLLAPSE_ROWS + 1)})
    doc.table(long, "y.csv", "Long", tex=False)
    assert doc.md[-1].startswith(f"<details><summary>{COLLAPSE_ROWS + 1} rows: show</summary>")
    assert "<details>" in doc.html[-1] and len(doc.tables) == 1
    doc.table(pd.DataFrame(), "z.csv", "Empty")
    assert doc.md[-1] == "(no rows)\n"


def test_the_page_is_self_contained() -> None:
    doc = Doc(lambda source: source)
    doc.para("text")
    html = page(doc)
    assert html.startswith("<!doctype html>") and "<p>text</p>" in html and "http" not in html


@pytest.mark.parametrize("escape", [True, False])
def test_html_table_is_what_pandas_writes(escape: bool) -> None:
    """The report's tables are written without pandas' formatter, to the text its ``to_html`` gives:
    cells stripped of surrounding whitespace (a no-break space too), tabs and line breaks printed as
    ``\\t``, ``\\r``, ``\\n``, ``&``, ``<``, ``>`` escaped when asked (quotes never), column names alike."""
    from analysis.report.writer import html_table

    cells = pd.DataFrame({"a b <&>": ["x<y &z", "  lead", "", " \u00a0nb\u2003 ", "a" * 90],
                          " c\t": ["1\t2", "line\nbreak", "\"q\" 's'", "\r\n", "<b>x</b> &amp;"],
                          "d": ["é", "3", "`code` [l](h)", "0.5", "-"]})
    assert html_table(cells, escape) == cells.to_html(index=False, escape=escape, classes="sortable", border=0)
    one = cells.iloc[:1, :1]
    assert html_table(one, escape) == one.to_html(index=False, escape=escape, classes="sortable", border=0)
