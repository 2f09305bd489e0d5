"""The population a repository is counted in (``populations.csv``): teaching, library or application.

Exactly one each, by the first rule that holds:

1. **teaching** (course work): ``miner.tutorials`` over the corpus's ``manifest.csv`` (owner/name,
   description, topics; farms among every repository it lists). It goes first because it says what
   the repository is for: course work routinely packages its exercises (a ``setup.py`` per lab), and
   a library written as course work is counted with the course work it is.
2. **library** (or plugin), from the checkout's root packaging files (``analysis/reading/packaging.py``;
   a package in a subfolder, such as an example's ``setup.py``, does not make the repository one):
   - ``mlflow-plugin``: it registers MLflow plugins (an entry-point group ``mlflow.*``);
   - ``published-package``: it declares a distribution (``setup(name=..., packages=...)``,
     ``setup.cfg [metadata] name``, a ``pyproject.toml`` name with a ``[build-system]``) and says it
     is published: its README installs it by its name, or CI or a script publishes it. A declared
     distribution alone is not enough: a Poetry application has a name and a build-system too
     (of the 57 repositories of the dev corpus, 13 declare one at their root, and 6 of those are
     applications or templates that publish nothing).
3. **application**: every other repository (``rule = otherwise``; its evidence names a distribution
   it declares without publishing it).

The pass decides between library and application from the checkout (``repo_pass``); the corpus's
teaching rule needs the manifest and every candidate, so ``with_teaching`` applies it where the
corpus tables are written (``engine/driver.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from analysis.reading.packaging import (
    Evidence,
    Packaging,
    installs,
    publishing,
    read_pyproject,
    read_setup_cfg,
    read_setup_py,
)
from analysis.repo_state import Checkout, RepoResult
from analysis.rows import PopulationRow
from miner.tutorials import Candidate, tutorials

TEACHING, LIBRARY, APPLICATION = "teaching", "library", "application"
POPULATIONS = (TEACHING, LIBRARY, APPLICATION)  # a partition of the analyzed repositories, in this order
READERS = {"setup.py": read_setup_py, "setup.cfg": read_setup_cfg, "pyproject.toml": read_pyproject}
CI_FILES = (".gitlab-ci.yml", ".travis.yml", "Makefile", "makefile", "tox.ini", "noxfile.py", "justfile")


def _read(checkout: Checkout, rel: str) -> str | None:
    """A file of the checkout as text ('' bytes undecodable replaced), or None: absent, a link, too large."""
    data = checkout.file_bytes(rel)
    return None if data is None else data.decode("utf-8", "replace").removeprefix("\ufeff")


def _ci_file(rel: str) -> bool:
    """A file that may hold a publishing step: CI configuration, a Makefile, a shell script at the root."""
    parts = PurePosixPath(rel).parts
    if parts[0] == ".github":
        return rel.endswith((".yml", ".yaml"))
    return len(parts) == 1 and (rel in CI_FILES or rel.endswith(".sh"))


def classify(checkout: Checkout) -> PopulationRow:
    """Library or application, from the checkout's root packaging files, README and CI (see the module)."""
    repo = checkout.task.repo
    found = [(rel, READERS[rel](text, rel)) for rel in READERS if (text := _read(checkout, rel)) is not None]
    plugins = [e for _rel, p in found for e in p.plugins]
    if plugins:
        return PopulationRow(repo, LIBRARY, "mlflow-plugin", "; ".join(map(str, plugins)))
    declared: list[Packaging] = [p for _rel, p in found if p.declared is not None]
    if not declared:
        return PopulationRow(repo, APPLICATION, "otherwise", "")
    names = {p.name for p in declared if p.name}
    signs: list[Evidence] = []
    for rel in sorted(checkout.all_paths):
        if "/" not in rel and rel.lower().startswith("readme"):
            text = _read(checkout, rel)
            signs += [e for name in sorted(names) for e in installs(text or "", rel, name)][:1]
        elif _ci_file(rel):
            signs += publishing(_read(checkout, rel) or "", rel)[:1]
    first = declared[0].declared
    if signs:
        return PopulationRow(repo, LIBRARY, "published-package", "; ".join(map(str, [first, *signs[:2]])))
    return PopulationRow(repo, APPLICATION, "otherwise", f"{first}; not published: no README line installs it "
                                                        "by its name, no publishing step")


def repo_pass(checkout: Checkout, result: RepoResult) -> None:
    """The repository's population row, library or application (``with_teaching`` may make it teaching)."""
    result.populations.append(classify(checkout))


def with_teaching(rows: Iterable[Mapping[str, Any]], manifest: Iterable[Mapping[str, str]]) -> list[dict[str, Any]]:
    """``populations.csv``'s rows (flat) with the repositories ``miner.tutorials`` finds among the
    manifest's rows (every one of them a candidate for farms) made teaching, with the rule's evidence."""
    found = tutorials(Candidate(m["repo"], m.get("description", ""), m.get("topics", "")) for m in manifest)
    return [{**row, "population": TEACHING, "rule": found[row["repo"]].rule, "evidence": found[row["repo"]].evidence}
            if row["repo"] in found else dict(row) for row in rows]
