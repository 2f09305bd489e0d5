"""The Evolution section's numbers, from the history's tables (``analyze --history``): ``history.csv``,
``history_api_usage.csv``, ``evolution.csv`` (and ``api_catalog.csv`` for API categories, MLflow's release dates
for pins by period), over the report's population.

- **adoption**: a repository adopts MLflow at its first analyzed commit with a call site
  (``evolution.csv`` ``adopted_at``), counted per month (UTC);
- **API categories over time**: per year (per quarter when the commits span fewer than three years), the
  repositories calling MLflow at the end of the period (their last analyzed commit by then, in history
  order) and, of them, those calling an API of each category (``history_api_usage.csv``, categories from
  ``api_catalog.csv``, ``other`` outside it); Wilson intervals over repositories;
- **pins**: per period, of the repositories calling MLflow, those declaring an MLflow requirement and those
  pinning one release exactly (``history.csv`` ``mlflow_requirement``), against MLflow's release dates (when PyPI
  published each release: the corpus's ``mlflow/release_dates.csv``, else the shipped snapshot,
  ``analysis.releases.dates``): the newest release by the period's end, the pins older than it, how far behind;
  per commit and at HEAD from ``evolution.csv`` (``n_pin_behind_commits`` of ``n_pin_dated_commits``,
  ``releases_behind_head``, ``days_behind_head``);
- **deprecated APIs after their release**: repositories calling an API after the release deprecating it was
  published, and for how long (``evolution.csv`` ``n_deprecated_after_release``, ``deprecated_use_days``);
- **co-change**: commits changing code that also change the MLproject or its environment, among commits
  changing code; commits cluster in repositories: a cluster bootstrap by repository
  (``analysis.statistics.clusters``), the per-repository view and the largest repository's part;
- **abandonment**: repositories that called MLflow at some commit and no longer do at HEAD (Wilson).

``add_evolution_facts`` adds the facts (``findings.compute_facts`` calls it), ``evolution_sentences`` the
section's sentences made of them; the section (``sections/evolution.py``) draws the tables computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.report.facts import Facts, Label, Number, Sentence, Share
from analysis.releases.dates import ReleaseDates, load_release_dates
from analysis.report.inputs import ReportInputs
from analysis.statistics.clusters import by_cluster, clustered, from_totals
from analysis.statistics.shares import FEWEST_FOR_QUANTILES
from analysis.versions import pinned_version, version_key

HISTORY_COMMAND = "python cli.py analyze --history"
T_ADOPTION = "t-evolution-adoption"
T_API = "t-evolution-api"
T_PINS = "t-evolution-pins"
T_COCHANGE = "t-evolution-cochange"
T_ABANDONED = "t-evolution-abandoned"
TOP_CATEGORIES = 6  # categories drawn over time (the most repositories calling one at some commit)
FACT_CATEGORIES = 3  # of them, those whose first and last periods are facts
YEARS_AT_LEAST = 3  # commits spanning fewer calendar years are grouped by quarter


@dataclass(frozen=True)
class History:
    """The history tables of the report's population: ``history`` (one row per analyzed commit, in history
    order, with ``at``: its committer date in UTC), ``usage`` (history_api_usage.csv with each API's
    ``category``), ``evolution`` (one row per repository with at least one analyzed commit)."""

    history: pd.DataFrame
    usage: pd.DataFrame
    evolution: pd.DataFrame

    @property
    def adopted(self) -> pd.DataFrame:
        return self.evolution[self.evolution["adopted_commit"] != ""]


def read_history(inputs: ReportInputs) -> History | None:
    """The history tables of the population, None without ``history.csv`` (``analyze --history`` not run) or
    without an analyzed commit."""
    history = inputs.table("history.csv")
    if "repo" not in history:
        return None
    population = set(inputs.population)
    history = history[history["repo"].isin(population)].reset_index(drop=True)
    if history.empty:
        return None
    history = history.assign(at=pd.to_datetime(history["committed_at"], utc=True).dt.tz_convert(None))
    usage = inputs.table("history_api_usage.csv")
    if "repo" not in usage:
        usage = pd.DataFrame(columns=["repo", "commit", "api"])
    usage = usage[usage["repo"].isin(population)]
    catalog = inputs.table("api_catalog.csv")
    categories = dict(zip(catalog["api"], catalog["category"])) if "api" in catalog else {}
    usage = usage.assign(category=[categories.get(a, "other") or "other" for a in usage["api"]])
    evolution = inputs.table("evolution.csv")
    evolution = evolution[evolution["repo"].isin(population) & (evolution["n_commits"] > 0)] if "repo" in evolution \
        else pd.DataFrame(columns=["repo", "n_commits", "adopted_commit"])
    return History(history, usage, evolution.reset_index(drop=True))


def period_freq(history: pd.DataFrame) -> str:
    """``Y`` when the commits span at least ``YEARS_AT_LEAST`` calendar years, else ``Q``."""
    years = history["at"].dt.year
    return "Y" if int(years.max()) - int(years.min()) + 1 >= YEARS_AT_LEAST else "Q"


def period_label(period: pd.Period) -> str:
    """``2021`` or ``2021-Q3``."""
    return str(period.year) if period.freqstr.startswith("Y") else f"{period.year}-Q{period.quarter}"


def states(history: pd.DataFrame, freq: str) -> pd.DataFrame:
    """(period, repo, commit): each repository's last analyzed commit (in history order) dated in or before each
    period, from its first period to the last period of any commit."""
    periods = history["at"].dt.to_period(freq)
    every = pd.period_range(periods.min(), periods.max(), freq=freq)
    rows = []
    for repo, group in history.assign(period=periods).groupby("repo", sort=True):
        for period in every:
            seen = group[group["period"] <= period]
            if len(seen):
                rows.append((period_label(period), repo, seen["commit"].iloc[-1]))
    return pd.DataFrame(rows, columns=["period", "repo", "commit"])


def category_counts(h: History) -> tuple[pd.DataFrame, list[str]]:
    """(period, category, k, n) for the top categories, and those categories (of the catalog: ``other`` is not
    one; the most repositories calling one at some commit, ties by name): ``n`` repositories calling MLflow at the
    end of the period, ``k`` of them calling an API of the category."""
    per_repo = h.usage[h.usage["category"] != "other"].groupby("category")["repo"].nunique()
    top = sorted(per_repo.index, key=lambda c: (-int(per_repo[c]), str(c)))[:TOP_CATEGORIES]
    at = states(h.history, period_freq(h.history))
    calls = h.history.set_index(["repo", "commit"])["n_call_sites"]
    at = at[[int(calls[(r, c)]) > 0 for r, c in zip(at["repo"], at["commit"])]]
    called = set(zip(h.usage["repo"], h.usage["commit"], h.usage["category"]))
    rows = []
    for period, group in at.groupby("period", sort=True):
        for category in top:
            k = sum((r, c, category) in called for r, c in zip(group["repo"], group["commit"]))
            rows.append((period, category, k, len(group)))
    return pd.DataFrame(rows, columns=["period", "category", "k", "n"]), top


def adoption_months(h: History) -> pd.DataFrame:
    """(month, adopted, cumulative, repositories) over every month from the first adoption to the last (UTC)."""
    adopted = h.adopted
    months = pd.to_datetime(adopted["adopted_at"], utc=True).dt.tz_convert(None).dt.to_period("M")
    if months.empty:
        return pd.DataFrame(columns=["month", "adopted", "cumulative", "repositories"])
    names = adopted.assign(month=months).groupby("month")["repo"].agg(lambda s: ", ".join(sorted(s)))
    counts = months.value_counts()
    every = pd.period_range(months.min(), months.max(), freq="M")
    out = pd.DataFrame({"month": [str(m) for m in every], "adopted": [int(counts.get(m, 0)) for m in every],
                        "repositories": [names.get(m, "") for m in every]})
    out.insert(2, "cumulative", out["adopted"].cumsum())
    return out


def release_dates(inputs: ReportInputs) -> ReleaseDates:
    """MLflow's release dates as ``analyze --history`` took them: the corpus's ``mlflow/`` folder's, else the
    shipped snapshot's (``analysis.releases.dates``)."""
    return load_release_dates(inputs.corpus / "mlflow" if inputs.corpus is not None else None)


