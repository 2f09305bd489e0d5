"""Atomic file writes, an append-only journal, and provenance sidecars."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def utc_now() -> str:
    """The current time, UTC, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are for others to read
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Atomic text write, UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    r"""Rows as CSV text with a header; missing keys are empty cells.

    Every value round-trips through ``csv`` and pandas as written: quoted when it holds a comma,
    a quote, ``\r`` or ``\n``; nothing is prefixed or escaped otherwise (no spreadsheet formula
    neutralizing, which would change values such as a default of ``-1``: see the README). The
    exceptions are what is not text: NUL, where pandas' parser ends a value, and lone surrogates
    (a string literal ``"\ud800"`` in mined code), which UTF-8 cannot hold, are written as U+FFFD.
    """
    table = [["" if (value := row.get(k)) is None else value for k in columns] for row in rows]
    buf = io.StringIO()
    plain = csv.writer(buf, lineterminator="\n")
    plain.writerow(columns)
    plain.writerows(table)
    text = buf.getvalue()
    if "\r" in text:
        # csv quotes a field only for the characters of *its* line terminator, so a value holding a
        # lone "\r" (legal in a git path) would be written bare and split the row for every reader;
        # such rows are written with every field quoted (mixed quoting is still one CSV dialect)
        buf = io.StringIO()
        plain = csv.writer(buf, lineterminator="\n")
        quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        plain.writerow(columns)
        for cells in table:
            (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else plain).writerow(cells)
        text = buf.getvalue()
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write a CSV atomically."""
    atomic_write_text(path, csv_text(columns, rows))


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV with a header into dicts of strings."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_provenance(path: Path, info: Mapping[str, Any]) -> None:
    """Write ``<path>.provenance.json`` beside an output file."""
    sidecar = path.with_name(path.name + ".provenance.json")
    atomic_write_text(sidecar, json.dumps(dict(info), indent=2, sort_keys=True) + "\n")


class Journal:
    """An append-only JSON-lines log, one fsync'd line per record.

    A run killed mid-write leaves at most one partial last line, which ``read`` ignores;
    so records are never lost once ``append`` returned and never half-read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> Iterator[dict[str, Any]]:
        """Every complete record, in order."""
        if not self.path.exists():
            return
        with self.path.open("rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break  # torn final line from an interrupted write
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record durably."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(dict(record), sort_keys=True) + "\n").encode("utf-8")
        with self.path.open("ab") as fh:
            # a torn line from a killed run would glue onto ours: start on a fresh line
            if fh.tell() > 0 and not self._ends_with_newline():
                fh.write(b"\n")
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
