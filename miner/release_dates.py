"""When PyPI published each MLflow release: the earliest upload of its files, from PyPI's JSON API.

The date a researcher cites for a release is the day it became installable (``pip install mlflow==X``):
the first upload of any of its files (wheel or sdist). A git tag's date is when the tag was made, which
can precede the upload by hours or days, and a tag can be moved; so the tool records PyPI's. The answer is
read through the miner's HTTP cache when the caller has one enabled (``sources.http_cache``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests
from packaging.version import InvalidVersion, Version

from miner.fileio import utc_now, write_csv, write_provenance
from miner.ftypes import TRUE, FALSE, ReleaseDate, ReleaseDates

log = logging.getLogger(__name__)

PYPI_URL = "https://pypi.org"
DATE_COLUMNS = ("version", "released_at", "n_files", "yanked")
DATES_TABLE = "release_dates.csv"  # in <corpus>/mlflow/, beside releases.csv
RULE = "the earliest upload_time_iso_8601 of the release's files in PyPI's JSON API (UTC)"


class ReleaseDatesError(Exception):
    """PyPI's JSON API could not be read, or its answer is not what it serves."""


def json_url(index_url: str, project: str = "mlflow") -> str:
    """PyPI's JSON API address of a project (``https://pypi.org/pypi/mlflow/json``)."""
    return f"{index_url.rstrip('/')}/pypi/{project}/json"


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return 0, Version(text)
    except InvalidVersion:
        return 1, text


def _iso(upload: Mapping[str, Any]) -> str:
    text = str(upload.get("upload_time_iso_8601") or "")
    if not text:  # older answers: upload_time, naive, in UTC
        text = str(upload.get("upload_time") or "")
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dates_from_json(data: Mapping[str, Any]) -> tuple[ReleaseDate, ...]:
    """Every release of PyPI's JSON answer that has files, oldest version first: its earliest upload (ISO 8601,
    UTC, to the second), how many files, and whether every file is yanked."""
    releases = data.get("releases")
    if not isinstance(releases, Mapping):
        raise ReleaseDatesError("PyPI's answer has no 'releases' object")
    out = []
    for version, files in releases.items():
        if not isinstance(files, list) or not files:
            continue  # a version registered without files was never installable
        try:
            first = min(_iso(f) for f in files)
        except (ValueError, TypeError, AttributeError) as err:
            raise ReleaseDatesError(f"release {version}: an upload time PyPI's answer does not hold: {err}") from err
        out.append(ReleaseDate(str(version), first, len(files), all(bool(f.get("yanked")) for f in files)))
    return tuple(sorted(out, key=lambda d: _version_key(d.version)))


def fetch_release_dates(index_url: str = PYPI_URL, *, timeout: float = 30.0, max_retries: int = 5,
                        backoff_s: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> ReleaseDates:
    """MLflow's release dates from PyPI's JSON API (through requests-cache when the caller enabled it), retrying
    5xx answers, timeouts and failed connections; ``fetched_at`` is when the answer was fetched (a cached one's
    own time)."""
    url = json_url(index_url)
    last = ""
    for attempt in range(max_retries + 1):
        if attempt:
            sleep(min(60.0, backoff_s * 2.0 ** (attempt - 1)))
        try:
            answer = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as err:
            last = f"{type(err).__name__}: {err}"[:300]
            continue
        if answer.status_code >= 500:
            last = f"HTTP {answer.status_code}"
            continue
        if answer.status_code != 200:
            raise ReleaseDatesError(f"{url}: HTTP {answer.status_code}")
        try:
            data = answer.json()
        except ValueError as err:
            raise ReleaseDatesError(f"{url}: not JSON") from err
        return ReleaseDates(dates_from_json(data), url, _answered_at(answer))
    raise ReleaseDatesError(f"{url}: {last}; gave up after {max_retries + 1} attempts")


def _answered_at(answer: requests.Response) -> str:
    """When the server answered (UTC, to the second): its ``Date`` header, which a cached answer keeps as it
    was; else requests-cache's time of the answer (a fresh answer's and its cached copy's are taken apart,
    milliseconds from each other), else now."""
    try:
        when: datetime | None = parsedate_to_datetime(answer.headers["Date"])
    except (KeyError, TypeError, ValueError, IndexError):
        when = getattr(answer, "created_at", None)
    if not isinstance(when, datetime):
        return utc_now()
    return when.replace(tzinfo=when.tzinfo or timezone.utc).astimezone(timezone.utc).isoformat(timespec="seconds")


def write_release_dates(path: Path, dates: ReleaseDates, extra: Mapping[str, Any] | None = None) -> None:
    """``release_dates.csv`` (``DATE_COLUMNS``) and its provenance: the source, the time fetched, the rule."""
    write_csv(path, DATE_COLUMNS, ({"version": d.version, "released_at": d.released_at, "n_files": d.n_files,
                                    "yanked": TRUE if d.yanked else FALSE} for d in dates.dates))
    write_provenance(path, {"source": dates.source, "fetched_at": dates.fetched_at, "released_at": RULE,
                            "n_releases": len(dates.dates), "written_at": utc_now(), **(extra or {})})


def dated(version: str, dates: ReleaseDates) -> str:
    """A release's date ('' when PyPI lists it with no file), matched as a version (``1.13`` is ``1.13.0``)."""
    try:
        want: Version | str = Version(version)
    except InvalidVersion:
        want = version
    for d in dates.dates:
        if d.version == version or _version_key(d.version)[1] == want:
            return d.released_at
    return ""
