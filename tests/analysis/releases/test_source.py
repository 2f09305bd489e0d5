"""The one reader of MLflow's released source: a module as a tree, None (and a warning) where it cannot be."""

from __future__ import annotations

import ast
import logging
import warnings
from pathlib import Path

import pytest

from analysis.releases.source import release_tree


def test_a_module_is_read_as_a_tree_without_warnings_about_its_escapes(tmp_path: Path) -> None:
    path = tmp_path / "mlflow" / "utils" / "validation.py"
    path.parent.mkdir(parents=True)
    path.write_text('MAX_PARAM_VAL_LENGTH = 6000\nPATTERN = "\\d+"\n')  # an invalid escape, as old releases have
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tree = release_tree(path)
    assert tree is not None
    first = tree.body[0]
    assert isinstance(first, ast.Assign) and isinstance(first.value, ast.Constant) and first.value.value == 6000


def test_an_absent_or_broken_module_is_none_and_a_broken_one_is_logged(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    assert release_tree(tmp_path / "absent.py") is None
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with caplog.at_level(logging.WARNING, logger="analysis.releases.source"):
        assert release_tree(broken) is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [str(broken)]
