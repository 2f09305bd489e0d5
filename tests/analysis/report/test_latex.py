"""LaTeX export: escaping, macros of facts, sentences written with macros, booktabs tables."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.report.facts import Facts, Number, Share
from analysis.report.latex import TexTable, escape, macros, sentence_tex, table_tex


@pytest.mark.parametrize(("text", "tex"), [
    pytest.param("50% of a_b & c", r"50\% of a\_b \& c", id="specials"),
    pytest.param("{x} #1 $y ~ ^", r"\{x\} \#1 \$y \textasciitilde{} \textasciicircum{}", id="braces"),
    pytest.param("a\\b", r"a\textbackslash{}b", id="backslash"),
    pytest.param("é → ok", "é ? ok", id="beyond-latin-1"),
])
def test_escape(text: str, tex: str) -> None:
    assert escape(text) == tex


def test_macros_of_a_share_and_a_number() -> None:
    share = Share("ReposMLproject", 41, 57, "repositories", "practices.csv", "t", "d")
    assert macros(share) == {"NReposMLproject": "41", "DenReposMLproject": "57", "PctReposMLproject": r"72\%",
                             "LowReposMLproject": r"59\%", "HighReposMLproject": r"82\%",
                             "TxtReposMLproject": r"41 of 57 repositories (72\%, 59-82\%)"}
    assert macros(Number("StoreBytes", 6986.08, "B", "s.csv", "t", "d")) == {"NStoreBytes": "6,986 B",
                                                                              "TxtStoreBytes": "6,986 B"}
    assert macros(Share("Sites", 1234, 5000, "sites", "s", "t", "d", interval=False))["NSites"] == "1{,}234"


def test_sentence_is_written_with_macros() -> None:
    facts = Facts()
    facts.add(Share("PinAll", 9, 51, "repositories", "practices.csv", "t", "d"))
    facts.add(Number("Median", 0.65, "", "r.csv", "t", "d", digits=2))
    sentence = facts.sentence("{PinAll} pin every one (`==`); of {PinAll:of}, {PinAll:n} ({PinAll:pct}); 100% {Median}")
    assert sentence is not None
    assert sentence_tex(sentence) == (
        r"\NPinAll{} of \DenPinAll{} repositories (\PctPinAll, \LowPinAll--\HighPinAll) pin every one "
        r"(\texttt{==}); of \DenPinAll{}, \NPinAll{} (\PctPinAll, \LowPinAll--\HighPinAll); 100\% \NMedian{}")


def test_fact_names_are_letters() -> None:
    with pytest.raises(ValueError, match="letters only"):
        Facts().add(Number("N2", 1, "", "s", "t", "d"))


def test_booktabs_table_and_longtable() -> None:
    short = table_tex(TexTable("t", pd.DataFrame({"a_b": ["x%", "y"], "n": [1, 2]}), "A & B"))
    assert short.startswith("\\begin{table}") and "\\caption{A \\& B}" in short and "\\label{tab:t}" in short
    assert "a\\_b" in short and "x\\%" in short
    assert short.index("\\toprule") < short.index("\\midrule") < short.index("\\bottomrule")
    long = table_tex(TexTable("l", pd.DataFrame({"repo": [f"r{i}" for i in range(40)]}), "Long"))
    assert "\\begin{longtable}" in long and "\\end{longtable}" in long and "\\begin{table}" not in long
