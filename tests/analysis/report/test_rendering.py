"""Figures rendered in child processes and cut to their tight box, as savefig renders them here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from analysis.report.figures import bar_figure, pinning_figure, storage_figure
from tests.analysis.report.sample import graph_of_every_kind, storage_counts

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def test_figures_rendered_in_child_processes_are_the_ones_rendered_here(tmp_path: Path) -> None:
    from analysis.report.figures import bar_figure
    from analysis.report.rendering import FigureRenderer, render_figure
    figures = {f"f{i}": bar_figure(["a", "b"], [0.2 * i, 0.5], "t", "share") for i in range(3)}
    here = {name: render_figure(fig, latex=False) for name, fig in figures.items()}
    renderer = FigureRenderer(2)
    for name, fig in figures.items():
        renderer.submit(name, fig, latex=False)
    assert {name: renderer.result(name) for name in reversed(list(figures))} == here


@pytest.mark.parametrize("draw", [
    pytest.param(lambda: bar_figure(["mlflow.start_run", "a rather long practice name " * 3, "b"], [0.9, 0.25, 0.0],
                                    "The APIs", "share of repositories", ([0.05, 0.1, 0.0], [0.05, 0.2, 0.1]),
                                    ["48/57", "5/20", "0/3"]), id="bars"),
    pytest.param(lambda: bar_figure([f"api {i}" for i in range(30)], [i / 30 for i in range(30)], "t", "share"),
                 id="bars-many-no-intervals"),
    pytest.param(lambda: storage_figure(storage_counts(73, 1)), id="storage"),
    pytest.param(lambda: storage_figure(storage_counts(3, 10_000_000)), id="storage-offset-text"),
    pytest.param(graph_of_every_kind, id="graph"),
    pytest.param(lambda: pinning_figure([i / 50 for i in range(51)]), id="pinning"),
    pytest.param(lambda: pinning_figure([]), id="pinning-empty"),
])
def test_figures_cut_to_their_tight_box_here_are_those_savefig_cuts(draw: Callable[[], Figure]) -> None:
    import io

    from analysis.report.figures import pyplot
    from analysis.report.rendering import PNG_DPI, PNG_OPTIONS, render_figure
    expected = io.BytesIO()
    draw().savefig(expected, format="png", dpi=PNG_DPI, bbox_inches="tight", pil_kwargs=dict(PNG_OPTIONS))
    assert render_figure(draw(), latex=False)[0] == expected.getvalue()
    pyplot().close("all")


def test_a_stuck_child_is_stopped_and_its_figure_rendered_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    import analysis.report.rendering as report
    from analysis.report.figures import bar_figure
    fig = bar_figure(["a", "b"], [0.2, 0.5], "t", "share")
    expected = report.render_figure(fig, latex=False)
    parent, real = os.getpid(), report.render_figure

    def stuck_in_children(figure: object, latex: bool) -> tuple[bytes, bytes | None]:
        if os.getpid() != parent:
            time.sleep(60)
        return real(figure, latex)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "render_figure", stuck_in_children)
    monkeypatch.setattr(report, "CHILD_SECONDS", 1.0)
    renderer = report.FigureRenderer(1)
    renderer.submit("f", fig, latex=False)
    started = time.monotonic()
    assert renderer.result("f") == expected
    assert time.monotonic() - started < 30
