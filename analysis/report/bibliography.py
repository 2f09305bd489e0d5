"""The LaTeX export's bibliography: a BibTeX entry per study of ``analysis/data/baselines.csv``.

A study is named there as ``Surnames: Title`` (``Nguyen et al.: Title``) with its venue (``MSR 2019
(IEEE/ACM 16th International Conference ...)``, ``GigaScience 2024``) and DOI (blank when not known).
A conference (its venue names a conference, symposium, workshop or proceedings, or is an acronym)
is an ``@inproceedings``, a journal an ``@article``. The key is stable: first author, year, first
word of the title that is not a stop word (``pimentel2019large``). The DOI is the ``doi`` field, and
a ``note`` with its https://doi.org address for styles that do not print ``doi`` (``plain``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.report.textables import escape

BASELINES = Path(__file__).resolve().parents[1] / "data" / "baselines.csv"
STOP_WORDS = frozenset({"a", "an", "the", "are", "is", "of", "on", "in", "for", "and", "to", "how", "what", "why"})
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_DOI_URL_SAFE = re.compile(r"^[A-Za-z0-9./;:()_<>\-\[\]+]+$")


@dataclass(frozen=True)
class Study:
    """A published study of the baselines: its BibTeX key and fields, and how the text names it."""

    key: str
    kind: str  # inproceedings or article
    authors: tuple[str, ...]  # surnames; a last 'others' for et al.
    title: str
    venue: str  # booktitle or journal
    year: str
    doi: str
    population: str

    @property
    def short(self) -> str:
        """How the text names the authors: 'Pimentel et al.', 'Samuel and Mietchen', 'Nguyen et al.'."""
        names = [a for a in self.authors if a != "others"]
        if len(self.authors) > 2 or "others" in self.authors:
            return f"{names[0]} et al."
        return " and ".join(names)

    def bibtex(self) -> str:
        """The entry, LaTeX special characters escaped, the title's case kept."""
        fields = [("author", " and ".join(escape(a) for a in self.authors)), ("title", "{" + escape(self.title) + "}"),
                  ("booktitle" if self.kind == "inproceedings" else "journal", escape(self.venue)),
                  ("year", self.year)]
        if self.doi:
            fields.append(("doi", escape(self.doi)))
            address = f"https://doi.org/{self.doi}"
            fields.append(("note", f"\\url{{{address}}}" if _DOI_URL_SAFE.match(self.doi) else escape(address)))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        return f"@{self.kind}{{{self.key},\n{body}\n}}\n"


def read_baselines(path: Path = BASELINES) -> pd.DataFrame:
    """``baselines.csv`` as text (a blank DOI stays blank)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _authors(names: str) -> tuple[str, ...]:
    names = names.strip()
    others = bool(re.search(r"\bet al\.?$", names))
    names = re.sub(r"\s*\bet al\.?$", "", names)
    authors = tuple(a.strip() for a in re.split(r",|\band\b|&", names) if a.strip())
    return authors + (("others",) if others else ())


def _venue(venue: str) -> tuple[str, str, str]:
    """(kind, name, year) of a venue such as 'MSR 2019 (IEEE/ACM 16th International Conference on ...)'."""
    found = _YEAR.search(venue)
    year = found.group(0) if found else ""
    long = re.search(r"\(([^)]*)\)", venue)
    short = re.sub(r"\([^)]*\)", "", _YEAR.sub("", venue)).strip(" ,")
    name = f"{long.group(1).strip()} ({short})" if long and short else (long.group(1) if long else short)
    conference = re.search(r"conference|symposium|workshop|proceedings", venue, re.IGNORECASE) or (short.isupper() and
                                                                                          short.isalpha())
    return ("inproceedings" if conference else "article"), name, year


def _key(authors: Sequence[str], year: str, title: str) -> str:
    first = re.sub(r"[^a-z]", "", authors[0].lower()) if authors else "anon"
    words = [w for w in re.split(r"[^a-z]+", title.lower()) if w and w not in STOP_WORDS]
    return f"{first}{year}{words[0] if words else ''}"


def studies(baselines: pd.DataFrame) -> list[Study]:
    """One study per distinct ``study`` of the baselines, in their order, with distinct keys (a letter
    appended to a key taken: ``...b``)."""
    out: list[Study] = []
    taken: set[str] = set()
    for name, rows in baselines.groupby("study", sort=False):
        row = rows.iloc[0]
        authors_text, _, title = str(name).partition(":")
        if not title:
            authors_text, title = "", authors_text
        authors = _authors(authors_text)
        kind, venue, year = _venue(str(row.get("venue", "")))
        doi = next((str(d).strip() for d in rows.get("doi", pd.Series(dtype=str)) if str(d).strip()), "")
        key = base = _key(authors, year, title)
        suffix = ord("b")
        while key in taken:
            key, suffix = f"{base}{chr(suffix)}", suffix + 1
        taken.add(key)
        out.append(Study(key, kind, authors, title.strip(), venue, year, doi, str(row.get("population", ""))))
    return out


def bibtex(entries: Sequence[Study]) -> str:
    """``references.bib``: the entries, after a comment saying where they come from."""
    return "% The published baselines of analysis/data/baselines.csv, written by mlflow-census.\n\n" + "\n".join(
        s.bibtex() for s in entries)


def citing_paragraph(entries: Sequence[Study], table_label: str | None) -> str:
    """The text citing every study, and referring to the baselines table when there is one."""
    cited = "; ".join(f"{escape(s.short)}~\\cite{{{s.key}}} ({escape(s.population)})" if s.population
                      else f"{escape(s.short)}~\\cite{{{s.key}}}" for s in entries)
    table = f" (Table~\\ref{{{table_label}}})" if table_label else ""
    return (f"Numbers published by other studies, for comparison{table}; none of them is measured on this "
            f"corpus: {cited}.")
