"""What the report says MLflow does, each statement with the releases it holds for.

A claim (an ``id``) is one or more ranges of releases, each with its statement: ``default_tracking_uri``
is "logs to ./mlruns (a FileStore) ..." from 1.0.0 to 3.6.0 and "logs to sqlite:///mlflow.db ..." from
3.7.0. The ranges come from:

- the corpus's MLflow releases, where their source was read (``mlflow_storage.csv``, written by
  ``analysis/releases/storage.py``): ``default_tracking_uri`` from the ``default`` rows,
  ``file_store`` from the ``gate`` rows (a release with ``file_store`` rows and no gate opens a
  FileStore without a word), ``param_value_limit`` from ``MAX_PARAM_VAL_LENGTH``; after the newest
  release read, the ranges of the data file that start later are added;
- ``analysis/data/mlflow_behaviour.csv`` otherwise (and for every other claim): ``id, value, statement,
  from_release, to_release, evidence`` (``to_release`` empty: still true in the newest release read for
  the file, the newest its evidence names; ``evidence``: ``path@tag`` of MLflow's released source).

``claim_text`` phrases a claim ("MLflow 1.0.0 to 3.6.0 logs to ...; MLflow 3.7.0 to 3.18.0 (the newest
read) logs to ..."); ``add_claim_facts`` adds the releases and values the key findings quote as
``Label`` facts; ``behaviour_table`` is every range, as the methodology section lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.report.facts import Facts, Label
from analysis.report.inputs import ReportInputs, read_frame
from analysis.versions import version_key

BEHAVIOUR = Path(__file__).resolve().parents[1] / "data" / "mlflow_behaviour.csv"
BEHAVIOUR_SOURCE = "analysis/data/mlflow_behaviour.csv"
STORAGE_SOURCE = "mlflow_storage.csv"
T_BEHAVIOUR = "t-mlflow-behaviour"  # the methodology section's table of every range
COLUMNS = ["id", "statement", "from_release", "to_release", "value", "evidence", "source"]
_TAG = re.compile(r"@v([0-9][0-9A-Za-z.]*[0-9A-Za-z])")


# ---- statements phrased from what the storage pass read ------------------------------------------

def default_uri_statement(uri: str, kept: dict[str, str]) -> str:
    """What a release whose fallback is ``uri`` does (``kept``: check -> URI kept when it holds)."""
    store = " (a FileStore)" if uri.startswith(("./", "/", "file:")) or ":" not in uri else ""
    text = f"logs to {uri}{store}"
    for check, other in sorted(kept.items()):
        text += (f", or to {other} when {other} already holds experiments" if "mlruns" in check
                 else f", or to {other} when {check} holds")
    return text


def file_store_statement(gates: list[str]) -> str:
    """What a release does when it opens a FileStore, from its ``gate`` details (none: nothing)."""
    opt_in = [g.split(": ", 1)[1] for g in gates if g.startswith("opt-in: ")]
    warnings = [g.split(": ", 1)[1] for g in gates if g.startswith("warning: ")]
    if opt_in:
        return ("refuses to open a FileStore unless " + " and ".join(f"{v}=true" for v in opt_in)
                + "".join(f", and issues a {w} when it does" for w in warnings))
    if warnings:
        kind = " (a deprecation warning)" if set(warnings) <= {"FutureWarning", "DeprecationWarning"} else ""
        return f"issues a {' and a '.join(warnings)}{kind} when it opens a FileStore"
    return "opens a FileStore without a warning"


def param_limit_statement(value: str) -> str:
    return f"accepts parameter values of up to {value} characters"


def _runs(claim: str, kind: str, states: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Ranges of consecutive releases read (in version order) in the same state: ``states`` is (release,
    value, statement); the last range is open (``to_release`` ''), every range knows the newest release read."""
    out: list[dict[str, str]] = []
    for release, value, statement in sorted(states, key=lambda s: version_key(s[0])):
        if out and out[-1]["value"] == value and out[-1]["statement"] == statement:
            out[-1]["to_release"] = release
        else:
            out.append({"id": claim, "statement": statement, "from_release": release, "to_release": release,
                        "value": value, "source": STORAGE_SOURCE})
    for row in out:
        releases = row["from_release"] + ("" if row["to_release"] == row["from_release"] else f" to {row['to_release']}")
        row["evidence"] = f"{STORAGE_SOURCE} kind {kind}: the source of the releases read, {releases}"
        row["newest"] = out[-1]["to_release"]
    if out:
        out[-1]["to_release"] = ""
    return out


