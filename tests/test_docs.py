"""The docs: every output file of mine and analyze with every column, the README's tour of them, and links that resolve."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings, HistoryOptions
from tests.analysis.engine.test_driver import _corpus

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
OUTPUTS = (ROOT / "docs" / "outputs.md").read_text()
MINING = (ROOT / "docs" / "mining.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# corpus tables documented by a table of their own, one column a line: from its opening words to the next table's
OWN_TABLES = {"manifest.csv": ("`manifest.csv`, one row per repository", "`lock.csv`:"),
              "selection.csv": ("`selection.csv`: one row per candidate", "`problems.csv`:")}


def _documented(doc: str, name: str) -> str:
    if name in OWN_TABLES:
        start = doc.index(OWN_TABLES[name][0])
        return doc[start:doc.index(OWN_TABLES[name][1], start)]
    rows = [line for line in doc.splitlines() if line.startswith(f"| `{name}`")]
    if rows:
        return rows[0]
    mentions = [line for line in doc.splitlines() if f"`{name}`" in line]
    return "\n".join(mentions)


def test_every_output_and_column_is_documented(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    # the tables only: this test reads the CSVs at the top of the results, not report/; and the history's
    analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "out", draw_report=False, history=HistoryOptions()))
    assert (tmp_path / "out" / "evolution.csv").is_file()
    results, mined = sorted((tmp_path / "out").glob("*.csv")), sorted(corpus.glob("*.csv"))
    assert len(results) + len(mined) >= 20
    for page, doc, paths in (("docs/outputs.md", OUTPUTS, results), ("docs/mining.md", MINING, mined)):
        for path in paths:
            with path.open() as fh:
                columns = next(csv.reader(fh))
            text = _documented(doc, path.name)
            assert text, f"{path.name} is not in {page}"
            missing = [c for c in columns if c not in text]
            assert not missing, f"{path.name}: columns {missing} are not documented in {page}"
            assert f"`{path.name}`" in README, f"{path.name} is not in the README's tour of the outputs"


def test_every_column_of_rerun_csv_is_documented() -> None:
    """rerun.csv is written by ``rerun``, not ``analyze``: its columns against docs/outputs.md and docs/rerun.md."""
    from analysis.rerun.ftypes import RERUN_COLUMNS

    rerun_doc = (ROOT / "docs" / "rerun.md").read_text()
    table = rerun_doc[rerun_doc.index("`rerun.csv`, one row per target"):rerun_doc.index("`rerun_summary.csv`:")]
    for page, text in (("docs/outputs.md", _documented(OUTPUTS, "rerun.csv")), ("docs/rerun.md", table)):
        missing = [c for c in RERUN_COLUMNS if not re.search(rf"\b{c}\b", text)]
        assert not missing, f"rerun.csv: columns {missing} are not documented in {page}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", page.read_text())  # a '#' in a code block is no heading
    return {_slug(m) for m in re.findall(r"(?m)^#{1,6} (.+)$", text)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"(?ms)^```.*?^```", "", page.read_text())
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    broken = []
    for link in links:
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto:: not relative
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no heading #{anchor}")
    assert not broken, f"{page.name}: {broken}"
