"""The FileStore reader: metric lines as MLflow parses them, and what it skips and reports in hand-made trees."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from analysis.stores.discovery import StoreRef, find_stores
from analysis.stores.file_store import parse_metric_lines
from analysis.stores.raw import StoreLimits
from analysis.stores.stored_runs import read_store
from tests.analysis.stores.makers import file_store, paths_of, read_found


@pytest.mark.parametrize(("text", "points", "bad"), [
    pytest.param("10 1.5 2\n", [(10, 1.5, 2)], [], id="three-fields"),
    pytest.param("10 1.5\n", [(10, 1.5, 0)], [], id="legacy-two-fields-step-0"),
    pytest.param("10 1.5 4 ds abc\n", [(10, 1.5, 0)], [], id="five-fields-step-read-as-0-like-mlflow"),
    pytest.param("10 nan 1\n11 -inf 2\n", [(10, math.nan, 1), (11, -math.inf, 2)], [], id="nan-inf"),
    pytest.param("10 1 1\nten 2 2\n12 3 3\n", [(10, 1.0, 1), (12, 3.0, 3)], [2], id="text-line"),
    pytest.param("10 1 1\n\n12 3 3\n", [(10, 1.0, 1), (12, 3.0, 3)], [2], id="blank-line"),
    pytest.param("10  1 1\n", [], [1], id="double-space-is-four-fields"),
    pytest.param("", [], [], id="empty"),
])
def test_metric_lines(text: str, points: list[tuple[int, float, int]], bad: list[int]) -> None:
    got, errors = parse_metric_lines(text)
    assert [(p[0], p[2]) for p in got] == [(p[0], p[2]) for p in points]
    assert [repr(p[1]) for p in got] == [repr(p[1]) for p in points]
    assert [line for line, _ in errors] == bad


def test_malformed_experiment_meta_is_a_problem_and_its_runs_are_counted(tmp_path: Path) -> None:
    file_store(tmp_path, {"a" * 32: {"metrics/m": "1 2 3\n"}}, exp_meta="experiment_id: '1'\nname: [unclosed\n")
    reading = read_found(tmp_path)
    assert reading.runs == () and reading.skipped["runs_in_skipped_experiments"] == 1
    assert [(p.path, "malformed YAML" in p.reason) for p in reading.problems] == [("mlruns/1/meta.yaml", True)]


def test_run_without_meta_is_skipped_as_mlflow_skips_it_and_reported(tmp_path: Path) -> None:
    file_store(tmp_path, {"a" * 32: {"metrics/m": "1 2 3\n"}})
    (tmp_path / "mlruns" / "1" / ("b" * 32) / "metrics").mkdir(parents=True)
    (tmp_path / "mlruns" / "1" / ("b" * 32) / "metrics" / "m").write_text("1 2 3\n")
    reading = read_found(tmp_path)
    assert [r.run_id for r in reading.runs] == ["a" * 32]
    assert reading.skipped["runs_without_meta"] == 1 and reading.store.skipped_runs == 1
    assert [p.path for p in reading.problems] == [f"mlruns/1/{'b' * 32}"]


def test_text_metric_line_and_empty_metric_file(tmp_path: Path) -> None:
    run = "c" * 32
    file_store(tmp_path, {run: {"metrics/good": "1 2.5 0\nnot a number\n3 4.5 1\n", "metrics/empty": ""}})
    reading = read_found(tmp_path)
    (good,) = reading.metrics
    assert (good.key, good.n_points, good.latest_value) == ("good", 2, 4.5)
    where = sorted((p.path, p.line) for p in reading.problems)
    assert where == [(f"mlruns/1/{run}/metrics/empty", None), (f"mlruns/1/{run}/metrics/good", 2)]
    assert reading.store.skipped_metric_lines == 1 and reading.skipped["metrics_empty"] == 1


def test_two_gigabyte_sparse_metric_file_is_read_up_to_the_bound(tmp_path: Path) -> None:
    run = "d" * 32
    file_store(tmp_path, {run: {"metrics/big": "1 1 1\n"}})
    big = tmp_path / "mlruns" / "1" / run / "metrics" / "big"
    with big.open("r+b") as fh:
        fh.truncate(2 * 1024**3)  # sparse: 2 GB on paper, one block on disk
    started = time.perf_counter()
    reading = read_store("o/r", tmp_path, StoreRef("mlruns", "file"), limits=StoreLimits(metric_file_bytes=1 << 20))
    assert time.perf_counter() - started < 30  # bounded, not a timing assertion: 2 GB would take minutes
    (metric,) = reading.metrics
    assert (metric.n_points, metric.latest_value) == (1, 1.0)
    reasons = [p.reason for p in reading.problems if p.path.endswith("/big")]
    assert any("only the first 1048576 read" in r for r in reasons)
    assert reading.store.bytes >= 2 * 1024**3


def test_symlinks_inside_a_store_leaving_the_repository_are_not_followed(tmp_path: Path) -> None:
    run = "e" * 32
    file_store(tmp_path, {run: {"params/p": "v"}})
    (tmp_path / "mlruns" / "1" / run / "params" / "secret").symlink_to("/etc/hostname")
    (tmp_path / "mlruns" / "2").symlink_to("/")
    reading = read_found(tmp_path)
    assert [(p.key, p.value) for p in reading.params] == [("p", "v")]
    assert sorted(p.path for p in reading.problems) == ["mlruns/1/" + run + "/params/secret", "mlruns/2"]


def test_lfs_pointers(tmp_path: Path) -> None:
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123456\n"
    (tmp_path / "mlflow.db").write_text(pointer)
    run = "f" * 32
    file_store(tmp_path, {run: {"metrics/m": pointer, "params/p": "v"}})
    refs = {r.path: r for r in find_stores(tmp_path, paths_of(tmp_path))}
    db = read_store("o/r", tmp_path, refs["mlflow.db"])
    assert [("LFS" in p.reason, p.path) for p in db.problems] == [(True, "mlflow.db")]
    store = read_store("o/r", tmp_path, refs["mlruns"])
    assert store.metrics == () and [p.path for p in store.problems if "LFS" in p.reason] == [f"mlruns/1/{run}/metrics/m"]
