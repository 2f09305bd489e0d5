"""Agreement where two measures of one thing meet, unit by unit, so that the disagreements can be listed and read.

- **code version** (unit: a repository that commits runs, ``stored_runs.csv``): from the code,
  ``traceability.csv`` ``code_version_linked`` (a valid MLproject, whose runs ``mlflow run`` tags with
  the commit, or a tag whose key names git, commit, version or sha); from the committed runs, at least
  half of the repository's runs record a git commit (``git_commit``: the tag
  ``mlflow.source.git.commit``). The note gives the count of runs recording one.
- **parameters** (unit: a parameter key of an MLproject entry point): declared by the entry point
  (``parameters.csv``) against logged by the code it runs: a ``param`` call site (``call_sites.csv``)
  with that literal key, in a module or function the entry point reaches in the repository's
  traceability graph (``graphs/``; the edges ``analysis.passes.traceability.execution_graph``
  follows, read back from the GraphML; the note says when a key's call sites are reached only through
  calls by a method's name). ``mlflow run`` logs every declared parameter itself: this pair is about
  the code logging it. A declared key the code does not log literally is *not comparable*
  when that code also logs params under keys not written as literals (a name, an f-string, a dict:
  the key may be among them), when the entry point reaches no module of the repository (its command
  runs a shell script or another package), or when the repository has no graph.
- **readiness** (unit: a repository with a re-run target; ``rerun.csv`` is no input of ``analyze``,
  the report computes this pair when it has one): ``reproducibility.csv`` readiness at least 0.5 (the
  middle of the score's range, where the report's upper two readiness bands start) against one of its
  entry points re-ran (status ``succeeded``, as ``analysis.rerun.statistics`` counts a repository
  that re-ran).

Each unit is an ``AgreementRow``: ``measure_a`` and ``measure_b`` say ``yes`` or ``no`` (``unknown``:
not comparable), ``agree`` whether they say the same, ``category`` which cell of the 2x2 table the unit
is in. ``agreement_counts`` gives a pair's 2x2 table and Cohen's kappa (for the report's findings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.rows import (
    AgreementRow,
    CallSiteRow,
    EntryPointRow,
    MlprojectRow,
    ParameterRow,
    StoredRun,
    TraceabilityRow,
)
from analysis.tables import STATISTICS, flat, graph_name, table_frame

if TYPE_CHECKING:
    import networkx as nx

COLUMNS = STATISTICS["agreement"].columns
CODE_VERSION, PARAMETERS, READINESS = "code version", "parameters", "readiness"
YES, NO, UNKNOWN = "yes", "no", "unknown"
NOT_COMPARABLE = "not comparable"
RUNS_WITH_COMMIT = 0.5  # a repository's runs record its code version when at least this share of them records a commit
READY = 0.5  # a readiness score at least this: ready
_RUN_EDGES = frozenset({"runs", "imports", "calls"})  # as analysis.passes.traceability.execution_graph
_SHOWN = 3  # call sites a note names before "and N more"


@dataclass(frozen=True)
class Pair:
    """Two measures of one thing: what each is, the unit, and the names of the cells of their 2x2 table."""

    name: str
    a: str
    b: str
    units: str  # what a row is, in the plural
    both_yes: str
    both_no: str
    a_only: str
    b_only: str
    both_no_possible: bool = True  # False: a unit is one at least one measure says yes of (no kappa)

    def category(self, a: bool, b: bool) -> str:
        return (self.both_yes if a and b else self.a_only if a else self.b_only if b else self.both_no)


PAIRS = {
    CODE_VERSION: Pair(CODE_VERSION, "code", "runs", "repositories", "both yes", "both no", "code only", "runs only"),
    PARAMETERS: Pair(PARAMETERS, "declared", "logged", "parameter keys of entry points", "declared and logged",
                     "neither", "declared only", "logged only", both_no_possible=False),
    READINESS: Pair(READINESS, "ready", "re-ran", "repositories", "both yes", "both no", "ready only", "re-ran only"),
}


def _row(pair: str, repo: str, unit: str, a: bool, b: bool | None, note: str) -> dict[str, Any]:
    """A unit's row; ``b`` None: not comparable."""
    return flat(AgreementRow(pair, repo, unit, YES if a else NO, UNKNOWN if b is None else YES if b else NO,
                             "" if b is None else a == b, NOT_COMPARABLE if b is None else PAIRS[pair].category(a, b),
                             note))


