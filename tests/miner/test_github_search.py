"""The GitHub source against a loopback server speaking GitHub's search API."""

from __future__ import annotations

import socket
import time
from datetime import date

import pytest

from miner.ftypes import GitHubSelection, MineEvent
from miner.github_search import GitHubSearch, SearchError, SearchUnavailable, rate_limit_wait
from tests.conftest import FakeGitHub, repo_item, spread_dates


def _search(fake: FakeGitHub, waits: list[float], *, per_page: int = 100, retries: int = 3,
            timeout: float = 5.0) -> GitHubSearch:
    events: list[MineEvent] = []
    return GitHubSearch(
        GitHubSelection(created_from="2020-01-01", per_page=per_page),
        api_url=fake.base_url, token=None, timeout=timeout, max_retries=retries, max_wait_s=3600,
        progress=events.append, sleep=waits.append, today=date(2020, 12, 31),
    )


def _populate(fake: FakeGitHub, n: int, per_day: int, start: date = date(2020, 1, 1)) -> None:
    for i, created in enumerate(spread_dates(n, start, per_day)):
        fake.repos.append(repo_item(f"owner{i}/repo{i}", f"file:///nowhere/{i}", created))


def test_pages_are_followed_through_link_headers(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 250, per_day=10)
    result = _search(fake_github, [], per_page=100).search()
    assert result.total_count == 250
    assert len(result.candidates) == 250
    assert result.complete
    pages = [p for p, _ in fake_github.requests]
    assert len(pages) == 3
    assert "page=2" in pages[1] and "page=3" in pages[2]  # taken from rel="next"
    first = next(c for c in result.candidates if c.repo == "owner0/repo0")
    assert (first.stars, first.license, first.default_branch, first.created_at) == (3, "MIT", "main", "2020-01-01T12:00:00Z")


def test_windows_split_until_each_is_under_the_cap(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 2600, per_day=20)  # 130 days of 20 repositories
    result = _search(fake_github, []).search()
    assert result.total_count == 2600
    assert {c.repo for c in result.candidates} == {f"owner{i}/repo{i}" for i in range(2600)}
    assert result.complete
    read = [w for w in result.windows if not w.split]
    assert all(w.total_count <= 1000 for w in read)
    assert sum(w.collected for w in read) == 2600
    assert any(w.split for w in result.windows)


def test_a_day_over_the_cap_is_recorded_not_looped(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 1100, per_day=1100, start=date(2020, 6, 1))
    _populate_extra = repo_item("late/one", "file:///x", "2020-07-01")
    fake_github.repos.append(_populate_extra)
    result = _search(fake_github, []).search()
    assert not result.complete
    day = [w for w in result.windows if w.created_from == w.created_to == "2020-06-01"]
    assert len(day) == 1
    assert day[0].collected == 1000 and day[0].total_count == 1100
    assert "exceed" in day[0].note
    assert "late/one" in {c.repo for c in result.candidates}
    assert len(fake_github.requests) < 60  # bounded: no endless splitting of one day


def test_incomplete_results_flag_is_recorded(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 5, per_day=5)
    search = _search(fake_github, [])
    fake_github.incomplete_queries.add(search.query(date(2020, 1, 1), date(2020, 12, 31)))
    result = search.search()
    assert not result.complete
    assert result.windows[0].incomplete_results


def test_403_with_reset_header_waits_until_reset(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 3, per_day=3)
    reset = int(time.time()) + 42
    fake_github.faults.append(("status", 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}))
    waits: list[float] = []
    result = _search(fake_github, waits).search()
    assert len(result.candidates) == 3
    assert len(waits) == 1 and 38 <= waits[0] <= 44


def test_429_with_retry_after_waits_that_long(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 3, per_day=3)
    fake_github.faults.append(("status", 429, {"Retry-After": "7"}))
    waits: list[float] = []
    assert len(_search(fake_github, waits).search().candidates) == 3
    assert waits == [7.0]


def test_5xx_once_then_fine(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 3, per_day=3)
    fake_github.faults.append(("status", 502, {}))
    waits: list[float] = []
    assert len(_search(fake_github, waits).search().candidates) == 3
    assert waits == [1.0]


def test_timeout_then_fine(fake_github: FakeGitHub) -> None:
    _populate(fake_github, 3, per_day=3)
    fake_github.faults.append(("timeout", 0, {}))
    waits: list[float] = []
    assert len(_search(fake_github, waits, timeout=1).search().candidates) == 3
    assert len(waits) == 1


def test_persistent_5xx_gives_up_with_a_clear_error(fake_github: FakeGitHub) -> None:
    fake_github.faults.extend([("status", 500, {})] * 3)
    waits: list[float] = []
    host = fake_github.base_url.removeprefix("http://")
    with pytest.raises(SearchUnavailable, match=f"the GitHub API at {host} kept failing: HTTP 500; gave up after 3 attempts"):
        _search(fake_github, waits, retries=2).search()
    assert waits == [1.0, 2.0]  # no wait after the last attempt


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed on return: nothing listens there


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        pytest.param("http://nonexistent.invalid", "DNS lookup failed", id="dns"),
        pytest.param("http://127.0.0.1:{port}", "connection refused", id="refused"),
        pytest.param("https://{fake}", "TLS handshake failed", id="tls-to-a-plain-http-server"),
    ],
)
def test_unreachable_api_names_host_and_cause(fake_github: FakeGitHub, url: str, cause: str) -> None:
    url = url.format(port=_free_port(), fake=fake_github.base_url.removeprefix("http://"))
    waits: list[float] = []
    search = GitHubSearch(GitHubSelection(), api_url=url, token=None, timeout=5, max_retries=2, max_wait_s=60,
                          progress=lambda _e: None, backoff_s=0.5, sleep=waits.append)
    with pytest.raises(SearchUnavailable) as caught:
        search.search()
    host = url.split("://", 1)[1]
    assert str(caught.value).startswith(f"cannot reach the GitHub API at {host}: {cause}")
    assert str(caught.value).endswith("; gave up after 3 attempts") and caught.value.host == host
    assert waits == [0.5, 1.0]  # the schedule is the setting's
    assert not isinstance(caught.value, SearchError)  # not bad input: the CLI exits 1, not 2


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        pytest.param(403, {"Retry-After": "5"}, 5.0, id="retry-after"),
        pytest.param(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1100"}, 101.0, id="reset"),
        pytest.param(403, {"X-RateLimit-Remaining": "12"}, None, id="forbidden-not-limited"),
        pytest.param(429, {}, 60.0, id="429-bare"),
        pytest.param(404, {"Retry-After": "5"}, None, id="not-a-limit"),
    ],
)
def test_rate_limit_wait(status: int, headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_wait(status, headers, now=1000.0) == expected


def test_query_carries_topic_window_and_forks(fake_github: FakeGitHub) -> None:
    q = _search(fake_github, []).query(date(2020, 1, 1), date(2020, 1, 31))
    assert q.split() == ["topic:mlflow-projects", "fork:true", "created:2020-01-01..2020-01-31"]

