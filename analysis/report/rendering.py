"""Figures rendered to PNG (and PDF for LaTeX), cut to their tight box, here or in forked child processes."""

from __future__ import annotations

import io
import os
import pickle
from typing import TYPE_CHECKING

from analysis.report.forked import Child, can_fork

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

PNG_DPI = 110
# zlib's level 3 rather than Pillow's default 6: the report's figures (large white areas, a few colours)
# come out smaller and in half the time (0.15 s to 0.08 s for the five of the mixed corpus's report)
PNG_OPTIONS = {"compress_level": 3}


def tight_box(fig: Figure, dpi: float) -> Bbox | str:
    """The box ``savefig(bbox_inches="tight", dpi=dpi)`` cuts a PNG to, measured without drawing
    ("tight" for a figure with a layout engine, or not on matplotlib's Agg canvas).

    Given "tight", ``savefig`` draws the figure without output (to lay it out), measures it, then
    draws it: the first draw and the measure are a third of its time. Measured here, as
    ``tight_layout`` measures a figure (``get_tightbbox`` lays out what it measures), the figure is
    drawn once, to the same bytes (``test_figures_cut_to_their_tight_box_here_are_those_savefig_cuts``).
    """
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    if not isinstance(canvas, FigureCanvasAgg) or fig.get_layout_engine() is not None:
        return "tight"  # a layout engine places the Axes in that first draw
    shown = fig.dpi
    fig.dpi = dpi  # as savefig sets it while it saves
    try:
        renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
        return fig.get_tightbbox(renderer).padded(rcParams["savefig.pad_inches"])
    finally:
        fig.dpi = shown


def render_figure(fig: Figure, latex: bool) -> tuple[bytes, bytes | None]:
    """A figure as PNG, and as PDF with ``latex``, each cut to its tight box (saved from
    ``analysis.report.canvas.MeasuringCanvas``, which becomes the figure's canvas)."""
    from analysis.report.canvas import MeasuringCanvas

    MeasuringCanvas(fig)  # its text measured once, for the box and for the drawing
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches=tight_box(fig, PNG_DPI), pil_kwargs=dict(PNG_OPTIONS))
    if not latex:
        return buf.getvalue(), None
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", bbox_inches="tight")
    return buf.getvalue(), pdf.getvalue()


CHILD_SECONDS = 300.0  # a child rendering one figure longer than this is stuck


class FigureRenderer:
    """Figures rendered in forked child processes, ``jobs`` at a time, while the report goes on
    (with ``jobs`` 0: each rendered here, when it is submitted).

    Drawing a figure (laying out its text, rasterizing) is most of a report's time; a child
    forked with the figure built renders it on the other core. Only for a process with no other
    thread (a fork copies only the calling thread: a lock another one holds would stay held), such
    as the report process of ``analysis.report.process``. A child that fails leaves the figure to
    be rendered here, to the same bytes.
    """

    @classmethod
    def if_safe(cls, jobs: int) -> FigureRenderer | None:
        """A renderer when this process runs no other thread (so may fork) and has a core to spare, else None."""
        return cls(jobs) if can_fork() and (os.cpu_count() or 1) > 1 else None

    def __init__(self, jobs: int) -> None:
        self.jobs = max(0, jobs)
        self._running: dict[str, tuple[Child, Figure, bool]] = {}  # name -> (child, figure, latex)
        self._done: dict[str, tuple[bytes, bytes | None]] = {}

    def submit(self, name: str, fig: Figure, latex: bool) -> None:
        if not self.jobs:
            self._done[name] = render_figure(fig, latex)
            return
        while len(self._running) >= self.jobs:
            self._collect(next(iter(self._running)))
        self._running[name] = (Child(lambda: pickle.dumps(render_figure(fig, latex))), fig, latex)

    def _collect(self, name: str) -> None:
        child, fig, latex = self._running.pop(name)
        data = child.result(CHILD_SECONDS)  # None: the child failed, or was stuck (a lock a fork left held) and stopped
        if data is not None:
            try:
                self._done[name] = pickle.loads(data)
                return
            except (pickle.UnpicklingError, EOFError):
                pass
        self._done[name] = render_figure(fig, latex)  # rendered here instead

    def result(self, name: str) -> tuple[bytes, bytes | None]:
        """The PNG (and PDF) of figure ``name``, once its child has rendered it."""
        if name in self._running:
            self._collect(name)
        return self._done.pop(name)
