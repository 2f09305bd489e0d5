"""Settings of a small mine and a tiny MLflow project, for the miner's tests."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from miner.ftypes import CorpusSpec, GitHubSelection, MineSettings, MlflowSelection

PROJECT = {
    "MLproject": "name: p\nentry_points:\n  main:\n    command: python train.py\n",
    "train.py": "import mlflow\nmlflow.log_metric('acc', 1.0)\n",
    "conda.yaml": "dependencies:\n  - python=3.10\n",
}


def spec_for(tmp_path: Path, **github: object) -> CorpusSpec:
    """A spec taking GitHub repositories created from 2020 on (``github`` overrides), no MLflow releases."""
    sel = replace(GitHubSelection(created_from="2020-01-01"), **github)  # type: ignore[arg-type]
    return CorpusSpec(name="t", path=tmp_path / "t.toml", github=sel, mlflow=MlflowSelection(source="none"))


def settings_for(tmp_path: Path, **kw: object) -> MineSettings:
    """Settings mining into ``tmp_path/corpus`` without sleeping or MLflow releases (``kw`` overrides)."""
    spec = kw.pop("spec", None) or spec_for(tmp_path)
    base = MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", sleep=lambda s: None,  # type: ignore[arg-type]
                        skip_mlflow=True, http_timeout=5)
    return replace(base, **kw)  # type: ignore[arg-type]


def tree_digest(root: Path) -> str:
    """Contents and mtimes of every file under root: proves nothing was written."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        h.update(f"{p.relative_to(root)} {st.st_mtime_ns} {st.st_size}".encode())
    return h.hexdigest()
