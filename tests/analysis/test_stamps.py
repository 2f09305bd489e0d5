"""Tests of analysis/stamps.py: each stage's fingerprint covers its code (every module its entry modules import) and only it."""

from __future__ import annotations

import ast
import functools
import json
import shutil
from pathlib import Path

import pytest

from analysis import stamps
from analysis.stamps import PACKAGE, STAGES, code_files, fingerprint, read_tables_stamp, write_tables_stamp


def _module_file(name: str, root: Path) -> Path | None:
    """The file of module ``name`` (dotted, under ``analysis``) in the tree at ``root``."""
    parts = name.split(".")[1:]
    package = root.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    module = root.joinpath(*parts).with_suffix(".py") if parts else root / "__init__.py"
    return module if module.is_file() else None


def _imported(path: Path, root: Path) -> set[str]:
    """Every ``analysis.*`` module ``path`` imports, anywhere in it (in functions, under TYPE_CHECKING),
    with the packages whose ``__init__`` importing it runs."""
    return _imported_at(path, root, path.stat().st_mtime_ns)


@functools.cache  # each stage's test reads mostly the same modules
def _imported_at(path: Path, root: Path, _mtime_ns: int) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "analysis")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "analysis":
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names
                         if _module_file(f"{node.module}.{a.name}", root) is not None)
    return frozenset(".".join(name.split(".")[:i]) for name in names for i in range(1, name.count(".") + 2))


def _reached(entries: list[str], root: Path) -> dict[str, Path]:
    """The files of the entry modules and of every module they import, transitively."""
    seen: dict[str, Path] = {}
    todo = [*entries, *(".".join(e.split(".")[:i]) for e in entries for i in range(1, e.count(".") + 1))]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, root)
        assert path is not None, f"{name}: imported but not in the tree"
        seen[name] = path
        todo.extend(_imported(path, root))
    return seen


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_module_a_stage_imports_is_under_its_paths(stage: str) -> None:
    covered = {rel for rel, path in code_files(stage) if path is not None}
    entries = [f"analysis.{e}" for e in STAGES[stage].entries]
    for name in [*entries, *(f"analysis.{e}" for b in STAGES[stage].after for e in STAGES[b].entries)]:
        assert _module_file(name, PACKAGE) is not None, f"{stage}: entry {name} is not there"
    missing = {name: path.relative_to(PACKAGE).as_posix() for name, path in _reached(entries, PACKAGE).items()
               if path.relative_to(PACKAGE).as_posix() not in covered}
    assert not missing, f"stage {stage!r} runs modules its stamp does not cover: {missing}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_path_a_stage_names_is_there(stage: str) -> None:
    for rel in STAGES[stage].code:
        assert (PACKAGE / rel).is_dir() if rel.endswith("/") else (PACKAGE / rel).is_file(), (stage, rel)


