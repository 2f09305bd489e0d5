"""GitHub sources: repositories of a topic or of any search, through PyGithub, complete despite the
1,000-result cap; and repositories looked up by name.

The Search API answers at most 1,000 results per query. ``GitHubSearch`` splits the
``created:`` range in halves until every window holds at most 1,000 repositories, reads each
window page by page (following ``Link: rel="next"``), and checks that what it collected equals
the ``total_count`` of the whole query. A window that still exceeds 1,000 at one-day granularity
is read as far as GitHub allows and recorded as incomplete; it is never split further.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import time
import urllib.parse
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

import requests
from github import Auth, Github, GithubException

from miner.ftypes import (
    GitHubSelection,
    MineEvent,
    MineFailed,
    MinerError,
    ProgressFn,
    RepoCandidate,
    SearchWindow,
    SourceSpec,
    topic_source,
)

log = logging.getLogger(__name__)

SEARCH_CAP = 1000
LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
GONE = (404, 410, 451)  # no such repository, deleted, blocked: a listed name GitHub does not serve


class SearchError(MinerError):
    """The search cannot be done as asked (an HTTP 4xx, a rate-limit wait too long, a bad answer)."""


class SearchUnavailable(MineFailed):
    """The API could not be reached, or kept failing, through every retry."""


def connection_cause(err: BaseException) -> str:
    """Why a connection failed, in words: the DNS lookup, a refusal, TLS, a timeout or a reset.

    requests wraps urllib3's error, which wraps the socket's: the whole chain is searched.
    """
    chain: list[BaseException] = []
    todo: list[BaseException] = [err]
    while todo:
        exc = todo.pop(0)
        if any(exc is seen for seen in chain):
            continue
        chain.append(exc)
        todo += [e for e in (exc.__cause__, exc.__context__, getattr(exc, "reason", None), *exc.args)
                 if isinstance(e, BaseException)]
    for exc in chain:
        if isinstance(exc, socket.gaierror) or type(exc).__name__ == "NameResolutionError":
            return "DNS lookup failed (the host name does not resolve)"
    for exc in chain:
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, (ssl.SSLError, requests.exceptions.SSLError)):
            detail = next((str(e.reason) for e in chain if isinstance(e, ssl.SSLError) and e.reason), "")
            return f"TLS handshake failed{f' ({detail})' if detail else ''}"
        if isinstance(exc, requests.exceptions.ProxyError):
            return "the proxy failed"
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return "connection timed out"
        if isinstance(exc, requests.exceptions.Timeout):
            return "no answer in time"
        if isinstance(exc, ConnectionResetError):
            return "connection reset"
    return type(err).__name__


@dataclass(frozen=True)
class SearchResult:
    """All candidates of a search and how complete the search was."""

    candidates: tuple[RepoCandidate, ...]
    windows: tuple[SearchWindow, ...]
    total_count: int
    complete: bool


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def rate_limit_wait(status: int, headers: Mapping[str, Any] | None, now: float) -> float | None:
    """Seconds to wait before retrying a 403/429, or None if the answer is no rate limit.

    ``Retry-After`` (secondary limits) wins; else ``X-RateLimit-Reset`` when
    ``X-RateLimit-Remaining`` is 0 (primary limit). A 429 with neither waits one minute,
    as GitHub's documentation advises.
    """
    if status not in (403, 429):
        return None
    retry_after = _header(headers, "Retry-After")
    if retry_after is not None:
        try:
            return max(1.0, float(retry_after))
        except ValueError:
            pass
    remaining = _header(headers, "X-RateLimit-Remaining")
    reset = _header(headers, "X-RateLimit-Reset")
    if remaining == "0" and reset is not None:
        try:
            return max(1.0, float(reset) - now + 1.0)
        except ValueError:
            pass
    return 60.0 if status == 429 else None


def candidate_from_item(item: Mapping[str, Any]) -> RepoCandidate:
    """A search result item (GitHub's repository JSON) as a candidate."""
    license_info = item.get("license") or {}
    return RepoCandidate(
        repo=str(item["full_name"]),
        source="github",
        clone_url=str(item.get("clone_url") or ""),
        default_branch=str(item.get("default_branch") or ""),
        repo_id=item.get("id") if isinstance(item.get("id"), int) else None,
        language=str(item.get("language") or ""),
        stars=item.get("stargazers_count"),
        forks=item.get("forks_count"),
        is_fork=item.get("fork"),
        archived=item.get("archived"),
        license=str(license_info.get("spdx_id") or "") if isinstance(license_info, dict) else "",
        topics=tuple(str(t) for t in item.get("topics") or ()),
        created_at=str(item.get("created_at") or ""),
        pushed_at=str(item.get("pushed_at") or ""),
        size_kb=item.get("size"),
        description=str(item.get("description") or ""),
    )


class GitHubSearch:
    """Searches a topic, or any query, on GitHub's REST API (or GitHub Enterprise, or a test server), and
    looks repositories up by name."""

    def __init__(
        self,
        selection: GitHubSelection | SourceSpec,
        *,
        api_url: str,
        token: str | None,
        timeout: float,
        max_retries: int,
        max_wait_s: float,
        progress: ProgressFn,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        today: date | None = None,
        request_interval: float | None = None,
    ) -> None:
        self.source = selection if isinstance(selection, SourceSpec) else topic_source(selection)
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.host = urllib.parse.urlsplit(api_url).netloc or api_url
        self.max_wait_s = max_wait_s
        self.progress = progress
        self.sleep = sleep
        self.clock = clock
        self.today = today or datetime.now(timezone.utc).date()
        self.github = Github(
            auth=Auth.Token(token) if token else None,
            base_url=api_url.rstrip("/"),
            timeout=int(max(1, timeout)),
            retry=None,
            per_page=self.source.per_page,
            seconds_between_requests=request_interval,
        )
        self.n_requests = 0

    def query(self, lo: date, hi: date) -> str:
        """The search query for one ``created:`` window (forks included, filtered later, unless the query
        says ``fork:`` itself): ``topic:T fork:true created:.. EXTRA``, or ``QUERY fork:true created:..``."""
        src = self.source
        window = f"created:{lo.isoformat()}..{hi.isoformat()}"
        forks = [] if any(t.lower().startswith("fork:") for t in src.query.split()) else ["fork:true"]
        if src.kind == "topic":
            return " ".join([f"topic:{src.topic}", *forks, window, *([src.query] if src.query else [])])
        return " ".join([src.query, *forks, window])

    def lookup(self, full_name: str) -> dict[str, Any] | None:
        """GitHub's repository JSON for ``owner/name`` (a renamed repository is followed to its new name),
        None when GitHub does not serve it (404, 410, 451)."""
        try:
            _headers, data = self._get(f"/repos/{urllib.parse.quote(full_name, safe='/')}", None)
        except SearchError as err:
            cause = err.__cause__
            if isinstance(cause, GithubException) and cause.status in GONE:
                return None
            raise
        if not isinstance(data, dict) or "full_name" not in data:
            raise SearchError(f"unexpected answer for repository {full_name!r}")
        return data

    def _get(self, url: str, params: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
        """One GET with waits on rate limits and retries on 5xx, timeouts and failed connections."""
        last = ""
        reached = failed = True
        for attempt in range(self.max_retries + 1):
            if attempt and failed:  # not after a rate-limit wait: that was the wait
                backoff = min(60.0, self.backoff_s * 2.0 ** (attempt - 1))
                self.progress(MineEvent("wait", f"{self.host}: {last}; retrying in {backoff:.0f}s"))
                self.sleep(backoff)
            try:
                self.n_requests += 1
                headers, data = self.github.requester.requestJsonAndCheck("GET", url, parameters=params)
                return headers, data
            except GithubException as err:
                wait = rate_limit_wait(err.status, err.headers, self.clock())
                if wait is not None:
                    if wait > self.max_wait_s:
                        raise SearchError(f"rate limited for {wait:.0f}s, over the {self.max_wait_s:.0f}s allowed") from err
                    self.progress(MineEvent("wait", f"rate limited (HTTP {err.status}); waiting {wait:.0f}s"))
                    self.sleep(wait)
                    last, reached, failed = f"rate limited (HTTP {err.status})", True, False
                    continue
                if err.status >= 500:
                    last, reached, failed = f"HTTP {err.status}", True, True
                else:
                    raise SearchError(f"HTTP {err.status} from {url}: {str(err.data)[:200]}") from err
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as err:
                last, reached, failed = connection_cause(err), False, True
        what = f"the GitHub API at {self.host} kept failing" if reached else f"cannot reach the GitHub API at {self.host}"
        raise SearchUnavailable(f"{what}: {last}; gave up after {self.max_retries + 1} attempts", self.host)

    def _read_window(self, query: str) -> Generator[tuple[int, bool, list[dict[str, Any]]], None, None]:
        """Pages of one query: (total_count, incomplete_results, items), following Link headers."""
        url: str | None = "/search/repositories"
        params: dict[str, Any] | None = {"q": query, "per_page": self.source.per_page}
        while url is not None:
            headers, data = self._get(url, params)
            if not isinstance(data, dict) or "items" not in data:
                raise SearchError(f"unexpected search answer for {query!r}")
            yield int(data.get("total_count", 0)), bool(data.get("incomplete_results")), list(data["items"])
            link = _header(headers, "Link") or ""
            match = LINK_NEXT.search(link)
            url, params = (match.group(1), None) if match else (None, None)

    def _window(self, lo: date, hi: date, found: dict[str, RepoCandidate], windows: list[SearchWindow]) -> int:
        """Collect one window into ``found`` (splitting it when over the cap); return its total."""
        query = self.query(lo, hi)
        pages = self._read_window(query)
        total, incomplete, items = next(pages)
        if total > SEARCH_CAP and lo < hi:
            pages.close()
            mid = lo + timedelta(days=(hi - lo).days // 2)
            windows.append(SearchWindow(query, lo.isoformat(), hi.isoformat(), total, 0, incomplete, True,
                                        source=self.source.name))
            self._window(lo, mid, found, windows)
            self._window(mid + timedelta(days=1), hi, found, windows)
            return total
        collected: dict[str, RepoCandidate] = {}
        for item in items:
            collected[str(item["full_name"])] = candidate_from_item(item)
        self.progress(MineEvent("search_page", query, len(found) + len(collected)))
        for _total, page_incomplete, more in pages:
            incomplete = incomplete or page_incomplete
            for item in more:
                collected[str(item["full_name"])] = candidate_from_item(item)
            self.progress(MineEvent("search_page", query, len(found) + len(collected)))
            if not more:
                break
        note = ""
        if total > SEARCH_CAP:
            note = f"{total} results in one day exceed the {SEARCH_CAP} cap; read {len(collected)}"
            log.warning("search window %s: %s", lo, note)
        elif len(collected) < total:
            note = f"collected {len(collected)} of {total}"
        windows.append(SearchWindow(query, lo.isoformat(), hi.isoformat(), total, len(collected), incomplete, False, note,
                                    self.source.name))
        found.update(collected)
        return total

    def search(self) -> SearchResult:
        """Every repository of the topic or query created from ``created_from`` to today."""
        lo = date.fromisoformat(self.source.created_from)
        found: dict[str, RepoCandidate] = {}
        windows: list[SearchWindow] = []
        total = self._window(lo, self.today, found, windows)
        complete = len(found) == total and not any(w.incomplete_results or w.note for w in windows if not w.split)
        return SearchResult(tuple(found[k] for k in sorted(found, key=str.lower)), tuple(windows), total, complete)
