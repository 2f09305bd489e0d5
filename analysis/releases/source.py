"""MLflow's released source read as data: a module file of a release as a syntax tree, never imported.

The releases room reads MLflow's own code (its API surface, storage model, schema revisions, defaults)
with this one reader; mined code is read by ``analysis.reading``.
"""

from __future__ import annotations

import ast
import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def release_tree(path: Path) -> ast.Module | None:
    """The module at ``path`` parsed (warnings about its escapes silenced), None when it is absent or cannot be
    read or parsed (logged: a release's file MLflow could not ship broken, but an archive can be)."""
    if not path.is_file():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError) as err:
        log.warning("%s: cannot parse: %s", path, err)
        return None
