"""The methodology: the selection funnel, what was read and by what, the teaching rule."""

from __future__ import annotations

import re
from pathlib import Path


def test_methodology_funnel_and_identity(report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    assert re.search(r"\| source local:\S+/src \| 4 \|  \| git repositories under \S+/src \|", md)
    assert "| candidates, merged by repository id | 4 |  | 0 found by more than one source" in md
    rules = re.findall(r"\| rule (\w+) \| 4 \| 0 \|", md)
    assert rules == ["forks", "archived", "stars", "pushed_after", "size", "empty", "language", "tutorials"]
    assert "| rule tutorials | 4 | 0 | exclude_tutorials = false; 1 course work kept and flagged (course-word: 1) |" in md
    assert "| mined | 4 | 0 | none failed |" in md
    assert "| one per duplicate family | 3 | 1 | copies in 1 families (same root commit or same code files) |" in md
    assert "| analyzed | 3 | 0 |" in md
    assert re.search(r"\| report by \| mlflow-census \S+, commit [0-9a-f]{40} \|", md)


def test_teaching_rule_is_the_miners(report_dir: Path) -> None:
    """The threats' table lists what miner.tutorials finds among the population, with its rule and evidence."""
    md = (report_dir / "report.md").read_text()
    table = md[md.index('<a id="t-teaching"></a>'):]
    assert "| repo | rule | evidence |" in table
    assert "| carol/mlflow-tutorial | course-word | name: tutorial |" in table
    assert "alice/project" not in table.split("\n\n<a id=")[0]
