"""Corpus specs: the committed TOML files under ``corpora/`` that say what a corpus takes."""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from miner.ftypes import CorpusSpec, GitHubSelection, MinerError, MlflowSelection

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPORA_DIR = Path(__file__).resolve().parent.parent / "corpora"
DEFAULT_SPEC = CORPORA_DIR / "mlflow-projects.toml"


def _section(cls: Any, table: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise MinerError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        default = known[key].default
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise MinerError(f"{where}.{key}: expected a list, got {value!r}")
            value = tuple(str(v) for v in value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise MinerError(f"{where}.{key}: expected true or false, got {value!r}")
        elif isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise MinerError(f"{where}.{key}: expected an integer, got {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise MinerError(f"{where}.{key}: expected a string, got {value!r}")
        values[key] = value
    return cls(**values)


def load_spec(path: Path) -> CorpusSpec:
    """Read and validate a corpus spec; errors name the file and the offending key or line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MinerError(f"{path}: corpus spec not found") from err
    except tomllib.TOMLDecodeError as err:
        raise MinerError(f"{path}: {err}") from err
    corpus = data.get("corpus", {})
    unknown = sorted(set(data) - {"corpus", "github", "mlflow"})
    if unknown:
        raise MinerError(f"{path}: unknown section(s) {', '.join(unknown)}")
    extra = sorted(set(corpus) - {"name", "blob_limit"})
    if extra:
        raise MinerError(f"{path} [corpus]: unknown key(s) {', '.join(extra)}")
    github = _section(GitHubSelection, data.get("github", {}), f"{path} [github]")
    mlflow = _section(MlflowSelection, data.get("mlflow", {}), f"{path} [mlflow]")
    if mlflow.source not in ("pypi", "github", "none"):
        raise MinerError(f"{path} [mlflow].source: expected pypi, github or none, got {mlflow.source!r}")
    return CorpusSpec(
        name=str(corpus.get("name") or path.stem),
        path=path,
        github=github,
        mlflow=mlflow,
        blob_limit=str(corpus.get("blob_limit", "1m")),
    )
