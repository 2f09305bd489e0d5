"""The numbers the report quotes, as facts: ``Share``, ``Number`` and ``Label``, the ``Sentence`` templates
made of them, ``Facts`` (the registry by name), and the anchors of the tables they link to.

A share is n of a denominator, with its 95% Wilson interval; a number is a count, a size or a median;
a label is a release or an API name. A sentence is a template naming its facts (``{ReposMLproject}``);
``Facts.sentence`` drops it when one of them was not computed. ``findings.csv`` and LaTeX's
``findings.tex`` are rendered from these facts (``facts_frame``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Union

import pandas as pd

from analysis.statistics.clusters import ClusteredShare
from analysis.statistics.shares import ShareInterval

# anchors of the report's tables that facts link to (the sections render a table under each)
T_FUNNEL = "t-funnel"
T_URI = "t-tracking-uris"
T_STORES = "t-stores"
T_STORAGE_MODEL = "t-storage-model"
T_PROBE = "t-probe"
T_TRACKING = "t-tracking-practices"
T_API = "t-api-usage"
T_STORED_METRICS = "t-stored-metrics"
T_TRACE = "t-traceability"
T_REPRO = "t-reproducibility-practices"
T_ENTRY_POINTS = "t-entry-points"
T_RERUN = "t-rerun"

PROBE_COMMAND = "python cli.py probe"
RERUN_COMMAND = "python cli.py rerun"
BACKEND_NAMES = {"file": "a FileStore", "sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL"}


def backend_name(backend: str) -> str:
    """The suffix of a probe fact's name for a backend: ``file`` -> ``File`` (``Other`` for a name not all letters)."""
    return backend[:1].upper() + backend[1:] if backend.isalpha() else "Other"



def percent(share: float) -> str:
    """A share as a whole percentage (one decimal under 1%), ``<0.1`` and ``>99`` where rounding would say 0 or
    100 wrongly."""
    share = round(share, 9)  # a Wilson bound of 0 or 1 comes back as 1e-17 or 0.9999999999999999
    if 0 < share < 0.0005:
        return "<0.1"
    if 0 < share < 0.01:
        return f"{share * 100:.1f}"  # 0.5, not 0 or <1
    if 0.995 <= share < 1:
        return ">99"
    return str(round(share * 100))


def interval_bounds(low: float, high: float) -> tuple[str, str]:
    """An interval's bounds as percentages that read: whole numbers (one decimal under 1%), with one more
    decimal while the two would print alike (``1.5-2.5``, not ``2-2``); a bound may be 0 or 100, which a
    bound can round to without claiming the share is (``98-100``, not ``98->99``)."""
    lo, hi = round(low * 100, 9), round(high * 100, 9)

    def bound(value: float, digits: int) -> str:
        if 0 < value < 0.05:
            return "<0.1"
        return f"{value:.{max(digits, 1 if 0 < value < 1 else 0)}f}"

    digits = 0
    while digits < 3 and lo != hi and bound(lo, digits) == bound(hi, digits):
        digits += 1
    return bound(lo, digits), bound(hi, digits)


NOT_COMPARED = "not measured (none could be compared)"


def clustered_text(view: ClusteredShare, noun: str, unit: str | None = None) -> str:
    """The per-repository view and the concentration of units clustering in repositories, as a clause:
    ``in 4 of 6 repositories, median 25% per repository; one repository holds 60 of the 99 runs: without it
    10 of 39 (26%)``; for a ratio (``unit``, such as B per run) the median and the figure without are in ``unit``."""
    def per_repo(x: float) -> str:
        return f"{percent(x)}%" if unit is None else f"{x:,.0f} {unit}"

    def without(k: float, n: int) -> str:
        return f"{int(k):,} of {n:,} ({percent(k / n)}%)" if unit is None else f"{k / n:,.0f} {unit}"

    text = f"in {view.with_any:,} of {view.n_clusters:,} repositories" if unit is None \
        else f"over {view.n_clusters:,} repositories"
    if view.median is not None and view.n_clusters > 1:
        text += f", median {per_repo(view.median)} per repository"
    elif view.listed and view.n_clusters > 1 and unit is None:
        text += f" ({view.listed})"
    if view.low is None and view.n_clusters > 1:
        text += ", too few repositories for an interval"
    if view.concentrated:
        text += f"; one repository holds {view.largest_units:,} of the {view.n:,} {noun}".rstrip()
        text += f": without it {without(view.k_without, view.n_without)}" if view.n_without else ""
    return text


