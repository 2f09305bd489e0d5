"""Section 1's probe tables: capacity figures per backend and release, releases in version order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.report.inputs import ReportInputs
from analysis.report.sections.drawing import Drawing
from analysis.report.sections.storage import probe_capacity, probe_table, storage
from analysis.report.writer import Doc


def test_probe_capacity_has_one_column_per_release_in_version_order() -> None:
    probe = pd.DataFrame([
        {"release": "1.10.0", "backend": "file", "probe": "disk", "parameter": "bytes per run", "unit": "B",
         "value": "7001.25", "outcome": "measured"},
        {"release": "1.9.0", "backend": "file", "probe": "disk", "parameter": "bytes per run", "unit": "B",
         "value": "6000", "outcome": "measured"},
        {"release": "1.9.0", "backend": "file", "probe": "search_runs", "parameter": "latency at 10 runs",
         "unit": "s", "value": "0.1", "outcome": "measured"},  # not a capacity figure
        {"release": "1.9.0", "backend": "sqlite", "probe": "disk", "parameter": "bytes per run", "unit": "B",
         "value": "", "outcome": "error"},  # not measured
    ])
    table = probe_capacity(probe)
    assert list(table.columns) == ["probe", "parameter", "unit", "backend", "1.9.0", "1.10.0"]
    assert table.to_dict("records") == [{"probe": "disk", "parameter": "bytes per run", "unit": "B", "backend": "file",
                                         "1.9.0": "6000", "1.10.0": "7001"}]  # 4 significant digits
    assert probe_capacity(probe[probe["outcome"] == "error"]).empty


def test_without_a_probe_or_releases_the_section_says_what_to_run(tmp_path: Path) -> None:
    doc = Doc(lambda source: source)
    report = Drawing(ReportInputs(tmp_path), doc)
    storage(report)
    text = "\n".join(doc.md)
    assert "No MLflow releases in the corpus: the storage model was not read" in text
    assert ("Access time of MLflow's stores, and releases the probe could not run: not measured: run "
            "`python cli.py probe --probe capacity`.") in text
    probe_table(report, ("precision",), "Precision", "--probe precision")
    assert doc.md[-1] == "Precision: not measured: run `python cli.py probe --probe precision`.\n"
