"""The README documents every output file analyze and mine write, with every column they have."""

from __future__ import annotations

import csv
from pathlib import Path

from analysis.analyze import analyze
from analysis.ftypes import AnalyzeSettings
from tests.analysis.test_analyze import _corpus

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _documented(name: str) -> str:
    if name == "api_catalog.csv":  # its table row says "see above": the columns are in the catalog section
        return README[README.index("**API catalog**"):README.index("**Files.**")]
    rows = [line for line in README.splitlines() if line.startswith(f"| `{name}`")]
    if rows:
        return rows[0]
    mentions = [line for line in README.splitlines() if f"`{name}`" in line]
    return "\n".join(mentions)


def test_every_output_and_column_is_documented(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=tmp_path / "out"))
    outputs = sorted((tmp_path / "out").glob("*.csv")) + sorted(corpus.glob("*.csv"))
    assert len(outputs) >= 20
    for path in outputs:
        with path.open() as fh:
            columns = next(csv.reader(fh))
        text = _documented(path.name)
        if path.name == "manifest.csv":
            text = README[README.index("`manifest.csv`, one row per repository"):README.index("`lock.csv`:")]
        assert text, f"{path.name} is not in the README"
        missing = [c for c in columns if c not in text]
        assert not missing, f"{path.name}: columns {missing} are not documented"
