"""Selection: the spec's named rules, applied in a stated order, then the sample; one ``selection.csv`` row
per candidate.

The rules (``RULES``, in this order; the first that holds leaves the candidate out, and is its ``rule``):

``forks``         a fork, unless ``include_forks = true`` (default false)
``archived``      archived, when ``include_archived = false`` (default true)
``stars``         fewer stars than ``min_stars`` (default 0)
``pushed_after``  last pushed before ``pushed_after`` (default "": no limit)
``size``          over ``max_size_kb`` (GitHub's ``size``; default 0: no limit)
``empty``         GitHub's ``size`` is 0: nothing to fetch (not a setting)
``language``      GitHub's primary language is none of ``languages`` (any case; default []: any)
``tutorials``     course work by ``miner.tutorials`` (GitHub Classroom's description, a course word of the
                  name, description or topics, a farm), when ``exclude_tutorials = true``; by default
                  (false) it is kept, and flagged in ``tutorial``

A rule reads only what a source told: a candidate whose stars nobody knows (a local clone) is not left
out by ``stars``. Course work is looked for among every candidate found (a farm is many of them), and
flagged whether or not the rule excludes it. Then ``[sample]`` draws ``n`` of those kept
(``miner.sample``); the others are ``not-sampled``. A listed repository GitHub does not serve is
``not-found``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miner.fileio import write_csv, write_provenance
from miner.ftypes import FALSE, SELECTION_COLUMNS, TRUE, Filters, RepoCandidate, Sample, Selected, SelectionRow
from miner.sample import Drawn, draw, stratum
from miner.sources import Merged
from miner.tutorials import Candidate, Find, tutorials

SELECTION = "selection.csv"
NOT_FOUND_REASON = "GitHub does not serve it (HTTP 404, 410 or 451)"
NOT_SAMPLED_REASON = "not drawn into the sample"


@dataclass(frozen=True)
class Rule:
    """A named selection rule: its settings in ``[filters]`` and what it says of a candidate ('' : it holds not)."""

    name: str
    settings: tuple[str, ...]
    test: Callable[[RepoCandidate, Filters, Find | None], str]

    def setting(self, filters: Filters) -> str:
        """The rule's settings as the spec says them (``min_stars = 10``)."""
        return ", ".join(f"{k} = {_toml(getattr(filters, k))}" for k in self.settings) or "always"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return TRUE if value else FALSE  # TOML's booleans are spelled as the tables' cells
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _language(c: RepoCandidate, f: Filters) -> str:
    if not f.languages or c.language is None or c.language.lower() in {x.lower() for x in f.languages}:
        return ""
    return f"language {c.language or '(none detected)'} not in {', '.join(f.languages)}"


RULES: tuple[Rule, ...] = (
    Rule("forks", ("include_forks",), lambda c, f, _t: "fork" if c.is_fork and not f.include_forks else ""),
    Rule("archived", ("include_archived",),
         lambda c, f, _t: "archived" if c.archived and not f.include_archived else ""),
    Rule("stars", ("min_stars",), lambda c, f, _t: f"stars {c.stars} < {f.min_stars}"
         if c.stars is not None and c.stars < f.min_stars else ""),
    Rule("pushed_after", ("pushed_after",), lambda c, f, _t: f"pushed {c.pushed_at[:10]} before {f.pushed_after}"
         if f.pushed_after and c.pushed_at and c.pushed_at[:10] < f.pushed_after else ""),
    Rule("size", ("max_size_kb",), lambda c, f, _t: f"size {c.size_kb} KB over the {f.max_size_kb} KB limit"
         if f.max_size_kb and c.size_kb is not None and c.size_kb > f.max_size_kb else ""),
    Rule("empty", (), lambda c, _f, _t: "empty repository (size 0)" if c.source == "github" and c.size_kb == 0 else ""),
    Rule("language", ("languages",), lambda c, f, _t: _language(c, f)),
    Rule("tutorials", ("exclude_tutorials",), lambda _c, f, t: f"course work ({t.rule}: {t.evidence})"
         if t is not None and f.exclude_tutorials else ""),
)


def first_rule(cand: RepoCandidate, filters: Filters, tutorial: Find | None = None) -> tuple[str, str]:
    """(rule, its words) of the first rule that leaves ``cand`` out, ('', '') when none does."""
    for rule in RULES:
        reason = rule.test(cand, filters, tutorial)
        if reason:
            return rule.name, reason
    return "", ""


def _row(merged: Merged, status: Selected, rule: str = "", reason: str = "", tutorial: Find | None = None) -> SelectionRow:
    c = merged.candidate
    return SelectionRow(
        repo=c.repo, sources=merged.sources, status=status.value, rule=rule, reason=reason,
        tutorial=tutorial.rule if tutorial else "", tutorial_evidence=tutorial.evidence if tutorial else "",
        stratum=stratum(c.stars) if status != Selected.NOT_FOUND else "", repo_id=c.repo_id, is_fork=c.is_fork,
        archived=c.archived, stars=c.stars, pushed_at=c.pushed_at, size_kb=c.size_kb, language=c.language,
        description=c.description.replace("\n", " "), topics=";".join(c.topics), created_at=c.created_at,
    )


def select(candidates: Sequence[Merged], not_found: Sequence[Merged], filters: Filters | None,
           sample: Sample | None) -> tuple[list[SelectionRow], Drawn | None]:
    """Every candidate's ``selection.csv`` row, in the order found (not-found names last), and the sample
    drawn (None without ``[sample]``). ``filters`` None: every candidate is kept (a lock is re-mined as it is)."""
    finds = tutorials(Candidate(m.candidate.repo, m.candidate.description, m.candidate.topics) for m in candidates)
    decided: list[tuple[Merged, str, str]] = []
    for m in candidates:
        rule, reason = first_rule(m.candidate, filters, finds.get(m.candidate.repo)) if filters else ("", "")
        decided.append((m, rule, reason))
    drawn = None
    if sample is not None and filters is not None:
        drawn = draw([(m.candidate.repo, m.candidate.stars) for m, rule, _ in decided if not rule], sample.n, sample.seed)
    rows = []
    for m, rule, reason in decided:
        find = finds.get(m.candidate.repo)
        if rule:
            rows.append(_row(m, Selected.EXCLUDED, rule, reason, find))
        elif drawn is not None and m.candidate.repo not in drawn.repos:
            rows.append(_row(m, Selected.NOT_SAMPLED, "", NOT_SAMPLED_REASON, find))
        else:
            rows.append(_row(m, Selected.KEPT, "", "", find))
    rows += [_row(m, Selected.NOT_FOUND, "", NOT_FOUND_REASON) for m in not_found]
    return rows, drawn


def record(filters: Filters | None, sample: Sample | None, drawn: Drawn | None) -> dict[str, Any]:
    """What the provenance says of the selection: the rules in order with their settings, and the sample."""
    out: dict[str, Any] = {"rules": [{"rule": r.name, "setting": r.setting(filters)} for r in RULES]
                           if filters is not None else "none (a lock is re-mined as it is)"}
    if sample is not None and drawn is not None:
        out["sample"] = drawn.record(sample.n, sample.seed)
    return out


def write_selection(corpus: Path, rows: Sequence[SelectionRow], prov: dict[str, Any]) -> None:
    """``selection.csv`` and its provenance."""
    path = corpus / SELECTION
    write_csv(path, SELECTION_COLUMNS, (r.as_dict() for r in rows))
    write_provenance(path, prov)
