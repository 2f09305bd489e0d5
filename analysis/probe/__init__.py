"""Probe MLflow itself: storage capacity, access time, precision and integrity, per release and backend.

``run.probe(settings)`` drives it; the folder ``workload-py38/`` is what runs inside each release's environment;
``summary.summarize(rows)`` condenses ``probe.csv`` for the report.
"""

from __future__ import annotations

from analysis.probe.ftypes import ProbeError, ProbeSettings, ProbeSummary
from analysis.probe.run import probe
from analysis.probe.summary import read_probe, summarize

__all__ = ["ProbeError", "ProbeSettings", "ProbeSummary", "probe", "read_probe", "summarize"]
