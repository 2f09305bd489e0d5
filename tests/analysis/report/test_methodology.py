"""The methodology: the selection funnel, what was read and by what, the teaching rule."""

from __future__ import annotations

import re
from pathlib import Path


def test_methodology_funnel_and_identity(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert "| collected | 4 |  | rows of manifest.csv (source local: git repositories under" in md
    assert "| mined | 4 | 0 | none failed |" in md
    assert "| one per duplicate family | 3 | 1 | copies in 1 families (same root commit or same code files) |" in md
    assert "| analyzed | 3 | 0 |" in md
    assert re.search(r"\| report by \| mlflow-census \S+, commit [0-9a-f]{40} \|", md)


def test_teaching_rule() -> None:
    from analysis.report.methodology import words

    assert words("JedhaBootcamp/01-Package_your_algorithm") == ["jedha", "bootcamp", "package", "your", "algorithm"]
    assert words("DataTalksClub/mlops-zoomcamp MLflowTutorial") == ["data", "talks", "club", "mlops", "zoomcamp",
                                                                     "m", "lflow", "tutorial"]
