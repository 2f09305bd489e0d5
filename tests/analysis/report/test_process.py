"""The report process: errors raised back, lowest priority, nothing imported while drawing, killed on close."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_report_process_raises_what_stopped_it_and_ends_on_close(tmp_path: Path) -> None:
    from analysis.report.process import ReportError, ReportProcess
    (tmp_path / "results").write_text("a file, not a results directory")
    drawer = ReportProcess()
    try:
        with pytest.raises(ReportError, match=r"drawing the report of .*results failed:\n(.|\n)*Traceback"):
            drawer.draw(tmp_path / "results")
    finally:
        drawer.close()
    assert drawer._process.returncode == 0


@pytest.mark.slow
def test_the_report_process_runs_at_the_lowest_priority_and_draws_what_the_driver_draws(
        analyzed: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It imports while the workers analyze, so it must only take a core they leave (nice 19); what
    it draws is what drawing in the driver gives, byte for byte, even started where a researcher's own
    ``analysis/`` folder lies."""
    import os
    import time

    from analysis.report.document import build_report
    from analysis.report.process import ReportProcess
    here, there = tmp_path / "here", tmp_path / "there"
    for results in (here, there):
        shutil.copytree(analyzed[0], results)
        shutil.rmtree(results / "report")
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "__init__.py").write_text("raise SystemExit('the wrong analysis package')\n")
    monkeypatch.chdir(tmp_path)
    drawer = ReportProcess()
    try:
        deadline = time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, drawer._process.pid) != 19 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, drawer._process.pid) == 19
        drawer.draw(there)
    finally:
        drawer.close()
    assert drawer._process.returncode == 0
    build_report(here)

    def drawn(results: Path) -> dict[str, bytes]:
        """The report's files; in the texts, the results' path and the time written stand as R and T."""
        return {str(p.relative_to(results)): re.sub(rb"written \d{4}-\d\d-\d\dT[\d:]+\+00:00", b"written T",
                                                    p.read_bytes().replace(str(results).encode(), b"R"))
                for p in sorted((results / "report").rglob("*")) if p.is_file()}
    assert "report/index.html" in drawn(here) and drawn(there) == drawn(here)


_DRAW_PREPARED = """
import gc, sys
from pathlib import Path
from analysis.report.process import prepare
prepare()
frozen, before = gc.get_freeze_count(), set(sys.modules)
from analysis.report.document import FigureRenderer, build_report
build_report(Path(sys.argv[1]), latex=True, renderer=FigureRenderer(0))
print(frozen > 1000, sorted(m for m in set(sys.modules) - before if m.startswith(("analysis", "networkx"))))
"""


@pytest.mark.slow
def test_a_prepared_report_process_imports_nothing_of_the_report_while_drawing(measured: Path, tmp_path: Path) -> None:
    import os
    import sys
    results = tmp_path / "out"
    shutil.copytree(measured, results)
    shutil.rmtree(results / "report")  # drawn again, every section (the probe's, the re-runs') with rows
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", _DRAW_PREPARED, str(results)], capture_output=True, text=True,
                         check=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}).stdout
    assert out.splitlines()[-1] == "True []"


@pytest.mark.slow
def test_a_report_process_left_drawing_is_killed_on_close() -> None:
    import time

    from analysis.report.process import ReportProcess
    drawer = ReportProcess()
    drawer._drawing = True  # as when the run was interrupted while waiting for a drawing
    started = time.monotonic()
    drawer.close()
    assert drawer._process.returncode == -9 and time.monotonic() - started < 5
