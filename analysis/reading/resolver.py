"""Qualified names to the MLflow APIs they call, from the API catalog, made once per run
(``mlflow.tracking.fluent.log_metric`` -> ``mlflow.log_metric``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.ftypes import CLIENT_API, CLIENT_CLASS_PATHS
from analysis.reading.scopes import CLIENT
from analysis.rows import Catalog, CatalogRow


@dataclass(frozen=True)
class Resolver:
    """What resolution needs from the catalog, precomputed once per run: qualified name -> API."""

    aliases: Mapping[str, str]
    top_level: frozenset[str]
    rows: Mapping[str, CatalogRow]
    modules: frozenset[str]  # MLflow modules known to define catalog APIs, with their packages

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Resolver:
        rows = catalog.by_api
        top = frozenset(api.split(".", 1)[1] for api, r in rows.items() if r.kind == "function")
        modules: set[str] = set()
        for row in rows.values():
            parts = row.module.split(".")
            modules.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        return cls(catalog.aliases(), top, rows, frozenset(modules))

    def canonical(self, qualified: str) -> str:
        """The catalog's name for a qualified name (``mlflow.tracking.fluent.log_metric`` -> ``mlflow.log_metric``)."""
        if qualified.startswith(CLIENT + "."):
            return CLIENT_API + qualified[len(CLIENT):]
        if qualified in CLIENT_CLASS_PATHS:
            return CLIENT_API
        return self.aliases.get(qualified, qualified)

    def api(self, qualified: str) -> str | None:
        """The MLflow API a call of ``qualified`` is, or None when it is no call of MLflow's API."""
        if not (qualified.startswith("mlflow.") or qualified.startswith(CLIENT + ".")):
            return None
        owner = qualified.rpartition(".")[0]
        if owner not in self.modules and any(part.startswith("_") for part in owner.split(".")[1:]):
            return None  # a method of a private object (`fluent._active_run_stack.get`), not an API
        return self.canonical(qualified)
