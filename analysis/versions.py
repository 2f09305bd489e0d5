"""One order of MLflow releases: ``version_key`` sorts release names everywhere in the tool; ``pinned_version``
reads the release a declared requirement pins."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

# an exact pin of MLflow as an environment file writes it: ``mlflow==2.9.2``, conda's ``mlflow=2.9.2``
_PIN = re.compile(r"^mlflow(?:-skinny)?(?:==|=)\s*v?(\d+(?:\.\d+)*)$")


def version_key(value: str) -> tuple[int, Version | str]:
    """A release as a sortable key: by version, then a name that is not a version (``current``), by its text."""
    try:
        return 0, Version(value)
    except InvalidVersion:
        return 1, value


def pinned_version(requirement: str) -> str:
    """The MLflow release a requirement pins exactly (``mlflow==2.9.2``, conda's ``mlflow=2.9.2``; the
    ``;``-joined requirements of ``history.csv``'s ``mlflow_requirement``), '' when it pins none (a range, no
    version, or two files pinning different releases)."""
    pins = {m.group(1) for part in requirement.split(";") if (m := _PIN.match(part.strip()))}
    return pins.pop() if len(pins) == 1 else ""
