"""An entry point's command with its parameters substituted, as MLflow's ``EntryPoint.compute_command`` makes it.

Mirrors ``mlflow/projects/_project_spec.py`` (3.x): a parameter without a default and without a
value stops the run ("No value given for missing parameters"); a ``uri`` value must have a
scheme; a ``path`` value that is local is made absolute and must exist (a remote one MLflow
downloads: here that needs the network, which a re-run does not have); every other type
(``string``, ``float``, ``int``...) passes through unchecked. Values are ``shlex``-quoted and put
into the command with ``str.format``; values given for undeclared names are appended as
``--key value``. The parameters MLflow logs are the same values, quoted, with ``path`` values as
given (MLflow computes them without a storage directory).
"""

from __future__ import annotations

import os
import shlex
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence

from analysis.rerun.ftypes import ParamDecl


class ParameterError(Exception):
    """MLflow would refuse these parameters; the message is MLflow's."""


def is_uri(value: str) -> bool:
    """MLflow's ``data_utils.is_uri``: the value has a scheme."""
    return len(urllib.parse.urlparse(value).scheme) > 0


def local_path_or_none(value: str) -> str | None:
    """MLflow's ``get_local_path_or_none``: the local path of a value without scheme or with ``file:///``."""
    parsed = urllib.parse.urlparse(value)
    if not parsed.scheme or (parsed.scheme == "file" and not parsed.netloc):
        path = parsed.path if value.startswith("file:") else value
        return urllib.request.url2pathname(path)
    return None


def _values(declared: Sequence[ParamDecl], given: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    missing = [p.name for p in declared if p.name not in given and p.default is None]
    if missing:
        raise ParameterError("No value given for missing parameters: " + ", ".join(f"'{n}'" for n in missing))
    names = {p.name for p in declared}
    final = {p.name: str(given[p.name]) if p.name in given else str(p.default) for p in declared}
    extra = {k: str(v) for k, v in given.items() if k not in names}
    return final, extra


def logged_parameters(declared: Sequence[ParamDecl], given: Mapping[str, str]) -> dict[str, str]:
    """The parameters ``mlflow run`` logs to the run it creates (quoted values, paths as given)."""
    final, extra = _values(declared, given)
    for p in declared:
        if p.type == "uri" and not is_uri(final[p.name]):
            raise ParameterError(f"Expected URI for parameter {p.name} but got {final[p.name]}")
    return {**{k: shlex.quote(v) for k, v in final.items()}, **{shlex.quote(k): shlex.quote(v) for k, v in extra.items()}}


def compute_command(template: str, declared: Sequence[ParamDecl], given: Mapping[str, str],
                    exists: Callable[[str], bool], cwd: str) -> str:
    """The command ``mlflow run`` runs: ``template`` formatted with quoted values, extras appended.

    Local ``path`` values are made absolute against ``cwd`` and checked with ``exists`` (the path
    as the run will see it); a remote ``path`` raises, since downloading it needs the network.
    """
    final, extra = _values(declared, given)
    for p in declared:
        value = final[p.name]
        if p.type == "path":
            local = local_path_or_none(value)
            if local is None:
                raise ParameterError(f"Got value {value} for parameter {p.name}: a remote path, which MLflow "
                                     "downloads before the run (no network in the sandbox)")
            absolute = os.path.normpath(os.path.join(cwd, local))
            if not exists(absolute):
                raise ParameterError(f"Got value {value} for parameter {p.name}, but no such file or "
                                     "directory was found.")
            final[p.name] = absolute
        elif p.type == "uri" and not is_uri(value):
            raise ParameterError(f"Expected URI for parameter {p.name} but got {value}")
    try:
        command = template.format(**{k: shlex.quote(v) for k, v in final.items()})
    except (KeyError, IndexError, ValueError) as err:
        raise ParameterError(f"command template cannot be formatted: {err!r}") from err
    return " ".join([command, *(f"--{shlex.quote(k)} {shlex.quote(v)}" for k, v in extra.items())])