def _median(values: list[int]) -> float | str:
    return float(pd.Series(values).median()) if values else ""


def pins_by_period(h: History, released: ReleaseDates) -> pd.DataFrame:
    """Per period: repositories calling MLflow at its end, of them declaring an MLflow requirement, pinning one
    release exactly, the releases pinned, and (with release dates) the newest release published by the period's
    end (or by the time the dates were fetched, when earlier), the pins older than it (of the pins dated) and the
    median releases and days (libyear) they are behind; "not measured" where the dates cannot tell (none, or the
    period began after they were fetched)."""
    freq = period_freq(h.history)
    at = states(h.history, freq)
    rows = h.history.set_index(["repo", "commit"])
    out = []
    for period, group in at.groupby("period", sort=True):
        states_ = [rows.loc[(r, c)] for r, c in zip(group["repo"], group["commit"])]
        using = [s for s in states_ if int(s["n_call_sites"]) > 0]
        declaring = [s for s in using if s["mlflow_requirement"]]
        pins = [pinned_version(str(s["mlflow_requirement"])) for s in declaring]
        pins = [p for p in pins if p]
        count = pd.Series(pins, dtype=str).value_counts()
        shown = sorted(count.index, key=lambda v: (-int(count[v]), version_key(v)))
        row: dict[str, object] = {
            "period": period, "calling MLflow": len(using), "declaring MLflow": len(declaring),
            "pinning one release": len(pins), "releases pinned": ", ".join(f"{v} ({count[v]})" for v in shown)}
        span = pd.Period(period.replace("-Q", "Q"), freq=freq)
        start, end = (t.floor("s").tz_localize("UTC").to_pydatetime() for t in (span.start_time, span.end_time))
        when = min(end, released.as_of) if released.as_of else end
        lags = [lag for p in pins if (lag := released.lag(p, when)) is not None]
        # a period begun after the dates were fetched cannot be told (a release since would be missing)
        if released and released.knows(start) and (lags or not pins):
            behind = [lag for lag in lags if lag.behind]
            row["newest release by then"] = released.newest_at(when)
            row["pins older than it"] = f"{len(behind)} of {len(lags)}"
            row["median releases behind"] = _median([lag.releases_behind for lag in behind])
            row["median days behind"] = _median([lag.days_behind for lag in behind])
        else:
            row["newest release by then"] = row["pins older than it"] = "not measured"
            row["median releases behind"] = row["median days behind"] = "not measured"
        out.append(row)
    return pd.DataFrame(out)


