"""The module graph's facts: imports resolved against the repository's own modules."""

from __future__ import annotations

import re

import pytest

from analysis.passes.module_graph import dotted_modules, dynamic_import, module_imports, resolve_import, runs_as_script
from analysis.reading.astscan import parse, scan


def test_import_resolution() -> None:
    names = module_imports(scan(parse("from . import deep\nfrom ..up import thing\nimport os\n")), "pkg/sub/m.py")
    assert {"pkg.sub.deep", "pkg.up", "pkg.up.thing", "os"} <= names
    modules = dotted_modules(["src/pkg/__init__.py", "src/pkg/m.py", "train.py"])
    assert resolve_import("pkg.m", modules) == "src/pkg/m.py"  # src layout: by suffix
    assert resolve_import("os", modules) is None
    scripts = dotted_modules(["a/train.py", "b/train.py", "b/test.py"])
    assert resolve_import("train", scripts, ["b"]) == "b/train.py"  # the script's own directory first
    assert resolve_import("train", scripts) == "a/train.py"  # else the first by suffix



DYNAMIC = re.compile(r"\b(importlib\.import_module|__import__|exec)\s*\(")
SCRIPT = re.compile(r"""if\s+__name__\s*==\s*['"]__main__['"]|\A# Databricks notebook source|^# %%""", re.M)


@pytest.mark.parametrize("text", [
    "m = importlib.import_module('x')\n", "x = __import__ ('a')", "a__import__('x')", "é__import__('x')",
    "exec(code)", " exec\t(code)", "execute(x)", "os.exec(x)", "my_exec(x)", "exec = 1\nexec", "importlib.import_module",
    "import_module('x')", "__import__\n(", "2exec(x)", "# __import__ is not called", "",
    "if __name__ == '__main__':\n    main()\n", "if  __name__=='__main__' :", "if\n__name__ == \"__main__\"",
    "if __name__ == '__main__'", "__main__", "  # Databricks notebook source", "# Databricks notebook source\nx = 1",
    "x = 1\n# Databricks notebook source", "#%%\nx", "# %% [markdown]\n", "x = 1\n# %%\ny = 2", "x = 1\r# %%",
    "x = 1\r\n# %%\r\n", "s = '# %%'", "elif __name__ == '__main__':", "if __name__ == __main__:",
])
def test_dynamic_imports_and_scripts_read_as_their_regular_expressions_do(text: str) -> None:
    """``dynamic_import`` and ``runs_as_script`` look only where their words are, and answer as the
    regular expressions they replace, searched over the whole text."""
    assert dynamic_import(text) == (DYNAMIC.search(text) is not None)
    assert runs_as_script(text) == (SCRIPT.search(text) is not None)
    assert dynamic_import(text + "\nexec(x)") and runs_as_script(text + "\nif __name__ == '__main__': pass")
