"""LaTeX export: escaping, macros of facts, sentences written with macros, booktabs tables."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.report.facts import Facts, Number, Share
from analysis.report.latex import TexTable, escape, macros, sentence_tex, table_tex
from tests.analysis.report.sample import read_facts


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


@pytest.mark.slow
def test_latex_tables_figures_and_macros(measured: Path, tmp_path: Path) -> None:
    latex = measured / "report" / "latex"
    tables = sorted((latex / "tables").glob("*.tex"))
    assert {"funnel", "stores", "tracking-practices", "probe", "rerun", "baselines"} <= {t.stem for t in tables}
    for table in tables:
        text = table.read_text()
        envs = re.findall(r"\\(begin|end)\{(\w+)\}", text)
        stack: list[str] = []
        for kind, env in envs:
            if kind == "begin":
                stack.append(env)
            else:
                assert stack.pop() == env, table
        assert not stack and {"tabular", "longtable"} & {e for _k, e in envs}, table
        assert text.index("\\toprule") < text.index("\\midrule") < text.index("\\bottomrule"), table
    assert {p.name for p in (latex / "figures").glob("*.pdf")} == {
        "fig_storage.pdf", "fig_api_popularity.pdf", "fig_practices.pdf", "fig_traceability.pdf", "fig_pinning.pdf",
        "fig_graph.pdf"}
    macros = re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{([^\n]*)\}\n", (latex / "findings.tex").read_text())
    names = [m[0] for m in macros]
    assert len(names) == len(set(names))
    defined = dict(macros)
    assert defined["NReposMLproject"] == "2" and defined["DenReposMLproject"] == "3"
    assert defined["PctReposMLproject"] == "67\\%" and defined["LowReposMLproject"] == "21\\%"
    assert defined["NRerunSeconds"] == "60.0 s"  # one re-run succeeded: its seconds, no median
    for name in read_facts(measured):
        assert f"N{name}" in defined, name
    text = (latex / "findings-text.tex").read_text()
    used = set(re.findall(r"\\([A-Z][A-Za-z]+)\{\}", text)) | set(re.findall(r"\\((?:Pct|Low|High)[A-Za-z]+)", text))
    assert used and used <= set(defined)
    assert not re.search(r"\d", re.sub(r"\\[A-Za-z]+", "", text.split("\\begin{longtable}")[0]))
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        return  # the checks above stand for compiling (.ci/run installs Debian's texlive-latex-recommended)
    shutil.copytree(latex, tmp_path / "latex")
    for _ in range(2):
        proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
                              cwd=tmp_path / "latex", capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "latex" / "report.pdf").stat().st_size > 10_000


