"""Corpus specs: the committed TOML files under ``corpora/`` that say what a corpus takes.

A spec names its sources (``[[source]]``, each of a kind: topic, search, list, local), the selection
rules' settings (``[filters]``), an optional sample (``[sample]``) and the MLflow releases (``[mlflow]``).
The older one-source form, ``[github]`` (a topic and its filters), still reads: as one topic source
and the same filters.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from datetime import date
from pathlib import Path
from typing import Any

from miner.ftypes import (
    SOURCE_KINDS,
    CorpusSpec,
    Filters,
    GitHubSelection,
    MinerError,
    MlflowSelection,
    Sample,
    SourceSpec,
    github_filters,
    topic_source,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPORA_DIR = Path(__file__).resolve().parent.parent / "corpora"
DEFAULT_SPEC = CORPORA_DIR / "mlflow-projects.toml"
SECTIONS = ("corpus", "github", "source", "filters", "sample", "mlflow")
# the keys each kind of source takes besides ``kind`` and ``name``, the first one required
SOURCE_KEYS: dict[str, tuple[str, ...]] = {
    "topic": ("topic", "query", "created_from", "per_page"),
    "search": ("query", "created_from", "per_page"),
    "list": ("path",),
    "local": ("path",),
}


def _section(cls: Any, table: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise MinerError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    missing = sorted(k for k, f in known.items() if f.default is MISSING and k not in table)
    if missing:
        raise MinerError(f"{where}: missing key(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        default = known[key].default
        kind = known[key].type if default is MISSING else type(default).__name__
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise MinerError(f"{where}.{key}: expected a list, got {value!r}")
            value = tuple(str(v) for v in value)
        elif kind == "bool":
            if not isinstance(value, bool):
                raise MinerError(f"{where}.{key}: expected true or false, got {value!r}")
        elif kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise MinerError(f"{where}.{key}: expected an integer, got {value!r}")
        elif kind == "str" and not isinstance(value, str):
            raise MinerError(f"{where}.{key}: expected a string, got {value!r}")
        values[key] = value
    return cls(**values)


def _check_date(value: str, where: str) -> None:
    if value:
        try:
            date.fromisoformat(value)
        except ValueError as err:
            raise MinerError(f"{where}: expected a date (YYYY-MM-DD), got {value!r}") from err


def _source(table: Any, where: str) -> SourceSpec:
    """One ``[[source]]`` table, checked: its kind, the keys of that kind, a query GitHub can window."""
    if not isinstance(table, dict):
        raise MinerError(f"{where}: expected a table")
    kind = table.get("kind")
    if kind not in SOURCE_KINDS:
        raise MinerError(f"{where}.kind: expected one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    allowed = SOURCE_KEYS[kind]
    unknown = sorted(set(table) - {"kind", "name", *allowed})
    if unknown:
        raise MinerError(f"{where} (kind {kind}): unknown key(s) {', '.join(unknown)}; known: "
                         f"{', '.join(('name', *allowed))}")
    first = allowed[0]
    if not isinstance(table.get(first), str) or not table[first].strip():
        raise MinerError(f"{where} (kind {kind}): {first} is required (a non-empty string)")
    source: SourceSpec = _section(SourceSpec, {"name": f"{kind}:{table[first].strip()}", **table}, where)
    if ";" in source.name:
        raise MinerError(f"{where}.name: {source.name!r} holds a ';' (selection.csv joins names with it): "
                         "give the source a name")
    _check_date(source.created_from, f"{where}.created_from")
    if not 1 <= source.per_page <= 100:
        raise MinerError(f"{where}.per_page: expected 1 to 100, got {source.per_page}")
    if any(term.lower().startswith("created:") for term in source.query.split()):
        raise MinerError(f"{where}.query: no created: qualifier, please: the miner windows the query on created "
                         "(set created_from to start later)")
    return source


def _sources(tables: Any, where: str) -> tuple[SourceSpec, ...]:
    if not isinstance(tables, list) or not tables:
        raise MinerError(f"{where}: expected one [[source]] table or more")
    sources = tuple(_source(t, f"{where}[{i}]") for i, t in enumerate(tables))
    names = [s.name for s in sources]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MinerError(f"{where}: two sources named {', '.join(twice)}: give each its own name")
    return sources


def load_spec(path: Path) -> CorpusSpec:
    """Read and validate a corpus spec; errors name the file and the offending key or line."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MinerError(f"{path}: corpus spec not found") from err
    except tomllib.TOMLDecodeError as err:
        raise MinerError(f"{path}: {err}") from err
    corpus = data.get("corpus", {})
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise MinerError(f"{path}: unknown section(s) {', '.join(unknown)}")
    extra = sorted(set(corpus) - {"name", "blob_limit"})
    if extra:
        raise MinerError(f"{path} [corpus]: unknown key(s) {', '.join(extra)}")
    if "github" in data and ("source" in data or "filters" in data):
        raise MinerError(f"{path}: [github] is the one-source form of [[source]] and [filters]: use one form "
                         "(its topic is a [[source]] of kind topic, its filters go to [filters])")
    github = _section(GitHubSelection, data.get("github", {}), f"{path} [github]")
    _check_date(github.created_from, f"{path} [github].created_from")
    sources = _sources(data["source"], f"{path} [[source]]") if "source" in data else (topic_source(github),)
    filters: Filters = (_section(Filters, data["filters"], f"{path} [filters]") if "filters" in data
                        else github_filters(github))
    _check_date(filters.pushed_after, f"{path} [filters].pushed_after")
    sample: Sample | None = _section(Sample, data["sample"], f"{path} [sample]") if "sample" in data else None
    if sample is not None and sample.n < 1:
        raise MinerError(f"{path} [sample].n: expected 1 or more, got {sample.n}")
    mlflow = _section(MlflowSelection, data.get("mlflow", {}), f"{path} [mlflow]")
    if mlflow.source not in ("pypi", "github", "none"):
        raise MinerError(f"{path} [mlflow].source: expected pypi, github or none, got {mlflow.source!r}")
    return CorpusSpec(
        name=str(corpus.get("name") or path.stem),
        path=path,
        github=github,
        mlflow=mlflow,
        blob_limit=str(corpus.get("blob_limit", "1m")),
        sources=sources,
        filters=filters,
        sample=sample,
    )
