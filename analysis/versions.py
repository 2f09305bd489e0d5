"""One order of MLflow releases: ``version_key`` sorts release names everywhere in the tool; ``pinned_version``
reads the release a declared requirement pins."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

# a requirement of MLflow as ``history.csv``'s ``mlflow_requirement`` joins them: the name, then the spec as written
_MLFLOW = re.compile(r"^mlflow(?:-skinny)?(?P<spec>[=<>!~\s\d].*)$")
_BARE = re.compile(r"\d[\w.]*")  # Poetry's bare version: an exact pin
_NOT_ONE = re.compile(r"[*,|<>!~;]")  # a wildcard, a second clause, an alternative, a comparison: not one release


def conda_exact(spec: str) -> bool:
    """A conda match-spec's version part (``=1.30.0``, ``=1.30=py_0``, ``==1.30``) names one release: a version
    and a build, a ``==`` version, or ``=X.Y.Z`` (``numpy=1.21`` matches 1.21.*: a prefix, not one release)."""
    if spec.startswith("=="):
        return not _NOT_ONE.search(spec[2:])
    version, _sep, build = spec[1:].partition("=") if spec.startswith("=") else ("", "", "")
    return bool(version) and not _NOT_ONE.search(version) and (bool(build) or version.count(".") >= 2)


def exact_pin(spec: str) -> str:
    """The release a version spec pins exactly, as the environments pass classes a pin ``exact``: pip's one
    ``==``/``===`` without a wildcard or a second clause, conda's as ``conda_exact``, Poetry's bare version; ''
    otherwise."""
    spec = spec.replace(" ", "")
    if _BARE.fullmatch(spec):
        return spec
    if spec.startswith("=="):
        version = spec.lstrip("=")
        return "" if not version or _NOT_ONE.search(version) else version.removeprefix("v")
    return spec[1:].partition("=")[0].removeprefix("v") if conda_exact(spec) else ""


def version_key(value: str) -> tuple[int, Version | str]:
    """A release as a sortable key: by version, then a name that is not a version (``current``), by its text."""
    try:
        return 0, Version(value)
    except InvalidVersion:
        return 1, value


def pinned_version(requirement: str) -> str:
    """The MLflow release a requirement pins exactly (``mlflow==2.9.2``, conda's ``mlflow=2.9.2`` or
    ``mlflow=2.12.2=h6eed73b_0``; the ``;``-joined requirements of ``history.csv``'s ``mlflow_requirement``),
    '' when it pins none (a range, conda's prefix ``mlflow=1.23``, no version, or two files pinning different
    releases)."""
    pins = {pin for part in requirement.split(";") if (m := _MLFLOW.match(part.strip()))
            and (pin := exact_pin(m.group("spec")))}
    return pins.pop() if len(pins) == 1 else ""