def test_the_parse_stage_covers_the_passes_of_a_file_and_not_the_report() -> None:
    parse = {rel for rel, _ in code_files("parse")}
    assert {"passes/code_findings.py", "passes/mlflow_calls.py", "reading/cst_walk.py", "rows.py"} <= parse
    assert not any(rel.startswith(("report/", "statistics/")) for rel in parse)
    assert "passes/traceability.py" not in parse  # a per-repository pass
    assert "passes/traceability.py" in {rel for rel, _ in code_files("repository")}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the ``analysis`` package to edit."""
    root = tmp_path / "analysis"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_editing_a_report_module_leaves_the_parse_and_repository_stamps_as_they_were(tree: Path) -> None:
    before = {stage: fingerprint(stage, ["catalog"], tree) for stage in STAGES}
    with (tree / "report" / "document.py").open("a", encoding="utf-8") as fh:
        fh.write("# an edit\n")
    after = {stage: fingerprint(stage, ["catalog"], tree) for stage in STAGES}
    assert after["parse"] == before["parse"]
    assert after["repository"] == before["repository"]
    assert after["releases"] == before["releases"]
    assert after["report"] != before["report"]
    assert after["tables"] != before["tables"]  # the tables' run draws the report


def test_editing_a_pass_changes_the_parse_stamp(tree: Path) -> None:
    before = fingerprint("parse", None, tree)
    with (tree / "reading" / "names.py").open("a", encoding="utf-8") as fh:
        fh.write("# an edit\n")
    assert fingerprint("parse", None, tree) != before


def test_moving_a_pass_module_into_a_subfolder_changes_the_parse_stamp(tree: Path) -> None:
    before = fingerprint("parse", None, tree)
    (tree / "passes" / "per_file").mkdir()
    shutil.move(tree / "passes" / "call_sites.py", tree / "passes" / "per_file" / "call_sites.py")
    assert fingerprint("parse", None, tree) != before
    assert fingerprint("repository", None, tree) != fingerprint("repository", None, PACKAGE)


def test_a_new_module_in_a_stage_folder_is_covered(tree: Path) -> None:
    before = fingerprint("parse", None, tree)
    (tree / "reading" / "deep").mkdir()
    (tree / "reading" / "deep" / "new.py").write_text('"""New."""\n', encoding="utf-8")
    assert "reading/deep/new.py" in {rel for rel, _ in code_files("parse", tree)}
    assert fingerprint("parse", None, tree) != before


def test_a_folder_moved_away_changes_the_stamp_and_is_named_missing(tree: Path) -> None:
    before = fingerprint("parse", None, tree)
    shutil.move(tree / "reading", tree / "read")
    assert ("reading/", None) in code_files("parse", tree)
    assert fingerprint("parse", None, tree) != before


def test_the_stamp_carries_the_inputs_and_the_stage() -> None:
    assert fingerprint("parse", ["a"]) == fingerprint("parse", ["a"])
    assert fingerprint("parse", ["a"]) != fingerprint("parse", ["b"])
    assert fingerprint("parse") != fingerprint("repository")


def test_the_release_cache_is_built_again_when_the_releases_code_changes(tree: Path, tmp_path: Path) -> None:
    release = tmp_path / "corpus" / "mlflow" / "releases" / "1.0.0"
    release.mkdir(parents=True)
    builds: list[int] = []

    def build() -> dict[str, object]:
        builds.append(1)
        return {"n": len(builds)}

    home, releases = tmp_path / "corpus" / "mlflow", {"1.0.0": release}
    assert stamps.release_cached(home, releases, {".x.json": build}, tree)[".x.json"]["n"] == 1
    assert stamps.release_cached(home, releases, {".x.json": build}, tree)[".x.json"]["n"] == 1
    with (tree / "report" / "document.py").open("a", encoding="utf-8") as fh:
        fh.write("# not the releases' code\n")
    assert stamps.release_cached(home, releases, {".x.json": build}, tree)[".x.json"]["n"] == 1
    with (tree / "releases" / "storage.py").open("a", encoding="utf-8") as fh:
        fh.write("# an edit\n")
    assert stamps.release_cached(home, releases, {".x.json": build}, tree)[".x.json"]["n"] == 2
    assert json.loads((home / ".x.json").read_text())["n"] == 2


def test_the_tables_stamp_is_read_back_only_when_it_matches_and_every_output_is_there(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    write_tables_stamp(tmp_path, "s1", True, ["a.csv"], {"n_repos": 1})
    data = read_tables_stamp(tmp_path, "s1")
    assert data is not None and data["summary"] == {"n_repos": 1} and data["from_cache"] is True
    assert read_tables_stamp(tmp_path, "s2") is None
    (tmp_path / "a.csv").unlink()
    assert read_tables_stamp(tmp_path, "s1") is None
    (tmp_path / stamps.TABLES_STAMP).write_text("not json")
    assert read_tables_stamp(tmp_path, "s1") is None
