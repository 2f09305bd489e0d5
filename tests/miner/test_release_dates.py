"""Tests of miner/release_dates.py: MLflow's release dates from PyPI's JSON API, served on loopback in PyPI's shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from miner.fileio import read_csv
from miner.ftypes import MineEvent, MlflowRelease, MlflowSelection, ReleaseDate
from miner.mine import Miner
from miner.release_dates import ReleaseDatesError, dates_from_json, fetch_release_dates
from miner.sources import http_cache
from tests.conftest import serving
from tests.miner.mining import settings_for, spec_for


def _file(name: str, kind: str, uploaded: str, yanked: bool = False) -> dict[str, Any]:
    """One file of a release as PyPI's JSON API lists it (the fields it serves, digests shortened)."""
    return {"comment_text": "", "digests": {"blake2b_256": "31", "md5": "44", "sha256": "2c"}, "downloads": -1,
            "filename": name, "has_sig": False, "md5_digest": "44", "packagetype": kind,
            "python_version": "source" if kind == "sdist" else "py3", "requires_python": None, "size": 13961674,
            "upload_time": uploaded[:19], "upload_time_iso_8601": uploaded, "url": f"https://files/{name}",
            "yanked": yanked, "yanked_reason": "wrong README" if yanked else None}


# the shape of https://pypi.org/pypi/mlflow/json: info, every release's files, the latest's urls
PYPI_ANSWER = {
    "info": {"name": "mlflow", "version": "2.0.1", "summary": "MLflow is an open source platform", "yanked": False},
    "last_serial": 26000000,
    "releases": {
        "1.0.0": [_file("mlflow-1.0.0-py3-none-any.whl", "bdist_wheel", "2019-06-04T01:02:03.123456Z"),
                  _file("mlflow-1.0.0.tar.gz", "sdist", "2019-06-04T00:56:41.246318Z")],
        "1.13": [_file("mlflow-1.13-py3-none-any.whl", "bdist_wheel", "2020-12-25T06:39:50.000001Z")],
        "1.1.1.dev0": [_file("mlflow-1.1.1.dev0.tar.gz", "sdist", "2019-08-01T00:00:00Z")],
        "1.2.0": [],  # registered, no file: never installable
        "2.0.0": [_file("mlflow-2.0.0-py3-none-any.whl", "bdist_wheel", "2022-11-14T19:00:00Z", yanked=True)],
        "2.0.1": [_file("mlflow-2.0.1-py3-none-any.whl", "bdist_wheel", "2022-11-16T03:04:05Z")],
    },
    "urls": [],
    "vulnerabilities": [],
}


