"""``evolution.csv``: one repository's MLflow usage over its analyzed history, from its ``history.csv`` and
``history_api_usage.csv`` rows, the API catalog (which release deprecated an API) and, when the corpus
has them, MLflow's release dates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from analysis.history.commits import HistoryResult
from analysis.history_rows import EvolutionRow, HistoryRow
from analysis.rows import Catalog
from analysis.versions import pinned_version, version_key
from miner.fileio import read_csv

NO_DATES = "no MLflow release dates in the corpus: pins and deprecations not compared with dates"


def release_dates(releases_table: Path) -> dict[str, str]:
    """Version -> release date (ISO 8601) from the corpus's ``mlflow/releases.csv`` when it has a
    ``released_at`` column with values; empty otherwise."""
    if not releases_table.is_file():
        return {}
    return {r["version"]: r["released_at"] for r in read_csv(releases_table) if r.get("version") and r.get("released_at")}


def _utc(date: str) -> datetime:
    when = datetime.fromisoformat(date.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def current_release(released: Mapping[str, str], at: str) -> str:
    """The newest release published at or before ``at`` ('' when none was)."""
    when = _utc(at)
    out = [v for v, d in released.items() if _utc(d) <= when]
    return max(out, key=version_key) if out else ""


def evolution_row(res: HistoryResult, catalog: Catalog, released: Mapping[str, str]) -> EvolutionRow:
    """The evolution of one repository (``res`` with its rows oldest first)."""
    rows: Sequence[HistoryRow] = res.history
    apis_at: dict[str, set[str]] = {}
    for usage in res.api_usage:
        apis_at.setdefault(usage.commit, set()).add(usage.api)
    notes = []
    if res.state and res.state != "complete":
        notes.append(f"history {res.state}: it may begin later than the repository's")
    if not released:
        notes.append(NO_DATES)
    if not rows:
        return EvolutionRow(res.repo, res.state, 0, "", "", "", "", "", "", False, 0, 0, None, "", "", "", 0, None, "",
                            0, None, "; ".join(["no commit analyzed", *notes]))
    uses = [r for r in rows if r.n_call_sites]
    head = rows[-1]
    code = [r for r in rows if r.changes_code]
    cochange = [r for r in code if r.changes_mlproject_env]
    ever = set().union(*apis_at.values()) if apis_at else set()
    added = ever - apis_at.get(uses[0].commit, set()) if uses else set()
    removed = ever - apis_at.get(head.commit, set())
    by_api = catalog.by_api
    deprecated = {api: by_api[api].deprecated_since for api in ever if api in by_api and by_api[api].deprecated_since}
    after_pin = 0
    pinned = 0
    behind = 0
    for r in rows:
        version = pinned_version(r.mlflow_requirement)
        if not version:
            continue
        pinned += 1
        if any(version_key(deprecated[a]) <= version_key(version) for a in apis_at.get(r.commit, ()) if a in deprecated):
            after_pin += 1
        current = current_release(released, r.committed_at) if released else ""
        if current and version_key(version) < version_key(current):
            behind += 1
    days: int | None = None
    if released:
        spans = [(_utc(r.committed_at) - _utc(released[since])).days
                 for api, since in deprecated.items() if since in released
                 for r in rows if api in apis_at.get(r.commit, ())]
        days = max([0, *spans]) if spans else None
    return EvolutionRow(
        res.repo, res.state, len(rows), rows[0].commit, rows[0].committed_at,
        uses[0].commit if uses else "", uses[0].committed_at if uses else "",
        uses[-1].commit if uses else "", uses[-1].committed_at if uses else "", head.n_call_sites > 0,
        len(code), len(cochange), round(len(cochange) / len(code), 4) if code else None,
        ";".join(sorted(added)), ";".join(sorted(removed)),
        ";".join(f"{api}@{since}" for api, since in sorted(deprecated.items())), after_pin, days,
        head.mlflow_requirement, pinned, behind if released else None, "; ".join(notes))
