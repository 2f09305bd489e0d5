"""Section 5 of the report, evolution: MLflow usage over each repository's first-parent history (``analyze
--history``): adoption by month, API categories over time, MLflow pins against release dates, co-change of code
with the MLproject and its environment, abandonment. The numbers are computed in
``analysis.report.evolution_facts``; without the history's tables the section says it was not measured."""

from __future__ import annotations

import pandas as pd

from analysis.report.evolution_facts import (
    HISTORY_COMMAND,
    T_ABANDONED,
    T_ADOPTION,
    T_API,
    T_COCHANGE,
    T_PINS,
    History,
    adoption_months,
    category_counts,
    evolution_sentences,
    period_freq,
    pins_by_period,
    read_history,
    release_dates,
)
from analysis.report.facts import Sentence, percent
from analysis.report.figures import shares_over_time_figure, timeline_figure
from analysis.report.sections.drawing import Drawing, cluster_rows
from analysis.statistics.clusters import by_cluster, clustered

ANCHOR = "sec-5-evolution"


def evolution(report: Drawing) -> None:
    doc = report.doc
    doc.heading("5. Evolution: MLflow usage over each repository's history", anchor=ANCHOR)
    h = read_history(report.inputs)
    if h is None:
        doc.para("MLflow usage commit by commit (adoption, API categories over time, pins, co-change, abandonment): "
                 f"not measured: run `{HISTORY_COMMAND}` (on a corpus mined with `python cli.py mine --history`, or "
                 "from local clones).", css="not-measured")
        return
    doc.para("Each repository's first-parent commits up to the mined one, analyzed as the census analyzes HEAD "
             "(history.csv, history_api_usage.csv, evolution.csv; how, in docs/design.md, History), over the report's "
             "repositories. Dates are committer dates in UTC. A repository adopts MLflow at its first analyzed commit "
             "with a call site.")
    sentences = evolution_sentences(report.facts)
    _adoption(report, h, sentences.get("adoption"))
    _api(report, h, sentences.get("api"))
    _pins(report, h, sentences.get("pins"))
    _cochange(report, h, sentences.get("cochange"))
    _abandonment(report, h, sentences.get("abandonment"))


def _say(report: Drawing, sentence: Sentence | None) -> None:
    if sentence is not None:
        report.doc.raw(report.sentence_md(sentence), f"<p class='finding'>{report.sentence_html(sentence)}</p>")


def _adoption(report: Drawing, h: History, sentence: Sentence | None) -> None:
    doc = report.doc
    doc.heading("Adoption by month", 3, anchor="sec-evolution-adoption")
    _say(report, sentence)
    months = adoption_months(h)
    if months.empty:
        doc.para("No repository calls MLflow at any analyzed commit.", css="not-measured")
        return
    doc.figure("fig_adoption.png",
               timeline_figure(list(months["month"]), list(months["adopted"]), list(months["cumulative"]),
                               "Adoption of MLflow by month", "repositories adopting MLflow", len(h.evolution)),
               "evolution.csv", f"Repositories adopting MLflow per month (their first analyzed commit with a call "
               f"site), and the running total, of the {len(h.evolution)} repositories with a history")
    shown = months[months["adopted"] > 0].reset_index(drop=True)
    doc.table(shown, "evolution.csv", "Adoption by month: repositories whose first analyzed commit with an MLflow "
              "call site falls in the month (UTC), the running total, and which (months without an adoption left out)",
              anchor=T_ADOPTION)


def _api(report: Drawing, h: History, sentence: Sentence | None) -> None:
    doc = report.doc
    unit = "year" if period_freq(h.history) == "Y" else "quarter"
    doc.heading(f"API categories over time, by {unit}", 3, anchor="sec-evolution-api")
    _say(report, sentence)
    counts, top = category_counts(h)
    counts = counts[counts["n"] > 0]
    if counts.empty:
        doc.para("No repository calls MLflow at the end of any period.", css="not-measured")
        return
    periods = list(dict.fromkeys(counts["period"]))
    n = [int(counts.loc[counts["period"] == p, "n"].iloc[0]) for p in periods]
    cell = {(r.period, r.category): (int(r.k), int(r.n)) for r in counts.itertuples()}
    series = {c: [cell[(p, c)][0] / cell[(p, c)][1] for p in periods] for c in top}
    doc.figure("fig_api_over_time.png",
               shares_over_time_figure(periods, series, n, f"API categories by {unit}",
                                       "share of repositories calling MLflow"),
               "history_api_usage.csv", f"Share of the repositories calling MLflow at the end of each {unit} (n under "
               "it) that call an API of each category, the categories most repositories call at some commit")
    rows = [{unit: p, "calling MLflow": cell[(p, top[0])][1],
             **{c: f"{cell[(p, c)][0]} ({percent(cell[(p, c)][0] / cell[(p, c)][1])}%)" for c in top}}
            for p in periods]
    doc.table(pd.DataFrame(rows), "history_api_usage.csv", f"API categories by {unit}: of the repositories calling "
              f"MLflow at the end of the {unit} (their last analyzed commit by then), those calling an API of each "
              "category (api_catalog.csv's categories; 95% Wilson intervals of the facts in findings.csv)",
              anchor=T_API)


