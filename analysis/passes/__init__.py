"""The passes, listed in one place: per-file passes by the file's kind, then per-repository passes in order.

A pass is a module named after what it finds, holding ``file_pass(file, checkout, result)`` (a
per-file pass: ``file`` is the ``SourceFile`` the file stage read) or ``repo_pass(checkout,
result)`` (a per-repository pass, run once the file stage is done, on what it and the passes
before it found), or both. The modules a pass reads with (parsers, finders, graph code) sit beside
it, named after what they read or build, and hold no pass function. A new pass is a new module and
one line below.

The per-file passes over code share one parse: ``code_findings`` scans a file once with ``ast`` (the
module graph's facts, seeds, the gate that keeps files which cannot use MLflow away from LibCST),
then walks it once with LibCST for every finder of ``mlflow_calls`` (call sites, integrations,
tracking URIs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from analysis.engine.repo_state import Checkout, RepoResult, SourceFile
from analysis.passes import code_findings, environments, mlproject, reproducibility, stored_runs, traceability

FilePass = Callable[[SourceFile, Checkout, RepoResult], None]
RepoPass = Callable[[Checkout, RepoResult], None]

# A file's kind (``analyzer.file_kind``) -> its passes, in order; a kind not listed is not analyzed.
FILE_PASSES: Mapping[str, tuple[FilePass, ...]] = MappingProxyType({
    "python": (environments.file_pass, code_findings.file_pass),  # setup.py is read for its dependencies too
    "notebook": (code_findings.file_pass,),
    "config": (code_findings.file_pass,),  # may set a tracking URI
    "mlproject": (mlproject.file_pass,),
    "environment": (environments.file_pass,),
})

# Per-repository passes, in order: each reads the checkout and what the passes before it found.
REPO_PASSES: tuple[RepoPass, ...] = (
    environments.repo_pass,
    stored_runs.repo_pass,
    reproducibility.repo_pass,
    traceability.repo_pass,
)
