"""The report drawn in a process of its own, started as ``analyze`` starts.

Drawing the report needs matplotlib, pandas and the report's modules: about half a second of
imports, paid while the workers analyze the repositories instead of after them (``prepare``: every
module a report may import, then the garbage collector told to leave them alone). The process is a
new interpreter (``python -m analysis.report_process``: no thread and no lock of the driver's, and
none of its main module), so it may render the report's figures in forked children
(``report.FigureRenderer``), on the core the driver leaves idle.

    drawer = ReportProcess()     # starts importing
    ...                          # the run writes its tables
    drawer.draw(results)         # the report of ``results``; ReportError with its traceback if it failed
    drawer.close()

The protocol is a line each way: the results directory (JSON) in, ``null`` or the error's text out.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path
from typing import IO

RENDER_JOBS = 2  # figures rendered at once, beside the process going on with the report
# what drawing a report imports: the report, and the modules it imports only when a figure is saved or
# a section has rows for them
SECTION_MODULES = ("analysis.report", "analysis.report_canvas", "analysis.probe", "analysis.reference",
                   "analysis.rerun.statistics", "analysis.store_statistics")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class ReportError(Exception):
    """The report process failed to draw the report (the message holds its traceback)."""


class ReportProcess:
    """A process that imports the report's modules now and draws a report when asked."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(_PACKAGE_ROOT),
                                                                          os.environ.get("PYTHONPATH"))))}
        self._process = subprocess.Popen([sys.executable, "-m", "analysis.report_process"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, env=env, text=True, encoding="utf-8")
        self._drawing = False

    def draw(self, results: Path) -> None:
        """Draw the report of ``results`` (``report.build_report``); raise ``ReportError`` if it failed."""
        stdin, stdout = self._pipes()
        self._drawing = True
        try:
            stdin.write(json.dumps(str(results)) + "\n")
            stdin.flush()
        except OSError:
            pass  # it died: said below
        answer = stdout.readline()
        self._drawing = False
        if not answer:
            raise ReportError(f"the report process died (exit code {self._process.poll()}) drawing the report "
                              f"of {results}")
        error = json.loads(answer)
        if error is not None:
            raise ReportError(f"drawing the report of {results} failed:\n{error}")

    def close(self) -> None:
        """Stop the process: it ends at the end of its requests; one left drawing (the run was
        interrupted while it drew) is killed."""
        stdin, stdout = self._pipes()
        if self._drawing:
            self._process.kill()
        try:
            stdin.close()  # end of requests
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        stdout.close()

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout


def prepare() -> None:
    """Import what drawing a report may import (``SECTION_MODULES`` and matplotlib's backend too), and
    set every object alive (the modules', most of the process's) apart from the garbage collector:
    drawing allocates enough to start collections, which would otherwise walk all of them each time
    (about 5% of a report's CPU time)."""
    for name in SECTION_MODULES:
        importlib.import_module(name)
    from analysis.report_figures import pyplot
    pyplot()
    gc.freeze()


def _serve() -> None:
    answers, sys.stdout = sys.stdout, sys.stderr  # whatever else prints cannot garble an answer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the driver stops this process
    from analysis.report import FigureRenderer, build_report
    prepare()  # everything imported before the first request
    for line in sys.stdin:
        try:
            build_report(Path(json.loads(line)), renderer=FigureRenderer(RENDER_JOBS))
            answer = None
        except Exception:  # the driver raises it, with this traceback
            answer = traceback.format_exc()
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    _serve()
