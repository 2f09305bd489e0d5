"""What the report reads: the results CSVs, the corpus they came from, and the probe, re-run and reference outputs.

Every input may be missing; a missing one is an empty frame (results CSVs) or ``None`` (a directory
not given and not found), and the report says "not measured" with the command that measures it.

Where each input is looked for when not given:

- corpus: the ``corpus`` of the results' provenance sidecars (``practices.csv.provenance.json``);
- probe: ``<results>/probe/probe.csv``, else ``<results>/../probe/probe.csv`` (``python cli.py probe``
  writes ``results/probe/`` beside ``results/<corpus>/``);
- re-run: ``<results>/rerun.csv`` (``python cli.py rerun --out <results>`` writes it there), else
  ``<results>/rerun/rerun.csv``;
- reference: none (``report --reference DIR``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.statistics.community import ALL, ONE_PER_FAMILY, populations
from analysis.tables import CATALOG, HISTORY, STATISTICS, STORAGE, TABLES, table_frame

REFERENCE_FILES = ("dev-call-sites.csv", "dev-mlprojects.jsonl", "dev-dependencies.csv")


# the row type of each table this tool writes, by file name: read back typed (``tables.table_frame``)
ROW_TYPES: dict[str, type] = {table.file: table.row_type
                              for table in (*TABLES.values(), *STATISTICS.values(), *HISTORY.values(), CATALOG, STORAGE)}


def read_frame(path: Path) -> pd.DataFrame:
    """A CSV as strings, as written (empty cells stay ''); an empty frame when the file is absent."""
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() else pd.DataFrame()


def read_typed(path: Path, row_type: type) -> pd.DataFrame:
    """A CSV this tool wrote, typed by its row type (booleans, ints, floats, None); an empty frame when absent."""
    return table_frame(path, row_type) if path.is_file() else pd.DataFrame()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object, ``{}`` when the file is absent or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def default_probe(results: Path) -> Path | None:
    """The probe directory ``report`` reads when ``--probe`` is not given (see the module docstring)."""
    for candidate in (results / "probe", results.parent / "probe"):
        if (candidate / "probe.csv").is_file():
            return candidate
    return None


def default_rerun(results: Path) -> Path | None:
    """The directory holding ``rerun.csv`` that ``report`` reads when ``--rerun`` is not given."""
    for candidate in (results, results / "rerun"):
        if (candidate / "rerun.csv").is_file():
            return candidate
    return None


def default_corpus(results: Path) -> Path | None:
    """The corpus directory the results' provenance names, when it still holds ``manifest.csv``."""
    corpus = read_json(results / "practices.csv.provenance.json").get("corpus")
    if isinstance(corpus, str) and corpus and (Path(corpus) / "manifest.csv").is_file():
        return Path(corpus)
    return None


