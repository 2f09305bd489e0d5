"""One order of MLflow releases: ``version_key`` sorts release names everywhere in the tool."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def version_key(value: str) -> tuple[int, Version | str]:
    """A release as a sortable key: by version, then a name that is not a version (``current``), by its text."""
    try:
        return 0, Version(value)
    except InvalidVersion:
        return 1, value