def _adopted_share(facts: Facts, h: History, name: str, hit: pd.Series, noun: str, definition: str,
                   table: str) -> None:
    adopted = h.adopted
    facts.add(Share(name, int(hit[adopted.index].sum()), len(adopted), noun, "evolution.csv", table, definition))


def add_evolution_facts(facts: Facts, inputs: ReportInputs) -> None:
    """The facts of the Evolution section (none without the history's tables)."""
    h = read_history(inputs)
    if h is None:
        return
    history, evolution = h.history, h.evolution
    scope = "the report's population"
    facts.add(Number("HistoryRepos", len(evolution), "", "evolution.csv", T_ADOPTION,
                     f"repositories of {scope} with at least one analyzed commit (evolution.csv n_commits)"))
    facts.add(Number("HistoryCommits", len(history), "", "history.csv", T_ADOPTION,
                     f"rows of history.csv of {scope}: first-parent commits analyzed"))
    facts.add(Number("HistoryIncomplete", int((evolution["history"] != "complete").sum()), "", "evolution.csv",
                     T_ADOPTION, "of those repositories, those whose history is not complete (evolution.csv history: "
                     "shallow, grafted, replaced): their adoption may be earlier than measured"))
    facts.add(Label("HistoryFirstMonth", str(history["at"].min().to_period("M")), "history.csv", T_ADOPTION,
                    "the month (UTC) of the oldest analyzed commit"))
    facts.add(Label("HistoryLastMonth", str(history["at"].max().to_period("M")), "history.csv", T_ADOPTION,
                    "the month (UTC) of the newest analyzed commit"))
    adopted = h.adopted
    facts.add(Share("ReposAdopted", len(adopted), len(evolution), "repositories with a history", "evolution.csv",
                    T_ADOPTION, "repositories with an MLflow call site at some analyzed commit (evolution.csv "
                    "adopted_commit), of those with an analyzed commit"))
    if adopted.empty:
        return
    _adopted_share(facts, h, "AdoptedAtFirstCommit", evolution["adopted_commit"] == evolution["first_commit"],
                   "repositories calling MLflow", "repositories whose first analyzed commit already calls MLflow "
                   "(adopted_commit = first_commit), of those calling it at some commit", T_ADOPTION)
    months = adoption_months(h)
    busiest = months.loc[months["adopted"].idxmax()]  # the first of the busiest months
    facts.add(Label("AdoptionFirstMonth", str(months["month"].iloc[0]), "evolution.csv", T_ADOPTION,
                    "the month (UTC) of the earliest adoption (adopted_at)"))
    facts.add(Label("AdoptionLastMonth", str(months["month"].iloc[-1]), "evolution.csv", T_ADOPTION,
                    "the month (UTC) of the latest adoption (adopted_at)"))
    facts.add(Label("AdoptionPeakMonth", str(busiest["month"]), "evolution.csv", T_ADOPTION,
                    "the month (UTC) with the most adoptions (the earliest of equals)"))
    facts.add(Number("AdoptionPeakRepos", int(busiest["adopted"]), "repositories", "evolution.csv", T_ADOPTION,
                     "adoptions in that month"))
    _adopted_share(facts, h, "ReposAbandoned", ~evolution["head_uses_mlflow"].astype(bool), "repositories calling "
                   "MLflow at some commit", "repositories whose mined commit (HEAD) no longer calls MLflow "
                   "(head_uses_mlflow false), of those calling it at some analyzed commit", T_ABANDONED)
    _adopted_share(facts, h, "ReposApisRemoved", evolution["apis_removed"] != "", "repositories calling MLflow",
                   "repositories that called an API at some commit and no longer do at HEAD (apis_removed), of those "
                   "calling MLflow at some commit", T_ABANDONED)
    _adopted_share(facts, h, "ReposApisAdded", evolution["apis_added"] != "", "repositories calling MLflow",
                   "repositories calling an API at some commit that they did not call at adoption (apis_added), of "
                   "those calling MLflow at some commit", T_ABANDONED)
    _adopted_share(facts, h, "ReposDeprecatedApiHistory", evolution["deprecated_apis"] != "",
                   "repositories calling MLflow", "repositories that called, at some commit, an API a release of the "
                   "catalog deprecated (deprecated_apis), of those calling MLflow at some commit", T_ABANDONED)
    _category_facts(facts, h)
    _pin_facts(facts, h)
    _deprecation_facts(facts, h)
    _cochange_facts(facts, h)


