"""Import statements read one way: the names each binds and the modules it names, from ``ast`` or LibCST.

The API catalog (``catalog.module_bindings``), the import and call graphs (``traceability``) and
the call-site pass (``names.ModuleNames``) each bind names from imports; they all read an import
statement through ``imported_names`` (``ast``) or ``cst_imported_names`` (LibCST), and make a
relative import absolute with ``relative_base``.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a LibCST tree is read: the catalog and a re-run with nothing to redo need only ast
    import libcst as cst


@dataclass(frozen=True, slots=True)
class ImportedName:
    """One name an import statement binds.

    ``import a.b`` binds ``a`` and stands for ``a``; ``import a.b as c`` binds ``c`` and stands for
    ``a.b``; ``from m import n as k`` binds ``k`` and stands for ``m.n``.
    """

    module: str  # the module imported, or imported from (relative ones made absolute, see ``relative_base``)
    name: str  # the name imported from ``module``: "" for ``import module``, "*" for a star import
    asname: str | None  # ``as`` name, if any
    level: int  # leading dots of ``from .m import n``: 0 for an absolute import

    @property
    def bound(self) -> str:
        """The name the statement binds in the importing scope."""
        return self.asname or self.name or self.module.split(".")[0]

    @property
    def target(self) -> str:
        """The dotted name ``bound`` stands for."""
        if self.name:
            return f"{self.module}.{self.name}" if self.module else self.name
        return self.module if self.asname else self.module.split(".")[0]


def relative_base(module: str, level: int, package: Sequence[str]) -> str:
    """The absolute module of ``from <level dots><module> import ...`` written in ``package`` (its dotted parts)."""
    if not level:
        return module
    up = package[: len(package) - level + 1]
    return ".".join([*up, *([module] if module else [])])


def imported_names(node: ast.Import | ast.ImportFrom, package: Sequence[str] = ()) -> list[ImportedName]:
    """The names an ``ast`` import statement binds, one per alias, in order."""
    if isinstance(node, ast.Import):
        return [ImportedName(alias.name, "", alias.asname, 0) for alias in node.names]
    base = relative_base(node.module or "", node.level, package)
    return [ImportedName(base, alias.name, alias.asname, node.level) for alias in node.names]


def _asname(alias: cst.ImportAlias) -> str | None:
    import libcst as cst
    return alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else None


def cst_imported_names(node: cst.Import | cst.ImportFrom, package: Sequence[str] = ()) -> list[ImportedName]:
    """The names a LibCST import statement binds, one per alias, in order (a star import: one, named "*")."""
    import libcst as cst

    from analysis.reading.cst_walk import dotted
    if isinstance(node, cst.Import):
        return [ImportedName(dotted(alias.name) or "", "", _asname(alias), 0) for alias in node.names]
    level = len(node.relative)
    base = relative_base((dotted(node.module) if node.module is not None else None) or "", level, package)
    if isinstance(node.names, cst.ImportStar):
        return [ImportedName(base, "*", None, level)]
    return [ImportedName(base, dotted(alias.name) or "", _asname(alias), level) for alias in node.names]
