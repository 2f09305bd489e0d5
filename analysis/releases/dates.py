"""MLflow's release dates (when PyPI published each release) and a declared pin against them.

Where they come from, first found: the corpus's ``mlflow/release_dates.csv`` (``mine`` writes it from PyPI's
JSON API: ``miner.release_dates``), else a ``released_at`` column of its ``mlflow/releases.csv``, else the
snapshot shipped in ``analysis/data/mlflow_release_dates.csv`` (its provenance says when it was fetched;
``python -m analysis.releases.dates`` fetches it again). A commit dated after the dates were fetched is not
compared: a release published since would be missing.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import resources
from pathlib import Path

from packaging.version import InvalidVersion, Version

from miner.fileio import read_csv
from miner.ftypes import TRUE

SNAPSHOT = "mlflow_release_dates.csv"
DATES_TABLE = "release_dates.csv"  # miner.release_dates.DATES_TABLE
RELEASES_TABLE = "releases.csv"


def utc(date: str) -> datetime:
    """An ISO 8601 date as an aware datetime in UTC (a naive one is taken as UTC)."""
    when = datetime.fromisoformat(date.strip().replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class PinLag:
    """A pinned release against the newest one published by a date: ``releases_behind`` final releases newer than
    the pin were published by then; ``days_behind``, the days between the pin's publication and the newest's
    (libyear in days, Cox et al. 2015; 0 when the pin is the newest)."""

    pinned: str
    newest: str
    releases_behind: int
    days_behind: int

    @property
    def behind(self) -> bool:
        return self.releases_behind > 0


@dataclass(frozen=True)
class ReleaseDates:
    """Release -> when PyPI published it (UTC), every release listed (pre-releases and yanked ones too, for a
    pin's date); ``newest`` looks only at final releases not yanked (what ``pip install mlflow`` took then).
    ``origin`` says where they come from, ``as_of`` when they were fetched (None: unknown)."""

    released: Mapping[str, datetime] = field(default_factory=dict)
    yanked: frozenset[str] = frozenset()
    origin: str = ""
    as_of: datetime | None = None

    def __len__(self) -> int:
        return len(self.released)

    def describe(self) -> str:
        """Where the dates come from, in words: ``snapshot (PyPI, fetched 2026-12-07)``."""
        when = f", fetched {self.as_of.date().isoformat()}" if self.as_of else ""
        return f"{self.origin} (PyPI's first upload of each release{when})"

    @cached_property
    def _parsed(self) -> dict[str, Version | None]:
        """Each release's version, parsed once (a history dates thousands of commits against them)."""
        return {v: _version(v) for v in self.released}

    @cached_property
    def _by_date(self) -> tuple[list[datetime], list[tuple[Version, str]], list[tuple[Version, str]]]:
        """The final releases not yanked in order of publication: their dates, (version, release), and the
        newest (version, release) among the first i + 1 of them."""
        finals = sorted((d, parsed, v) for v, d in self.released.items()
                        if (parsed := self._parsed[v]) is not None and not parsed.is_prerelease and v not in self.yanked)
        newest: list[tuple[Version, str]] = []
        for _d, parsed, v in finals:
            newest.append(max(newest[-1], (parsed, v)) if newest else (parsed, v))
        return [d for d, _p, _v in finals], [(p, v) for _d, p, v in finals], newest

    def date_of(self, version: str) -> datetime | None:
        """When PyPI published a release, matched as a version (``1.13`` is ``1.13.0``); None when not listed."""
        if version in self.released:
            return self.released[version]
        want = _version(version)
        return next((d for v, d in self.released.items() if want is not None and self._parsed[v] == want), None)

    def knows(self, when: datetime) -> bool:
        """The dates can say which release was newest at ``when`` (not after they were fetched)."""
        return self.as_of is None or when <= self.as_of

    def _upto(self, when: datetime) -> tuple[list[tuple[Version, str]], tuple[Version, str] | None]:
        """The final releases published at or before ``when``, and the newest of them (None when none was)."""
        dates, finals, newest = self._by_date
        i = bisect_right(dates, when)
        return finals[:i], newest[i - 1] if i else None

    def newest_at(self, when: datetime) -> str:
        """The newest final release published at or before ``when`` ('' when none was)."""
        newest = self._upto(when)[1]
        return newest[1] if newest else ""

    def lag(self, pinned: str, when: datetime) -> PinLag | None:
        """The pin against the newest release at ``when`` (not behind when none newer than the pin was out, a pin
        of a release not yet published included); None when it cannot be told: the pin has no date, or the dates
        end before ``when``."""
        pin, pin_date = _version(pinned), self.date_of(pinned)
        if pin is None or pin_date is None or not self.knows(when):
            return None
        finals, newest_then = self._upto(when)
        top, newest = newest_then or (pin, "")
        if top <= pin:
            return PinLag(pinned, newest, 0, 0)
        days = max(0, (self.released[newest] - pin_date).days)
        return PinLag(pinned, newest, sum(v > pin for v, _ in finals), days)


def _read(table: Path, column: str) -> tuple[dict[str, datetime], frozenset[str]]:
    rows = read_csv(table) if table.is_file() else []
    dates = {r["version"]: utc(r[column]) for r in rows if r.get("version") and r.get(column)}
    return dates, frozenset(r["version"] for r in rows if r.get("yanked") == TRUE)


def _as_of(table: Path) -> datetime | None:
    side = table.with_name(table.name + ".provenance.json")
    try:
        fetched = json.loads(side.read_text(encoding="utf-8")).get("fetched_at", "")
        return utc(fetched) if fetched else None
    except (OSError, ValueError):
        return None


def load_snapshot() -> ReleaseDates:
    """The release dates shipped in ``analysis/data/`` (empty when the file is absent)."""
    table = Path(str(resources.files("analysis") / "data" / SNAPSHOT))
    dates, yanked = _read(table, "released_at")
    return ReleaseDates(dates, yanked, "snapshot", _as_of(table)) if dates else ReleaseDates()


def load_release_dates(mlflow_dir: Path | None) -> ReleaseDates:
    """The release dates a corpus's ``mlflow/`` folder records (see the module), else the snapshot's."""
    if mlflow_dir is not None:
        dates, yanked = _read(mlflow_dir / DATES_TABLE, "released_at")
        if dates:
            return ReleaseDates(dates, yanked, "corpus", _as_of(mlflow_dir / DATES_TABLE))
        dates, _ = _read(mlflow_dir / RELEASES_TABLE, "released_at")
        if dates:
            return ReleaseDates(dates, frozenset(), "corpus releases.csv", None)
    return load_snapshot()


def write_snapshot(dest: Path | None = None, index_url: str = "https://pypi.org", cache: Path | None = None) -> Path:
    """Fetch every MLflow release's date from PyPI's JSON API into the shipped snapshot (a maintainer's step),
    through requests-cache in ``cache`` when given (as ``mine`` caches HTTP), else fresh."""
    from miner.release_dates import fetch_release_dates, write_release_dates
    from miner.sources import http_cache

    dest = dest or Path(__file__).resolve().parents[1] / "data" / SNAPSHOT
    with http_cache(cache):
        dates = fetch_release_dates(index_url)
    write_release_dates(dest, dates, {"made_by": "analysis.releases.dates.write_snapshot"})
    return dest


if __name__ == "__main__":  # python -m analysis.releases.dates [DEST [CACHE]]
    import sys

    print(write_snapshot(Path(sys.argv[1]) if len(sys.argv) > 1 else None,
                         cache=Path(sys.argv[2]) if len(sys.argv) > 2 else None))
