"""Tracking URIs: where Python code (a finder of the ``mlflow_calls`` pass) and other files set them,
and what they point at (scheme and host)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import libcst as cst

from analysis.ftypes import CLIENT_API, TrackingUri
from analysis.passes.integrations import framework
from analysis.reading.calls import Call, Callee, Where, argument, string_value
from analysis.reading.names import ModuleNames
from analysis.reading.scopes import Scope

TRACKING_ENV = "MLFLOW_TRACKING_URI"
ENVIRON_SETTERS = frozenset({"os.environ.setdefault", "os.environ.update", "os.putenv"})
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


def config_source(path: str, name: str | None = None) -> str | None:
    """Which kind of non-Python file may set ``MLFLOW_TRACKING_URI`` (None: not scanned); ``name``: the
    path's last part, when the caller has it."""
    name = (PurePosixPath(path).name if name is None else name).lower()
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
            value = match.group("value")
            if value.endswith("\\") and match.end() == len(line.rstrip()):
                value = value[:-1]  # a shell line continuation (`-e MLFLOW_TRACKING_URI=$X\`), not part of the value
            value = value.strip().strip("\"'")
            if not value:
                continue
            scheme, host = classify_uri(value)
            out.append(TrackingUri(lineno, source, "assignment", value, scheme, host))
    return out


class TrackingUris:
    """Finds where a module sets the tracking URI: ``mlflow.set_tracking_uri``, ``MlflowClient(uri)``,
    an integration's ``tracking_uri=``, and ``MLFLOW_TRACKING_URI`` in ``os.environ``."""

    def __init__(self, names: ModuleNames) -> None:
        self.names = names
        self.assignments: list[tuple[cst.BaseExpression, cst.BaseExpression, Scope]] = []  # (target, value, scope)

    @property
    def needs_positions(self) -> bool:
        """Whether a finding sits at a node other than a call or decorator (``os.environ[...] =``)."""
        return bool(self.assignments)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._environ_assignment(target.target, node.value)

    def _environ_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
            return
        index = target.slice[0].slice
        if isinstance(index, cst.Index) and string_value(index.value) == TRACKING_ENV:
            if self.names.qualify(target.value, self.names.scope) == "os.environ":  # bindings as of this line
                self.assignments.append((target, value, self.names.scope))

    def findings(self, calls: Sequence[tuple[Call, Callee]], where: Where) -> list[TrackingUri]:
        """Calls that set the URI, then ``os.environ`` assignments, then integrations' ``tracking_uri=``."""
        out = []
        for call, callee in calls:
            uri = None if callee.dynamic else self._call(call, callee.qualified, where)
            if uri is not None:
                out.append(uri)
        for target, assigned, scope in self.assignments:
            cell, line, _col = where(target)
            out.append(self._uri(line, cell, "environ", assigned, scope))
        for call, callee in calls:
            if not callee.dynamic and isinstance(call.node, cst.Call) and framework(callee.qualified) is not None:
                value = argument(call.node.args, None, "tracking_uri")
                if value is not None:
                    cell, line, _col = where(call.node)
                    out.append(self._uri(line, cell, callee.qualified.rsplit(".", 1)[-1], value, call.scope))
        return out

    def _call(self, call: Call, qualified: str, where: Where) -> TrackingUri | None:
        args = call.node.args if isinstance(call.node, cst.Call) else ()
        if qualified in ENVIRON_SETTERS:
            return self._environ_call(qualified, args, call, where)
        api = self.names.resolver.api(qualified)
        if api == "mlflow.set_tracking_uri" or (api == CLIENT_API and args):
            value = argument(args, 0, "uri" if api == "mlflow.set_tracking_uri" else "tracking_uri")
            if value is not None:
                cell, line, _col = where(call.node)
                return self._uri(line, cell, "set_tracking_uri" if api == "mlflow.set_tracking_uri" else "MlflowClient",
                                 value, call.scope)
        return None

    def _environ_call(self, qualified: str, args: Sequence[cst.Arg], call: Call, where: Where) -> TrackingUri | None:
        """``os.environ.setdefault(KEY, v)``, ``os.putenv(KEY, v)``, ``os.environ.update({KEY: v})``
        or ``os.environ.update(KEY=v)`` with KEY ``MLFLOW_TRACKING_URI``."""
        value: cst.BaseExpression | None = None
        first = argument(args, 0, None if qualified == "os.environ.update" else "key")
        if qualified == "os.environ.update":
            value = argument(args, None, TRACKING_ENV)
            if value is None and isinstance(first, cst.Dict):
                value = next((e.value for e in first.elements if isinstance(e, cst.DictElement)
                              and string_value(e.key) == TRACKING_ENV), None)
        elif first is not None and string_value(first) == TRACKING_ENV:
            value = argument(args, 1, "value" if qualified == "os.putenv" else "default")
        if value is None:
            return None
        cell, line, _col = where(call.node)
        return self._uri(line, cell, "environ", value, call.scope)

    def _uri(self, line: int, cell: int | None, via: str, value: cst.BaseExpression, scope: Scope) -> TrackingUri:
        text = string_value(value)
        if text is not None:
            scheme, host = classify_uri(text)
        elif isinstance(value, cst.Call) and self.names.qualify(value.func, scope) in ("os.environ.get", "os.getenv"):
            scheme, host, text = "env-only", "none", ""
        else:
            scheme, host, text = "computed", "none", ""
        return TrackingUri(line, "notebook" if cell is not None else "code", via, text, scheme, host, cell)
