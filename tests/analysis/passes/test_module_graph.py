"""The module graph's facts: imports resolved against the repository's own modules."""

from __future__ import annotations

from analysis.passes.module_graph import dotted_modules, module_imports, resolve_import
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

