"""The per-repository environments pass: dependencies and environment rows of every environment file
(by name, or referenced by an MLproject)."""

from __future__ import annotations

import codecs
from pathlib import PurePosixPath

from analysis.engine.repo_state import Checkout, RepoResult
from analysis.passes.environments import (
    decode_env_file,
    env_file_kind,
    parse_conda,
    parse_dockerfile,
    parse_pyproject,
    parse_python_env,
    parse_requirements,
    parse_setup_cfg,
    parse_setup_py,
    python_version,
)
from analysis.passes.tracking_uris import scan_text
from analysis.reading.sources import is_binary
from analysis.rows import DependencyRow, EnvironmentRow, FileStatus, ProblemRow, Stage, TrackingUriRow

STATIC_PARSERS = {"pyproject.toml": parse_pyproject, "setup.cfg": parse_setup_cfg, "setup.py": parse_setup_py,
                  "dockerfile": parse_dockerfile}


def environments_pass(checkout: Checkout, result: RepoResult) -> None:
    """Dependencies of every environment file the file stage kept, and of those MLprojects reference."""
    repo, root, files = checkout.task.repo, checkout.root, checkout.all_paths
    env_files = list(checkout.env_files)
    referenced = {m.env_file for m in result.mlprojects if m.env_file}
    seen = {rel for rel, _d, _r in env_files}
    for rel in sorted(referenced - seen):
        path = root / rel
        if rel in files and not path.is_symlink() and path.stat().st_size <= checkout.max_file_bytes:
            row = next(f for f in result.files if f.path == rel)
            row.kind = "environment"
            env_files.append((rel, path.read_bytes(), row))

    def read(rel: str) -> str | None:
        path = root / rel
        if rel not in files or path.is_symlink() or path.stat().st_size > checkout.max_file_bytes:
            return None
        return path.read_bytes().decode("utf-8", "replace")

    for rel, data, row in env_files:
        if is_binary(data) and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            row.status, row.reason = FileStatus.PROBLEM, "binary content"
            result.problems.append(ProblemRow(repo, rel, None, Stage.ENVIRONMENT, "binary content"))
            continue
        try:
            text = decode_env_file(data)
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            row.status, row.reason = FileStatus.PROBLEM, "bytes not valid utf-8"
            result.problems.append(ProblemRow(repo, rel, line, Stage.ENVIRONMENT, "bytes not valid utf-8"))
            continue
        kind = env_file_kind(rel) or ("python_env" if rel.endswith("python_env.yaml") else "conda")
        python = ""
        if kind == "requirements":
            deps, problems = parse_requirements(text, rel, read)
        elif kind in STATIC_PARSERS:
            deps, problems = STATIC_PARSERS[kind](text, rel)
        elif kind == "python_env":
            deps, problems, python = parse_python_env(text, rel, read)
        else:
            deps, problems, python = parse_conda(text, rel, read)
        unread = next((p.reason for p in problems if p.unread and p.path == rel), None)
        if unread is not None and row.kind == "environment":  # setup.py keeps its status as code
            row.status, row.reason = FileStatus.PROBLEM, unread
        row.status = row.status or FileStatus.ANALYZED
        origin = "model-artifact" if ("mlruns/" in f"/{rel}" or f"{PurePosixPath(rel).parent}/MLmodel" in files
                                      or (PurePosixPath(rel).parent.as_posix() == "." and "MLmodel" in files)) else "project"
        for dep in deps:
            result.dependencies.append(DependencyRow(repo, dep.path, dep.line, rel, dep.kind, dep.manager, dep.name,
                                                     dep.spec, dep.pin_class, dep.marker, origin))
        for prob in problems:
            result.problems.append(ProblemRow(repo, prob.path, prob.line, Stage.ENVIRONMENT, prob.reason))
        if kind == "dockerfile":
            result.uris.extend(TrackingUriRow(repo, rel, uri) for uri in scan_text(text, "dockerfile"))
        own = [d for d in deps if d.name != "python" and d.kind != "python_env-build"]
        exact = sum(1 for d in own if d.pin_class == "exact")
        mlflow = [d for d in own if d.name in ("mlflow", "mlflow-skinny")]
        result.environments.append(EnvironmentRow(
            repo, rel, kind, len(own), round(exact / len(own), 4) if own else "",
            python_version(python, deps),
            (mlflow[0].pin_class == "exact") if mlflow else "", rel in referenced, origin))
