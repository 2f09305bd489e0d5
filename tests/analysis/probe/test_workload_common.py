"""What the workload's parts share: a probe step that fails is a row, the others go on."""

from __future__ import annotations



import probe_common


def test_a_failing_probe_step_is_an_error_row() -> None:
    rows = probe_common._guarded("search_runs", lambda: [] if 1 / 0 else [])
    assert [(r["probe"], r["outcome"]) for r in rows] == [("search_runs", "error")]
    assert "ZeroDivisionError" in rows[0]["detail"]
