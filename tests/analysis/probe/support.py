"""What the probe's tests share: the row asked for, stores on tmpfs, the release a summary ran."""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from packaging.version import Version

from analysis.probe import ProbeSummary
from analysis.probe.ftypes import ProbeRow
from tests.conftest import tmpfs_dir


# the tests of the session fixture `current` on one worker, which runs it once; the others anywhere
CURRENT = pytest.mark.xdist_group("probe-current")
MAX_FLOAT = "1.7976931348623157e+308"


@contextmanager
def stores_on_tmpfs() -> Iterator[None]:
    """The probe's temporary stores (the system's temporary directory) on tmpfs, when there is one.

    A small probe's SQLite store spends most of its time in the disk's syncs; see ``tmpfs_dir``.
    """
    with tmpfs_dir("probe-stores-") as where, pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(where))
        yield


def only_row(summary: ProbeSummary | list[ProbeRow], backend: str, probe_name: str, parameter: str) -> ProbeRow:
    rows = summary.rows if isinstance(summary, ProbeSummary) else summary
    found = [r for r in rows if (r.backend, r.probe, r.parameter) == (backend, probe_name, parameter)]
    assert len(found) == 1, (backend, probe_name, parameter, found)
    return found[0]


def release_of(summary: ProbeSummary) -> Version:
    (release,) = {r.release for r in summary.rows}
    return Version(release)


def built_or_skip(summary: ProbeSummary) -> None:
    for failure in summary.failures:
        if failure.stage == "env" and failure.reason.startswith("network"):
            pytest.skip(f"the environment could not be downloaded: {failure.reason}")
    assert summary.failures == ()


def mysql_query(uri: str, query: str) -> list[tuple[object, ...]]:
    import pymysql

    parts = urllib.parse.urlsplit(uri)
    conn = pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username, database=parts.path[1:],
                           autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query)
            return list(cursor.fetchall())
    finally:
        conn.close()