def _frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def code_version_agreement(trace: pd.DataFrame, runs: pd.DataFrame, mlprojects: pd.DataFrame) -> pd.DataFrame:
    """Pair *code version*: one row per repository with a ``traceability.csv`` row and committed runs (typed
    frames of ``traceability.csv``, ``stored_runs.csv`` and ``mlprojects.csv``: ``tables.table_frame``)."""
    linked = {str(r): bool(v) for r, v in zip(trace["repo"], trace["code_version_linked"])}
    valid = {str(r) for r, v in zip(mlprojects["repo"], mlprojects["valid"]) if bool(v)}
    rows = []
    for repo, group in runs[runs["repo"].isin(set(linked))].groupby("repo", sort=True):
        name = str(repo)
        n, k = len(group), int((group["git_commit"] != "").sum())
        history = group.loc[group["git_commit"] != "", "git_commit_in_history"]
        looked_up, found = int(history.isin(["yes", "no"]).sum()), int((history == "yes").sum())
        entry = int((group["entry_point"] != "").sum())
        code = ("a valid MLproject" if name in valid else "a tag naming git, commit, version or sha" if linked[name]
                else "no valid MLproject, no tag naming git, commit, version or sha")
        history_note = (f" ({found} of the {looked_up} looked up found in the clone's history)" if looked_up
                        else " (not looked up in the clone's history)" if k else "")
        note = f"code: {code}; runs: {k} of {n} record a git commit{history_note}, {entry} an entry point"
        rows.append(_row(CODE_VERSION, name, name, linked[name], k >= RUNS_WITH_COMMIT * n, note))
    return _frame(rows)


@dataclass(frozen=True)
class EntryPointCode:
    """What the code an entry point runs logs as params."""

    reached: int  # modules and functions of the repository the entry point runs
    literal: Mapping[str, tuple[str, ...]]  # a literal key -> its call sites (path:line)
    computed: tuple[str, ...] = ()  # call sites logging params under keys not written as literals
    by_name_only: frozenset[str] = frozenset()  # literal keys reached only through calls by a method's name


def reached(graph: nx.DiGraph, start: str, by_name: bool = True) -> set[str]:
    """Module and function nodes ``start`` runs in a traceability graph read back from GraphML (attributes as
    text): along ``runs``, ``imports`` and ``calls`` edges, and ``defines`` edges to a function registered with
    a framework, as ``analysis.passes.traceability.execution_graph``; without ``by_name``, not along calls
    reaching a method by its name only (the graph's over-approximation)."""
    seen, queue = {start}, [start]
    while queue:
        for nxt, data in graph.succ[queue.pop()].items():
            kind = data.get("kind")
            if nxt in seen or (not by_name and str(data.get("by_name")) == "True"):
                continue
            if kind in _RUN_EDGES or (kind == "defines" and str(graph.nodes[nxt].get("registered")) == "True"):
                seen.add(nxt)
                queue.append(nxt)
    return {n for n in seen if n.startswith(("module:", "function:"))}


