"""The report being drawn: its inputs, its document, the facts, findings, KPIs and threats it quotes,
and the table builders its sections share."""

from __future__ import annotations

import math

import pandas as pd

from analysis.report.claims import add_claim_facts
from analysis.report.facts import Facts, Finding, Kpi, Sentence
from analysis.report.findings import compute_facts
from analysis.report.inputs import ReportInputs
from analysis.report.methodology import add_threat_facts, threat_sentences
from analysis.report.sentences import key_findings, kpi_table
from analysis.report.writer import Doc, inline_html
from analysis.statistics.clusters import ClusteredShare, from_cells
from analysis.statistics.shares import REPORT_SHARE, ShareInterval


def share_rows(rows: list[tuple[str, int, int, str]], interval: bool = True) -> pd.DataFrame:
    """A table of (measure, n, of, definition) rows with shares and 95% Wilson intervals."""
    out = []
    for measure, n, of, definition in rows:
        cells: dict[str, object] = {"measure": measure, **ShareInterval(n, of).cells(REPORT_SHARE),
                                    "definition": definition}
        if not interval:
            cells.update(ci_low="", ci_high="")
        out.append(cells)
    return pd.DataFrame(out, columns=["measure", "n", "of", "share", "ci_low", "ci_high", "definition"])


CLUSTER_TABLE_COLUMNS = ("measure", "n", "of", "share", "ci_low", "ci_high", "interval", "repositories",
                         "per repository", "largest repository holds", "without it", "definition")


def cluster_rows(rows: list[tuple[str, ClusteredShare, str]]) -> pd.DataFrame:
    """A table of (measure, clustered share, definition) rows over units clustering in repositories (call sites,
    runs): the share with its cluster bootstrap interval (``analysis.statistics.clusters``), the repositories
    where it counts, the median of their own shares (each one's count with fewer than five), and the largest
    repository's part with the share without it."""
    out = []
    for measure, view, definition in rows:
        out.append({"measure": measure, "n": view.k, "of": view.n, "share": round(view.share, 4) if view.n else "",
                    "ci_low": "" if view.low is None else round(view.low, 4),
                    "ci_high": "" if view.high is None else round(view.high, 4),
                    "interval": view.method if view.low is not None else "none (fewer than 5 repositories)",
                    "repositories": f"{view.with_any} of {view.n_clusters}",
                    "per repository": view.listed if view.median is None else f"median {round(view.median, 4)}",
                    "largest repository holds": f"{view.largest_units} of {view.n}" if view.n else "",
                    "without it": f"{int(view.k_without)} of {view.n_without}" if view.n_without else "",
                    "definition": definition})
    return pd.DataFrame(out, columns=list(CLUSTER_TABLE_COLUMNS))


def statistic_rows(stats: pd.DataFrame) -> pd.DataFrame:
    """``store_statistics.csv``'s rows as the report shows them (``CLUSTER_TABLE_COLUMNS``): a share of
    repositories with its Wilson interval, runs and metric histories with their cluster view."""
    out = []
    for row in stats.to_dict("records"):
        view = from_cells(row)
        measure = f"{row['statistic']} ({row['unit']})" if row.get("unit") else str(row["statistic"])
        if view is not None:
            out.append(cluster_rows([(measure, view, str(row["definition"]))]).iloc[0].to_dict())
            out[-1]["share"] = row["share"]  # a ratio's value, not k/n rounded again
            continue
        out.append({"measure": measure, "n": row["numerator"], "of": row["denominator"], "share": row["share"],
                    "ci_low": row["ci_low"], "ci_high": row["ci_high"], "interval": "wilson", "repositories": "",
                    "per repository": "", "largest repository holds": "", "without it": "",
                    "definition": row["definition"]})
    return pd.DataFrame(out, columns=list(CLUSTER_TABLE_COLUMNS))


def practice_rows(practices: pd.DataFrame, names: list[str], population: str) -> pd.DataFrame:
    if practices.empty:
        return practices
    rows = practices[(practices["population"] == population) & practices["practice"].isin(names)]
    return rows[["practice", "n_repos", "n_eligible", "share", "ci_low", "ci_high"]]


def value(cell: object) -> float:
    """A share cell as a number: NaN for none (a share of nothing: its bar is not drawn)."""
    return math.nan if cell is None or cell == "" else float(str(cell))


def shares(frame: pd.DataFrame, column: str) -> tuple[list[float], tuple[list[float], list[float]] | None]:
    """The shares of ``column`` and their distances to the 95% bounds (None for a table without bounds; 0 for a
    share without them)."""
    share = [value(v) for v in frame[column]]
    if "ci_low" not in frame:
        return share, None

    def gap(a: float, b: float) -> float:
        return 0.0 if math.isnan(a) or math.isnan(b) else a - b

    return share, ([gap(s, value(v)) for s, v in zip(share, frame["ci_low"])],
                   [gap(value(v), s) for s, v in zip(share, frame["ci_high"])])


class Drawing:
    """The report being drawn: the inputs, the document the sections write into, what they quote."""

    def __init__(self, inputs: ReportInputs, doc: Doc) -> None:
        self.inputs = inputs
        self.doc = doc
        self.facts: Facts = compute_facts(inputs)
        add_threat_facts(self.facts, inputs)
        add_claim_facts(self.facts, inputs)
        self.findings: list[Finding] = key_findings(self.facts)
        self.kpis: list[Kpi] = kpi_table(self.facts)
        self.threats = threat_sentences(self.facts, inputs)
        self.population = inputs.population_name
        self.practices = inputs.table("practices.csv")

    def sentence_links(self, sentence: Sentence) -> str:
        """Markdown links to the tables and CSVs a sentence's facts come from ('' for none)."""
        tables: dict[str, list[str]] = {}
        for table, source in sentence.sources():
            tables.setdefault(table, []).append(self.doc.source_link(source))
        links = "; ".join(f"[table](#{table}) from {', '.join(sources)}" for table, sources in tables.items())
        return f"({links})" if links else ""

    def sentence_md(self, sentence: Sentence) -> str:
        """A finding's sentence in Markdown, followed by links to its tables and CSVs."""
        links = self.sentence_links(sentence)
        return sentence.text() + (f" {links}" if links else "")

    def sentence_html(self, sentence: Sentence) -> str:
        """A finding's sentence in HTML, its links set small (a 'not measured' sentence in grey)."""
        links = self.sentence_links(sentence)
        text = inline_html(sentence.text())
        if not sentence.facts:
            text = f"<span class='not-measured'>{text}</span>"
        return text + (f" <span class='src'>{inline_html(links)}</span>" if links else "")

    def details(self, question: str) -> None:
        """The numbers of ``question``'s key finding that the key findings leave to its section: a paragraph."""
        finding = next((f for f in self.findings if f.question == question), None)
        if finding is not None and finding.details:
            self.doc.raw(" ".join(self.sentence_md(s) for s in finding.details),
                         "<p class='finding'>" + " ".join(self.sentence_html(s) for s in finding.details) + "</p>")
