"""``evolution.csv``: one repository's MLflow usage over its analyzed history, from its ``history.csv`` and
``history_api_usage.csv`` rows, the API catalog (which release deprecated an API) and MLflow's release dates
(when PyPI published each release: ``analysis.releases.dates``, the corpus's or the shipped snapshot's)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from analysis.history.commits import HistoryResult
from analysis.history_rows import EvolutionRow, HistoryRow
from analysis.releases.dates import PinLag, ReleaseDates, load_release_dates, utc
from analysis.rows import Catalog
from analysis.versions import pinned_version, version_key

NO_DATES = "no MLflow release dates (neither the corpus nor the snapshot has them): pins and deprecations not " \
           "compared with dates"


def release_dates(releases_table: Path) -> ReleaseDates:
    """MLflow's release dates for a corpus whose ``mlflow/releases.csv`` is ``releases_table``: those its
    ``mlflow/`` folder records, else the shipped snapshot's (``releases.dates.load_release_dates``)."""
    return load_release_dates(releases_table.parent)


def _apis_at(res: HistoryResult) -> dict[str, set[str]]:
    apis_at: dict[str, set[str]] = {}
    for usage in res.api_usage:
        apis_at.setdefault(usage.commit, set()).add(usage.api)
    return apis_at


def _deprecated(apis: Iterable[str], catalog: Catalog) -> dict[str, str]:
    """API -> the release that deprecated it, for those of ``apis`` the catalog says were deprecated."""
    by_api = catalog.by_api
    return {api: by_api[api].deprecated_since for api in apis if api in by_api and by_api[api].deprecated_since}


def dated_history(res: HistoryResult, catalog: Catalog, released: ReleaseDates) -> list[HistoryRow]:
    """``res.history`` with each commit against MLflow's releases published by its date: the release it pins
    exactly, the newest final release then, how far the pin is behind it (``ReleaseDates.lag``), and how many of
    the APIs it calls a release published by then had deprecated. Without release dates, or for a commit dated
    after they were fetched, the date columns stay empty (the pin is still named)."""
    apis_at = _apis_at(res)
    deprecated = _deprecated(set().union(*apis_at.values()) if apis_at else (), catalog)
    out_of = {api: when for api, since in deprecated.items() if (when := released.date_of(since)) is not None}
    rows = []
    for r in res.history:
        pin, when = pinned_version(r.mlflow_requirement), utc(r.committed_at)
        knows = bool(released) and released.knows(when)
        lag = released.lag(pin, when) if pin and released else None
        late = sum(1 for api in apis_at.get(r.commit, ()) if api in out_of and when >= out_of[api]) if knows else None
        rows.append(replace(r, mlflow_pinned=pin, newest_release=released.newest_at(when) if knows else "",
                            pin_releases_behind=lag.releases_behind if lag else None,
                            pin_days_behind=lag.days_behind if lag else None, n_apis_deprecated_by_then=late))
    return rows


def _deprecations(rows: Sequence[HistoryRow], apis_at: dict[str, set[str]], deprecated: dict[str, str],
                  released: ReleaseDates, notes: list[str]) -> tuple[int | None, str, int | None]:
    """(commits calling an API after the release deprecating it was published, ``api@release:Nd`` for each API so
    called with the days from that publication to its last call, the longest of those days or 0), None and ''
    where no deprecating release is dated. ``rows`` are dated (``dated_history``): the commits counted are
    those whose ``n_apis_deprecated_by_then`` is above 0, so the column sums to the count."""
    dated = {api: when for api, since in deprecated.items() if (when := released.date_of(since)) is not None}
    undated = sorted({since for since in deprecated.values() if released.date_of(since) is None}, key=version_key)
    if undated:
        notes.append(f"deprecating release(s) without a date: {', '.join(undated)}")
    if not dated:
        return None, "", None
    n_after = too_late = 0
    last: dict[str, int] = {}
    for r in rows:  # dated: each commit's n_apis_deprecated_by_then says whether it is counted, and how
        if r.n_apis_deprecated_by_then is None:  # dated after the release dates were fetched
            too_late += any(api in dated for api in apis_at.get(r.commit, ()))
        elif r.n_apis_deprecated_by_then:
            n_after += 1
            when = utc(r.committed_at)
            for api in apis_at.get(r.commit, ()):
                if api in dated and when >= dated[api]:
                    last[api] = (when - dated[api]).days
    if too_late:
        notes.append(f"{too_late} commit(s) calling a deprecated API dated after the release dates were fetched, "
                     "not compared")
    use = ";".join(f"{api}@{deprecated[api]}:{days}d" for api, days in sorted(last.items()))
    return n_after, use, max(last.values(), default=0)


