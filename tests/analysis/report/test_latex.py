"""LaTeX export: escaping, macros of facts, sentences written with macros, booktabs tables."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.report.bibliography import read_baselines
from analysis.report.facts import Facts, Finding, Number, Share
from analysis.report.figures import pyplot
from analysis.report.latex import (
    Part,
    TexTable,
    escape,
    findings_text,
    macros,
    outline,
    sentence_tex,
    table_tex,
    write_latex,
)
from analysis.report.writer import Doc
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
        "fig_graph.pdf", "fig_adoption.pdf", "fig_api_over_time.pdf", "fig_pins_over_time.pdf"}
    assert {"evolution-adoption", "evolution-api", "evolution-pins", "evolution-cochange"} <= {t.stem for t in tables}
    macros = re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{([^\n]*)\}\n", (latex / "findings.tex").read_text())
    names = [m[0] for m in macros]
    assert len(names) == len(set(names))
    defined = dict(macros)
    assert defined["NReposMLproject"] == "2" and defined["DenReposMLproject"] == "3"
    assert defined["PctReposMLproject"] == "67\\%" and defined["LowReposMLproject"] == "21\\%"
    assert defined["NRerunSeconds"] == "60.0 s"  # one re-run succeeded: its seconds, no median
    assert defined["NReposAdopted"] == defined["DenReposAdopted"] == "3"  # the Evolution section's facts too
    for name in read_facts(measured):
        assert f"N{name}" in defined, name
    text = (latex / "findings-text.tex").read_text()
    used = set(re.findall(r"\\([A-Z][A-Za-z]+)\{\}", text)) | set(re.findall(r"\\((?:Pct|Low|High)[A-Za-z]+)", text))
    assert used and used <= set(defined)
    prose = re.sub(r"\\ref\{[^}]*\}", "", text.split("\\begin{longtable}")[0])
    assert not re.search(r"\d", re.sub(r"\\[A-Za-z]+", "", prose))


def _wide_frame() -> pd.DataFrame:
    """Twelve columns, a cell of 300 characters and a path: wider than the page."""
    words = " ".join(f"word{i:02d}" for i in range(34))[:300]
    return pd.DataFrame({f"column_name_{i}": [words if i == 0 else f"value {i}",
                                              "a/very/long/path/to/some_file_name_here.py" if i == 1 else f"{i}"]
                         for i in range(12)})


def _small_export(out: Path) -> Path:
    """write_latex of a wide table, a long table, a float, the baselines and a figure, outlined as the report is."""
    doc = Doc(lambda source: source, latex=True)
    doc.heading("1. Wide", anchor="sec-1-wide")
    doc.table(_wide_frame(), "wide.csv", "A table wider than the page", anchor="t-wide")
    doc.table(pd.DataFrame({"repo": [f"owner/repository_{i}" for i in range(40)], "n": range(40)}), "long.csv",
              "A long table", anchor="t-long")
    fig = pyplot().figure(figsize=(3, 2))
    fig.gca().plot([0, 1], [0, 1])
    doc.figure("fig_line.png", fig, "line.csv", "A line")
    doc.heading("2. Short", anchor="sec-2-short")
    doc.table(pd.DataFrame({"practice": ["logs params"], "n": [39]}), "p.csv", "Stores", anchor="t-stores")
    doc.heading("7. Published baselines", anchor="sec-7")
    doc.table(read_baselines(), "analysis/data/baselines.csv", "Published baselines", anchor="t-baselines")
    doc.finish()
    facts = Facts()
    facts.add(Share("ReposStore", 6, 57, "repositories", "stores.csv", "t-stores", "d"))
    finding = Finding("storage", "Storage", (facts.sentence("{ReposStore} commit a store."),))  # type: ignore[arg-type]
    write_latex(out, doc.tables, doc.pdfs, facts.values(), [finding], [], outline_md=doc.md)
    return out


def test_the_outline_is_read_from_the_report_as_doc_writes_it() -> None:
    doc = Doc(lambda source: source, latex=True)
    doc.heading("1. Storage", anchor="sec-1")
    doc.para("text")
    doc.table(pd.DataFrame({"a": [1]}), "a.csv", "Cap", anchor="t-a")
    doc.heading("Sub", 3, anchor="sec-sub")
    fig = pyplot().figure(figsize=(1, 1))
    doc.figure("fig_x.png", fig, "x.csv", "X")
    doc.finish()
    assert outline(doc.md) == [Part("heading", "1. Storage", 2), Part("table", "a"), Part("heading", "Sub", 3),
                               Part("figure", "fig_x.pdf")]


def test_report_tex_follows_the_outline_refers_to_every_table_and_cites_every_study(tmp_path: Path) -> None:
    out = _small_export(tmp_path / "latex")
    report = (out / "report.tex").read_text()
    tables = {p.stem: p.read_text() for p in (out / "tables").glob("*.tex")}
    assert set(tables) == {"wide", "long", "stores", "baselines"}
    assert "\\begin{landscape}" in tables["wide"] and "\\begin{longtable}" in tables["wide"]
    order = [report.index(s) for s in ("\\section*{1. Wide}", "\\input{tables/wide}", "\\input{tables/long}",
                                       "figures/fig_line.pdf", "\\section*{2. Short}", "\\input{tables/stores}",
                                       "\\section*{7. Published baselines}", "\\cite{", "\\input{tables/baselines}",
                                       "\\bibliography{references}")]
    assert order == sorted(order)
    # each table and figure is referred to before it, in its section; a longtable comes after the floats before it
    for name in tables:
        assert report.index(f"\\ref{{tab:{name}}}") < report.index(f"\\input{{tables/{name}}}")
    assert report.index("\\ref{fig:line}") < report.index("\\label{fig:line}")
    assert "\\FloatBarrier\n\\input{tables/long}" in report
    labels = set(re.findall(r"\\label\{([^}]+)\}", report + "".join(tables.values())))
    text = (out / "findings-text.tex").read_text()
    assert "commit a store (Table~\\ref{tab:stores})." in text
    assert set(re.findall(r"\\ref\{([^}]+)\}", report + text)) <= labels | {"tab:kpis"}
    bib = (out / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = {k for group in re.findall(r"\\cite\{([^}]+)\}", report) for k in group.split(",")}
    assert cited == keys and len(keys) == read_baselines()["study"].nunique()
    assert "\\bibliographystyle{plain}" in report


def test_findings_refer_only_to_tables_exported() -> None:
    facts = Facts()
    facts.add(Share("ReposStore", 6, 57, "repositories", "stores.csv", "t-stores", "d"))
    finding = Finding("storage", "Storage", (facts.sentence("{ReposStore} commit a store"),))  # type: ignore[arg-type]
    assert "\\ref" not in findings_text([finding], [], [], ["funnel"])
    assert "commit a store (Table~\\ref{tab:stores})" in findings_text([finding], [], [], ["stores"])


def _compile(directory: Path) -> tuple[str, str]:
    """pdflatex, bibtex, pdflatex twice in ``directory``: (report.log, bibtex's output); each step must succeed."""
    pdflatex, bibtex = shutil.which("pdflatex"), shutil.which("bibtex")
    assert pdflatex and bibtex
    steps = [[pdflatex, "-interaction=nonstopmode", "-halt-on-error", "report.tex"], [bibtex, "report"],
             *[[pdflatex, "-interaction=nonstopmode", "-halt-on-error", "report.tex"]] * 2]
    outputs = []
    for step in steps:
        proc = subprocess.run(step, cwd=directory, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, (step, proc.stdout[-3000:])
        outputs.append(proc.stdout)
    return (directory / "report.log").read_text(errors="replace"), outputs[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdflatex") is None or shutil.which("bibtex") is None,
                    reason="pdflatex and bibtex are not installed (.ci/run installs texlive-latex-base and "
                           "texlive-latex-recommended)")
@pytest.mark.parametrize("source", ["sample-report", "wide-tables"])
def test_report_tex_compiles_within_the_page_with_its_citations(source: str, measured: Path, tmp_path: Path) -> None:
    """The sample corpus's export (its baselines table is wider than the page) and an export of a table of
    twelve columns with a cell of 300 characters, a long table and a figure: no box over the line by more
    than 1 pt, no float too large, every citation and reference resolved."""
    latex = tmp_path / "latex"
    if source == "sample-report":
        shutil.copytree(measured / "report" / "latex", latex)
        baselines = read_baselines()
        assert "\\begin{landscape}" in (latex / "tables" / "baselines.tex").read_text()  # wider than the page
        assert len(baselines.columns) == 9
    else:
        _small_export(latex)
    log, bibtex_out = _compile(latex)
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)]
    assert all(w <= 1.0 for w in overfull), overfull
    assert "Float too large" not in log
    assert not re.search(r"Citation `[^']*' .*undefined", log) and "There were undefined" not in log
    assert not re.search(r"Reference `[^']*' .*undefined", log)
    assert "Warning--I didn't find a database entry" not in bibtex_out
    pages = re.search(r"Output written on report\.pdf \((\d+) pages?", log)
    assert pages and int(pages.group(1)) >= 1 and (latex / "report.pdf").stat().st_size > 10_000
    assert (latex / "report.bbl").read_text().count("\\bibitem") == read_baselines()["study"].nunique()
