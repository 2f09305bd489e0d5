"""The API catalog: MLflow's public tracking surface, read statically from its released sources.

For each release under ``<corpus>/mlflow/<version>/mlflow/`` this pass reads (with ``ast``,
never importing anything):

- the names bound at top level ``mlflow.`` by ``mlflow/__init__.py`` (re-exports from
  ``mlflow/tracking/fluent.py`` and elsewhere, followed to the module defining them);
- the public methods of ``MlflowClient`` (``mlflow/tracking/client.py``);
- the flavor modules' ``log_model``, ``save_model``, ``load_model`` and ``autolog``.

The per-release surfaces are merged into one row per API with the first and last release
it was found in, and the first release in which it carries a ``@deprecated`` decorator.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from analysis.ftypes import CLIENT_API, is_mlflow
from analysis.reading.astscan import ast_dotted
from analysis.releases.source import release_tree
from analysis.reading.imports import imported_names
from analysis.rows import Catalog, CatalogRow
from analysis.versions import version_key
from miner.corpus import release_dirs

log = logging.getLogger(__name__)

FLAVOR_FUNCTIONS = frozenset({"log_model", "save_model", "load_model", "autolog"})
# Subpackages of MLflow's own machinery: their functions are not a flavor's.
NOT_FLAVORS = re.compile(
    r"^mlflow\.(tracking|utils|store|server|entities|protos|_|java|R|tests|cli|models|environment_variables"
    r"|projects|deployments|gateway|genai\.|types|artifacts|data|system_metrics|telemetry)"
)

# Category of an API by its last name, first match wins. Rules over names, not a list of APIs.
CATEGORY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("autolog", re.compile(r"autolog")),
    ("tracing", re.compile(r"trace|span|assessment|feedback|expectation|^context$|^log_issue$")),
    ("registry", re.compile(r"register|registered_model|model_version|prompt|alias|^transition_")),
    ("dataset", re.compile(r"input|dataset")),
    ("param", re.compile(r"param")),
    ("metric", re.compile(r"metric")),
    ("tag", re.compile(r"tag")),
    ("model", re.compile(r"model|^evaluate$|explainer|checkpoint")),
    ("artifact", re.compile(r"artifact|^log_(text|dict|figure|image|table|stream)$|^load_table$|^Image$|^log_outputs$")),
    ("experiment", re.compile(r"experiment")),
    ("config", re.compile(r"uri|^login$|system_metrics|workspace|async")),
    ("run", re.compile(r"run|^log_batch$|^set_terminated$|^ActiveRun$")),
)


def categorize(api: str) -> str:
    """The category of an API from its last name (run, param, metric, artifact, ...)."""
    last = api.rsplit(".", 1)[-1]
    for category, pattern in CATEGORY_RULES:
        if pattern.search(last):
            return category
    return "other"


@dataclass(frozen=True)
class ApiEntry:
    """One API as found in one release."""

    api: str
    kind: str  # function | client_method | flavor_function
    module: str
    deprecated: bool


def _module_file(root: Path, module: str) -> Path | None:
    """The file of a dotted module under a release root (``root`` holds ``mlflow/``)."""
    parts = module.split(".")
    package = root.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    single = root.joinpath(*parts[:-1], parts[-1] + ".py")
    return single if single.is_file() else None


class _ModuleIndex:
    """Parsed modules of one release, on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, ast.Module | None] = {}

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._cache:
            path = _module_file(self.root, module)
            self._cache[module] = release_tree(path) if path is not None else None
        return self._cache[module]

    def is_module(self, dotted: str) -> bool:
        return _module_file(self.root, dotted) is not None


