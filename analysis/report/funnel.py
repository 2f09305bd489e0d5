"""The selection funnel's first steps, from the corpus's ``selection.csv``: the candidates each source found,
merged by repository id, the names GitHub does not serve, each selection rule in its order with its setting
and how many it left out, and the sample. (A corpus mined before ``selection.csv`` has the funnel
``methodology`` reads from ``manifest.csv`` alone.)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from analysis.report.inputs import ReportInputs
from analysis.tables import TRUE
from miner.selection import RULES

MAX_NAMED = 10  # names listed in a step's reason, at most


def _named(names: list[str]) -> str:
    more = len(names) - MAX_NAMED
    return ", ".join(names[:MAX_NAMED]) + (f" and {more} more" if more > 0 else "")


def _sources(selection: pd.DataFrame, prov: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's sources in the spec's order, as the provenance lists them (else as the rows name them)."""
    listed = prov.get("sources")
    if isinstance(listed, list) and all(isinstance(s, dict) and "name" in s for s in listed):
        return listed
    names = dict.fromkeys(n for cell in selection["sources"] for n in cell.split(";") if n)
    return [{"name": n, "kind": n.split(":", 1)[0]} for n in names]


def _search_words(name: str, search: pd.DataFrame) -> str:
    """A search source's total_count, windows and completeness, from search.csv."""
    if "source" not in search:
        return ""
    rows = search[search["source"] == name]
    if rows.empty:
        return ""
    read = rows[rows["split"].str.lower() != TRUE]
    complete = not ((read["incomplete_results"].str.lower() == TRUE).any() or (read["note"] != "").any())
    return (f"; GitHub's total_count {rows['total_count'].iloc[0]}, {len(read)} created: windows in search.csv, "
            + ("complete" if complete else "INCOMPLETE"))


def _source_reason(source: dict[str, Any], search: pd.DataFrame, not_found: int) -> str:
    kind = str(source.get("kind", ""))
    if kind == "topic":
        words = f"topic {source.get('topic', '')}" + (f" {source['query']}" if source.get("query") else "")
        return f"GitHub search of {words}, forks included" + _search_words(str(source["name"]), search)
    if kind == "search":
        return f"GitHub search {source.get('query', '')!r}, forks included" + _search_words(str(source["name"]), search)
    if kind == "list":
        return f"repositories listed in {source.get('path', '')}, each looked up on GitHub; {not_found} not found"
    if kind == "local":
        return f"git repositories under {source.get('path', '')}"
    if kind == "lock":
        return f"the (repo, commit) pairs of {source.get('path', '')}, re-mined as they are"
    return kind


def selection_steps(inputs: ReportInputs) -> tuple[list[dict[str, object]], set[str]]:
    """The funnel's rows from the sources to the sample (``step, repositories, removed, reason``), and the
    repositories selection.csv keeps (those mining was asked to fetch)."""
    selection = inputs.corpus_table("selection.csv")
    prov = inputs.corpus_provenance("selection.csv")
    search = inputs.corpus_table("search.csv")
    status = selection["status"]
    rows: list[dict[str, object]] = []
    for source in _sources(selection, prov):
        name = str(source["name"])
        mine = selection[selection["sources"].map(lambda cell: name in cell.split(";"))]
        gone = int((mine["status"] == "not-found").sum())
        rows.append({"step": f"source {name}", "repositories": len(mine), "removed": "",
                     "reason": _source_reason(source, search, gone)})
    several = int(selection["sources"].str.contains(";", regex=False).sum())
    rows.append({"step": "candidates, merged by repository id", "repositories": len(selection), "removed": "",
                 "reason": f"{several} found by more than one source (selection.csv: one row per candidate)"})
    left = len(selection)
    not_found = selection.loc[status == "not-found", "repo"].tolist()
    if not_found:
        left -= len(not_found)
        rows.append({"step": "found on GitHub", "repositories": left, "removed": len(not_found),
                     "reason": f"listed, but GitHub does not serve them (404, 410 or 451): {_named(not_found)}"})
    settings = {r.get("rule"): r.get("setting") for r in prov.get("rules", []) if isinstance(r, dict)} \
        if isinstance(prov.get("rules"), list) else {}
    excluded = selection[status == "excluded"]
    flagged = selection[(selection["tutorial"] != "") & (status != "excluded")] if "tutorial" in selection else excluded[:0]
    for rule in RULES:
        out = excluded[excluded["rule"] == rule.name]
        if rule.name not in settings and out.empty:
            continue  # a lock is re-mined as it is: no rule was applied
        left -= len(out)
        words = [str(settings.get(rule.name) or "")]
        if rule.name == "tutorials" and len(flagged):
            kinds = Counter(flagged["tutorial"])
            words.append(f"{len(flagged)} course work kept and flagged (" + ", ".join(
                f"{k}: {n}" for k, n in kinds.most_common()) + ")")
        if rule.name in ("stars", "pushed_after", "size", "language") and len(out):
            words.append(f"e.g. {out['reason'].iloc[0]}")
        rows.append({"step": f"rule {rule.name}", "repositories": left, "removed": len(out),
                     "reason": "; ".join(w for w in words if w)})
    unsampled = int((status == "not-sampled").sum())
    sample = prov.get("sample")
    if unsampled or isinstance(sample, dict):
        left -= unsampled
        strata = (sample or {}).get("strata", {}) if isinstance(sample, dict) else {}
        reason = (f"n = {sample.get('n')}, seed = {sample.get('seed')}, stratified by stars: " + ", ".join(
            f"{s} {v.get('drawn')} of {v.get('candidates')}" for s, v in strata.items() if isinstance(v, dict))
                  if isinstance(sample, dict) else "not drawn into the sample")
        rows.append({"step": "sample", "repositories": left, "removed": unsampled, "reason": reason})
    return rows, set(selection.loc[status == "kept", "repo"])
