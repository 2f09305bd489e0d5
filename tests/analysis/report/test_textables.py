"""The LaTeX tables' layout: breaks in long identifiers, widths that add up to the line, wrapped columns,
landscape and longtables for what does not fit."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from analysis.report.textables import (
    SIZES,
    TEXT_HEIGHT,
    TEXT_WIDTH,
    WRAPPED_SEP,
    TexTable,
    breakable,
    cells,
    header_pieces,
    layout,
    pieces,
    table_tex,
    text_em,
)


@pytest.mark.parametrize(("word", "cut"), [
    pytest.param("short_name", ["short_name"], id="short-words-stay-whole"),
    pytest.param("Reproducibility", ["Reproducibility"], id="a-plain-word-is-left-to-hyphenation"),
    pytest.param("databricks/notebooks/Batch_Scoring.py",
                 ["databricks/", "notebooks/", "Batch_", "Scoring.", "py"], id="path"),
    pytest.param("mlflow.MlflowClient.search_runs", ["mlflow.", "Mlflow", "Client.", "search_", "runs"], id="camel"),
    pytest.param("683bd5c5f79eb90b65c56822e4dc24eb", ["683bd5c5f79e", "b90b65c56822", "e4dc24eb"], id="hash"),
])
def test_long_words_break_at_separators_and_hashes_every_few_characters(word: str, cut: list[str]) -> None:
    assert pieces(word) == cut
    assert "".join(pieces(word)) == word


def test_breakable_escapes_each_piece_and_allows_breaks_between_them() -> None:
    assert breakable("see a_b/c_d/e_f_g.py now") == r"see a\_\allowbreak{}b/\allowbreak{}c\_\allowbreak{}d/" \
                                                   r"\allowbreak{}e\_\allowbreak{}f\_\allowbreak{}g.\allowbreak{}py now"
    assert header_pieces("n_call_sites") == ["n_", "call_", "sites"]
    assert header_pieces("files read") == ["files", "read"]


def test_widths_follow_the_letters() -> None:
    assert text_em("iiii") < text_em("mmmm")
    assert text_em("ab") == pytest.approx(text_em("a") + text_em("b"))
    assert text_em("") == 0


def test_cells_print_numbers_as_the_report_does() -> None:
    frame = pd.DataFrame({"n": [1, 2], "share": [0.5, 1 / 3], "whole": [3.0, np.nan], "numeral": ["10388", ""],
                          "flag": ["true", "false"]})
    header, rows, numeric = cells(frame)
    assert header == ["n", "share", "whole", "numeral", "flag"]
    assert rows == [["1", "0.5000", "3", "10388", "true"], ["2", "0.3333", "", "", "false"]]
    assert numeric == [True, True, True, True, False]


def test_a_table_that_fits_is_set_as_it_is() -> None:
    tex = table_tex(TexTable("t", pd.DataFrame({"practice": ["logs params"], "n": [39], "share": [0.68]}), "Cap"))
    assert "\\begin{tabular}{lrr}" in tex and "p{" not in tex and "landscape" not in tex
    assert tex.startswith("\\begin{table}[htbp]")


def _fractions(tex: str) -> list[float]:
    return [float(f) for f in re.findall(r"p\{([0-9.]+)\\dimexpr\\linewidth-\d+\\tabcolsep\\relax\}", tex)]


def test_a_table_wider_than_the_page_wraps_in_landscape() -> None:
    """Twelve columns, one cell of 300 characters: paragraph columns across a landscape page, each at least
    as wide as its longest unbreakable piece, together the line; a longtable, breakable across pages."""
    words = " ".join(f"word{i:02d}" for i in range(34))[:300]
    frame = pd.DataFrame({f"column_name_{i}": [words if i == 0 else f"value {i}", f"row two {i}"] for i in range(12)})
    tex = table_tex(TexTable("wide", frame, "A table wider than the page"))
    header, rows, _numeric = cells(frame)
    plan = layout(header, rows)
    assert plan.landscape and plan.long and plan.widths is not None
    assert tex.startswith("\\begin{landscape}") and tex.rstrip().endswith("\\end{landscape}")
    assert "\\begin{longtable}" in tex and "\\begin{table}" not in tex
    fractions = _fractions(tex)
    assert len(fractions) == 12 and sum(fractions) <= 1
    line = TEXT_HEIGHT - 2 * 12 * WRAPPED_SEP
    assert sum(plan.widths) == pytest.approx(line, rel=1e-3)
    pt = SIZES[plan.size]
    for i, width in enumerate(plan.widths):
        longest = max(text_em(p) * pt for c in [header_pieces(header[i]), *(r[i].split() for r in rows)] for p in c)
        assert width >= longest - 1e-6
    assert "column\\_\\allowbreak{}name\\_\\allowbreak{}0" in tex  # names break at _
    # the long cell wraps: its column is far narrower than the cell
    assert plan.widths[0] < text_em(words) * pt / 3


def test_long_paths_wrap_upright_and_the_columns_add_up_to_the_line() -> None:
    frame = pd.DataFrame({"repo": ["owner/repository-name"] * 3,
                          "path": [("databricks/notebooks/legacy/mlflow_galleries/models_basic/python/"
                                    "02b_Sklearn_Train_Predict_Registry.py")] * 3,
                          "reason": [("read in part: cell 36 skipped (syntax error at line 1 of the cell); cell 54 "
                                      "skipped (syntax error at line 1 of the cell)")] * 3})
    tex = table_tex(TexTable("files", frame, "Files"))
    header, rows, _numeric = cells(frame)
    plan = layout(header, rows)
    assert not plan.landscape and not plan.long and plan.widths is not None
    assert tex.startswith("\\begin{table}[htbp]") and "\\begin{tabular}" in tex
    assert sum(plan.widths) == pytest.approx(TEXT_WIDTH - 2 * 3 * WRAPPED_SEP, rel=1e-3)
    assert 0.99 <= sum(_fractions(tex)) <= 1
    assert "legacy/\\allowbreak{}mlflow\\_\\allowbreak{}galleries/" in tex


def test_numbers_keep_one_line_and_long_names_wrap_over_them() -> None:
    """A table of short cells under long names: every cell on one line, the names wrapping instead."""
    names = ["api", "category", "n_call_sites", "n_repos", "n_eligible", "share_repos", "ci_low", "ci_high",
             "first_version"]
    frame = pd.DataFrame([["mlflow.MlflowClient.search_runs", "experiment", 301, 48, 57, 0.8421, 0.7264, 0.9146,
                           "1.28.0"]] * 5, columns=names)
    header, rows, numeric = cells(frame)
    plan = layout(header, rows)
    assert plan.widths is not None and not plan.landscape
    pt = SIZES[plan.size]
    for i, width in enumerate(plan.widths):
        assert width >= max(text_em(r[i]) for r in rows) * pt - 1e-6
    tex = table_tex(TexTable("api", frame, "API"))
    assert "n\\_\\allowbreak{}call\\_\\allowbreak{}sites" in tex
    assert tex.count("\\raggedleft") == sum(numeric)


def test_many_rows_or_many_wrapped_lines_make_a_longtable() -> None:
    long = table_tex(TexTable("l", pd.DataFrame({"repo": [f"r{i}" for i in range(40)]}), "Long"))
    assert "\\begin{longtable}" in long and "\\endhead" in long and "(continued)" in long
    tall = pd.DataFrame({"a": ["x " * 400] * 20, "b": ["y " * 400] * 20})
    header, rows, _numeric = cells(tall)
    plan = layout(header, rows)
    assert len(rows) < 35 and plan.long and not plan.landscape
    assert math.isclose(sum(plan.widths or ()), TEXT_WIDTH - 2 * 2 * WRAPPED_SEP, rel_tol=1e-3)