def entry_point_code(graph: nx.DiGraph, entry_points: Iterable[tuple[str, str]],
                     params: pd.DataFrame) -> dict[tuple[str, str], EntryPointCode]:
    """``EntryPointCode`` of each (mlproject_path, entry_point) in ``graph`` (one repository's), from the
    repository's ``param`` call sites ``params`` (typed ``call_sites.csv`` rows); an entry point the graph
    lacks is left out."""
    sites: list[tuple[str, str, str]] = []  # (owner node, key or '' when computed, path:line)
    for path, function, kind, key, line in zip(params["path"], params["enclosing_function"], params["key_kind"],
                                               params["key"], params["line"]):
        owner = f"function:{path}:{function}" if function else f"module:{path}"  # as the pass's _owner
        owner = owner if owner in graph else f"module:{path}"
        sites.append((owner, str(key) if kind == "literal" else "", f"{path}:{line}"))
    out: dict[tuple[str, str], EntryPointCode] = {}
    for mlproject_path, entry_point in entry_points:
        node = f"entry_point:{mlproject_path}:{entry_point}"
        if node not in graph:
            continue
        runs, strictly = reached(graph, node), reached(graph, node, by_name=False)
        literal: dict[str, tuple[str, ...]] = {}
        computed: list[str] = []
        for owner, key, where in sites:
            if owner in runs and key:
                literal[key] = (*literal.get(key, ()), where)
            elif owner in runs:
                computed.append(where)
        by_name_only = frozenset(literal) - {key for owner, key, _ in sites if owner in strictly}
        out[(mlproject_path, entry_point)] = EntryPointCode(len(runs), literal, tuple(computed), by_name_only)
    return out


