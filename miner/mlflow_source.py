"""MLflow's own source at many releases: from PyPI archives, GitHub tags, or a local folder.

Only the ``mlflow/`` package's Python files are kept, under ``<corpus>/mlflow/<version>/mlflow/``.
Each release directory is written under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Callable

from packaging.version import InvalidVersion, Version

from miner.corpus import releases_dir
from miner.fileio import sha256_file
from miner.ftypes import MineEvent, MlflowRelease, MlflowSelection, ProgressFn, RepoStatus
from miner.gitio import GitError, git_env, remove_tree

log = logging.getLogger(__name__)

KEEP_SUFFIXES = (".py", ".pyi")
MAX_MEMBER_BYTES = 4 << 20
_VERSION_IN_NAME = re.compile(r"(?:^|[-_v])(\d+\.\d+(?:\.\d+)?(?:(?:rc|a|b|\.post|\.dev)\d+)?)")
_VERSION_PY = re.compile(r"""^VERSION\s*=\s*["']([^"']+)["']""", re.M)


class MlflowSourceError(Exception):
    """A release could not be listed, downloaded or unpacked."""


def select_minor_releases(versions: Iterable[str], min_version: str = "1.0", max_version: str = "") -> list[str]:
    """The first published x.y.z of each x.y in range: the lowest final release of each minor."""
    lo = Version(min_version)
    hi = Version(max_version) if max_version else None
    first: dict[tuple[int, int], Version] = {}
    for text in versions:
        try:
            v = Version(text)
        except InvalidVersion:
            continue
        if v.is_prerelease or v.is_devrelease or v.is_postrelease:
            continue
        key = (v.major, v.minor)
        if Version(f"{v.major}.{v.minor}") < Version(f"{lo.major}.{lo.minor}"):
            continue
        if hi is not None and v > hi:
            continue
        if key not in first or v < first[key]:
            first[key] = v
    return [str(first[k]) for k in sorted(first)]


def pypi_versions(timeout: float = 120.0) -> list[str]:
    """Every version of ``mlflow`` the package index lists (``pip index versions``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "mlflow", "--disable-pip-version-check"],
        capture_output=True, text=True, timeout=timeout,
    )
    match = re.search(r"Available versions:\s*(.+)", proc.stdout)
    if proc.returncode != 0 or not match:
        raise MlflowSourceError(f"pip index versions mlflow failed: {proc.stderr.strip()[-300:]}")
    return [v.strip() for v in match.group(1).split(",") if v.strip()]


def wanted_versions(sel: MlflowSelection, available: Iterable[str]) -> list[str]:
    """The releases a spec asks for, given the ones that exist."""
    if sel.versions:
        return list(sel.versions)
    return select_minor_releases(available, sel.min_version, sel.max_version)


def _member_target(name: str) -> PurePosixPath | None:
    """Where an archive member goes, relative to the release dir, or None to leave it out."""
    parts = PurePosixPath(name).parts
    if "mlflow" not in parts or any(p in ("..", "") for p in parts) or name.startswith("/"):
        return None
    rel = PurePosixPath(*parts[parts.index("mlflow"):])
    return rel if rel.suffix in KEEP_SUFFIXES else None


def extract_archive(archive: Path, dest: Path) -> int:
    """Unpack the ``mlflow/`` package's Python files of a wheel, zip or sdist into ``dest``."""
    n = 0
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _member_target(info.filename)
                if rel is None or info.is_dir() or info.file_size > MAX_MEMBER_BYTES:
                    continue
                out = dest.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(info))
                n += 1
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            for member in tf:
                rel = _member_target(member.name)
                if rel is None or not member.isfile() or member.size > MAX_MEMBER_BYTES:
                    continue
                fh = tf.extractfile(member)
                if fh is None:
                    continue
                out = dest.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(fh.read())
                n += 1
    else:
        raise MlflowSourceError(f"{archive.name}: not a zip or tar archive")
    if n == 0:
        raise MlflowSourceError(f"{archive.name}: holds no mlflow/ package")
    return n


def version_of_tree(tree: Path) -> str:
    """The version an unpacked ``mlflow/`` package declares in ``mlflow/version.py``."""
    vfile = tree / "mlflow" / "version.py"
    if vfile.is_file():
        match = _VERSION_PY.search(vfile.read_text(encoding="utf-8", errors="replace"))
        if match:
            return match.group(1)
    return ""


def version_from_name(name: str) -> str:
    """A version number written in a file or folder name (``mlflow-2.5.0.tar.gz``)."""
    match = _VERSION_IN_NAME.search(name)
    return match.group(1) if match else ""


