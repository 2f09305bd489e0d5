"""What the store readers share: bounded reads, the checkout boundary, field conversions, problem rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.stores.raw import (
    Checkout,
    StoreProblem,
    int_field,
    is_lfs_pointer,
    read_bounded,
    str_field,
)


def test_read_bounded_says_whether_there_was_more(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abcdef")
    assert read_bounded(tmp_path / "f", 4) == (b"abcd", True)
    assert read_bounded(tmp_path / "f", 6) == (b"abcdef", False)


def test_checkout_keeps_reads_inside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "sub" / "f").write_text("x")
    (repo / "inner").symlink_to(repo / "sub")
    (repo / "outer").symlink_to(tmp_path)
    checkout = Checkout(repo)
    assert checkout.inside(repo / "sub" / "f") and checkout.inside(repo / "inner" / "f")
    assert not checkout.inside(repo / "outer") and not checkout.inside(tmp_path / "repo-other")
    assert checkout.rel(repo / "sub" / "f") == "sub/f"


@pytest.mark.parametrize(("value", "text", "number"), [
    pytest.param(None, "", None, id="none"),
    pytest.param(7, "7", 7, id="int"),
    pytest.param("12", "12", 12, id="digits"),
    pytest.param("1.5", "1.5", None, id="float-text-is-no-int"),
    pytest.param(True, "True", None, id="bool-is-no-int"),
])
def test_fields(value: object, text: str, number: int | None) -> None:
    assert (str_field(value), int_field(value)) == (text, number)


def test_lfs_pointer_and_problem_row() -> None:
    assert is_lfs_pointer(b"version https://git-lfs.github.com/spec/v1\noid sha256:00\n")
    assert not is_lfs_pointer(b"SQLite format 3\x00")
    assert StoreProblem("mlruns/1/meta.yaml", 3, "malformed YAML").row("o/r") == {
        "repo": "o/r", "path": "mlruns/1/meta.yaml", "line": 3, "stage": "store", "reason": "malformed YAML"}
