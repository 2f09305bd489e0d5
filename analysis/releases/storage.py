"""MLflow's storage model per release (Q1), read statically from its source: ``mlflow_storage.csv``.

Rows (``StorageRow``) are ``(release, kind, name, detail)``:

- ``entity``: public classes of ``mlflow/entities/`` (detail: their constructor's parameters);
- ``sql_table`` / ``sql_column``: SQLAlchemy classes with ``__tablename__`` in the store's
  ``dbmodels/models.py`` files (detail: the column type and ``primary_key``);
- ``tracking_scheme`` / ``artifact_scheme`` / ``registry_scheme``: URI schemes registered with the
  tracking-store, artifact-repository and model-registry registries (literal schemes, module
  constants and ``for scheme in [...]`` loops, across the whole ``mlflow/`` package);
- ``file_store``: the FileStore layout constants (folder and file names);
- ``limit``: the ``MAX_*`` constants of ``mlflow/utils/validation.py`` (detail: their value);
- ``default`` / ``gate``: the tracking URI MLflow falls back to and what opening a FileStore takes
  (``analysis.releases.defaults``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Iterator, Mapping
from pathlib import Path

from analysis.releases.source import release_tree
from analysis.releases.defaults import file_store_gates, tracking_uri_defaults
from analysis.rows import StorageRow
from analysis.versions import version_key


REGISTRIES = {"_tracking_store_registry": "tracking_scheme", "_artifact_repository_registry": "artifact_scheme",
              "_model_registry_store_registry": "registry_scheme"}
_OPS = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub, ast.Pow: operator.pow,
        ast.FloorDiv: operator.floordiv, ast.LShift: operator.lshift}


def _number(node: ast.expr) -> int | float | None:
    """The value of a constant arithmetic expression (``1024 * 1024``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _number(node.left), _number(node.right)
        if left is not None and right is not None:
            return _OPS[type(node.op)](left, right)  # type: ignore[no-any-return]
    return None


def _constants(trees: list[ast.Module]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Module-level string constants and lists of them, across the package (names are unique enough)."""
    strings: dict[str, str] = {}
    lists: dict[str, list[ast.expr]] = {}
    for tree in trees:
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                name = stmt.targets[0].id
                if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    strings.setdefault(name, stmt.value.value)
                elif isinstance(stmt.value, (ast.List, ast.Tuple)):
                    lists.setdefault(name, list(stmt.value.elts))
    resolved = {name: [v for v in (_string(e, strings) for e in elts) if v is not None] for name, elts in lists.items()}
    return strings, resolved


def _string(node: ast.expr, strings: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return strings.get(node.id)
    if isinstance(node, ast.Attribute):
        return strings.get(node.attr)
    return None


def _schemes(trees: list[ast.Module], strings: dict[str, str], lists: dict[str, list[str]]) -> Iterator[tuple[str, str]]:
    """(kind, scheme) of every registration call."""
    for tree in trees:
        loops: dict[int, list[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
                values: list[str] = []
                if isinstance(node.iter, (ast.List, ast.Tuple)):
                    values = [v for v in (_string(e, strings) for e in node.iter.elts) if v is not None]
                elif isinstance(node.iter, ast.Name):
                    values = lists.get(node.iter.id, [])
                for inner in ast.walk(node):
                    loops[id(inner)] = values
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in REGISTRIES and node.args):
                continue
            kind = REGISTRIES[node.func.value.id]
            first = node.args[0]
            literal = _string(first, strings)
            if literal is not None:
                yield kind, literal
            elif isinstance(first, ast.Name) and id(node) in loops:
                for value in loops[id(node)]:
                    yield kind, value
            elif isinstance(first, ast.Name) and first.id not in ("scheme", "entrypoint"):
                yield kind, f"(unresolved: {first.id})"


def release_storage(release: str, root: Path) -> list[StorageRow]:
    """The storage rows of one release (``root`` holds ``mlflow/``)."""
    package = root / "mlflow"
    rows: set[tuple[str, str, str]] = set()
    for path in sorted((package / "entities").glob("*.py")) if (package / "entities").is_dir() else []:
        tree = release_tree(path)
        for stmt in tree.body if tree else []:
            if isinstance(stmt, ast.ClassDef) and not stmt.name.startswith("_"):
                init = next((s for s in stmt.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
                params = [a.arg for a in init.args.args[1:]] if init else []
                rows.add(("entity", stmt.name, ", ".join(params)))
    for path in sorted(package.glob("store/**/dbmodels/models.py")):
        tree = release_tree(path)
        for stmt in tree.body if tree else []:
            if not isinstance(stmt, ast.ClassDef):
                continue
            table = next((s.value.value for s in stmt.body if isinstance(s, ast.Assign)
                          and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in s.targets)
                          and isinstance(s.value, ast.Constant)), None)
            if not isinstance(table, str):
                continue
            rows.add(("sql_table", table, stmt.name))
            for item in stmt.body:
                if (isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name)
                        and isinstance(item.value, ast.Call)
                        and getattr(item.value.func, "id", getattr(item.value.func, "attr", "")) == "Column"):
                    call = item.value
                    typ = next((ast.unparse(a) for a in call.args if not isinstance(a, ast.Constant)), "")
                    pk = any(k.arg == "primary_key" and isinstance(k.value, ast.Constant) and k.value.value for k in call.keywords)
                    rows.add(("sql_column", f"{table}.{item.targets[0].id}", typ + (" primary_key" if pk else "")))
    trees = [t for t in (release_tree(p) for p in sorted(package.rglob("*.py"))
                         if "/store/" in p.as_posix() or "/tracking/" in p.as_posix()
                         or p.as_posix().endswith("/utils/uri.py")) if t is not None]
    strings, lists = _constants(trees)
    for kind, scheme in _schemes(trees, strings, lists):
        rows.add((kind, scheme or "(empty: a local path)", ""))
    store_file = next((p for p in (package / "store" / "tracking" / "file_store.py", package / "store" / "file_store.py")
                       if p.is_file()), None)
    file_store = release_tree(store_file) if store_file is not None else None
    for node in ast.walk(file_store) if file_store else []:
        if isinstance(node, ast.ClassDef) and node.name == "FileStore":
            for item in node.body:
                if (isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name)
                        and item.targets[0].id.endswith("_NAME") and isinstance(item.value, ast.Constant)):
                    rows.add(("file_store", item.targets[0].id, str(item.value.value)))
    validation = package / "utils" / "validation.py"
    tree = release_tree(validation) if validation.is_file() else None
    for stmt in tree.body if tree else []:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            value = _number(stmt.value)
            if name.startswith("MAX_") and value is not None:
                rows.add(("limit", name, str(value)))
    rows.update(("default", name, detail) for name, detail in tracking_uri_defaults(package))
    rows.update(("gate", name, detail) for name, detail in file_store_gates(package))
    return [StorageRow(release, k, n, d) for k, n, d in sorted(rows)]


def storage_rows(releases: Mapping[str, Path]) -> list[StorageRow]:
    """Storage rows of every release, in release order."""

    out: list[StorageRow] = []
    for version in sorted(releases, key=version_key):
        out += release_storage(version, releases[version])
    return out