def _read_ranges(storage: pd.DataFrame) -> list[dict[str, str]]:
    """The ranges of the claims the storage pass reads, from ``mlflow_storage.csv``."""
    if "kind" not in storage or storage.empty:
        return []
    rows = storage.astype(str)
    defaults, stores, limits = [], [], []
    for release, group in rows.groupby("release"):
        fallback = group[(group["kind"] == "default") & (group["name"] == "tracking_uri")]
        if len(fallback):
            kept = {str(n).removeprefix("tracking_uri_if_"): str(d) for n, d in
                    group.loc[(group["kind"] == "default") & group["name"].str.startswith("tracking_uri_if_"),
                              ["name", "detail"]].itertuples(index=False)}
            uri = str(fallback.iloc[0]["detail"])
            defaults.append((str(release), uri, default_uri_statement(uri, kept)))
        if (group["kind"] == "file_store").any():
            gates = sorted(group.loc[(group["kind"] == "gate") & (group["name"] == "FileStore"), "detail"])
            stores.append((str(release), "; ".join(gates) or "none", file_store_statement(gates)))
        limit = group[(group["kind"] == "limit") & (group["name"] == "MAX_PARAM_VAL_LENGTH")]
        if len(limit):
            value = str(limit.iloc[0]["detail"])
            limits.append((str(release), value, param_limit_statement(value)))
    return (_runs("default_tracking_uri", "default", defaults) + _runs("file_store", "gate", stores)
            + _runs("param_value_limit", "limit", limits))


def newest_checked(data: pd.DataFrame) -> str:
    """The newest release the data file's evidence names (its claims were checked up to it)."""
    tags = [t for e in data.get("evidence", pd.Series(dtype=str)) for t in _TAG.findall(str(e))]
    return max(tags, key=version_key) if tags else ""


def behaviour_table(inputs: ReportInputs) -> pd.DataFrame:
    """Every range of every claim (``COLUMNS`` and ``newest``, the newest release read for it), from the
    releases read where they say it, else from the data file; a claim's ranges in release order."""

    def compute() -> pd.DataFrame:
        data = read_frame(BEHAVIOUR)
        newest = newest_checked(data)
        read = _read_ranges(inputs.table(STORAGE_SOURCE))
        rows: list[dict[str, str]] = []
        for claim in dict.fromkeys(data["id"]):
            written = [{**{c: str(w.get(c, "")) for c in COLUMNS}, "source": BEHAVIOUR_SOURCE, "newest": newest}
                       for w in data[data["id"] == claim].to_dict("records")]
            mine = [r for r in read if r["id"] == claim]
            if not mine:
                rows += written
                continue
            last = mine[-1]["newest"]
            later = [w for w in written if version_key(w["from_release"]) > version_key(last)]
            if later:  # what the data file knows past the newest release read
                mine[-1]["to_release"] = last
            rows += mine + later
        return pd.DataFrame(rows, columns=[*COLUMNS, "newest"])

    return inputs.cached("mlflow_behaviour", compute)


def _ranges(claim: str, inputs: ReportInputs) -> list[dict[str, str]]:
    table = behaviour_table(inputs)
    return [{str(k): str(v) for k, v in row.items()} for row in table[table["id"] == claim].to_dict("records")]


def release_range(row: dict[str, str]) -> str:
    """``MLflow 1.0.0 to 3.6.0``; ``MLflow 3.7.0 to 3.18.0 (the newest read)`` for a range still true."""
    start, end = row["from_release"], row["to_release"] or row.get("newest", "")
    if not end:
        return f"MLflow {start} and later"
    if start == end:
        return f"MLflow {start}" + (" (the newest read)" if not row["to_release"] else "")
    return f"MLflow {start} to {end}" + (" (the newest read)" if not row["to_release"] else "")


def claim_text(claim: str, inputs: ReportInputs) -> str:
    """A claim phrased with its releases, range by range ('' for an unknown claim)."""
    return "; ".join(f"{release_range(r)} {r['statement']}" for r in _ranges(claim, inputs))


