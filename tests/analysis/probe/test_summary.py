"""The summary of probe.csv for the report."""

from __future__ import annotations



from analysis.probe import summarize
from tests.analysis.probe.support import MAX_FLOAT


def test_summary_condenses_rows() -> None:
    def row(release: str, backend: str, probe_name: str, parameter: str, value: str, outcome: str) -> dict[str, str]:
        return {"release": release, "backend": backend, "probe": probe_name, "parameter": parameter, "value": value,
                "unit": "", "n": "", "spread": "", "outcome": outcome, "detail": ""}

    rows = [row("2.11.0", "sqlite", "search_runs", "latency at 10000 runs", "0.2", "measured"),
            row("2.11.0", "file", "search_runs", "latency at 10000 runs", "1.0", "measured"),
            row("2.11.0", "file", "search_runs", "latency at 100 runs", "0.01", "measured"),
            row("1.30.1", "sqlite", "precision metric", "+inf", MAX_FLOAT, "changed"),
            row("2.11.0", "sqlite", "precision metric", "+inf", MAX_FLOAT, "changed"),
            row("2.11.0", "sqlite", "precision metric", "0.1", "0.1", "exact"),
            row("1.30.1", "sqlite", "metric point repeated", "twice", "1", "dropped"),
            row("2.11.0", "sqlite", "metric point repeated", "twice", "1", "dropped")]
    table = {(s["section"], s["backend"], s["item"]): s["result"] for s in summarize(rows)}
    assert table[("efficiency", "file", "search_runs at 10,000 runs, MLflow 2.11.0")] == "1000.0 ms (5x SQLite's)"
    assert table[("precision", "sqlite", "metric +inf")] == f"changed ({MAX_FLOAT}) in 1.30.1, 2.11.0"
    assert ("precision", "sqlite", "metric 0.1") not in table  # exact everywhere: nothing to say
    assert table[("integrity", "sqlite", "metric point repeated: twice")] == "dropped in 1.30.1, 2.11.0"
