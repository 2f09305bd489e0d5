"""Tracking URIs: their scheme and host, and where non-Python files set ``MLFLOW_TRACKING_URI``."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from analysis.ftypes import TrackingUri

DB_SCHEMES = ("postgresql", "mysql", "mssql", "sqlite")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]", "host.docker.internal"})
_ENV_REF = re.compile(r"^\$(\{[^}]*\}|\w+)$|^\$\(\w+\)$")
_ASSIGN = re.compile(r"""MLFLOW_TRACKING_URI["']?\s*(?:=|:)\s*(?P<value>[^\s#]*)""")


def classify_uri(value: str) -> tuple[str, str]:
    """(scheme, host kind) of a tracking URI as MLflow's store registry would see it."""
    text = value.strip().strip("\"'")
    if not text:
        return "none", "none"
    if _ENV_REF.match(text) or text.startswith("${"):
        return "env-only", "none"
    if text in ("databricks", "databricks-uc", "uc") or text.startswith(("databricks://", "databricks-uc://")):
        return "databricks", "remote"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    base = scheme.split("+", 1)[0]
    if base in DB_SCHEMES:
        if base == "sqlite":
            return "sqlite", "none"
        host = (parts.hostname or "").lower()
        return base, "localhost" if host in LOCAL_HOSTS or not host else "remote"
    if base in ("http", "https"):
        host = (parts.hostname or "").lower()
        return base, "localhost" if host in LOCAL_HOSTS else "remote"
    if base == "file" or not scheme or (len(scheme) == 1 and text[1:2] == ":"):  # C:\ paths
        return "file", "none"
    return base, "remote"


def config_source(path: str) -> str | None:
    """Which kind of non-Python file may set ``MLFLOW_TRACKING_URI`` (None: not scanned)."""
    p = PurePosixPath(path)
    name = p.name.lower()
    if name.startswith(".env") or name.endswith(".env"):
        return "env-file"
    if name.endswith((".sh", ".bash", ".zsh")):
        return "shell"
    if name in ("makefile", "gnumakefile") or name.endswith(".mk"):
        return "makefile"
    if name.startswith("dockerfile") or name.endswith(".dockerfile"):
        return "dockerfile"
    if (name.startswith(("docker-compose", "compose"))) and name.endswith((".yml", ".yaml")):
        return "compose"
    if ".github/workflows/" in f"/{path}" or name in (".gitlab-ci.yml", "azure-pipelines.yml", "jenkinsfile"):
        return "ci"
    return None


def scan_text(text: str, source: str) -> list[TrackingUri]:
    """Every assignment of ``MLFLOW_TRACKING_URI`` in a shell, env, compose, CI or Makefile text."""
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            continue
        for match in _ASSIGN.finditer(line):
            value = match.group("value").strip().strip("\"'")
            if not value:
                continue
            scheme, host = classify_uri(value)
            out.append(TrackingUri(lineno, source, "assignment", value, scheme, host))
    return out