def _module_statements(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements executed at module level, looking inside if/try/with blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _module_statements(stmt.body)
            yield from _module_statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _module_statements(stmt.body)
            for handler in stmt.handlers:
                yield from _module_statements(handler.body)
            yield from _module_statements(stmt.orelse)
        elif isinstance(stmt, ast.With):
            yield from _module_statements(stmt.body)


def _is_deprecated(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    for dec in node.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = ast_dotted(target) or ""
        if "deprecat" in name.lower():
            return True
    return False


def module_bindings(tree: ast.Module, module: str) -> dict[str, str | ast.AST]:
    """Names a module binds at top level: dotted targets for imports, nodes for definitions."""
    out: dict[str, str | ast.AST] = {}
    for stmt in _module_statements(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            # ``module`` taken as a package, as always here: exact for ``__init__.py``, one level too deep
            # for a plain module's relative import (MLflow's own modules import absolutely)
            for imported in imported_names(stmt, module.split(".")):
                if imported.name != "*":
                    out[imported.bound] = imported.target
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            value = stmt.value
            if isinstance(value, ast.Call) and ast_dotted(value.func) in ("LazyLoader", "_LazyLoader") and value.args:
                first = value.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    out[name] = first.value
                    continue
            dotted = ast_dotted(value)
            if dotted is not None:
                head, _, rest = dotted.partition(".")
                target = out.get(head)
                if isinstance(target, str):
                    out[name] = f"{target}.{rest}" if rest else target
                elif head == "mlflow":
                    out[name] = dotted
    return out


def resolve_definition(index: _ModuleIndex, dotted: str, hops: int = 6) -> tuple[str, ast.AST | None]:
    """Follow re-exports of ``a.b.name`` to the module defining ``name`` and its node."""
    for _ in range(hops):
        if index.is_module(dotted):
            return dotted, None
        module, _, name = dotted.rpartition(".")
        tree = index.tree(module)
        if tree is None:
            return module, None
        binding = module_bindings(tree, module).get(name)
        if binding is None:
            return module, None
        if not isinstance(binding, str):
            return module, binding
        dotted = binding
    return dotted.rpartition(".")[0], None


def release_surface(release_root: Path) -> list[ApiEntry]:
    """The tracking surface of one release (``release_root`` holds ``mlflow/``)."""
    index = _ModuleIndex(release_root)
    entries: dict[str, ApiEntry] = {}
    init = index.tree("mlflow")
    if init is None:
        return []
    for name, binding in module_bindings(init, "mlflow").items():
        if name.startswith("_"):
            continue
        if isinstance(binding, str):
            if not is_mlflow(binding):
                continue
            module, node = resolve_definition(index, binding)
            if node is None:
                continue  # a module (flavor, submodule) or a constant
        else:
            module, node = "mlflow", binding
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            entries[f"mlflow.{name}"] = ApiEntry(f"mlflow.{name}", "function", module, _is_deprecated(node))

    client = index.tree("mlflow.tracking.client")
    for stmt in client.body if client else []:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "MlflowClient":
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                    api = f"{CLIENT_API}.{item.name}"
                    entries[api] = ApiEntry(api, "client_method", "mlflow.tracking.client", _is_deprecated(item))

    package = release_root / "mlflow"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(release_root).with_suffix("")
        parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
        if len(parts) < 2 or len(parts) > 3 or any(p.startswith("_") for p in parts):
            continue
        module = ".".join(parts)
        if NOT_FLAVORS.match(module):
            continue
        tree = index.tree(module)
        if tree is None:
            continue
        for name, binding in module_bindings(tree, module).items():
            if name not in FLAVOR_FUNCTIONS:
                continue
            found = binding if not isinstance(binding, str) else resolve_definition(index, binding)[1]
            if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)):
                api = f"{module}.{name}"
                entries[api] = ApiEntry(api, "flavor_function", module, _is_deprecated(found))
    return sorted(entries.values(), key=lambda e: e.api)


def build_catalog(releases: Mapping[str, Path]) -> list[CatalogRow]:
    """Merge the surfaces of many releases (version -> release root) into catalog rows, by API."""
    found_in: dict[str, list[str]] = {}
    last: dict[str, ApiEntry] = {}  # kind and module are the last release's
    deprecated_since: dict[str, str] = {}
    for version in sorted(releases, key=version_key):
        for entry in release_surface(releases[version]):
            found_in.setdefault(entry.api, []).append(version)
            last[entry.api] = entry
            if entry.deprecated:
                deprecated_since.setdefault(entry.api, version)
    return [CatalogRow(api, last[api].kind, last[api].module, categorize(api), versions[0], versions[-1],
                       len(versions), deprecated_since.get(api, ""))
            for api, versions in sorted(found_in.items())]


SNAPSHOT = "api_catalog.csv"


def load_snapshot() -> Catalog:
    """The catalog shipped in the package (made by this pass; see its provenance file)."""
    import csv
    import io

    data = resources.files("analysis").joinpath("data", SNAPSHOT).read_text(encoding="utf-8")
    prov = json.loads(resources.files("analysis").joinpath("data", SNAPSHOT + ".provenance.json")
                      .read_text(encoding="utf-8"))
    rows = tuple(CatalogRow.from_text(cells) for cells in csv.DictReader(io.StringIO(data)))
    return Catalog(rows, tuple(prov.get("releases", [])), "snapshot")


def catalog_for(releases: Mapping[str, Path]) -> Catalog:
    """The catalog from a corpus's MLflow releases (version -> release root), or the shipped snapshot
    when it has none."""
    if not releases:
        return load_snapshot()
    return Catalog(tuple(build_catalog(releases)), tuple(sorted(releases, key=version_key)), "corpus")


def write_snapshot(corpus_dir: Path, dest: Path | None = None) -> Path:
    """Regenerate the shipped snapshot from a corpus's MLflow releases (a maintainer's step)."""
    from analysis.tables import CATALOG  # the table's columns; tables imports this module
    from miner import __version__
    from miner.fileio import utc_now, write_csv, write_provenance

    releases = release_dirs(corpus_dir)
    if not releases:
        raise ValueError(f"{corpus_dir}: no MLflow releases under mlflow/")
    rows = build_catalog(releases)
    out = dest or Path(__file__).resolve().parents[1] / "data" / SNAPSHOT
    write_csv(out, CATALOG.columns, (row.text() for row in rows))
    write_provenance(out, {"tool_version": __version__, "written_at": utc_now(),
                           "releases": sorted(releases, key=version_key),
                           "made_by": "analysis.releases.catalog.write_snapshot over release sources from PyPI"})
    return out


if __name__ == "__main__":  # python -m analysis.releases.catalog CORPUS_DIR
    import sys

    print(write_snapshot(Path(sys.argv[1])))
