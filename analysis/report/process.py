"""The report drawn in a process of its own, started as ``analyze`` starts.

Drawing the report needs matplotlib, pandas and the report's modules: over half a second of
imports (``prepare``: every module a report may import, then the garbage collector told to leave
them alone). The process runs at the lowest priority (nice 19), so they take only a core nothing
else wants: the one left idle while ``analyze`` imports the engine and lists the checkouts, then
the one the last repositories and the tables leave; not the workers'. The process is a
new interpreter (``_START``, this package first on its path: no thread and no lock of the driver's,
and none of its main module), so it may render the report's figures in forked children
(``analysis.report.rendering.FigureRenderer``), on the core the driver leaves idle.

    drawer = ReportProcess()     # starts importing
    ...                          # the run writes its row tables into a staging folder
    drawer.start_statistics(...) # the statistics tables written there (pandas), while the run goes on
    drawer.wait_statistics()     # OSError naming the table it could not write, ReportError if it failed
    drawer.draw(results)         # the report of ``results``; ReportError with its traceback if it failed
    drawer.close()

The protocol is a line each way: a request (JSON) in, ``null`` or the error out.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from analysis.report.forked import Child, can_fork

RENDER_JOBS = 2  # figures rendered at once, beside the process going on with the report
# what drawing a report imports: the report, and the modules it imports only when a figure is saved or
# a section has rows for them; networkx, which the statistics import to read the graphs (0.1 s)
SECTION_MODULES = ("analysis.report.document", "analysis.report.canvas", "analysis.probe", "analysis.report.reference",
                   "analysis.rerun.statistics", "analysis.statistics.stores", "networkx")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_START = "import sys; sys.path[0] = sys.argv.pop(1); from analysis.report.process import _serve; _serve()"


class ReportError(Exception):
    """The report process failed to draw the report or the statistics (the message holds its traceback)."""


class ReportProcess:
    """A process that imports the report's modules now and draws a report when asked."""

    def __init__(self) -> None:
        # this package's root on the path where ``-c`` puts the working directory (``-m`` would put
        # it first), which may hold a researcher's own ``analysis/`` folder
        self._process = subprocess.Popen([sys.executable, "-c", _START, str(_PACKAGE_ROOT)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self._drawing = False

    def start_statistics(self, tables: Path, manifest: Path, latest: str, analyzed: Sequence[str],
                         provenance: Mapping[str, Any], graphs: Path | None = None) -> None:
        """Start ``statistics.write_statistics`` of the row tables in ``tables`` (and the graphs in
        ``graphs``); ``wait_statistics`` waits for it."""
        self._send({"statistics": [str(tables), str(manifest), latest, list(analyzed), dict(provenance),
                                   None if graphs is None else str(graphs)]})

    def wait_statistics(self) -> None:
        """Wait for the statistics started; raise the ``OSError`` of a table it could not write (its
        ``filename`` the table's name, as ``write_statistics`` raises it), ``ReportError`` if it failed
        otherwise."""
        error = self._answer("writing the statistics tables")
        if error is not None and error["os_error"]:
            raise OSError(*error["os_error"])
        if error is not None:
            raise ReportError(f"writing the statistics tables failed:\n{error['traceback']}")

    def draw(self, results: Path) -> None:
        """Draw the report of ``results`` (``report.build_report``); raise ``ReportError`` if it failed."""
        self._drawing = True
        self._send({"report": str(results)})
        error = self._answer(f"drawing the report of {results}")
        self._drawing = False
        if error is not None:
            raise ReportError(f"drawing the report of {results} failed:\n{error['traceback']}")

    def _send(self, request: dict[str, Any]) -> None:
        stdin, _ = self._pipes()
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        except OSError:
            pass  # it died: the answer says so

    def _answer(self, doing: str) -> Any:
        _, stdout = self._pipes()
        answer = stdout.readline()
        if not answer:
            raise ReportError(f"the report process died (exit code {self._process.poll()}) {doing}")
        return json.loads(answer)

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


def prepare(between: Callable[[], None] = lambda: None) -> None:
    """Import what drawing a report may import (``SECTION_MODULES`` and matplotlib's backend too), and
    set every object alive (the modules', most of the process's) apart from the garbage collector:
    drawing allocates enough to start collections, which would otherwise walk all of them each time
    (about 5% of a report's CPU time). ``between()`` is called after each module."""
    for name in SECTION_MODULES:
        importlib.import_module(name)
        between()
    from analysis.report.figures import pyplot
    pyplot()
    gc.freeze()


def _serve() -> None:
    try:
        os.nice(19)  # the workers first: see the module docstring
    except (AttributeError, OSError):  # no nice (Windows), or not allowed: at the same priority
        pass
    answers, sys.stdout = sys.stdout, sys.stderr  # whatever else prints cannot garble an answer
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the driver stops this process
    from analysis.statistics.community import write_statistics  # pandas: the statistics are asked first

    def answer(line: str) -> None:
        """Carry out a request and write its answer line (``null``, or the error)."""
        request = json.loads(line)
        error: dict[str, Any] | None = None
        try:
            if "statistics" in request:
                tables, manifest, latest, analyzed, provenance, graphs = request["statistics"]
                # the agreement table in a forked child, on the core the driver leaves idle while it waits
                write_statistics(Path(tables), Path(manifest), latest, analyzed, provenance,
                                 None if graphs is None else Path(graphs), in_child if can_fork() else None)
            else:
                from analysis.report.document import FigureRenderer, build_report
                build_report(Path(request["report"]), renderer=FigureRenderer(RENDER_JOBS))
        except OSError as err:  # writing a statistics table (``write_statistics`` names it): raised again there
            error = {"os_error": [err.errno, err.strerror, err.filename] if "statistics" in request else None,
                     "traceback": traceback.format_exc()}
        except Exception:  # the driver raises it, with this traceback
            error = {"os_error": None, "traceback": traceback.format_exc()}
        answers.write(json.dumps(error) + "\n")
        answers.flush()

    held: list[str] = []  # a report asked while importing: drawn once everything is imported

    def asked_already() -> None:
        """Answer the statistics the driver asked while this process imports (it waits for them),
        then import on."""
        try:
            while not held and select.select([sys.stdin], [], [], 0)[0]:
                line = sys.stdin.readline()
                if not line:
                    _exit()
                if "statistics" in json.loads(line):
                    answer(line)
                else:
                    held.append(line)
        except (OSError, ValueError):  # no select on pipes (Windows): the requests wait
            pass

    asked_already()
    prepare(asked_already)  # everything imported before the report is drawn
    for line in itertools.chain(held, sys.stdin):  # one at a time: the driver waits for each answer
        answer(line)
    _exit()


def in_child(work: Callable[[], None]) -> Callable[[], bool]:
    """``work()`` in a child forked now; the function returned waits for it: True when it ended well."""
    def run() -> bytes:
        work()
        return b""

    child = Child(run)
    return lambda: child.result() is not None


def _exit() -> None:
    """End now: the driver waits for this exit, and tearing down matplotlib and pandas takes a third
    of a second; every file was written and closed, the answers flushed."""
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _serve()
