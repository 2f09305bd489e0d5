"""Tests of analysis/history/run.py: analyze --history end to end on a mined corpus, its tables typed, its cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings, HistoryOptions
from analysis.history_rows import EvolutionRow, HistoryApiUsageRow, HistoryProblemRow, HistoryRow
from analysis.tables import HISTORY, read_table
from miner.fileio import read_csv, write_csv
from miner.ftypes import MANIFEST_COLUMNS, CorpusSpec, MineSettings, MlflowSelection, ReleaseDate, ReleaseDates
from miner.mine import mine
from miner.release_dates import write_release_dates
from tests.analysis.history.histories import CONDA, LOG, METRIC, MLPROJECT, PLAIN, make_history

SHARED = [LOG + f"# shared {i}\n" for i in range(4)]


def _corpus(tmp: Path) -> tuple[Path, dict[str, list[str]]]:
    shas = {
        "adopter": make_history(tmp / "src" / "adopter", [
            {"train.py": PLAIN}, {"train.py": SHARED[0]}, {"train.py": SHARED[1], "MLproject": MLPROJECT,
                                                             "conda.yaml": CONDA},
            {"train.py": SHARED[2]}, {"eval.py": METRIC}]),
        "quitter": make_history(tmp / "src" / "quitter", [
            {"a.py": SHARED[0]}, {"a.py": SHARED[1]}, {"a.py": SHARED[2]}, {"a.py": SHARED[3]}, {"a.py": PLAIN}]),
    }
    corpus = tmp / "corpus"
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=corpus, from_local=tmp / "src", skip_mlflow=True, history=True))
    return corpus, shas


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, list[str]], object]:
    tmp = tmp_path_factory.mktemp("history")
    corpus, shas = _corpus(tmp)
    out = tmp / "out"
    summary = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False, history=HistoryOptions()))
    return corpus, out, shas, summary


def test_the_tables_hold_every_commit_and_read_back_typed(ran: tuple[Path, Path, dict[str, list[str]], object]) -> None:
    _corpus_dir, out, shas, summary = ran
    history = read_table(out / "history.csv", HistoryRow)
    assert [(r.repo, r.commit) for r in history] == [(repo, sha) for repo in ("adopter", "quitter") for sha in shas[repo]]
    assert [r.n_call_sites for r in history] == [0, 1, 1, 1, 2, 1, 1, 1, 1, 0]
    assert [r.mlflow_requirement for r in history][:5] == ["", "", "mlflow==2.9.2", "mlflow==2.9.2", "mlflow==2.9.2"]
    usage = read_table(out / "history_api_usage.csv", HistoryApiUsageRow)
    assert {(u.api, u.kind, u.n_call_sites) for u in usage if u.commit == shas["adopter"][-1]} == {
        ("mlflow.log_param", "code", 1), ("mlflow.log_metric", "code", 1)}
    assert read_table(out / "history_problems.csv", HistoryProblemRow) == []
    evolution = {e.repo: e for e in read_table(out / "evolution.csv", EvolutionRow)}
    adopter, quitter = evolution["adopter"], evolution["quitter"]
    assert (adopter.adopted_commit, adopter.last_use_commit, adopter.head_uses_mlflow) == (
        shas["adopter"][1], shas["adopter"][-1], True)
    assert (quitter.adopted_commit, quitter.last_use_commit, quitter.head_uses_mlflow) == (
        shas["quitter"][0], shas["quitter"][3], False)
    assert (adopter.n_code_commits, adopter.n_cochange_commits, adopter.cochange_share) == (5, 1, 0.2)
    assert (adopter.apis_added, quitter.apis_removed) == ("mlflow.log_metric", "mlflow.log_param")
    # the corpus records no release dates (mined with --no-mlflow): the shipped snapshot's; 2.9.2 was not out yet
    assert (adopter.mlflow_requirement_head, adopter.n_pinned_commits, adopter.n_pin_dated_commits,
            adopter.n_pin_behind_commits, adopter.newest_release_head) == ("mlflow==2.9.2", 3, 3, 0, "2.1.1")
    assert adopter.release_dates.startswith("snapshot (PyPI's first upload of each release, fetched ")
    # each distinct blob parsed once, across repositories and HEAD: of the five code blobs that use MLflow
    # (SHARED[0..3], METRIC), HEAD's analysis parsed SHARED[2] and METRIC, the adopter's history SHARED[0] and
    # SHARED[1], and the quitter's only SHARED[3]: the others were in the cache
    assert summary.history.n_commits == 10  # type: ignore[attr-defined]
    assert summary.history.n_parsed == 3  # type: ignore[attr-defined]
    provenance = json.loads((out / "history.csv.provenance.json").read_text())
    assert provenance["every"] == "commit" and set(provenance["commits"]) == {"adopter", "quitter"}
    assert all((out / t.file).is_file() for t in HISTORY.values())


def test_a_rerun_reads_every_history_from_the_cache(ran: tuple[Path, Path, dict[str, list[str]], object]) -> None:
    corpus, out, _shas, _summary = ran
    before = (out / "history.csv").read_bytes()
    written = {t.file: (out / t.file).stat().st_mtime_ns for t in HISTORY.values()}
    provenance = (out / "history.csv.provenance.json").read_text()
    again = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False, history=HistoryOptions()))
    assert again.history is not None
    assert (again.history.n_cached_repos, again.history.n_parsed) == (2, 0)
    assert (out / "history.csv").read_bytes() == before
    # written from exactly these results already: kept as they are (not loaded, not written again)
    assert {t.file: (out / t.file).stat().st_mtime_ns for t in HISTORY.values()} == written
    assert (out / "history.csv.provenance.json").read_text() == provenance
    assert (again.history.n_repos, again.history.n_commits, again.history.n_blobs, again.history.n_problems) == (
        _summary.history.n_repos, 10, _summary.history.n_blobs, 0)  # type: ignore[attr-defined]
    # other options: walked again, but every file's findings come from the cache (no parse)
    monthly = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False,
                                      history=HistoryOptions(every="month")))
    assert monthly.history is not None and (monthly.history.n_cached_repos, monthly.history.n_parsed) == (0, 0)
    assert [r.repo for r in read_table(out / "history.csv", HistoryRow)] == ["adopter", "quitter"]


def test_a_repository_without_history_is_a_problem_row(tmp_path: Path) -> None:
    make_history(tmp_path / "src" / "r", [{"t.py": LOG}])
    corpus = tmp_path / "corpus"
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=corpus, from_local=tmp_path / "src", skip_mlflow=True))
    rows = read_csv(corpus / "manifest.csv")
    for row in rows:  # as if fetched from GitHub without --history
        row["clone_url"] = "https://github.com/o/r.git"
    write_csv(corpus / "manifest.csv", MANIFEST_COLUMNS, rows)
    out = tmp_path / "out"
    summary = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False, history=HistoryOptions()))
    assert summary.history is not None and summary.history.n_repos == 0 and not summary.history.failed
    problems = read_table(out / "history_problems.csv", HistoryProblemRow)
    assert [(p.repo, p.stage) for p in problems] == [("r", "history")] and "mine it with --history" in problems[0].reason
    assert read_table(out / "evolution.csv", EvolutionRow) == []


def test_the_report_is_drawn_after_the_history_with_its_evolution_section(tmp_path: Path) -> None:
    corpus, shas = _corpus(tmp_path)
    out = tmp_path / "out"
    summary = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, history=HistoryOptions()))
    assert "report" in summary.seconds
    md = (out / "report" / "report.md").read_text()
    evolution = md[md.index("## 5. Evolution"):md.index("## 6. Methodology")]
    # the adopter adopts at its second commit, the quitter at its first and abandons MLflow at its last
    assert "2 of 2 repositories with a history (100%, 34-100%) call MLflow at some commit" in evolution
    assert "1 of 2 repositories calling MLflow at some commit (50%, 9-91%) no longer call MLflow at HEAD" in evolution
    assert f"| quitter | {read_table(out / 'evolution.csv', EvolutionRow)[1].adopted_at} |" in evolution
    assert (out / "report" / "fig_adoption.png").is_file() and len(shas["quitter"]) == 5


DEPRECATED = "from mlflow import MlflowClient\nclient = MlflowClient()\nclient.download_artifacts('r', 'p')\n"


def test_pins_and_deprecated_apis_against_the_corpus_release_dates(tmp_path: Path) -> None:
    # 2.0.1 deprecated MlflowClient.download_artifacts (the shipped catalog); the corpus dates three releases
    shas = make_history(tmp_path / "src" / "pinner", [
        {"train.py": DEPRECATED, "requirements.txt": "mlflow==2.0.1\n"},  # 2023-01-02
        {"requirements.txt": "mlflow==2.1.1\n"},  # 2023-02-01
        {"train.py": LOG}], days_apart=30)  # 2023-03-03
    corpus = tmp_path / "corpus"
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=corpus, from_local=tmp_path / "src", skip_mlflow=True, history=True))
    dates = (ReleaseDate("2.0.1", "2022-12-01T00:00:00Z", 2, False), ReleaseDate("2.1.1", "2023-01-15T00:00:00Z", 2,
             False), ReleaseDate("2.2.0", "2023-02-20T00:00:00Z", 2, False))
    write_release_dates(corpus / "mlflow" / "release_dates.csv", ReleaseDates(dates, "test", "2024-01-01T00:00:00Z"))
    out = tmp_path / "out"
    analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False, history=HistoryOptions()))
    history = read_table(out / "history.csv", HistoryRow)
    assert [r.mlflow_requirement for r in history] == ["mlflow==2.0.1", "mlflow==2.1.1", "mlflow==2.1.1"]
    [row] = read_table(out / "evolution.csv", EvolutionRow)
    assert row.deprecated_apis == "mlflow.MlflowClient.download_artifacts@2.0.1"
    # called at the first two commits, both after 2.0.1 was published: last 62 days after it
    assert (row.n_deprecated_after_release, row.deprecated_use, row.deprecated_use_days) == (
        2, "mlflow.MlflowClient.download_artifacts@2.0.1:62d", 62)
    # the third commit pins 2.1.1 (2023-01-15) when 2.2.0 (2023-02-20) is out: one release and 36 days behind
    assert (row.n_pinned_commits, row.n_pin_dated_commits, row.n_pin_behind_commits) == (3, 3, 1)
    assert (row.pinned_head, row.newest_release_head, row.releases_behind_head, row.days_behind_head) == (
        "2.1.1", "2.2.0", 1, 36)
    assert (row.max_releases_behind, row.max_days_behind) == (1, 36)
    assert row.release_dates == "corpus (PyPI's first upload of each release, fetched 2024-01-01)"
    assert shas and row.note == ""
    # the same histories (from the cache) dated against other release dates: the tables are written again
    later = (*dates, ReleaseDate("2.3.0", "2023-03-01T00:00:00Z", 2, False))
    write_release_dates(corpus / "mlflow" / "release_dates.csv", ReleaseDates(later, "test", "2024-01-01T00:00:00Z"))
    again = analyze(AnalyzeSettings(corpus_dir=corpus, out_dir=out, draw_report=False, history=HistoryOptions()))
    assert again.history is not None and again.history.n_cached_repos == 1
    [row] = read_table(out / "evolution.csv", EvolutionRow)
    assert (row.newest_release_head, row.releases_behind_head) == ("2.3.0", 2)


def test_longest_histories_go_first(tmp_path: Path) -> None:
    from analysis.history.commits import HistoryTask
    from analysis.history.run import longest_first
    short = make_history(tmp_path / "s", [{"a.py": LOG}])
    long = make_history(tmp_path / "l", [{"a.py": LOG}, {"a.py": METRIC}, {"b.py": PLAIN}])
    tasks = [HistoryTask("o/short", str(tmp_path / "s" / ".git"), short[-1]),
             HistoryTask("o/gone", str(tmp_path / "none"), "0" * 40),
             HistoryTask("o/long", str(tmp_path / "l" / ".git"), long[-1])]
    assert [t.repo for t in longest_first(tasks)] == ["o/long", "o/short", "o/gone"]