@dataclass
class FakePyPI:
    """What the loopback PyPI answers: ``faults`` (statuses answered first, in order), the paths asked."""

    url: str = ""
    answer: dict[str, Any] = field(default_factory=lambda: PYPI_ANSWER)
    faults: list[int] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def fake_pypi() -> Iterator[FakePyPI]:
    """A loopback server answering ``GET /pypi/mlflow/json`` as PyPI does (404 for any other project)."""
    state = FakePyPI()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append(self.path)
            status = state.faults.pop(0) if state.faults else 200 if self.path == "/pypi/mlflow/json" else 404
            body = json.dumps(state.answer if status == 200 else {"message": "Not Found"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as state.url:
        yield state


def test_a_release_is_dated_by_its_first_upload() -> None:
    assert dates_from_json(PYPI_ANSWER) == (
        ReleaseDate("1.0.0", "2019-06-04T00:56:41Z", 2, False),  # the sdist, before the wheel
        ReleaseDate("1.1.1.dev0", "2019-08-01T00:00:00Z", 1, False),
        ReleaseDate("1.13", "2020-12-25T06:39:50Z", 1, False),
        ReleaseDate("2.0.0", "2022-11-14T19:00:00Z", 1, True),
        ReleaseDate("2.0.1", "2022-11-16T03:04:05Z", 1, False))  # 1.2.0 has no file


def test_an_older_answer_without_iso_times_is_read_as_utc() -> None:
    old = {"releases": {"0.1.0": [{"upload_time": "2018-06-05T08:29:02", "yanked": False}]}}
    assert dates_from_json(old) == (ReleaseDate("0.1.0", "2018-06-05T08:29:02Z", 1, False),)
    with pytest.raises(ReleaseDatesError, match="no 'releases'"):
        dates_from_json({"info": {}})


def test_fetched_once_then_from_the_cache(tmp_path: Path, fake_pypi: FakePyPI) -> None:
    cache = tmp_path / "http_cache.sqlite"
    with http_cache(cache):
        first = fetch_release_dates(fake_pypi.url, timeout=5)
    with http_cache(cache):
        again = fetch_release_dates(fake_pypi.url, timeout=5)
    assert fake_pypi.requests == ["/pypi/mlflow/json"]  # the second answer came from the cache
    assert first.source == f"{fake_pypi.url}/pypi/mlflow/json"
    assert again.dates == first.dates and again.fetched_at == first.fetched_at  # the cached answer's own time


def test_the_time_of_an_answer_is_the_servers_date_which_its_cached_copy_keeps() -> None:
    from datetime import datetime, timezone

    import requests

    from miner.release_dates import _answered_at

    answer = requests.Response()
    answer.headers["Date"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    answer.created_at = datetime(2015, 10, 21, 7, 28, 1, 999000)  # type: ignore[attr-defined]  # requests-cache's
    assert _answered_at(answer) == "2015-10-21T07:28:00+00:00"
    del answer.headers["Date"]
    assert _answered_at(answer) == "2015-10-21T07:28:01+00:00"  # naive: UTC, as requests-cache keeps it
    answer.headers["Date"] = "not a date"
    answer.created_at = datetime(2015, 10, 21, 9, 28, 1, tzinfo=timezone.utc)  # type: ignore[attr-defined]
    assert _answered_at(answer) == "2015-10-21T09:28:01+00:00"


def test_server_errors_are_retried_and_a_missing_project_is_an_error(fake_pypi: FakePyPI) -> None:
    fake_pypi.faults = [503, 502]
    waits: list[float] = []
    dates = fetch_release_dates(fake_pypi.url, timeout=5, max_retries=2, sleep=waits.append)
    assert (len(dates.dates), waits) == (5, [1.0, 2.0])
    fake_pypi.faults = [500, 500]
    with pytest.raises(ReleaseDatesError, match="HTTP 500; gave up after 2 attempts"):
        fetch_release_dates(fake_pypi.url, timeout=5, max_retries=1, sleep=waits.append)
    fake_pypi.faults = [404]
    with pytest.raises(ReleaseDatesError, match="HTTP 404"):
        fetch_release_dates(fake_pypi.url, timeout=5, max_retries=0)


def test_mine_dates_its_releases_and_keeps_every_date(tmp_path: Path, fake_pypi: FakePyPI) -> None:
    spec = spec_for(tmp_path)
    settings = settings_for(tmp_path, spec=type(spec)(**{**spec.__dict__, "mlflow": MlflowSelection(
        pypi_url=fake_pypi.url)}))
    releases = [MlflowRelease("1.0.0", "pypi", "mlflow/1.0.0", "mlflow-1.0.0.tar.gz"),
                MlflowRelease("1.13.0", "pypi", "mlflow/1.13.0", "x"),  # PyPI spells it 1.13
                MlflowRelease("9.9.9", "pypi", "", "9.9.9", status="failed", reason="no such release")]
    dated = Miner(settings).date_releases(releases)
    assert [r.released_at for r in dated] == ["2019-06-04T00:56:41Z", "2020-12-25T06:39:50Z", ""]
    folder = settings.corpus_dir / "mlflow"
    assert [(r["version"], r["released_at"]) for r in read_csv(folder / "releases.csv")] == [
        ("1.0.0", "2019-06-04T00:56:41Z"), ("1.13.0", "2020-12-25T06:39:50Z"), ("9.9.9", "")]
    every = read_csv(folder / "release_dates.csv")
    assert [r["version"] for r in every] == ["1.0.0", "1.1.1.dev0", "1.13", "2.0.0", "2.0.1"]
    assert every[3] == {"version": "2.0.0", "released_at": "2022-11-14T19:00:00Z", "n_files": "1", "yanked": "true"}
    provenance = json.loads((folder / "release_dates.csv.provenance.json").read_text())
    assert provenance["source"] == f"{fake_pypi.url}/pypi/mlflow/json" and provenance["fetched_at"]
    assert "earliest upload_time_iso_8601" in provenance["released_at"]
    assert (settings.corpus_dir / "http_cache.sqlite").is_file()


def test_mine_goes_on_without_dates_when_pypi_fails(tmp_path: Path, fake_pypi: FakePyPI) -> None:
    spec = spec_for(tmp_path)
    settings = settings_for(tmp_path, max_retries=0, spec=type(spec)(**{**spec.__dict__, "mlflow": MlflowSelection(
        pypi_url=fake_pypi.url + "/nowhere")}))
    events: list[MineEvent] = []
    releases = [MlflowRelease("1.0.0", "pypi", "mlflow/1.0.0", "x")]
    assert Miner(settings, events.append).date_releases(releases) == releases
    assert [e.message for e in events] == [f"MLflow release dates: {fake_pypi.url}/nowhere/pypi/mlflow/json: HTTP 404"]
    assert not (settings.corpus_dir / "mlflow" / "release_dates.csv").exists()
