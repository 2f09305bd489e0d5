"""The canvas the report's figures are saved on: matplotlib's Agg canvas, whose renderers share what they
measured of the text (imported when a figure is saved, as matplotlib is).

Saving a figure cut to its box (``report.tight_box``) measures it on a renderer of the figure's size,
then draws it on one of the box's: Agg's renderer remembers the size of a text for its own life only,
so each text of a figure would be laid out twice. A text's size depends on the string, its font, whether
it is mathtext and the resolution, not on the renderer's size: here it is measured once per figure.
"""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

_Metrics = dict[tuple[str, FontProperties, Any, float], tuple[float, float, float]]


class _Renderer(RendererAgg):
    """Agg's renderer, looking a text's size up in the canvas's measures first."""

    def __init__(self, width: int, height: int, dpi: float, metrics: _Metrics) -> None:
        super().__init__(width, height, dpi)  # type: ignore[no-untyped-call]
        self._metrics = metrics

    def get_text_width_height_descent(self, s: str, prop: FontProperties, ismath: Any) -> tuple[float, float, float]:
        found = self._metrics.get((s, prop, ismath, self.dpi))
        if found is None:  # kept under a copy: a FontProperties' hash changes with it
            found = self._metrics[(s, prop.copy(), ismath, self.dpi)] = super().get_text_width_height_descent(
                s, prop, ismath)  # type: ignore[no-untyped-call]
        return found


class MeasuringCanvas(FigureCanvasAgg):
    """Agg's canvas for ``figure`` (it becomes the figure's canvas), its renderers sharing their text sizes."""

    def __init__(self, figure: Figure) -> None:
        super().__init__(figure)
        self._metrics: _Metrics = {}

    def get_renderer(self) -> RendererAgg:
        # FigureCanvasAgg.get_renderer's, with the renderer above: one per size and resolution
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _Renderer(w, h, self.figure.dpi, self._metrics)
            self._lastKey = key
        renderer: RendererAgg = self.renderer
        return renderer
