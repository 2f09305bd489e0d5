"""Which MLflow release wrote an SQLite tracking database: its alembic revision mapped to the first
release whose migration head it is, read from MLflow's sources (``db_migrations/versions/*.py``).

A database holds the revision of the last migration its MLflow applied (``alembic_version``). Each
release's head is the revision no other migration of that release names as its ``down_revision``;
the first release (in version order) having a head is the one that introduced that schema. The
mapping comes from the corpus's releases (``<corpus>/mlflow/<version>/mlflow/...``) or, when the
corpus has none, from the snapshot shipped in ``analysis/data/`` (see its provenance file).
"""

from __future__ import annotations

import ast
import csv
import io
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from analysis.releases.source import release_tree
from analysis.versions import version_key
from miner.corpus import release_dirs


SNAPSHOT = "schema_revisions.csv"
SCHEMA_COLUMNS = ("revision", "first_release")
# 1.0.0 kept its migrations in mlflow/alembic/; every later release in mlflow/store/db_migrations/
MIGRATION_DIRS = ("mlflow/store/db_migrations/versions", "mlflow/alembic/versions")


def _assigned(tree: ast.Module, name: str) -> ast.expr | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            return stmt.value
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
            return stmt.value
    return None


def _names(node: ast.expr | None) -> tuple[str, ...]:
    """The revision ids of a ``down_revision`` value: a string, None, or a tuple of strings (a merge)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return ()


def migration_graph(release_root: Path) -> dict[str, tuple[str, ...]]:
    """revision -> its down revisions, for one release (``release_root`` holds ``mlflow/``)."""
    graph: dict[str, tuple[str, ...]] = {}
    for rel in MIGRATION_DIRS:
        folder = release_root / rel
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.py")):
            tree = release_tree(path)
            if tree is None:
                continue
            revision = _names(_assigned(tree, "revision"))
            if revision:
                graph[revision[0]] = _names(_assigned(tree, "down_revision"))
        if graph:
            break
    return graph


def heads(graph: Mapping[str, tuple[str, ...]]) -> frozenset[str]:
    """Revisions no other revision descends from."""
    below = {down for downs in graph.values() for down in downs}
    return frozenset(r for r in graph if r not in below)


def releases_by_head(releases: Mapping[str, Path]) -> dict[str, str]:
    """Head revision -> the first release (in version order) whose migrations end there."""
    out: dict[str, str] = {}
    for version in sorted(releases, key=version_key):
        for head in sorted(heads(migration_graph(releases[version]))):
            out.setdefault(head, version)
    return out


def load_snapshot() -> dict[str, str]:
    """The shipped revision -> first release table."""
    text = resources.files("analysis").joinpath("data", SNAPSHOT).read_text(encoding="utf-8")
    return {row["revision"]: row["first_release"] for row in csv.DictReader(io.StringIO(text))}


def revision_releases(releases: Mapping[str, Path]) -> tuple[dict[str, str], str]:
    """(head revision -> first release, origin 'corpus' or 'snapshot') for a corpus's releases
    (version -> release root)."""
    mapping = releases_by_head(releases) if releases else {}
    if mapping:
        return mapping, "corpus"
    return load_snapshot(), "snapshot"


def write_snapshot(corpus_dir: Path, dest: Path | None = None) -> Path:
    """Regenerate the shipped table from a corpus's MLflow releases (a maintainer's step)."""
    from miner import __version__
    from miner.fileio import utc_now, write_csv, write_provenance

    releases = release_dirs(corpus_dir)
    mapping = releases_by_head(releases)
    if not mapping:
        raise ValueError(f"{corpus_dir}: no MLflow releases with migrations under mlflow/")
    out = dest or Path(__file__).resolve().parents[1] / "data" / SNAPSHOT
    rows = [{"revision": r, "first_release": v} for r, v in sorted(mapping.items(), key=lambda kv: (version_key(kv[1]), kv[0]))]
    write_csv(out, SCHEMA_COLUMNS, rows)
    release_files = corpus_dir / "mlflow" / "releases.csv"
    origins = {}
    if release_files.is_file():
        origins = {r["version"]: {"origin": r.get("origin", ""), "sha256": r.get("sha256", "")}
                   for r in csv.DictReader(release_files.open(encoding="utf-8"))}
    write_provenance(out, {"tool_version": __version__, "written_at": utc_now(),
                           "releases": sorted(releases, key=version_key), "archives": origins,
                           "made_by": "analysis.releases.schema.write_snapshot over release sources from PyPI "
                                      "(pip download --no-deps mlflow==X)"})
    return out


if __name__ == "__main__":  # python -m analysis.releases.schema CORPUS_DIR
    import sys

    print(json.dumps(str(write_snapshot(Path(sys.argv[1])))))