def _where(sites: Sequence[str]) -> str:
    more = len(sites) - _SHOWN
    return ", ".join(sites[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _logged_at(code: EntryPointCode, key: str) -> str:
    return (f"logged at {_where(code.literal[key])}"
            + (" (reached only through a call by a method's name)" if key in code.by_name_only else ""))


def parameter_agreement(parameters: pd.DataFrame, entry_points: pd.DataFrame,
                        code: Mapping[tuple[str, str, str], EntryPointCode | None]) -> pd.DataFrame:
    """Pair *parameters*: one row per key an entry point declares or the code it runs logs literally, in
    declaration order then the keys logged only; ``code``: (repo, mlproject_path, entry_point) -> what its
    code logs (None or absent: no graph)."""
    declared: dict[tuple[str, str, str], list[str]] = {}
    for repo, mlproject_path, entry_point, name in zip(parameters["repo"], parameters["mlproject_path"],
                                                       parameters["entry_point"], parameters["name"]):
        declared.setdefault((str(repo), str(mlproject_path), str(entry_point)), []).append(str(name))
    rows = []
    points = sorted({(str(r), str(m), str(e)) for r, m, e in zip(entry_points["repo"], entry_points["mlproject_path"],
                                                                   entry_points["entry_point"])})
    for point in points:
        repo, mlproject_path, entry_point = point
        names, runs = declared.get(point, []), code.get(point)
        unknown = ("no traceability graph of the entry point" if runs is None
                   else "its command runs no Python file of the repository" if runs.reached == 0
                   else f"its code logs params under keys not written as literals at {_where(runs.computed)}"
                   if runs.computed else "")
        logs = runs if runs is not None else EntryPointCode(0, {})
        for name in names:
            unit = f"{mlproject_path}:{entry_point}:{name}"
            if name in logs.literal:
                rows.append(_row(PARAMETERS, repo, unit, True, True, _logged_at(logs, name)))
            elif unknown:
                rows.append(_row(PARAMETERS, repo, unit, True, None, unknown))
            else:
                rows.append(_row(PARAMETERS, repo, unit, True, False, "no param call with this key in the code it "
                                 "runs (mlflow run logs it)"))
        for key in sorted(set(logs.literal) - set(names)):
            rows.append(_row(PARAMETERS, repo, f"{mlproject_path}:{entry_point}:{key}", False, True,
                             f"{_logged_at(logs, key)}, not declared"))
    return _frame(rows)


def read_graph(path: Path) -> nx.DiGraph | None:
    """A repository's traceability graph (``graphs/``), None when absent."""
    if not path.is_file():
        return None
    import networkx as nx

    from analysis.graphml import read_graphml

    graph = read_graphml(path)
    return nx.DiGraph(graph) if graph.is_multigraph() else graph


def agreement_table(tables: Path, graphs: Path, analyzed: Sequence[str], calls: pd.DataFrame | None = None,
                    runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of ``agreement.csv`` (pairs *code version* and *parameters*) over the ``analyzed``
    repositories, from the row tables in ``tables`` and the graphs in ``graphs``; ``calls`` and ``runs``:
    ``call_sites.csv`` and ``stored_runs.csv`` already read (typed)."""
    keep = set(analyzed)

    def read(name: str, row_type: type, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        frame = table_frame(tables / name, row_type) if frame is None else frame
        return frame[frame["repo"].isin(keep)]

    calls = read("call_sites.csv", CallSiteRow, calls)
    params = calls[calls["category"] == "param"]
    eps = read("entry_points.csv", EntryPointRow)
    code: dict[tuple[str, str, str], EntryPointCode | None] = {}
    for repo, group in eps.groupby("repo", sort=True):
        points = list(zip(group["mlproject_path"], group["entry_point"]))
        graph = read_graph(graphs / graph_name(str(repo)))
        found = {} if graph is None else entry_point_code(graph, points, params[params["repo"] == repo])
        code.update({(str(repo), m, e): found.get((m, e)) for m, e in points})
    return pd.concat([code_version_agreement(read("traceability.csv", TraceabilityRow),
                                             read("stored_runs.csv", StoredRun, runs),
                                             read("mlprojects.csv", MlprojectRow)),
                      parameter_agreement(read("parameters.csv", ParameterRow), eps, code)], ignore_index=True)


def readiness_agreement(rerun: pd.DataFrame, repro: pd.DataFrame, threshold: float = READY) -> pd.DataFrame:
    """Pair *readiness*: one row per repository with a re-run target and a readiness score; ``rerun``:
    ``rerun.csv``'s rows (as text), ``repro``: ``reproducibility.csv``'s (typed or text)."""
    if rerun.empty or repro.empty:
        return _frame([])
    score = {str(r): float(s) for r, s in zip(repro["repo"], repro["readiness"])}
    rows = []
    for repo, group in rerun[rerun["repo"].isin(set(score))].groupby("repo", sort=True):
        name = str(repo)
        targets = "; ".join(f"{m}:{e} {s}" + (f" ({c})" if c else "") for m, e, s, c in
                            zip(group["mlproject_path"], group["entry_point"], group["status"], group["failure_class"]))
        rows.append(_row(READINESS, name, name, score[name] >= threshold, bool((group["status"] == "succeeded").any()),
                         f"readiness {score[name]:.2f}; {targets}"))
    return _frame(rows)


@dataclass(frozen=True)
class AgreementCounts:
    """One pair's 2x2 table: units where both measures say yes, both no, only the first, only the second;
    and the units not comparable."""

    pair: str
    both_yes: int = 0
    both_no: int = 0
    a_only: int = 0
    b_only: int = 0
    not_comparable: int = 0

    @property
    def n(self) -> int:
        """The units compared."""
        return self.both_yes + self.both_no + self.a_only + self.b_only

    @property
    def agreeing(self) -> int:
        return self.both_yes + self.both_no

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: the agreement beyond what the two measures' own rates give by chance; None without
        units, or when both measures say the same of every unit (chance agreement 1)."""
        if not self.n:
            return None
        a, b = (self.both_yes + self.a_only) / self.n, (self.both_yes + self.b_only) / self.n
        chance = a * b + (1 - a) * (1 - b)
        return None if chance >= 1 else (self.agreeing / self.n - chance) / (1 - chance)


def agreement_counts(frame: pd.DataFrame, pair: str) -> AgreementCounts:
    """The 2x2 table of ``pair`` in ``frame`` (rows of ``agreement.csv``, typed or text, or of
    ``readiness_agreement``)."""
    if frame.empty or "pair" not in frame:
        return AgreementCounts(pair)
    rows = frame[frame["pair"] == pair]
    known = rows["measure_b"] != UNKNOWN
    a, b = rows["measure_a"] == YES, rows["measure_b"] == YES
    return AgreementCounts(pair, int((known & a & b).sum()), int((known & ~a & ~b).sum()), int((known & a & ~b).sum()),
                           int((known & ~a & b).sum()), int((~known).sum()))


def disagreements(frame: pd.DataFrame, pair: str) -> pd.DataFrame:
    """The rows of ``pair`` in ``frame`` whose measures disagree (comparable ones only)."""
    if frame.empty or "pair" not in frame:
        return _frame([])
    rows = frame[frame["pair"] == pair]
    return rows[rows["agree"].astype(str).str.lower() == "false"]
