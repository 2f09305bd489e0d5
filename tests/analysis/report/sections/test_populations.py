"""The populations section: the populations' sizes and every practice's share in each, from the tables."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.populations import cell, population_sizes, populations, practice_shares
from analysis.report.writer import Doc
from analysis.tables import STATISTICS, TABLES, Table


def _table(results: Path, table: Table, rows: list[dict[str, object]]) -> None:
    with (results / table.file).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=table.columns)
        writer.writeheader()
        writer.writerows(rows)


def _practice(population: str, practice: str, k: int, n: int) -> dict[str, object]:
    return {"population": population, "practice": practice, "n_repos": k, "n_eligible": n, "share": k / n if n else 0,
            "ci_low": 0, "ci_high": 1, "definition": "d"}


def test_cells_read_k_of_n_with_the_share() -> None:
    assert (cell(1, 3), cell(0, 4), cell(4, 4), cell(1, 200), cell(0, 0)) == ("1/3 (33%)", "0/4 (0%)", "4/4 (100%)",
                                                                              "1/200 (0.5%)", "0/0")


def test_sizes_count_one_repository_per_family() -> None:
    kinds = pd.DataFrame([("o/course", "teaching", "course-word", "name: course"),
                          ("o/plugin", "library", "mlflow-plugin", "setup.py:9 mlflow.tracking_store"),
                          ("o/app", "application", "otherwise", ""), ("o/app-copy", "application", "otherwise", ""),
                          ("o/tool", "library", "published-package", "setup.py:3 ...; README.md:4 ...")],
                         columns=["repo", "population", "rule", "evidence"])
    sizes = population_sizes(kinds, ["o/app", "o/course", "o/plugin", "o/tool"])
    assert sizes.to_dict("records") == [
        {"population": "teaching", "repositories": "1/4 (25%)", "rules": "course-word 1", "which": "o/course"},
        {"population": "library", "repositories": "2/4 (50%)", "rules": "mlflow-plugin 1, published-package 1",
         "which": "o/plugin, o/tool"},
        {"population": "application", "repositories": "1/4 (25%)", "rules": "otherwise 1", "which": "o/app"}]


def test_every_practice_of_the_reports_population_per_population() -> None:
    rows = [_practice(p, name, k, n) for p, name, k, n in (
        ("one-per-family", "logs params", 3, 4), ("one-per-family", "uses steps", 1, 2), ("all", "logs params", 4, 5),
        ("teaching", "logs params", 1, 1), ("teaching", "uses steps", 0, 0), ("library", "logs params", 0, 1),
        ("library", "uses steps", 0, 0), ("application", "logs params", 2, 2), ("application", "uses steps", 1, 2),
        ("without-teaching", "logs params", 2, 3), ("without-teaching", "uses steps", 1, 2))]
    table = practice_shares(pd.DataFrame(rows), "one-per-family")
    assert table.to_dict("records") == [
        {"practice": "logs params", "one-per-family": "3/4 (75%)", "without-teaching": "2/3 (67%)",
         "teaching": "1/1 (100%)", "library": "0/1 (0%)", "application": "2/2 (100%)"},
        {"practice": "uses steps", "one-per-family": "1/2 (50%)", "without-teaching": "1/2 (50%)", "teaching": "0/0",
         "library": "0/0", "application": "1/2 (50%)"}]


def test_the_section_draws_both_tables(tmp_path: Path) -> None:
    results = tmp_path / "out"
    results.mkdir()
    repro = {"has_mlproject": "false", "env_spec": "none", "pinned_share": "0", "n_deps": "0", "python_pinned": "false",
             "mlflow_pinned": "false", "docker_pinned_by_digest": "", "seeds_set": "false", "data_logged": "false",
             "params_logged": "false", "readiness": "0"}
    _table(results, TABLES["reproducibility"], [{**repro, "repo": r} for r in ("a/x", "b/y")])
    _table(results, TABLES["populations"], [{"repo": "a/x", "population": "teaching", "rule": "course-word",
                                             "evidence": "name: lab"},
                                            {"repo": "b/y", "population": "application", "rule": "otherwise",
                                             "evidence": ""}])
    _table(results, STATISTICS["practices"], [_practice(p, "logs params", k, n) for p, k, n in (
        ("one-per-family", 1, 2), ("all", 1, 2), ("teaching", 1, 1), ("library", 0, 0), ("application", 0, 1),
        ("without-teaching", 0, 1))])
    report = Drawing(ReportInputs(results), Doc(lambda source: source))
    populations(report)
    md = "\n".join(report.doc.md)
    assert '<a id="sec-populations"></a>' in md
    assert "| teaching | 1/2 (50%) | course-word 1 | a/x |" in md
    assert "| library | 0/2 | " not in md and "| library | 0/2 (0%) |  |  |" in md
    assert "| logs params | 1/2 (50%) | 0/1 (0%) | 1/1 (100%) | 0/0 | 0/1 (0%) |" in md  # with and without course work