@dataclass(frozen=True)
class Share:
    """``n`` of ``of`` counted things, with its 95% interval: Wilson over repositories; over units that
    cluster in repositories (runs, metric histories, call sites) ``cluster`` holds the bootstrap over
    repositories, the per-repository view and the concentration (``analysis.statistics.clusters``), and
    ``interval`` is off where it gives none. ``of`` 0: nothing could be compared, which is not 0%."""

    name: str  # CamelCase letters: the LaTeX macro stem
    n: int
    of: int
    noun: str
    source: str
    table: str
    definition: str
    interval: bool = True
    cluster: ClusteredShare | None = None

    @property
    def share(self) -> float:
        return ShareInterval(self.n, self.of).share

    @property
    def ci(self) -> tuple[float, float]:
        if self.cluster is not None:
            return (self.cluster.low or 0.0, self.cluster.high or 0.0)
        return ShareInterval(self.n, self.of).interval

    @property
    def measured(self) -> bool:
        return self.of > 0

    def pct(self) -> str:
        """``72%, 59-82%`` (or ``72%``; ``12-60% by repository`` for a cluster bootstrap)."""
        if not self.measured:
            return NOT_COMPARED
        low, high = self.ci
        text = f"{percent(self.share)}%"
        if self.interval:
            text += ", {}-{}%".format(*interval_bounds(low, high)) + (" by repository" if self.cluster else "")
        return text

    def short(self) -> str:
        """The text without the per-repository view; one repository holding over a third of the units is still
        told, with the figure without it (a key finding must not hide it)."""
        view = self.cluster
        if view is None or not self.measured:
            return self.text()
        counted = f"{self.n:,} of {self.of:,}{' ' + self.noun if self.noun else ''}"
        told = ""
        if view.concentrated and view.n_without:
            told = (f"; one repository holds {view.largest_units:,} of them: without it {int(view.k_without):,} of "
                    f"{view.n_without:,}, {percent(view.share_without)}%")
        return f"{counted} ({self.pct()}{told})"

    def text(self) -> str:
        if not self.measured:
            return NOT_COMPARED
        counted = f"{self.n:,} of {self.of:,}{' ' + self.noun if self.noun else ''}"
        if self.cluster is None:
            return f"{counted} ({self.pct()})"
        return f"{counted} ({self.pct()}; {clustered_text(self.cluster, self.noun)})"


@dataclass(frozen=True)
class Number:
    """A count, size, time or median, in ``unit`` ('' for a plain count)."""

    name: str
    value: float
    unit: str
    source: str
    table: str
    definition: str
    digits: int = 0
    cluster: ClusteredShare | None = None  # a ratio of units clustering in repositories (bytes per run)
    per: str = ""  # the units of such a ratio: runs

    def text(self) -> str:
        number = f"{self.value:,.{self.digits}f}"
        text = f"{number} {self.unit}".rstrip()
        view = self.cluster
        if view is None:
            return text
        if view.low is not None:
            text += f" ({view.low:,.{self.digits}f}-{view.high or 0:,.{self.digits}f} by repository; "
        else:
            text += " ("
        return text + clustered_text(view, self.per, self.unit) + ")"


@dataclass(frozen=True)
class Label:
    """A value of the data that is not a number: a release, an API."""

    name: str
    value: str
    source: str
    table: str
    definition: str

    def text(self) -> str:
        return self.value


Fact = Union[Share, Number, Label]
_PLACEHOLDER = re.compile(r"\{([A-Za-z]+)(?::(n|of|pct|short))?\}")


@dataclass(frozen=True)
class Sentence:
    """A finding's sentence: a template whose ``{Name}`` (``{Name:n}``, ``{Name:of}``, ``{Name:pct}``,
    ``{Name:short}``: a clustered share without its per-repository view) placeholders are facts."""

    template: str
    facts: tuple[Fact, ...]

    def render(self, fill: Callable[[Fact, str], str]) -> str:
        """The sentence with each placeholder replaced by ``fill(fact, part)`` (part: '', n, of, pct)."""
        by_name = {f.name: f for f in self.facts}
        return _PLACEHOLDER.sub(lambda m: fill(by_name[m.group(1)], m.group(2) or ""), self.template)

    def text(self) -> str:
        return self.render(fact_text)

    def sources(self) -> list[tuple[str, str]]:
        """(table anchor, CSV) of the facts quoted, in order, once each."""
        seen: dict[tuple[str, str], None] = {}
        for fact in self.facts:
            seen.setdefault((fact.table, fact.source), None)
        return list(seen)


