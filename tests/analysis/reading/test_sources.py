"""Notebook code made Python: what IPython syntax becomes, line for line and column for column."""

from __future__ import annotations

import json

import pytest

from analysis.ftypes import SourceError
from analysis.reading.sources import neutralize_magics, notebook_code

CASES = [
    pytest.param("%matplotlib inline\nimport mlflow", "pass\nimport mlflow", id="line-magic"),
    pytest.param("!pip install mlflow\n  !ls", "pass\n  pass", id="shell-lines"),
    pytest.param("%time model = train(x)", "_ =   model = train(x)", id="time-assignment-kept-at-its-column"),
    pytest.param("%timeit -n 1 -r 2 mlflow.log_metric('a', 1)", "_ =               mlflow.log_metric('a', 1)",
                 id="timeit-options"),
    pytest.param("if True:\n    %time f()", "if True:\n    _ =   f()", id="indented"),
    pytest.param("%time import os", "pass", id="time-of-a-statement-that-cannot-be-kept"),
    pytest.param("%%time\nwith mlflow.start_run():\n    mlflow.log_param('a', 1)",
                 "\nwith mlflow.start_run():\n    mlflow.log_param('a', 1)", id="python-cell-magic-keeps-its-body"),
    pytest.param("%%capture out\n%time fit()\nx = 1", "\n_ =   fit()\nx = 1", id="capture"),
    pytest.param("%%bash\necho mlflow\nls", "\n\n", id="other-cell-magic-blanks-the-cell"),
    pytest.param("%%\nx", "\n", id="bare-cell-magic"),
    pytest.param("df?\nmlflow.log_metric?", "pass\npass", id="help"),
]


@pytest.mark.parametrize(("cell", "expected"), CASES)
def test_neutralize_magics(cell: str, expected: str) -> None:
    out = neutralize_magics(cell)
    assert out == expected
    assert out.count("\n") == cell.count("\n")  # every line stays where it was


def _nb(*cells: tuple[str, object], nbformat: int = 4) -> bytes:
    listed = [{"cell_type": kind, "source": source, "metadata": {}} for kind, source in cells]
    if nbformat == 3:
        for cell in listed:
            if cell["cell_type"] == "code":
                cell["input"] = cell.pop("source")
        return json.dumps({"worksheets": [{"cells": listed}], "metadata": {}, "nbformat": 3}).encode()
    return json.dumps({"cells": listed, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


CELLS = (("markdown", "# T"), ("raw", "x"), ("code", ["import mlflow\n"]), ("markdown", ["a"]), ("code", "x = 1\ny = 2"))


@pytest.mark.parametrize("nbformat", [4, 3])
def test_a_cell_is_its_index_in_the_cells_list(nbformat: int) -> None:
    code = notebook_code(_nb(*CELLS, nbformat=nbformat))
    assert code.source == "import mlflow\n\nx = 1\ny = 2\n"
    assert dict(code.cell_of_line) == {1: (2, 1), 2: (2, 1), 3: (4, 3), 4: (4, 3)}  # markdown and raw cells count
    assert code.cells() == [(2, 1, 2), (4, 3, 4)]


@pytest.mark.parametrize(
    ("source", "what"),
    [pytest.param(None, "null", id="null"), pytest.param(3, "a number", id="number"),
     pytest.param(True, "a boolean", id="boolean"), pytest.param({"a": 1}, "an object", id="object"),
     pytest.param(["x = 1\n", 2], "a list holding non-strings", id="list-with-a-number")],
)
def test_a_code_cell_whose_source_is_not_text_is_a_problem_naming_it(source: object, what: str) -> None:
    with pytest.raises(SourceError) as caught:
        notebook_code(_nb(("markdown", "# T"), ("code", "import mlflow"), ("code", source)))
    assert caught.value.reason == (f"cell 2: source is {what}, not text (nbformat: a string or a list of strings): "
                                   "notebook not read")


def test_a_markdown_cell_whose_source_is_not_text_is_not_read() -> None:
    assert notebook_code(_nb(("markdown", None), ("code", "x = 1"))).source == "x = 1\n"
