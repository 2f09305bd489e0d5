"""The numbers the report quotes, as facts: ``Share``, ``Number`` and ``Label``, the ``Sentence`` templates
made of them, ``Facts`` (the registry by name), and the anchors of the tables they link to.

A share is n of a denominator, with its 95% Wilson interval; a number is a count, a size or a median;
a label is a release or an API name. A sentence is a template naming its facts (``{ReposMLproject}``);
``Facts.sentence`` drops it when one of them was not computed. ``findings.csv`` and LaTeX's
``findings.tex`` are rendered from these facts (``facts_frame``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Union

import pandas as pd

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


@dataclass(frozen=True)
class Share:
    """``n`` of ``of`` counted things, with the 95% Wilson interval (none when ``interval`` is off:
    the things cluster in repositories, such as call sites)."""

    name: str  # CamelCase letters: the LaTeX macro stem
    n: int
    of: int
    noun: str
    source: str
    table: str
    definition: str
    interval: bool = True

    @property
    def share(self) -> float:
        return ShareInterval(self.n, self.of).share

    @property
    def ci(self) -> tuple[float, float]:
        return ShareInterval(self.n, self.of).interval

    def pct(self) -> str:
        """``72%, 59-82%`` (or ``72%``)."""
        low, high = self.ci
        return f"{percent(self.share)}%" + (", {}-{}%".format(*interval_bounds(low, high)) if self.interval else "")

    def text(self) -> str:
        return f"{self.n:,} of {self.of:,}{' ' + self.noun if self.noun else ''} ({self.pct()})"


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

    def text(self) -> str:
        number = f"{self.value:,.{self.digits}f}"
        return f"{number} {self.unit}".rstrip()


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
_PLACEHOLDER = re.compile(r"\{([A-Za-z]+)(?::(n|of|pct))?\}")


@dataclass(frozen=True)
class Sentence:
    """A finding's sentence: a template whose ``{Name}`` (``{Name:n}``, ``{Name:of}``, ``{Name:pct}``)
    placeholders are facts."""

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
    """A fact as the report prints it; ``part`` picks n, of or pct of a share."""
    if isinstance(fact, Share) and part == "n":
        return f"{fact.n:,}"
    if isinstance(fact, Share) and part == "of":
        return f"{fact.of:,}"
    if isinstance(fact, Share) and part == "pct":
        return fact.pct()
    return fact.text()


@dataclass(frozen=True)
class Finding:
    """The key finding of one question: a short paragraph of sentences."""

    question: str  # storage, tracking, traceability, reproducibility
    title: str
    sentences: tuple[Sentence, ...]


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



def facts_frame(facts: Facts) -> pd.DataFrame:
    """Every fact as a row (what ``findings.csv`` holds): name, value, n, of, share, interval, source, definition."""
    rows = []
    for fact in facts.values():
        row: dict[str, object] = {"name": fact.name, "text": fact.text(), "n": "", "of": "", "share": "",
                                  "ci_low": "", "ci_high": "", "value": "", "unit": "", "source": fact.source,
                                  "table": fact.table, "definition": fact.definition}
        if isinstance(fact, Share):
            low, high = fact.ci if fact.interval else (math.nan, math.nan)
            row.update(n=fact.n, of=fact.of, share=round(fact.share, 4),
                       ci_low="" if math.isnan(low) else round(low, 4), ci_high="" if math.isnan(high) else round(high, 4))
        elif isinstance(fact, Number):
            row.update(value=fact.value, unit=fact.unit)
        else:
            row.update(value=fact.value)
        rows.append(row)
    return pd.DataFrame(rows, columns=["name", "text", "n", "of", "share", "ci_low", "ci_high", "value", "unit",
                                       "source", "table", "definition"])


def quoted_facts(findings: Iterable[Finding], kpis: Iterable[Kpi]) -> Mapping[str, Fact]:
    """The facts the findings and the KPI table quote, by name."""
    out: dict[str, Fact] = {}
    for sentence in [s for f in findings for s in f.sentences] + [k.value for k in kpis]:
        for fact in sentence.facts:
            out.setdefault(fact.name, fact)
    return out
