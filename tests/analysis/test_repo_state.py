"""What the engine and the passes share about a repository: a result survives the cache's JSON, a failure is one row."""

from __future__ import annotations

import math

from analysis.repo_state import RepoResult, RepoTask
from analysis.rows import ProblemRow, Stage, Store, StoredMetric
from analysis.tables import TABLES


def _result() -> RepoResult:
    return RepoResult(
        "o/r",
        problems=[ProblemRow("o/r", "a.py", None, Stage.PARSE, "syntax error"),
                  ProblemRow("o/r", "b.py", 7, Stage.READ, "too large")],
        stores=[Store("o/r", "mlruns", "file", "", "", 1, 2, 300, 4, 0, 0, 1, 0, 0, 5, 60)],
        stored_metrics=[StoredMetric("o/r", "mlruns", "r1", "loss", 3, 0.25, 2, 0, 2, 0, 1, True, 0, 1700000000000, 0),
                        StoredMetric("o/r", "mlruns", "r1", "acc", 1, math.inf, 0, 0, 0, 0, 1, False, 0, 5, 0)],
        seeds=True, n_parsed=3, n_cached=1, new_cache={"a.py": "{}"})


def test_a_result_comes_back_from_its_json_as_it_was() -> None:
    result = _result()
    back = RepoResult.from_json(result.to_json())
    for name in TABLES:
        assert getattr(back, name) == getattr(result, name), name
    assert (back.repo, back.seeds, back.n_parsed, back.n_cached, back.failed) == ("o/r", True, 3, 1, False)
    assert back.problems[0].line is None and back.stored_metrics[0].steps_monotonic is True
    assert back.stored_metrics[1].latest_value == math.inf
    assert back.new_cache == {}  # the per-file cache entries are not part of the repository's entry


def test_flat_rows_are_column_to_value() -> None:
    (first, _second) = _result().flat_rows("problems")
    assert (first["repo"], first["path"], first["reason"]) == ("o/r", "a.py", "syntax error")


def test_failure_is_one_problem_row_and_nothing_else() -> None:
    task = RepoTask("o/r", "/corpus/repos/o/r", "abc")
    failed = RepoResult.failure(task, MemoryError("x" * 600))
    assert failed.failed and failed.call_sites == [] and failed.stores == []
    (problem,) = failed.problems
    assert (problem.repo, problem.path, problem.line, problem.stage) == ("o/r", "", None, Stage.ANALYZE)
    assert problem.reason.startswith("repository not analyzed: MemoryError: xxx") and len(problem.reason) == 500
