"""Value types of the analysis: findings of the per-file passes, the settings of a run and its summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SourceError(Exception):
    """A file that cannot be read or parsed; carries where and why."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class ReadError(SourceError):
    """A file whose bytes cannot be read as what it claims to be (encoding, notebook JSON): stage ``read``;
    every other ``SourceError`` is a parse problem."""


class BadSyntax(SourceError):
    """A module with a syntax error at ``line`` (CPython's line, else LibCST's): it may be read in part."""


@dataclass(frozen=True)
class LeftOut:
    """A part of a file that was not read: a row of ``problems.csv``, and what ``files.csv`` says of it."""

    line: int | None  # the syntax error's line (in a notebook, its line in the cell)
    reason: str  # the problem row's reason
    skipped: str  # "lines 161-170 skipped (syntax error at line 161)", "cell 4 skipped (...)"


@dataclass(frozen=True)
class FileContext:
    """What the repository around a file says about how its imports resolve."""

    local_mlflow: bool = False  # a project module named mlflow shadows MLflow for this file
    reexports: frozenset[str] = frozenset()  # project modules doing `from mlflow import *`

    def key(self) -> str:
        """For cache keys."""
        return f"{int(self.local_mlflow)}:{','.join(sorted(self.reexports))}"


@dataclass(frozen=True)
class CallSite:
    """One call of an MLflow API (a row of ``call_sites.csv`` without repo and path)."""

    cell: int | None
    line: int
    col: int
    api: str
    category: str
    style: str  # fluent | client | flavor | other | unresolved
    enclosing_function: str
    in_loop: bool
    in_run_context: bool
    key_kind: str  # literal | fstring | name | dict | call | other | none
    key: str
    has_step: bool
    n_args: int
    note: str = ""


@dataclass(frozen=True)
class Integration:
    """Logging to MLflow through another library (a row of ``integrations.csv``)."""

    cell: int | None
    line: int
    col: int
    framework: str
    target: str
    evidence: str


@dataclass(frozen=True)
class TrackingUri:
    """A tracking URI configured somewhere (a row of ``tracking_uris.csv``)."""

    line: int
    source: str  # code | notebook | env-file | shell | compose | ci | makefile | dockerfile | config
    via: str  # set_tracking_uri | environ | %env | MlflowClient | MLFlowLogger (or another integration) | assignment
    value: str
    scheme: str
    host_kind: str  # localhost | remote | none
    cell: int | None = None


@dataclass(frozen=True)
class FileFindings:
    """Everything the per-file passes found in one file."""

    call_sites: tuple[CallSite, ...] = ()
    integrations: tuple[Integration, ...] = ()
    tracking_uris: tuple[TrackingUri, ...] = ()


EVERY = ("commit", "week", "month")  # ``analyze --every``: every commit, or the last of each period


@dataclass(frozen=True)
class HistoryOptions:
    """Which commits ``analyze --history`` analyzes: the first-parent commits of the mined commit from
    ``since`` (a date, ``YYYY-MM-DD``; '' for all), every one or the last of each week or month
    (``every``), the newest ``max_commits`` of them (0: no limit)."""

    since: str = ""
    every: str = "commit"
    max_commits: int = 0


@dataclass(frozen=True)
class HistorySummary:
    """What the history part of one ``analyze`` run did."""

    n_repos: int
    n_commits: int  # commits analyzed
    n_blobs: int  # distinct (blob, kind, context) run through the per-file passes
    n_parsed: int  # of them, parsed by LibCST (not in the results cache)
    n_problems: int
    n_cached_repos: int  # repositories whose whole history came from the cache
    seconds: float = 0.0
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalyzeSettings:
    """Everything one ``analyze`` run needs."""

    corpus_dir: Path
    out_dir: Path
    jobs: int = 1
    max_file_bytes: int = 5_000_000
    use_cache: bool = True
    draw_report: bool = True  # False: the tables only (``python cli.py report`` draws it later)
    history: HistoryOptions | None = None  # also every commit's usage (``analyze --history``)


@dataclass(frozen=True)
class AnalyzeSummary:
    """What one ``analyze`` run did."""

    out_dir: Path
    n_repos: int
    n_files: int
    n_call_sites: int
    n_problems: int
    n_parsed: int
    n_cached: int
    n_prefiltered: int  # files without the text "mlflow"
    catalog_origin: str
    n_gated: int = 0  # .py files mentioning mlflow that cannot use it (not parsed by LibCST)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each phase
    failed: tuple[str, ...] = ()  # repositories a pass failed on (see problems.csv)
    history: HistorySummary | None = None  # with ``--history``

    def record(self) -> dict[str, Any]:
        """The summary as the stamp of the tables keeps it (JSON values, no wall times, no history)."""
        return {**vars(self), "out_dir": str(self.out_dir), "seconds": {}, "history": None}

    @classmethod
    def from_record(cls, kept: dict[str, Any]) -> AnalyzeSummary:
        """The summary of a run from the cache, from the ``record`` of the run that wrote the tables:
        every file result now comes from the cache."""
        return cls(**{**kept, "out_dir": Path(kept["out_dir"]), "failed": tuple(kept["failed"]),
                      "n_parsed": 0, "n_cached": kept["n_parsed"] + kept["n_cached"], "seconds": {}})


@dataclass(frozen=True)
class Parameter:
    """A declared parameter of an entry point."""

    name: str
    type: str
    default: str | None
    required: bool
    used_in_command: bool


# MLflow's client class, by every path it can be imported from, and the name calls on it are counted under
CLIENT_CLASS_PATHS = frozenset({
    "mlflow.MlflowClient", "mlflow.tracking.MlflowClient", "mlflow.tracking.client.MlflowClient",
    "mlflow.client.MlflowClient",
})
CLIENT_API = "mlflow.MlflowClient"


def is_mlflow(qualified: str) -> bool:
    """``mlflow`` or a name under it (``mlflow_export_import`` is another package)."""
    return qualified == "mlflow" or qualified.startswith("mlflow.")
