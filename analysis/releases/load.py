"""Everything the analysis reads of a corpus's MLflow releases, loaded once and cached with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.releases import catalog, schema
from analysis.releases.storage import storage_rows
from analysis.rows import Catalog, CatalogRow, StorageRow
from analysis.stamps import release_cached
from analysis.tables import flat

__all__ = ["Releases", "load_releases"]


@dataclass(frozen=True)
class Releases:
    """The corpus's releases (version -> release root) and what the analysis takes from them: the API
    catalog, alembic head -> first release (``revisions``, from ``revisions_origin``) and the storage
    model's rows (none without releases)."""

    folders: Mapping[str, Path]
    catalog: Catalog
    revisions: Mapping[str, str]
    revisions_origin: str
    storage: tuple[StorageRow, ...]


def load_releases(folders: Mapping[str, Path], home: Path) -> Releases:
    """A corpus's releases (version -> release root, ``miner.corpus.release_dirs``): each part built from
    their sources once and kept in ``home`` (``<corpus>/mlflow/``) under the ``releases`` stamp (the
    catalog row by row as its CSV cells' text, ``CatalogRow.text``, the storage rows as column -> text);
    the shipped snapshots when there are none."""
    if not folders:
        return Releases(folders, catalog.load_snapshot(), schema.load_snapshot(), "snapshot", ())

    def catalog_part() -> dict[str, Any]:
        built = catalog.catalog_for(folders)
        return {"rows": [row.text() for row in built.rows], "releases": list(built.releases), "origin": built.origin}

    def schema_part() -> dict[str, Any]:
        mapping, origin = schema.revision_releases(folders)
        return {"mapping": mapping, "origin": origin}

    def storage_part() -> dict[str, Any]:
        rows = storage_rows(folders)
        return {"rows": [flat(row) for row in rows]}

    parts = release_cached(home, folders, {
        ".catalog.json": catalog_part, ".schema_revisions.json": schema_part, ".storage.json": storage_part})
    apis, heads, storage = parts[".catalog.json"], parts[".schema_revisions.json"], parts[".storage.json"]
    return Releases(folders,
                    Catalog(tuple(CatalogRow.from_text(row) for row in apis["rows"]), tuple(apis["releases"]),
                            apis["origin"]),
                    dict(heads["mapping"]), str(heads["origin"]),
                    tuple(StorageRow(**row) for row in storage["rows"]))