def _category_facts(facts: Facts, h: History) -> None:
    counts, top = category_counts(h)
    counts = counts[counts["n"] > 0]
    if counts.empty or not top:
        return
    enough = counts[counts["n"] >= FEWEST_FOR_QUANTILES]  # a share of one or two repositories says little
    first, last = (enough if len(enough) else counts)["period"].iloc[0], counts["period"].iloc[-1]
    facts.add(Label("EvolutionFirstPeriod", first, "history.csv", T_API,
                    f"the first period (year, or quarter) at whose end at least {FEWEST_FOR_QUANTILES} repositories "
                    "call MLflow (else the first at whose end one does)"))
    facts.add(Label("EvolutionLastPeriod", last, "history.csv", T_API, "the last period of the analyzed commits"))
    for category in top[:FACT_CATEGORIES]:
        for when, period in (("First", first), ("Last", last)):
            row = counts[(counts["period"] == period) & (counts["category"] == category)].iloc[0]
            facts.add(Share(f"ApiShare{category.capitalize()}{when}", int(row["k"]), int(row["n"]), "",
                            "history_api_usage.csv", T_API,
                            f"repositories calling an API of category {category} (api_catalog.csv) at their last "
                            f"analyzed commit by the end of {period}, of those calling MLflow there"))


def _pin_facts(facts: Facts, h: History) -> None:
    history, evolution = h.history, h.evolution
    using = history[history["n_call_sites"] > 0]
    declaring = using[using["mlflow_requirement"] != ""]
    pinned = declaring["mlflow_requirement"].map(pinned_version)
    for name, units, hits, noun, definition in (
            ("CommitsDeclaringMlflow", using, using["mlflow_requirement"] != "", "commits calling MLflow",
             "commits whose environment files declare an MLflow requirement (history.csv mlflow_requirement), of "
             "the analyzed commits calling MLflow"),
            ("CommitsPinningMlflow", declaring, pinned != "", "commits declaring MLflow",
             "commits pinning one MLflow release exactly (history.csv mlflow_pinned: ==, conda's =X.Y.Z or a "
             "build, Poetry's bare version; not conda's prefix =X.Y), of the commits calling MLflow and declaring it")):
        view = clustered(by_cluster(units["repo"], hits.astype(int)))
        facts.add(Share(name, int(view.k), view.n, noun, "history.csv", T_PINS, definition + "; commits cluster in "
                        "repositories: a bootstrap over them", interval=view.low is not None, cluster=view))
    every = {pinned_version(r) for r in history["mlflow_requirement"]} - {""}
    facts.add(Number("PinnedReleases", len(every), "releases", "history.csv", T_PINS,
                     "distinct MLflow releases pinned exactly at some analyzed commit"))
    _adopted_share(facts, h, "ReposPinnedEver", evolution["n_pinned_commits"] > 0, "repositories calling MLflow",
                   "repositories pinning one MLflow release exactly at some analyzed commit (n_pinned_commits), of "
                   "those calling MLflow at some commit", T_PINS)
    dated = evolution.dropna(subset=["n_pin_dated_commits", "n_pin_behind_commits"])
    dated = dated[dated["n_pin_dated_commits"] > 0]
    if len(dated):
        view = clustered(from_totals(dict(zip(dated["repo"], dated["n_pin_behind_commits"].astype(float))),
                                     dict(zip(dated["repo"], dated["n_pin_dated_commits"].astype(int)))))
        facts.add(Share("PinBehindCommits", int(view.k), view.n, "commits pinning MLflow", "evolution.csv", T_PINS,
                        "commits pinning a release older than the newest final release PyPI had published by the "
                        "commit's date (n_pin_behind_commits), of the commits pinning one whose pin could be dated "
                        "(n_pin_dated_commits); commits cluster in repositories", interval=view.low is not None,
                        cluster=view))
    head = h.adopted.dropna(subset=["releases_behind_head"])
    if len(head):
        late = head[head["releases_behind_head"] > 0]
        facts.add(Share("ReposPinBehindHead", len(late), len(head), "repositories pinning MLflow at HEAD",
                        "evolution.csv", T_PINS, "repositories whose mined commit pins a release older than the newest "
                        "PyPI had published by its date (releases_behind_head above 0), of the repositories calling "
                        "MLflow at some commit whose mined commit pins a dated release"))
        if len(late):
            for name, column, unit in (("PinReleasesBehindHeadMedian", "releases_behind_head", "releases"),
                                       ("PinDaysBehindHeadMedian", "days_behind_head", "days")):
                median = float(late[column].median())
                facts.add(Number(name, median, unit, "evolution.csv", T_PINS,
                                 f"median {column} of the repositories whose mined commit pins an older release "
                                 "(days: from the pinned release's publication to the newest's, libyear in days)",
                                 digits=0 if median.is_integer() else 1))


