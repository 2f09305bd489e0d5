"""The measuring canvas: each text of a figure measured once."""

from __future__ import annotations

import pytest

from tests.analysis.report.sample import graph_of_every_kind


def test_a_figure_saved_measures_each_of_its_texts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from matplotlib.backends.backend_agg import RendererAgg

    from analysis.report.rendering import render_figure
    measured: Counter[tuple[str, int, object, float]] = Counter()  # text, font, mathtext, resolution
    measure = RendererAgg.get_text_width_height_descent

    def counted(self: RendererAgg, s: str, prop: object, ismath: object) -> tuple[float, float, float]:
        measured[s, hash(prop), ismath, self.dpi] += 1
        return measure(self, s, prop, ismath)  # type: ignore[no-any-return]

    monkeypatch.setattr(RendererAgg, "get_text_width_height_descent", counted)
    render_figure(graph_of_every_kind(), latex=False)  # measured on a renderer, drawn on another
    assert "node kind" in {key[0] for key in measured} and set(measured.values()) == {1}
