"""A checkout on a temporary directory, as the file stage leaves it, for running one pass alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from analysis.engine.analyzer import file_kind, listing
from analysis.ftypes import FileContext
from analysis.passes.module_graph import dotted_modules
from analysis.repo_state import Checkout, Parsed, RepoResult, RepoTask, SourceFile
from analysis.rows import FileRow
from tests.analysis.passes.finders import RESOLVER


def checkout_of(root: Path, files: dict[str, str], graphs_dir: Path | None = None) -> Checkout:
    """``files`` written under ``root``, and the checkout of them (repository ``o/r``)."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    paths = [rel for rel, _path, _link in listing(root)]
    py_files = [rel for rel in paths if rel.endswith(".py")]
    return Checkout(RepoTask("o/r", str(root), "0" * 40), root, frozenset(paths), paths, py_files, 5_000_000, {},
                    dotted_modules(py_files), graphs_dir)


def no_cache(compute: Callable[[], Parsed]) -> Parsed:
    """The engine's cached parse, without a cache."""
    return compute()


def source_file(checkout: Checkout, result: RepoResult, rel: str,
                parse: Callable[[Callable[[], Parsed]], Parsed] = no_cache) -> SourceFile:
    """The file at ``rel`` as the file stage hands it to its passes (its row added to ``result``)."""
    row = FileRow(checkout.task.repo, rel, file_kind(rel))
    result.files.append(row)
    return SourceFile(row, (checkout.root / rel).read_bytes(), FileContext(), RESOLVER, parse)
