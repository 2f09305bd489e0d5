"""What a stored run records, matched to the checkout: artifact URIs and source paths to its files,
artifact directories to their size and model flavors, git commits to the clone's history.
Nothing here writes to the checkout (the history check runs ``git cat-file`` only)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from analysis.reading import safe_yaml
from analysis.reading.mlproject import is_mlproject_name
from analysis.reading.sources import within_repo
from analysis.stores.raw import LFS_POINTER, Checkout, StoreLimits, StoreProblem, read_bounded

REMOTE_SCHEMES = frozenset({"s3", "gs", "wasbs", "wasb", "abfss", "dbfs", "hdfs", "viewfs", "ftp", "sftp", "http",
                            "https", "runs", "models", "mlflow-artifacts", "r2", "b2", "uc", "oss"})
_GIT_SHA = re.compile(r"[0-9a-f]{7,64}")
_WINDOWS_DRIVE = re.compile(r"^/?[A-Za-z]:(?=/)")


def artifact_uri_kind(uri: str) -> str:
    """relative (moves with the store), absolute-local (a path on the author's machine) or remote."""
    if not uri:
        return ""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):", uri)
    scheme = match.group(1).lower() if match and len(match.group(1)) > 1 else ""
    if scheme and scheme != "file":
        return "remote"
    rest = uri[len("file:"):] if scheme == "file" else uri
    if rest.startswith("//"):
        rest = rest[2:]
        rest = rest[rest.find("/"):] if not rest.startswith("/") and "/" in rest else rest
    return "absolute-local" if rest.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", rest) else "relative"


def match_in_checkout(checkout: Checkout, recorded: str, base: str, want_dir: bool, least: int = 0) -> str:
    """The checkout path a recorded path names, '' if none.

    A relative path is taken from ``base`` (the directory the store sits in: MLflow's working
    directory when it wrote the store), then from the repository root. An absolute path (the
    author's machine, a drive letter, ``file://``) matches by its longest suffix of components
    that names a file (or directory) of the checkout; for a directory at least two components must
    match (``least`` overrides), so a bare ``artifacts`` matches nothing.
    """
    text = recorded.replace("\\", "/")
    text = text[len("file://"):] if text.startswith("file://") else text.removeprefix("file:")
    if _WINDOWS_DRIVE.match(text) or text.startswith("/"):
        parts = [p for p in _WINDOWS_DRIVE.sub("", text).split("/") if p not in ("", ".")]
        least = least or (2 if want_dir else 1)
        candidates = ["/".join(parts[i:]) for i in range(len(parts) - least + 1) if ".." not in parts[i:]]
    else:
        candidates = [c for c in (within_repo(base, text), within_repo("", text)) if c]
    for rel in candidates:
        path = checkout.root / rel
        if rel and (path.is_dir() if want_dir else path.is_file()) and checkout.inside(path):
            return rel
    return ""


def source_in_checkout(checkout: Checkout, recorded: str, source_type: str, base: str) -> str:
    """The checkout file ``mlflow.source.name`` names, '' if none.

    A project run records the project's URI (``file:///home/me/repo#sub``, a git URL): it matches
    the MLproject of the fragment's directory; without one, of the directory its path names (longest
    suffix, one component enough) or else of the repository root. Any other source is a script path,
    matched by ``match_in_checkout``.
    """
    if source_type == "PROJECT" or "#" in recorded or re.match(r"^(https?|git|ssh)://", recorded):
        location, _, fragment = recorded.partition("#")
        project_dir = within_repo("", fragment) if fragment else (
            match_in_checkout(checkout, location, base, want_dir=True, least=1) if "://" not in location.removeprefix("file://") else "")
        folder = checkout.root / project_dir if project_dir is not None else None
        if folder is None or not folder.is_dir() or not checkout.inside(folder):
            return ""
        names = [p.name for p in folder.iterdir() if is_mlproject_name(p.name) and p.is_file()]
        return f"{project_dir}/{names[0]}".lstrip("/") if names else ""
    return match_in_checkout(checkout, recorded, base, want_dir=False)


