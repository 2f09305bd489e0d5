"""A local conda channel the tests write: small noarch packages, indexed with rattler's ``index_fs``.

A conda environment needs a ``python`` package, which a test cannot build: the channel's ``python``
is a stand-in that starts this machine's interpreter on the prefix's ``site-packages``
(``bin/python`` a link to it, and a ``pyvenv.cfg`` whose ``home`` is its directory, so
``sys.prefix`` is the conda prefix and ``lib/pythonX.Y/site-packages`` is where ``noarch: python``
packages land and where pip installs).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

HOST_PYTHON = os.path.realpath(sys.executable)
HOST_VERSION = "%d.%d.%d" % sys.version_info[:3]
HOST_MINOR = "%d.%d" % sys.version_info[:2]


def write_package(channel: Path, name: str, version: str, files: Mapping[str, str], *, depends: Sequence[str] = (),
                  noarch: str = "python", links: Mapping[str, str] | None = None) -> Path:
    """A ``.tar.bz2`` package in ``channel/noarch``: ``info/index.json``, ``info/paths.json`` (and ``link.json`` for
    ``noarch: python``), ``files`` (path -> text) and symbolic ``links`` (path -> target)."""
    subdir = channel / "noarch"
    subdir.mkdir(parents=True, exist_ok=True)
    index = {"name": name, "version": version, "build": "0", "build_number": 0, "depends": list(depends),
             "noarch": noarch, "subdir": "noarch", "license": "MIT", "timestamp": 1700000000000}
    paths: list[dict[str, object]] = []
    out = subdir / f"{name}-{version}-0.tar.bz2"
    with tarfile.open(out, "w:bz2") as tar:
        def add(arcname: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(arcname)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        for path, text in files.items():
            data = text.encode()
            add(path, data, 0o755 if path.startswith("bin/") else 0o644)
            paths.append({"_path": path, "path_type": "hardlink", "sha256": hashlib.sha256(data).hexdigest(),
                          "size_in_bytes": len(data)})
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(path)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
            paths.append({"_path": path, "path_type": "softlink"})
        add("info/index.json", json.dumps(index).encode())
        add("info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode())
        if noarch == "python":
            add("info/link.json", json.dumps({"noarch": {"type": "python"}, "package_metadata_version": 1}).encode())
    return out


def write_channel(channel: Path, modules: Mapping[str, str] | None = None) -> str:
    """A channel holding the stand-in ``python`` and one ``noarch: python`` package per module (name -> source of
    its ``__init__.py``); its ``file://`` URL."""
    cfg = f"home = {os.path.dirname(HOST_PYTHON)}\ninclude-system-site-packages = false\nversion = {HOST_VERSION}\n"
    write_package(channel, "python", HOST_VERSION, {"pyvenv.cfg": cfg}, noarch="generic",
                  links={"bin/python": HOST_PYTHON, "bin/python3": "python", f"bin/python{HOST_MINOR}": "python"})
    for name, source in (modules or {}).items():
        write_package(channel, name, "1.0", {f"site-packages/{name}/__init__.py": source}, depends=["python"])
    (channel / "linux-64").mkdir(exist_ok=True)
    # indexed in a process of its own (rattler's runtime does not survive a fork, and the re-runs fork workers)
    # that skips the interpreter's finalization, which rattler's threads crash now and then
    subprocess.run([sys.executable, "-c", "import asyncio, os, sys; from rattler.index import index_fs; "
                    "asyncio.run(index_fs(sys.argv[1], write_zst=False, write_shards=False)); os._exit(0)",
                    str(channel)],
                   check=True, capture_output=True, timeout=120)
    return channel.resolve().as_uri()


def wheel_of_tinycmd(folder: Path) -> Path:
    """A wheel of a module ``tinycmd`` with a console script of the same name."""
    files = {"tinycmd/__init__.py": "def main():\n    print('tiny ok')\n",
             "tinycmd-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinycmd\nVersion: 1.0\n",
             "tinycmd-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n",
             "tinycmd-1.0.dist-info/entry_points.txt": "[console_scripts]\ntinycmd = tinycmd:main\n"}
    record = [f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(t.encode())}" for p, t in files.items()]
    path = folder / "tinycmd-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("tinycmd-1.0.dist-info/RECORD", "\n".join([*record, "tinycmd-1.0.dist-info/RECORD,,"]) + "\n")
    return path