class ReleaseStore:
    """The ``<corpus>/mlflow/`` folder: one complete directory per release."""

    def __init__(self, corpus_dir: Path, progress: ProgressFn) -> None:
        self.root = releases_dir(corpus_dir)
        self.progress = progress

    def path_of(self, version: str) -> Path:
        """Where a release's tree lives."""
        return self.root / version

    def has(self, version: str) -> bool:
        """True when the release is already complete on disk."""
        return (self.path_of(version) / "mlflow" / "__init__.py").is_file()

    def _install(self, version: str, fill: Callable[[Path], object]) -> Path:
        tmp = Path(tempfile.mkdtemp(prefix=f".partial-{version}-", dir=self.root))
        try:
            fill(tmp)
            final = self.path_of(version)
            if final.exists():
                remove_tree(final)
            tmp.rename(final)
            return final
        finally:
            if tmp.exists():
                remove_tree(tmp)

    def _done(self, version: str, source: str, origin: str, sha: str = "") -> MlflowRelease:
        return MlflowRelease(version, source, f"mlflow/{version}", origin, sha)

    def from_pypi(self, version: str, timeout: float = 900.0) -> MlflowRelease:
        """Download a release's wheel (else sdist) with pip and keep its ``mlflow/`` package."""
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".download-") as dl:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--quiet", "-d", dl, f"mlflow=={version}"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0:
                raise MlflowSourceError(f"pip download mlflow=={version}: {proc.stderr.strip()[-300:]}")
            archives = sorted(Path(dl).iterdir())
            if not archives:
                raise MlflowSourceError(f"pip download mlflow=={version} gave no file")
            archive = archives[0]
            sha = sha256_file(archive)
            self._install(version, lambda tmp: extract_archive(archive, tmp))
        return self._done(version, "pypi", archive.name, sha)

    def from_github(self, version: str, url: str, timeout: float = 900.0) -> MlflowRelease:
        """A sparse, shallow, blob-less clone of tag ``v<version>``, keeping only ``mlflow/``."""
        self.root.mkdir(parents=True, exist_ok=True)
        tag = f"v{version}"

        def fill(tmp: Path) -> None:
            work = tmp / ".clone"
            base = ["git", "-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always"]
            steps = [
                [*base, "clone", "--quiet", "--depth", "1", "--branch", tag, "--filter=blob:none",
                 "--sparse", "--no-checkout", "--no-tags", "--template=", url, str(work)],
                [*base, "-C", str(work), "sparse-checkout", "set", "--no-cone", "/mlflow/"],
                [*base, "-C", str(work), "checkout", "--quiet", tag],
            ]
            for cmd in steps:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=git_env())
                if proc.returncode != 0:
                    raise MlflowSourceError(f"{tag}: {GitError(cmd, proc.returncode, proc.stderr).last_line}")
            if not (work / "mlflow").is_dir():
                raise MlflowSourceError(f"{tag}: no mlflow/ package in the tree")
            shutil.move(str(work / "mlflow"), str(tmp / "mlflow"))
            remove_tree(work)
            _drop_non_python(tmp / "mlflow")

        self._install(version, fill)
        return self._done(version, "github", tag)

    def from_local(self, entry: Path) -> MlflowRelease:
        """A release from a local archive or an unpacked folder holding ``mlflow/``."""
        self.root.mkdir(parents=True, exist_ok=True)
        if entry.is_dir():
            package = entry / "mlflow" if (entry / "mlflow").is_dir() else entry
            if not (package / "__init__.py").is_file():
                raise MlflowSourceError(f"{entry}: no mlflow/__init__.py")
            version = version_of_tree(package.parent) or version_from_name(entry.name)
            if not version:
                raise MlflowSourceError(f"{entry}: no version in mlflow/version.py nor in the name")

            def fill(tmp: Path) -> None:
                shutil.copytree(package, tmp / "mlflow", symlinks=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                _drop_non_python(tmp / "mlflow")

            self._install(version, fill)
            return self._done(version, "local", entry.name)
        version = version_from_name(entry.name)
        if not version:
            raise MlflowSourceError(f"{entry.name}: no version in the archive's name")
        self._install(version, lambda tmp: extract_archive(entry, tmp))
        return self._done(version, "local", entry.name, sha256_file(entry))

    def failed(self, version: str, source: str, origin: str, reason: str) -> MlflowRelease:
        """A release that could not be had."""
        self.progress(MineEvent("message", f"MLflow {version}: {reason}"))
        return MlflowRelease(version, source, "", origin, "", RepoStatus.FAILED.value, reason)


def _drop_non_python(package: Path) -> None:
    for path in sorted(package.rglob("*"), reverse=True):
        if path.is_symlink() or (path.is_file() and path.suffix not in KEEP_SUFFIXES):
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def local_release_entries(folder: Path) -> list[Path]:
    """Archives and unpacked releases directly inside ``folder``."""
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and ((entry / "mlflow" / "__init__.py").is_file() or (entry / "__init__.py").is_file()):
            out.append(entry)
        elif entry.is_file() and entry.name.endswith((".whl", ".zip", ".tar.gz", ".tgz")):
            out.append(entry)
    return out
