"""Where two measures meet: each pair's 2x2 table and its disagreements, from agreement.csv, and readiness against
the re-runs from a small rerun.csv and reproducibility.csv; "not measured" without a re-run."""

from __future__ import annotations

from pathlib import Path

from analysis.report.inputs import ReportInputs
from analysis.report.sections.agreement import agreement
from analysis.report.sections.drawing import Drawing
from analysis.report.writer import Doc
from analysis.rows import AgreementRow, ReproducibilityRow
from analysis.statistics.agreement import CODE_VERSION, PARAMETERS
from analysis.tables import STATISTICS, TABLES, cells, flat
from miner.fileio import write_csv
from tests.analysis.report.sample import RERUN_COLUMNS

REPOS = {"a/linked": 0.9, "b/plain": 0.2, "c/both": 0.6, "d/low": 0.1, "e/edge": 0.5}
AGREEMENT = [
    AgreementRow(CODE_VERSION, "a/linked", "a/linked", "yes", "no", False, "code only",
                 "code: a valid MLproject; runs: 0 of 3 record a git commit, 3 an entry point"),
    AgreementRow(CODE_VERSION, "b/plain", "b/plain", "no", "yes", False, "runs only", "code: no valid MLproject"),
    AgreementRow(CODE_VERSION, "c/both", "c/both", "yes", "yes", True, "both yes", ""),
    AgreementRow(CODE_VERSION, "gone/away", "gone/away", "yes", "yes", True, "both yes", ""),  # not analyzed
    AgreementRow(PARAMETERS, "a/linked", "MLproject:main:alpha", "yes", "yes", True, "declared and logged",
                 "logged at train.py:3"),
    AgreementRow(PARAMETERS, "a/linked", "MLproject:main:beta", "no", "yes", False, "logged only",
                 "logged at train.py:4, not declared"),
    AgreementRow(PARAMETERS, "c/both", "MLproject:main:gamma", "yes", "unknown", "", "not comparable",
                 "its code logs params under keys not written as literals at t.py:2"),
]
RERUN = [  # (repo, mlproject_path, entry_point, status, failure_class): the other columns of rerun.csv empty
    ("a/linked", "MLproject", "main", "succeeded", ""), ("b/plain", "MLproject", "main", "succeeded", ""),
         ("c/both", "MLproject", "main", "failed", "ModuleNotFoundError"),
         ("d/low", "MLproject", "main", "not-attempted", "docker"), ("e/edge", "MLproject", "main", "succeeded", "")]


def _results(tmp_path: Path, rerun: bool) -> Drawing:
    repro = [ReproducibilityRow(repo=r, has_mlproject=True, env_spec="conda", pinned_share=0.0, n_deps=0,
                                python_pinned=False, mlflow_pinned=False, docker_pinned_by_digest="", seeds_set=False,
                                data_logged=False, params_logged=False, readiness=score) for r, score in REPOS.items()]
    write_csv(tmp_path / "reproducibility.csv", TABLES["reproducibility"].columns, (cells(flat(r)) for r in repro))
    write_csv(tmp_path / "agreement.csv", STATISTICS["agreement"].columns, (cells(flat(r)) for r in AGREEMENT))
    if rerun:
        given = ("repo", "mlproject_path", "entry_point", "status", "failure_class")
        write_csv(tmp_path / "rerun.csv", RERUN_COLUMNS,
                  ({**dict.fromkeys(RERUN_COLUMNS, ""), **dict(zip(given, r))} for r in RERUN))
    return Drawing(ReportInputs(tmp_path, rerun=tmp_path if rerun else None), Doc(lambda source: source))


def test_each_pair_has_its_table_and_its_disagreements(tmp_path: Path) -> None:
    report = _results(tmp_path, rerun=True)
    agreement(report)
    md = "\n".join(report.doc.md)
    assert "## Agreement: where two measures meet" in md
    code = md[md.index("### Runs tied to a code version"):md.index("### Parameters")]
    # over the report's repositories: gone/away has no reproducibility.csv row
    assert "| both yes | yes | yes | 1 | 1 |" in code and "| code only | yes | no | 1 | 1 |" in code
    assert "| runs only | no | yes | 1 | 1 |" in code and "| both no | no | no | 0 | 0 |" in code
    assert "The two agree on 1 of the 3 repositories compared (Cohen's kappa -0.50)." in code
    assert ("| a/linked | yes | no | code only | code: a valid MLproject; runs: 0 of 3 record a git commit, 3 an "
            "entry point |") in code
    assert "| b/plain | no | yes | runs only |" in code and "| c/both | yes | yes |" not in code
    params = md[md.index("### Parameters"):md.index("### Readiness")]
    assert "| declared and logged | yes | yes | 1 | 1 |" in params and "| logged only | no | yes | 1 | 1 |" in params
    assert "| not comparable | yes | unknown | 1 | 1 |" in params and "both no" not in params
    assert "The two agree on 1 of the 2 parameter keys of entry points compared; 1 not comparable." in params
    assert "| a/linked | MLproject:main:beta | no | yes | logged only | logged at train.py:4, not declared |" in params
    assert "MLproject:main:gamma" not in params  # not comparable: not a disagreement
    ready = md[md.index("### Readiness"):]
    # ready (>= 0.5): a/linked re-ran, c/both did not, e/edge re-ran; not ready: b/plain re-ran, d/low did not
    assert "| both yes | yes | yes | 2 | 2 |" in ready and "| both no | no | no | 1 | 1 |" in ready
    assert "| ready only | yes | no | 1 | 1 |" in ready and "| re-ran only | no | yes | 1 | 1 |" in ready
    assert "The two agree on 3 of the 5 repositories compared (Cohen's kappa 0.17)." in ready
    assert "| c/both | yes | no | ready only | readiness 0.60; MLproject:main failed (ModuleNotFoundError) |" in ready
    assert "| b/plain | no | yes | re-ran only | readiness 0.20; MLproject:main succeeded |" in ready
    assert "(computed from [rerun.csv](rerun.csv))" in ready


def test_without_a_re_run_readiness_is_not_measured(tmp_path: Path) -> None:
    report = _results(tmp_path, rerun=False)
    agreement(report)
    md = "\n".join(report.doc.md)
    assert "Readiness against the re-runs: not measured: run `python cli.py rerun`." in md
    assert md.count("The two agree on") == 2


def test_without_agreement_rows_each_pair_says_so(tmp_path: Path) -> None:
    report = Drawing(ReportInputs(tmp_path), Doc(lambda source: source))
    agreement(report)
    md = "\n".join(report.doc.md)
    assert "No repositories to compare." in md and "No parameter keys of entry points to compare." in md
