"""The table builders the sections share: shares with Wilson intervals, practice rows of one population,
error bars; a finding's sentence with its links."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.facts import Sentence, Share
from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing, practice_rows, share_rows, shares
from analysis.report.writer import Doc
from analysis.statistics.shares import wilson


def test_share_rows_carry_the_wilson_interval_or_none() -> None:
    low, high = wilson(1, 4)
    rows = share_rows([("m", 1, 4, "d"), ("empty", 0, 0, "d")]).to_dict("records")
    assert rows[0] == {"measure": "m", "n": 1, "of": 4, "share": 0.25, "ci_low": round(low, 4),
                       "ci_high": round(high, 4), "definition": "d"}
    assert pd.isna(rows[1]["share"]) and pd.isna(rows[1]["ci_low"])  # 0 of 0: no share, drawn blank
    assert share_rows([("m", 1, 4, "d")], interval=False).iloc[0][["ci_low", "ci_high"]].tolist() == ["", ""]


def test_practice_rows_are_those_of_the_population_asked() -> None:
    practices = pd.DataFrame({"population": ["all", "one-per-family", "one-per-family"],
                              "practice": ["seeds set", "seeds set", "other"], "n_repos": ["4", "3", "1"],
                              "n_eligible": ["9", "8", "8"], "share": ["0.44", "0.375", "0.125"],
                              "ci_low": ["0.1", "0.1", "0.0"], "ci_high": ["0.8", "0.7", "0.5"], "definition": ["", "", ""]})
    rows = practice_rows(practices, ["seeds set"], "one-per-family")
    assert rows["n_repos"].tolist() == ["3"] and "definition" not in rows
    assert practice_rows(pd.DataFrame(), ["seeds set"], "all").empty


def test_shares_give_the_distances_to_the_bounds() -> None:
    share, errors = shares(pd.DataFrame({"s": ["0.5"], "ci_low": ["0.2"], "ci_high": ["0.9"]}), "s")
    assert share == [0.5] and errors is not None
    assert [round(v, 6) for v in errors[0]] == [0.3] and [round(v, 6) for v in errors[1]] == [0.4]
    assert shares(pd.DataFrame({"s": [0.5]}), "s") == ([0.5], None)


def test_a_sentence_links_to_its_tables_and_a_not_measured_one_is_grey(tmp_path: Path) -> None:
    drawing = Drawing(ReportInputs(tmp_path), Doc(lambda source: f"../{source}"))
    fact = Share("Repos", 1, 2, "repositories", "x.csv", "t-x", "d")
    sentence = Sentence("{Repos} do it.", (fact,))
    assert drawing.sentence_md(sentence) == "1 of 2 repositories (50%, 9-91%) do it. ([table](#t-x) from [x.csv](../x.csv))"
    assert drawing.sentence_html(Sentence("Not measured.", ())) == "<span class='not-measured'>Not measured.</span>"