def _pins(report: Drawing, h: History, sentence: Sentence | None) -> None:
    doc = report.doc
    doc.heading("MLflow pins against release dates", 3, anchor="sec-evolution-pins")
    released = release_dates(report.inputs)
    if released:
        doc.para(f"A release's date is the day PyPI published it: the first upload of its files (release dates: "
                 f"{released.describe()}). A pin is behind when a newer final release (not a pre-release, not "
                 "yanked) was out by then; days behind are those between the pinned release's publication and the "
                 "newest's (libyear, in days).")
    _say(report, sentence)
    table = pins_by_period(h, released)
    unit = "year" if period_freq(h.history) == "Y" else "quarter"
    if released and len(table) and table["calling MLflow"].sum():
        shown = table[table["calling MLflow"] > 0]
        n = [int(v) for v in shown["calling MLflow"]]
        behind = [int(str(v).split(" of ")[0]) if " of " in str(v) else 0 for v in shown["pins older than it"]]
        series = {"declaring MLflow": [d / k for d, k in zip(shown["declaring MLflow"], n)],
                  "pinning one release": [d / k for d, k in zip(shown["pinning one release"], n)],
                  "pinning an older release than the newest": [b / k for b, k in zip(behind, n)]}
        doc.figure("fig_pins_over_time.png",
                   shares_over_time_figure(list(shown["period"]), series, n, f"MLflow pins by {unit}",
                                           "share of repositories calling MLflow"),
                   "history.csv", f"Of the repositories calling MLflow at the end of each {unit} (n under it), those "
                   "declaring an MLflow requirement, pinning one release exactly, and pinning a release older than "
                   "the newest one PyPI had published by then")
    doc.table(table.rename(columns={"period": unit}), "history.csv", f"The MLflow requirement declared by the "
              f"repositories calling MLflow at the end of each {unit}: declaring one, pinning one release exactly, the "
              "releases pinned (repositories), the newest release published by then (by the period's end, or by the "
              "day the release dates were fetched where that is earlier: the last period may be partial), the pins "
              "older than it (of the pins whose release is dated) and how far behind they are (medians over those "
              "behind)", anchor=T_PINS)
    if not released:
        doc.para("Pins against release dates (a pinned release older than the newest one published by the commit's "
                 "date; how long a deprecated API stays in use): not measured: neither the corpus "
                 "(`mlflow/release_dates.csv`) nor the shipped snapshot records MLflow release dates.",
                 css="not-measured")


def _cochange(report: Drawing, h: History, sentence: Sentence | None) -> None:
    doc = report.doc
    doc.heading("Co-change of code with the MLproject and its environment", 3, anchor="sec-evolution-cochange")
    doc.para("As Barrak et al. measure it for DVC: of the commits changing code (a `.py` file or notebook differs "
             "from the previous analyzed commit), those that also change an MLproject, an environment file or a "
             "file one of them names.")
    _say(report, sentence)
    history = h.history
    code = history[history["changes_code"].astype(bool)]
    if code.empty:
        doc.para("No analyzed commit changes code.", css="not-measured")
        return
    mlproject = set(history.loc[history["n_mlproject_files"] > 0, "repo"])
    rows = [("code commits changing the MLproject or environment too",
             clustered(by_cluster(code["repo"], code["changes_mlproject_env"].astype(int))),
             "history.csv changes_mlproject_env among changes_code, summed over repositories")]
    inside = code[code["repo"].isin(mlproject)]
    if len(inside):
        rows.append(("the same, repositories with an MLproject at some commit",
                     clustered(by_cluster(inside["repo"], inside["changes_mlproject_env"].astype(int))),
                     "repositories whose n_mlproject_files is above 0 at some analyzed commit"))
    doc.table(cluster_rows(rows), "history.csv", "Co-change over commits, which cluster in repositories: 95% cluster "
              "bootstrap by repository, the repositories where it counts, the largest repository's part",
              anchor=T_COCHANGE, collapse=False)
    per_repo = (code.groupby("repo").agg(code_commits=("commit", "size"),
                                         cochange_commits=("changes_mlproject_env", "sum"))
                .reset_index().sort_values(["code_commits", "repo"], ascending=[False, True]))
    per_repo["share"] = (per_repo["cochange_commits"] / per_repo["code_commits"]).round(4)
    per_repo["mlproject at some commit"] = per_repo["repo"].isin(mlproject)
    doc.table(per_repo.reset_index(drop=True), "history.csv", "Co-change per repository: its commits changing code, "
              "those changing the MLproject or environment too, and their share", anchor=f"{T_COCHANGE}-per-repository")


def _abandonment(report: Drawing, h: History, sentence: Sentence | None) -> None:
    doc = report.doc
    doc.heading("Abandonment", 3, anchor="sec-evolution-abandonment")
    _say(report, sentence)
    adopted = h.adopted
    gone = adopted[~adopted["head_uses_mlflow"].astype(bool)]
    columns = ["repo", "adopted_at", "last_use_at", "n_commits", "apis_removed"]
    doc.table(gone[columns].reset_index(drop=True), "evolution.csv", "Repositories that called MLflow at some "
              "analyzed commit and no longer do at the mined one: when they adopted it, their last commit calling it",
              anchor=T_ABANDONED, collapse=False)
    late = adopted[adopted["deprecated_use"] != ""] if "deprecated_use" in adopted else adopted.iloc[:0]
    if len(late):
        doc.table(late[["repo", "deprecated_use", "deprecated_use_days", "n_deprecated_after_release"]]
                  .astype({"deprecated_use_days": "Int64", "n_deprecated_after_release": "Int64"}).reset_index(drop=True), "evolution.csv", "Repositories calling an API after the release that "
                  "deprecated it was published: each API, the release, and the days from its publication to the last "
                  "commit calling it; the commits calling one", anchor=f"{T_ABANDONED}-deprecated", collapse=False)
