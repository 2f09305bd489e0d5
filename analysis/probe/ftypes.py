"""Value types of the probe: settings, result rows, progress events, failures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

SCALES = ("small", "medium", "large")
PROBES = ("capacity", "precision", "integrity")
COLUMNS = ("release", "backend", "probe", "parameter", "value", "unit", "n", "spread", "outcome", "detail")
CURRENT = "current"  # the MLflow installed with the interpreter running the driver

# What the default matrix takes (PyPI, 2026-11): the edges of the limits' history and the newest.
# 1.27.0 (MAX_PARAM_VAL_LENGTH 250) / 1.30.1 (500, the last 1.x); 2.10.2 (6000, over-long rejected) /
# 2.11.0 (over-long truncated with a warning); 2.22.5 (the last 2.x); 3.12.0 (FileStore opens) /
# 3.17.2 (the newest that installs: PyPI has mlflow 3.18.0 but not the mlflow-skinny 3.18.0 it needs;
# FileStore refused without MLFLOW_ALLOW_FILE_STORE).
DEFAULT_RELEASES = ("1.27.0", "1.30.1", "2.10.2", "2.11.0", "2.22.5", "3.12.0", "3.17.2")
DEFAULT_BACKENDS = ("file", "sqlite")


class ProbeError(Exception):
    """Bad settings (a release, backend or scale that cannot be probed): nothing was run."""


@dataclass(frozen=True)
class ProbeSettings:
    """What to probe: releases (``current`` or ``x.y.z``) x backends (``file``, ``sqlite`` or a URI)."""

    out_dir: Path
    env_cache: Path
    releases: tuple[str, ...] = DEFAULT_RELEASES
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    scale: str = "small"
    probes: tuple[str, ...] = PROBES
    timeout: float | None = None  # seconds per release x backend; None: by scale
    draw_figure: bool = True


@dataclass(frozen=True)
class ProbeRow:
    """One row of ``probe.csv``: a measured figure, a precision or an integrity outcome."""

    release: str
    backend: str
    probe: str
    parameter: str
    value: str
    unit: str
    n: str
    spread: str
    outcome: str  # measured | fit | exact | changed | rejected | error | ... (docs/probe.md lists them)
    detail: str

    def as_dict(self) -> dict[str, str]:
        """The row keyed by ``COLUMNS``."""
        return asdict(self)


@dataclass(frozen=True)
class ProbeEvent:
    """Progress: an environment being built, a workload started or finished."""

    kind: str  # env | run | done | failed
    release: str
    backend: str
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class ProbeFailure:
    """A release x backend that gave no measurements (its environment or its workload failed)."""

    release: str
    backend: str
    stage: str  # env | workload
    reason: str


@dataclass(frozen=True)
class ProbeSummary:
    """What a probe run wrote and what failed."""

    out_dir: Path
    rows: tuple[ProbeRow, ...]
    failures: tuple[ProbeFailure, ...]
    seconds: float
    figure: Path | None = None
    runs: tuple[dict[str, object], ...] = field(default_factory=tuple)  # per release x backend: versions, times
