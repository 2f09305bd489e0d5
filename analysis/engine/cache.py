"""The results cache (``<out>/.cache.sqlite``): per-file findings by content, per-repository results by commit.

Keys carry the ``parse`` stamp (per file) or the ``repository`` stamp (per repository) of
``engine.stamps``: the tool's version, the API catalog and the source of the stage's modules, so a
change to a pass, or to a module a pass uses, invalidates what it cached, and nothing else does. Workers read it (read-only connections); only
the driver writes, one repository at a time, so an interrupted run keeps every repository it
finished.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

# what a file's entry holds, and its key: with the state the passes share (history reads them too)
from analysis.repo_state import open_cache_read_only
from analysis.repo_state import file_cache_key as file_cache_key
from analysis.repo_state import findings_from_json as findings_from_json
from analysis.repo_state import findings_to_json as findings_to_json


class ResultCache:
    """One SQLite table of key -> JSON text; ``read_only`` connections for workers."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        if read_only:
            self.db: sqlite3.Connection | None = open_cache_read_only(path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        # a cache: losing the last commit to a power cut costs a re-parse, so no fsync per repository
        self.db.execute("pragma journal_mode=wal")
        self.db.execute("pragma synchronous=normal")
        self.db.execute("create table if not exists results (key text primary key, value text not null)")
        self.db.commit()

    def get(self, key: str) -> str | None:
        """The value kept under ``key``, None when absent or unreadable."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("select value from results where key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None

    def has_all(self, keys: Iterable[str]) -> bool:
        """Every one of ``keys`` is kept (their values, a repository's whole result each, are not read)."""
        if self.db is None:
            return False
        try:
            return all(self.db.execute("select 1 from results where key = ?", (key,)).fetchone() is not None
                       for key in keys)
        except sqlite3.Error:
            return False

    def put(self, entries: Iterable[tuple[str, str]]) -> None:
        """Keep every ``(key, value)``, committed together."""
        assert self.db is not None
        self.db.executemany("insert or replace into results values (?, ?)", list(entries))
        self.db.commit()

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
