"""The populations section: course work, libraries and plugins, and applications apart (issue 20, item 8).

``populations.csv`` puts each analyzed repository in exactly one of teaching, library or
application (``analysis/passes/project_kind.py``); ``practices.csv`` gives every practice for each
of them within one repository per family. One table gives their sizes and the rules that made
them, one every practice's share per population (``k/N (pct%)``), beside the report's population.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from analysis.report.facts import percent
from analysis.report.sections.drawing import Drawing

KINDS = ("teaching", "library", "application")  # practices.csv's populations of populations.csv, in its order
WITHOUT_TEACHING = "without-teaching"  # the report's population but course work: the shares with and without it
NAMED = 40  # a population of at most this many repositories is listed by name


def cell(k: int, n: int) -> str:
    """A share as the table writes it: ``3/12 (25%)``; ``0/0`` for an empty denominator."""
    return f"{k}/{n} ({percent(k / n)}%)" if n else "0/0"


def population_sizes(kinds: pd.DataFrame, leaders: list[str]) -> pd.DataFrame:
    """Per population of ``populations.csv``, its repositories among ``leaders`` (one per family), the
    rules that put them there, and their names when few."""
    inside = kinds[kinds["repo"].isin(set(leaders))] if "repo" in kinds else kinds
    rows = []
    for kind in KINDS:
        part = inside[inside["population"] == kind] if len(inside) else inside
        rules = Counter(part["rule"]) if len(part) else Counter()
        names = sorted(part["repo"]) if len(part) else []
        rows.append({"population": kind, "repositories": cell(len(part), len(inside)),
                     "rules": ", ".join(f"{rule} {n}" for rule, n in sorted(rules.items())),
                     "which": ", ".join(names) if len(names) <= NAMED or kind != "application" else
                     f"{len(names)} repositories (populations.csv)"})
    return pd.DataFrame(rows, columns=["population", "repositories", "rules", "which"])


def practice_shares(practices: pd.DataFrame, population: str) -> pd.DataFrame:
    """Every practice of ``population`` (the report's) with its share there and in each of ``KINDS``."""
    columns = ["practice", population, WITHOUT_TEACHING, *KINDS]
    if practices.empty or "population" not in practices:
        return pd.DataFrame(columns=columns)
    cells = {(p, name): cell(int(k), int(n)) for p, name, k, n in
             practices[["population", "practice", "n_repos", "n_eligible"]].itertuples(index=False)}
    names = list(dict.fromkeys(practices.loc[practices["population"] == population, "practice"]))
    rows = [{"practice": name, **{p: cells.get((p, name), "") for p in (population, WITHOUT_TEACHING, *KINDS)}}
            for name in names]
    return pd.DataFrame(rows, columns=columns)


def populations(report: Drawing) -> None:
    """The section: the populations' sizes and every practice's share in each."""
    doc, inputs = report.doc, report.inputs
    doc.heading("Practices per population: teaching, library, application", anchor="sec-populations")
    kinds = inputs.table("populations.csv")
    if kinds.empty or "population" not in kinds:
        doc.para("Not measured: no populations.csv in the results (analyze writes it).", css="not-measured")
        return
    manifest = inputs.corpus_table("manifest.csv")
    leaders = inputs.analyzed if manifest.empty else [r for r in inputs.analyzed if r in set(
        manifest.loc[(manifest["status"] == "ok") & (manifest["duplicate_of"] == ""), "repo"])]
    doc.para("Each analyzed repository is in exactly one population, by the first rule that holds: teaching "
             "(course work: GitHub Classroom's description, a course word of its name, description or topics, or a "
             "farm of one owner's repositories), library (its root packaging files register an MLflow plugin, or "
             "declare a package its README installs by name or its CI publishes), else application "
             "(docs/design.md, Populations). Shares are over one repository per duplicate family in each; the rule "
             "and evidence of every repository are in populations.csv.")
    doc.table(population_sizes(kinds, leaders), "populations.csv", "The populations, one repository per family",
              anchor="t-populations", collapse=False)
    doc.table(practice_shares(report.practices, report.population), "practices.csv",
              f"Every practice per population ({report.population} beside teaching, library and application)",
              anchor="t-practices-per-population")
