"""Tests of analysis/engine/cache.py: the results cache, and the parse stamp in its per-file keys."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.engine.analyzer import RepoAnalyzer, close_process_handles
from analysis.engine.cache import ResultCache
from analysis.stamps import PACKAGE, fingerprint
from analysis.passes.mlflow_calls import Resolver
from analysis.releases.catalog import catalog_for
from analysis.repo_state import RepoTask


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> Resolver:
    return Resolver.from_catalog(catalog_for({}))


def _run(resolver: Resolver, stamp: str, root: Path, db_path: Path) -> tuple[int, int]:
    """Analyze the checkout at ``root`` with per-file keys under ``stamp``, reading and then filling the
    cache at ``db_path`` as the driver does; the files parsed and taken from the cache."""
    db = ResultCache(db_path)
    try:
        result = RepoAnalyzer(resolver, stamp, cache_path=db_path).analyze(RepoTask("o/r", str(root), "0" * 40))
    finally:
        close_process_handles()
    db.put(result.new_cache.items())
    db.close()
    return result.n_parsed, result.n_cached


def test_a_cached_file_result_is_used_only_under_the_same_parse_stamp(resolver: Resolver, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text("import mlflow\nmlflow.log_metric('loss', 1.0)\n")
    db_path = tmp_path / "out" / ".cache.sqlite"
    stamp = fingerprint("parse", ["catalog"])
    assert _run(resolver, stamp, root, db_path) == (1, 0)
    assert _run(resolver, stamp, root, db_path) == (0, 1)
    # the same file, the parse stage's code moved or edited: the cached result is not used
    assert _run(resolver, fingerprint("parse", ["another catalog"]), root, db_path) == (1, 0)


def test_a_parse_stamp_from_a_tree_with_a_pass_moved_misses_the_cache(resolver: Resolver, tmp_path: Path) -> None:
    tree = tmp_path / "analysis"
    shutil.copytree(PACKAGE, tree, ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text("import mlflow\nmlflow.start_run()\n")
    db_path = tmp_path / "out" / ".cache.sqlite"
    assert _run(resolver, fingerprint("parse", None, tree), root, db_path) == (1, 0)
    (tree / "passes" / "per_file").mkdir()
    shutil.move(tree / "passes" / "tracking_uris.py", tree / "passes" / "per_file" / "tracking_uris.py")
    assert _run(resolver, fingerprint("parse", None, tree), root, db_path) == (1, 0)


def test_the_cache_keeps_what_was_put_and_reads_nothing_when_absent(tmp_path: Path) -> None:
    assert ResultCache(tmp_path / "none.sqlite", read_only=True).get("k") is None
    db = ResultCache(tmp_path / "c.sqlite")
    db.put([("k", "v"), ("k2", "w")])
    db.close()
    ro = ResultCache(tmp_path / "c.sqlite", read_only=True)
    assert (ro.get("k"), ro.get("k2"), ro.get("other")) == ("v", "w", None)
    assert ro.has_all(["k", "k2"]) and ro.has_all([]) and not ro.has_all(["k", "other"])
    ro.close()
    assert not ResultCache(tmp_path / "none.sqlite", read_only=True).has_all(["k"])