def fact_text(fact: Fact, part: str = "") -> str:
    """A fact as the report prints it; ``part`` picks n, of, pct or the short text of a share."""
    if isinstance(fact, Share) and part == "n":
        return f"{fact.n:,}"
    if isinstance(fact, Share) and part == "of":
        return f"{fact.of:,}"
    if isinstance(fact, Share) and part == "pct":
        return fact.pct()
    if isinstance(fact, Share) and part == "short":
        return fact.short()
    return fact.text()


@dataclass(frozen=True)
class Finding:
    """The key finding of one question: a short paragraph of sentences."""

    question: str  # storage, tracking, traceability, reproducibility
    title: str
    sentences: tuple[Sentence, ...]  # what the numbers mean, then at most three of them
    details: tuple[Sentence, ...] = ()  # the rest, which open the question's section


@dataclass(frozen=True)
class Kpi:
    """A row of the proposal's KPI table: the KPI, how it is measured, the value, where it comes from."""

    kpi: str
    measure: str
    value: Sentence  # a sentence of one fact, or "not measured: run ..."
    source: str  # corpus code, stored runs, probe, re-run


class Facts:
    """The facts computed from the inputs, by name; ``sentence`` builds a sentence when all its facts exist."""

    def __init__(self) -> None:
        self.by_name: dict[str, Fact] = {}

    def add(self, fact: Fact | None) -> None:
        if fact is not None:
            if not fact.name.isalpha() or not fact.name.isascii():
                raise ValueError(f"fact name {fact.name!r}: letters only (it names LaTeX macros)")
            if fact.name in self.by_name:
                raise ValueError(f"fact {fact.name} computed twice")
            self.by_name[fact.name] = fact

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> Fact:
        return self.by_name[name]

    def sentence(self, template: str) -> Sentence | None:
        """The sentence, or None when a fact it quotes was not computed."""
        names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
        if any(n not in self.by_name for n in names):
            return None
        return Sentence(template, tuple(dict.fromkeys(self.by_name[n] for n in names)))

    def values(self) -> list[Fact]:
        return list(self.by_name.values())


def not_measured(what: str, command: str) -> Sentence:
    """A sentence saying what was not measured and the command that measures it."""
    return Sentence(f"{what}: not measured: run `{command}`.", ())



FINDINGS_COLUMNS = ("name", "text", "n", "of", "share", "ci_low", "ci_high", "ci_method", "value", "unit",
                    "n_clusters", "clusters_with_any", "median_per_cluster", "largest_cluster", "largest_cluster_units",
                    "value_without_largest", "of_without_largest", "source", "table", "definition")


def facts_frame(facts: Facts) -> pd.DataFrame:
    """Every fact as a row (what ``findings.csv`` holds, ``FINDINGS_COLUMNS``): a share's n of its denominator
    with its interval and method (wilson, cluster bootstrap, none), a number's value and unit, and for units
    clustering in repositories the per-repository view and the figure without the largest repository."""
    rows = []
    for fact in facts.values():
        row: dict[str, object] = {c: "" for c in FINDINGS_COLUMNS}
        row.update(name=fact.name, text=fact.text(), source=fact.source, table=fact.table, definition=fact.definition)
        view = fact.cluster if isinstance(fact, (Share, Number)) else None
        if isinstance(fact, Share):
            row.update(n=fact.n, of=fact.of)
            if fact.measured:
                row.update(share=round(fact.share, 4))
                if fact.interval:
                    low, high = fact.ci
                    row.update(ci_low=round(low, 4), ci_high=round(high, 4),
                               ci_method=view.method if view else "wilson")
                else:
                    row.update(ci_method="none")
        elif isinstance(fact, Number):
            row.update(value=fact.value, unit=fact.unit)
            if view is not None and view.low is not None:
                row.update(ci_low=round(view.low, 4), ci_high=round(view.high or 0.0, 4), ci_method=view.method)
        else:
            row.update(value=fact.value)
        if view is not None:
            row.update(n_clusters=view.n_clusters, clusters_with_any=view.with_any,
                       median_per_cluster="" if view.median is None else round(view.median, 4),
                       largest_cluster=view.largest, largest_cluster_units=view.largest_units,
                       value_without_largest=round(view.share_without, 4) if view.n_without else "",
                       of_without_largest=view.n_without)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(FINDINGS_COLUMNS))


def quoted_facts(findings: Iterable[Finding], kpis: Iterable[Kpi]) -> Mapping[str, Fact]:
    """The facts the findings and the KPI table quote, by name."""
    out: dict[str, Fact] = {}
    for sentence in [s for f in findings for s in (*f.sentences, *f.details)] + [k.value for k in kpis]:
        for fact in sentence.facts:
            out.setdefault(fact.name, fact)
    return out