def claims_text(claims: list[tuple[str, str]], inputs: ReportInputs) -> str:
    """Several claims, each followed by its note (``(claim, note)``; no note: ''): when each is one range and
    the ranges are alike, the range is said once (``MLflow 1.0.0 to 3.18.0 (the newest read) does a (x); and b (y)``)."""
    ranges = {claim: _ranges(claim, inputs) for claim, _note in claims}
    known = [(claim, note) for claim, note in claims if ranges[claim]]
    if not known:
        return ""
    spans = {release_range(r[0]) for claim, _note in known for r in [ranges[claim]] if len(r) == 1}
    alike = len(spans) == 1 and all(len(ranges[claim]) == 1 for claim, _note in known)

    def noted(text: str, note: str) -> str:
        return f"{text} ({note})" if note else text

    if alike:
        parts = [noted(ranges[c][0]["statement"], n) for c, n in known]
        return f"{spans.pop()} " + "; ".join(parts[:-1] + [("and " if len(parts) > 1 else "") + parts[-1]])
    return "; ".join(noted(claim_text(c, inputs), n) for c, n in known)


def claim_sources(claim: str, inputs: ReportInputs) -> list[str]:
    """Where a claim's ranges come from (``mlflow_storage.csv``, the data file), once each."""
    return list(dict.fromkeys(r["source"] for r in _ranges(claim, inputs)))


def claim_links(claims: list[str], inputs: ReportInputs, link: Callable[[str], str]) -> str:
    """``(table from <sources>)``: where the claims' ranges are listed and read (``link`` makes a source's link)."""
    sources = list(dict.fromkeys(s for c in claims for s in claim_sources(c, inputs)))
    return f"([table](#{T_BEHAVIOUR}) from {', '.join(link(s) for s in sources)})" if sources else ""


def _label(facts: Facts, name: str, value: str, row: dict[str, str], definition: str) -> None:
    if value:
        facts.add(Label(name, value, row["source"], T_BEHAVIOUR, f"{definition} ({row['source']}; evidence: "
                        f"{row['evidence']})"))


def add_claim_facts(facts: Facts, inputs: ReportInputs) -> None:
    """The releases and values the findings quote of MLflow's behaviour, as ``Label`` facts (each from the
    range it names: read releases or the data file)."""
    defaults = _ranges("default_tracking_uri", inputs)
    files = [r for r in defaults if ":" not in r["value"] or r["value"].startswith("file:")]
    others = [r for r in defaults if r not in files]
    if files and others and version_key(others[0]["from_release"]) > version_key(files[-1]["from_release"]):
        old, new = files[-1], others[0]
        _label(facts, "DefaultStoreFileFrom", old["from_release"], old,
               "the first release of the last range whose default tracking URI is a FileStore path")
        _label(facts, "DefaultStoreFileUntil", old["to_release"], old,
               "the last release whose default tracking URI is a FileStore path")
        _label(facts, "DefaultStoreFileURI", old["value"], old, "that FileStore path")
        _label(facts, "DefaultStoreSqliteFrom", new["from_release"], new,
               "the first release whose default tracking URI is a database")
        _label(facts, "DefaultStoreSqliteTo", new["to_release"] or new["newest"], new,
               "the last release of that range (the newest read when it still holds)")
        _label(facts, "DefaultStoreSqliteURI", new["value"], new, "that database's URI")
    stores = _ranges("file_store", inputs)
    warning = next((r for r in stores if r["value"].startswith("warning: ")), None)
    if warning:
        _label(facts, "FileStoreWarnFrom", warning["from_release"], warning,
               "the first release whose FileStore warns when opened")
    gate = next((r for r in stores if "opt-in: " in r["value"]), None)
    if gate:
        _label(facts, "FileStoreGateFrom", gate["from_release"], gate,
               "the first release that refuses to open a FileStore unless an environment variable allows it")
        _label(facts, "FileStoreGateVariable", gate["value"].split("opt-in: ", 1)[1].split(";")[0], gate,
               "the environment variable that allows it")
    for claim, stem, what in (("implicit_run", "ImplicitRun", "fluent logging starts a run when none is active"),
                              ("project_run_commit", "ProjectRunCommit",
                               "mlflow run tags its run with the project's git commit"),
                              ("project_run_params", "ProjectRunParams", "mlflow run logs every parameter")):
        ranges = _ranges(claim, inputs)
        if len(ranges) == 1:  # one range: true from its first release to its last (the newest read)
            row = ranges[0]
            _label(facts, f"{stem}From", row["from_release"], row, f"the first release read in which {what}")
            _label(facts, f"{stem}To", row["to_release"] or row["newest"], row,
                   f"the last release read in which {what}")
    limits = _ranges("param_value_limit", inputs)
    read = [r for r in limits if r["source"] == STORAGE_SOURCE]  # as the storage facts (ParamLenLast) read it
    if limits:
        last = (read or limits)[-1]
        _label(facts, "ParamLenLastFrom", last["from_release"], last,
               "the first release with the newest MAX_PARAM_VAL_LENGTH" + (" read" if read else ""))