@dataclass
class ReportInputs:
    """Everything the report is drawn from, each file read once.

    ``results`` is analyze's output directory; ``corpus``, ``probe``, ``rerun`` and ``reference``
    are directories or ``None``; ``all_repos`` takes shares over every analyzed repository instead
    of one per duplicate family.
    """

    results: Path
    corpus: Path | None = None
    probe: Path | None = None
    rerun: Path | None = None
    reference: Path | None = None
    all_repos: bool = False
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @classmethod
    def locate(cls, results: Path, *, corpus: Path | None = None, probe: Path | None = None,
               rerun: Path | None = None, reference: Path | None = None, all_repos: bool = False) -> ReportInputs:
        """The inputs of ``results``, each directory not given looked for where the module docstring says."""
        return cls(results, corpus or default_corpus(results), probe or default_probe(results),
                   rerun or default_rerun(results), reference, all_repos)

    def _read(self, key: str, path: Path) -> pd.DataFrame:
        if key not in self._frames:
            self._frames[key] = read_frame(path)
        return self._frames[key]

    def cached(self, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A table derived from the inputs, computed once."""
        if f"derived:{key}" not in self._frames:
            self._frames[f"derived:{key}"] = compute()
        return self._frames[f"derived:{key}"]

    def table(self, name: str) -> pd.DataFrame:
        """A CSV of the results directory (``stores.csv``...), empty when absent: typed when it is a table
        with a row type (``ROW_TYPES``), else as strings (the statistics tables, ``practices.csv``...)."""
        row_type = ROW_TYPES.get(name)
        if row_type is None:
            return self._read(name, self.results / name)
        if name not in self._frames:
            self._frames[name] = read_typed(self.results / name, row_type)
        return self._frames[name]

    def text_table(self, name: str) -> pd.DataFrame:
        """A CSV of the results directory as the strings written (for code that compares cell texts, such
        as ``analysis.report.reference``)."""
        return self._read(f"text:{name}", self.results / name)

    def corpus_table(self, name: str) -> pd.DataFrame:
        """A CSV of the corpus (``manifest.csv``, ``selection.csv``, ``search.csv``, ``lock.csv``, ``mlflow/releases.csv``)."""
        return pd.DataFrame() if self.corpus is None else self._read(f"corpus:{name}", self.corpus / name)

    def probe_table(self) -> pd.DataFrame:
        """``probe.csv`` (columns in docs/probe.md), empty when no probe was given or found."""
        return pd.DataFrame() if self.probe is None else self._read("probe", self.probe / "probe.csv")

    def rerun_table(self) -> pd.DataFrame:
        """``rerun.csv``'s rows of the report's population (columns in docs/rerun.md: ``rerun`` takes its
        targets from every mined repository, duplicates too; every row where the results have no
        reproducibility.csv to know the population by), empty when no re-run was given or found."""
        if self.rerun is None:
            return pd.DataFrame()
        rows = self._read("rerun", self.rerun / "rerun.csv")
        if "repo" not in self.table("reproducibility.csv"):  # no population known: every row
            return rows
        return self.cached("rerun-population", lambda: self.in_population(rows))

    def reference_table(self, name: str) -> pd.DataFrame:
        """A CSV of the reference directory (``dev-call-sites.csv``, ``dev-dependencies.csv``)."""
        return pd.DataFrame() if self.reference is None else self._read(f"ref:{name}", self.reference / name)

    def provenance(self, name: str) -> dict[str, Any]:
        """The ``.provenance.json`` sidecar of a results CSV (``{}`` when absent)."""
        return read_json(self.results / f"{name}.provenance.json")

    def corpus_provenance(self, name: str) -> dict[str, Any]:
        """The ``.provenance.json`` sidecar of a corpus CSV (``{}`` when absent)."""
        return {} if self.corpus is None else read_json(self.corpus / f"{name}.provenance.json")

    @cached_property
    def analyzed(self) -> list[str]:
        """Every analyzed repository (one ``reproducibility.csv`` row each; a failed one has none)."""
        repro = self.table("reproducibility.csv")
        return sorted(repro["repo"]) if "repo" in repro else []

    @cached_property
    def population(self) -> list[str]:
        """The repositories shares are taken over: mined (status ok), one per duplicate family (unless
        ``all_repos``), analyzed.

        ``analysis.statistics.community.populations``, as the statistics take them; without the corpus's manifest
        (no duplicate family known), every analyzed repository: ``population_name`` is then ``all``.
        """
        manifest = self.corpus_table("manifest.csv")
        if manifest.empty:
            return self.analyzed
        return populations(manifest, self.analyzed)[ALL if self.all_repos else ONE_PER_FAMILY]

    def in_population(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` whose repository is one of the report's population (a frame without a
        ``repo`` column, an absent table's, as it is)."""
        return frame[frame["repo"].isin(set(self.population))] if "repo" in frame else frame

    def population_rows(self, name: str) -> pd.DataFrame:
        """The rows of a statistics table written for each population (``api_usage.csv``,
        ``store_statistics.csv``) that are the report's population's, without that column; empty where the
        table has none."""
        table = self.table(name)
        if "population" not in table:
            return pd.DataFrame()
        return table[table["population"] == self.population_name].drop(columns="population").reset_index(drop=True)

    @property
    def population_name(self) -> str:
        """``all`` or ``one-per-family``: the ``population`` column of ``practices.csv`` the report reads
        (``all`` too where the corpus's manifest is not found: its repositories are every analyzed one)."""
        return ALL if self.all_repos or self.corpus_table("manifest.csv").empty else ONE_PER_FAMILY

    def input_files(self) -> list[Path]:
        """Every file outside the results directory the report may read (for the report's digest)."""
        files: list[Path] = []
        if self.corpus is not None:
            for name in ("manifest.csv", "selection.csv", "search.csv", "lock.csv", "mlflow/releases.csv",
                         "mlflow/release_dates.csv"):
                files += [self.corpus / name, self.corpus / f"{name}.provenance.json"]
        if self.probe is not None:
            files += [self.probe / "probe.csv", self.probe / "probe.csv.provenance.json"]
        if self.rerun is not None:
            files += [self.rerun / "rerun.csv", self.rerun / "rerun.csv.provenance.json"]
        if self.reference is not None:
            files += [self.reference / name for name in REFERENCE_FILES]
        return files
