"""The passes, listed in one place (the rule a pass follows is ``analysis.passes``'s docstring)."""


from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from analysis.passes import (
    code_findings,
    environments,
    mlproject,
    project_kind,
    reproducibility,
    stored_runs,
    traceability,
)
from analysis.passes.environments import env_name_kind
from analysis.passes.tracking_uris import config_source
from analysis.reading.mlproject import is_mlproject_name
from analysis.repo_state import Checkout, RepoResult, SourceFile

FilePass = Callable[[SourceFile, Checkout, RepoResult], None]
RepoPass = Callable[[Checkout, RepoResult], None]

# A file's kind (``file_kind``) -> its passes, in order; a kind not listed is not analyzed.
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
    project_kind.repo_pass,  # library or application; the driver makes course work teaching (manifest.csv)
)


def file_kind(rel: str) -> str:
    """python, notebook, mlproject, environment, config (may set a tracking URI) or other."""
    lower = rel.lower()
    name = rel.rpartition("/")[2]  # PurePosixPath(rel).name, for a path as the file stage lists it
    if is_mlproject_name(name):
        return "mlproject"
    if env_name_kind(name) not in (None, "setup.py"):
        return "environment"  # setup.py stays python (call sites) and is read for dependencies too
    if lower.endswith(".py"):
        return "python"
    if lower.endswith(".ipynb"):
        return "notebook"
    if config_source(rel, name) is not None:
        return "config"
    return "other"