def artifact_summary(checkout: Checkout, rel_dir: str, limits: StoreLimits,
               problems: list[StoreProblem]) -> tuple[int, int, set[str], set[str]]:
    """(files, bytes, flavors, mlflow versions) of an artifact directory of the checkout."""
    n = size = 0
    flavors: set[str] = set()
    versions: set[str] = set()
    base = checkout.root / rel_dir
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() and not checkout.inside(path):
                problems.append(StoreProblem(checkout.rel(path), None, "symlink leaving the repository"))
                continue
            n += 1
            try:
                size += path.lstat().st_size
            except OSError:
                continue
            if name == "MLmodel":
                model = _mlmodel(path, limits, problems, checkout)
                flavors.update(model[0])
                versions.update(model[1])
            if n >= limits.files:
                problems.append(StoreProblem(rel_dir, None, f"over {limits.files} artifact files: the rest not counted"))
                return n, size, flavors, versions
    return n, size, flavors, versions


def _mlmodel(path: Path, limits: StoreLimits, problems: list[StoreProblem], checkout: Checkout) -> tuple[set[str], set[str]]:
    try:
        data, more = read_bounded(path, limits.yaml_bytes)
        if data.startswith(LFS_POINTER):
            problems.append(StoreProblem(checkout.rel(path), None, "Git LFS pointer in place of the MLmodel"))
            return set(), set()
        obj = None if more else safe_yaml.load(data.decode("utf-8", "replace"), checkout.rel(path))
    except (OSError, safe_yaml.BadYAML) as err:
        problems.append(StoreProblem(checkout.rel(path), None, f"MLmodel unreadable: {err}"))
        return set(), set()
    if not isinstance(obj, dict):
        return set(), set()
    flavors = set(obj["flavors"]) if isinstance(obj.get("flavors"), dict) else set()
    version = obj.get("mlflow_version")
    return {str(f) for f in flavors}, {str(version)} if version else set()


def model_history(value: str) -> tuple[set[str], set[str]]:
    """Flavors and MLflow versions of the ``mlflow.log-model.history`` tag (a JSON list of MLmodels)."""
    try:
        models = json.loads(value)
    except ValueError:
        return set(), set()
    flavors: set[str] = set()
    versions: set[str] = set()
    for model in models if isinstance(models, list) else []:
        if isinstance(model, dict):
            if isinstance(model.get("flavors"), dict):
                flavors.update(str(f) for f in model["flavors"])
            if model.get("mlflow_version"):
                versions.add(str(model["mlflow_version"]))
    return flavors, versions


def commits_in_history(git_dir: Path | None, commits: Iterable[str]) -> dict[str, str]:
    """Commit -> yes/no/unknown: is it an object of the clone (``git cat-file --batch-check``).

    Without a git directory every answer is unknown; a commit missing from a shallow clone is
    unknown (it may lie below the cut), from a full clone no. Nothing is written or fetched.
    """
    wanted = sorted({c for c in commits if c})
    if git_dir is None or not wanted:
        return {c: "unknown" for c in wanted}
    shallow = (git_dir / "shallow").is_file()
    valid = [c for c in wanted if _GIT_SHA.fullmatch(c)]
    out = {c: "no" for c in wanted if c not in valid}
    try:
        proc = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch-check"],
                              input="".join(f"{c}^{{commit}}\n" for c in valid), capture_output=True, text=True,
                              timeout=120, env={**os.environ, "GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return {c: "unknown" for c in wanted}
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != len(valid):
        return {c: "unknown" for c in wanted}
    for commit, line in zip(valid, lines):
        found = line.split()[1:2] == ["commit"]
        out[commit] = "yes" if found else "unknown" if shallow else "no"
    return out
