"""Notebook code made Python: what IPython syntax becomes, line for line and column for column."""

from __future__ import annotations

import pytest

from analysis.sources import neutralize_magics

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