def _deprecation_facts(facts: Facts, h: History) -> None:
    adopted = h.adopted.dropna(subset=["n_deprecated_after_release"])
    if adopted.empty:
        return
    late = adopted[adopted["n_deprecated_after_release"] > 0]
    facts.add(Share("ReposDeprecatedAfterRelease", len(late), len(adopted), "repositories calling MLflow",
                    "evolution.csv", T_ABANDONED, "repositories calling, at some commit dated after its publication, an "
                    "API the release published then had deprecated (n_deprecated_after_release above 0), of those "
                    "calling MLflow at some commit and whose deprecating releases are dated"))
    days = late["deprecated_use_days"].dropna()
    if len(days):
        facts.add(Number("DeprecatedUseDaysMedian", float(days.median()), "days", "evolution.csv", T_ABANDONED,
                         "median, over those repositories, of the longest time from a deprecating release's "
                         "publication to the last commit calling the API it deprecated (deprecated_use_days)"))
        facts.add(Number("DeprecatedUseDaysMax", float(days.max()), "days", "evolution.csv", T_ABANDONED,
                         "the longest such time (deprecated_use_days)"))


def _cochange_facts(facts: Facts, h: History) -> None:
    history = h.history
    code = history[history["changes_code"].astype(bool)]
    if code.empty:
        return
    mlproject = set(history.loc[history["n_mlproject_files"] > 0, "repo"])
    for name, units, where in (("CoChangeCommits", code, ""),
                               ("CoChangeCommitsMLproject", code[code["repo"].isin(mlproject)],
                                " in repositories with an MLproject at some commit")):
        if units.empty:
            continue
        view = clustered(by_cluster(units["repo"], units["changes_mlproject_env"].astype(int)))
        facts.add(Share(name, int(view.k), view.n, "commits changing code", "history.csv", T_COCHANGE,
                        f"commits changing code{where} (history.csv changes_code) that also change an MLproject or "
                        "its environment "
                        "(changes_mlproject_env); commits cluster in repositories: a bootstrap over them",
                        interval=view.low is not None, cluster=view))