def evolution_row(res: HistoryResult, catalog: Catalog, released: ReleaseDates) -> EvolutionRow:
    """The evolution of one repository (``res`` with its rows oldest first, dated by ``dated_history``)."""
    rows: Sequence[HistoryRow] = res.history
    apis_at = _apis_at(res)
    notes = []
    if res.state and res.state != "complete":
        notes.append(f"history {res.state}: it may begin later than the repository's")
    if not released:
        notes.append(NO_DATES)
    origin = released.describe() if released else ""
    if not rows:
        return EvolutionRow(res.repo, res.state, 0, "", "", "", "", "", "", False, 0, 0, None, "", "", "", 0, None, "",
                            None, "", "", "", None, None, 0, None, None, None, None, origin,
                            "; ".join(["no commit analyzed", *notes]))
    uses = [r for r in rows if r.n_call_sites]
    head = rows[-1]
    code = [r for r in rows if r.changes_code]
    cochange = [r for r in code if r.changes_mlproject_env]
    ever = set().union(*apis_at.values()) if apis_at else set()
    added = ever - apis_at.get(uses[0].commit, set()) if uses else set()
    removed = ever - apis_at.get(head.commit, set())
    deprecated = _deprecated(ever, catalog)
    after_release, deprecated_use, use_days = (_deprecations(rows, apis_at, deprecated, released, notes) if released
                                               else (None, "", None))
    after_pin = 0
    lags: list[PinLag] = []
    pinned = 0
    undated_pins: set[str] = set()
    too_late = 0
    head_lag: PinLag | None = None
    for r in rows:
        version = r.mlflow_pinned
        if not version:
            continue
        pinned += 1
        if any(version_key(deprecated[a]) <= version_key(version) for a in apis_at.get(r.commit, ()) if a in deprecated):
            after_pin += 1
        if not released:
            continue
        if r.pin_releases_behind is not None and r.pin_days_behind is not None:
            lag = PinLag(version, r.newest_release, r.pin_releases_behind, r.pin_days_behind)
            lags.append(lag)
            head_lag = lag if r is head else head_lag
        elif released.date_of(version) is None:
            undated_pins.add(version)
        elif not released.knows(utc(r.committed_at)):
            too_late += 1
    if undated_pins:
        notes.append(f"pinned release(s) without a date, not compared: {', '.join(sorted(undated_pins, key=version_key))}")
    if too_late:
        notes.append(f"{too_late} pinning commit(s) dated after the release dates were fetched, not compared")
    dated = bool(released)
    head_pin = head.mlflow_pinned
    return EvolutionRow(
        res.repo, res.state, len(rows), rows[0].commit, rows[0].committed_at,
        uses[0].commit if uses else "", uses[0].committed_at if uses else "",
        uses[-1].commit if uses else "", uses[-1].committed_at if uses else "", head.n_call_sites > 0,
        len(code), len(cochange), round(len(cochange) / len(code), 4) if code else None,
        ";".join(sorted(added)), ";".join(sorted(removed)),
        ";".join(f"{api}@{since}" for api, since in sorted(deprecated.items())), after_pin,
        after_release, deprecated_use, use_days,
        head.mlflow_requirement, head_pin,
        head.newest_release,
        head_lag.releases_behind if head_lag else None, head_lag.days_behind if head_lag else None,
        pinned, len(lags) if dated else None, sum(lag.behind for lag in lags) if dated else None,
        max((lag.releases_behind for lag in lags), default=None), max((lag.days_behind for lag in lags), default=None),
        origin, "; ".join(notes))