def evolution_sentences(facts: Facts) -> dict[str, Sentence]:
    """The section's sentences by part (adoption, api, pins, cochange, abandonment), each made of facts; a part
    whose facts were not computed has none."""
    api = [f"{{ApiShare{c}First}} in {{EvolutionFirstPeriod}} and {{ApiShare{c}Last}} in {{EvolutionLastPeriod}} "
           f"call a {c.lower()} API" for c in _fact_categories(facts)]
    templates = {
        "adoption": "Of the {HistoryRepos} repositories whose histories were analyzed ({HistoryCommits} first-parent "
                    "commits, {HistoryFirstMonth} to {HistoryLastMonth}), {ReposAdopted} call MLflow at some commit; "
                    "{AdoptedAtFirstCommit} already do at their first analyzed commit. The first adoption is in "
                    "{AdoptionFirstMonth}, the latest in {AdoptionLastMonth}; at most {AdoptionPeakRepos} adopt it in "
                    "one month (first in {AdoptionPeakMonth}).",
        "api": "Of the repositories calling MLflow at the end of a period, " + "; ".join(api) + "." if api else "",
        "pins": "{CommitsDeclaringMlflow:short} declare an MLflow requirement; {CommitsPinningMlflow:short} pin one "
                "release exactly ({PinnedReleases} over the histories), and {ReposPinnedEver} pin one at some commit."
                + (" Of every analyzed commit pinning a release PyPI dates (whether or not it calls MLflow), "
                   "{PinBehindCommits:short} pin one older than the newest published by the commit's date."
                   if "PinBehindCommits" in facts else "")
                + (" At the mined commit, {ReposPinBehindHead} pin an older release than the newest one then"
                   + (", a median {PinReleasesBehindHeadMedian} and {PinDaysBehindHeadMedian} behind"
                      if "PinDaysBehindHeadMedian" in facts else "") + "." if "ReposPinBehindHead" in facts else ""),
        "cochange": "{CoChangeCommits:short} also change an MLproject or its environment"
                    + ("; in repositories with an MLproject at some commit, {CoChangeCommitsMLproject:short}."
                       if "CoChangeCommitsMLproject" in facts else "."),
        "abandonment": "{ReposAbandoned} no longer call MLflow at HEAD; {ReposApisRemoved} stopped calling an API "
                       "they had called, {ReposApisAdded} came to call an API they did not call at adoption, and "
                       "{ReposDeprecatedApiHistory} called an API a release deprecated."
                       + (" {ReposDeprecatedAfterRelease} called one after that release was published"
                          + (", for a median {DeprecatedUseDaysMedian} from its publication to the last call (at most "
                             "{DeprecatedUseDaysMax})" if "DeprecatedUseDaysMedian" in facts else "") + "."
                          if "ReposDeprecatedAfterRelease" in facts else ""),
    }
    out = {}
    for part, template in templates.items():
        sentence = facts.sentence(template) if template else None
        if sentence is not None:
            out[part] = sentence
    return out


def _fact_categories(facts: Facts) -> list[str]:
    """The categories with first and last period facts, as their fact names spell them."""
    return [name[len("ApiShare"):-len("First")] for name in facts.by_name
            if name.startswith("ApiShare") and name.endswith("First")]
