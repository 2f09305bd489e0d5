"""Isolated environments: interpreter choice, failure reasons, build once and reuse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from analysis.isolated.uv_env import (UV_CACHE, EnvBuildError, EnvSpec, classify_failure, ensure_env, env_key, failure_message,
                             find_interpreters, pick_interpreter)

MACHINE = {"3.8.18": Path("/p/3.8"), "3.9.18": Path("/p/3.9"), "3.11.2": Path("/p/3.11a"), "3.11.7": Path("/p/3.11b")}


@pytest.mark.parametrize(("asked", "version", "substituted"), [
    pytest.param("3.9.18", "3.9.18", False, id="exact"),
    pytest.param("3.11", "3.11.7", False, id="minor-newest-patch"),
    pytest.param("3.11.5", "3.11.7", False, id="same-minor-other-patch"),
    pytest.param("3.10", "3.11.7", True, id="nearest-newer-on-tie"),
    pytest.param("3.6", "3.8.18", True, id="nearest-older"),
    pytest.param("3.13", "3.11.7", True, id="nearest-newest"),
])
def test_pick_interpreter(asked: str, version: str, substituted: bool) -> None:
    got = pick_interpreter(asked, MACHINE)
    assert (got[0], got[2]) == (version, substituted)
    assert got[1] == MACHINE[version]


def test_no_version_asked_is_this_interpreter() -> None:
    assert pick_interpreter("", {}) == ("%d.%d.%d" % sys.version_info[:3], Path(sys.executable), False)


@pytest.mark.parametrize(("output", "reason"), [
    ("Because nonexistent-zzz was not found in the package registry and you require it", "package not found"),
    ("Because there is no version of six==99.0 and you require six==99.0", "package not found"),
    ("Because you require six==1.16.0 and six==1.15.0, we can conclude that your requirements are unsatisfiable.",
     "resolver conflict"),
    ("× Failed to build `pkg @ file:///x`\n  ╰─▶ The build backend returned an error", "build error"),
    ("error: Couldn't parse requirement in `r.in` at position 0\n  cause: after parsing `2`, found `..7.1`",
     "invalid requirement"),
    ("error: Failed to install: big-0.1-py3-none-any.whl (big==0.1)\n  Caused by: failed to write to file "
     "`/c/e/big/blob`: No space left on device (os error 28)", "no space"),
])
def test_classify_failure(output: str, reason: str) -> None:
    assert classify_failure(output) == reason


def test_failure_message_is_the_error_and_its_causes() -> None:
    output = ("Resolved 3 packages\nerror: Couldn't parse requirement in `r.in` at position 0\n"
              "  cause: after parsing `2`, found `..7.1`, which is not part of a valid version\n"
              "         mlflow == 2..7.1\n                ^^^^^^^^^\n")
    assert failure_message(output) == ("error: Couldn't parse requirement in `r.in` at position 0 cause: after parsing "
                                       "`2`, found `..7.1`, which is not part of a valid version")
    assert failure_message("just this\n") == "just this"


def test_pyenv_shims_are_not_started_and_pyenvs_versions_are_found(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "pyenv"
    started = tmp_path / "shim-started"
    for shims in (root / "shims", root / "plugins" / "pyenv-virtualenv" / "shims"):
        shims.mkdir(parents=True)
        (shims / "python3").write_text(f"#!/bin/sh\ntouch {started}\nexec {sys.executable} \"$@\"\n")
        (shims / "python3").chmod(0o755)
    version = root / "versions" / "9.9.9" / "bin"
    version.mkdir(parents=True)
    (version / "python3").symlink_to(sys.executable)
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setenv("PATH", os.pathsep.join([str(root / "plugins" / "pyenv-virtualenv" / "shims"),
                                                str(root / "shims"), "/nowhere"]))
    found = find_interpreters()
    assert version / "python3" in found.values()  # this interpreter, under pyenv's versions/
    assert not started.exists()


def test_environment_is_built_once_and_reused(tmp_path: Path) -> None:
    spec = EnvSpec(python="%d.%d" % sys.version_info[:2])
    first = ensure_env(spec, tmp_path, interpreters=find_interpreters())
    again = ensure_env(spec, tmp_path, interpreters=find_interpreters())
    assert not first.cached and again.cached and again.root == first.root
    out = subprocess.run([str(again.python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    assert Path(out.stdout.strip()) == first.root
    assert not list(tmp_path.glob("*.tmp-*"))


def test_missing_python_without_substitution_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EnvBuildError) as err:
        ensure_env(EnvSpec(python="3.2"), tmp_path, substitute=False, interpreters=MACHINE)
    assert err.value.reason == "python unavailable"
    assert not list(tmp_path.iterdir()) or not any(p.is_dir() for p in tmp_path.iterdir())


def test_failed_install_leaves_no_environment(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-project"
    with pytest.raises(EnvBuildError):
        ensure_env(EnvSpec(requirements=(f"pkg @ file://{missing}",)), tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()] == [UV_CACHE]  # uv's cache alone


def test_relative_requirement_lines_resolve_in_base_dir_and_base_key_joins_the_key(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "more.txt").write_text("# nothing to install\n")
    spec = EnvSpec(requirements=("-r more.txt",), base_dir=project, base_key="o/r@abc:.")
    built = ensure_env(spec, tmp_path / "cache")
    assert "pip install" in (built.root / "build.log").read_text()  # more.txt was found beside the file uv read
    assert built.build_seconds == built.seconds > 0
    again = ensure_env(spec, tmp_path / "cache")
    assert again.cached and again.seconds == 0.0 and again.build_seconds == built.build_seconds
    other = ensure_env(EnvSpec(requirements=("-r more.txt",), base_dir=project, base_key="o/r@def:."), tmp_path / "cache")
    assert other.root != built.root
    version = "%d.%d.%d" % sys.version_info[:3]
    assert env_key(EnvSpec(requirements=("six",)), version) == env_key(EnvSpec(requirements=("six",), base_dir=project),
                                                                      version)


def test_every_uv_command_goes_through_the_wrapper(tmp_path: Path) -> None:
    seen: list[tuple[list[str], list[Path]]] = []

    def wrap(cmd: Sequence[str], *, cwd: Path | None, writable: Sequence[Path], readable: Sequence[Path],
             env: Mapping[str, str]) -> list[str]:
        seen.append((list(cmd), list(writable)))
        assert readable and env["UV_PYTHON_DOWNLOADS"] == "never"
        return list(cmd)

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "r.txt").write_text("\n")
    ensure_env(EnvSpec(build_requirements=("-r r.txt",), requirements=("-r r.txt",), base_dir=tmp_path / "p",
                       base_key="k"), tmp_path / "cache", wrap=wrap)
    assert [c[1:3] for c, _w in seen] == [["venv", "--quiet"], ["pip", "install"], ["pip", "install"]]
    assert all(".tmp-" in w[0].name for _c, w in seen)  # the environment being built is writable
    assert tmp_path / "p" in seen[1][1]


_DISTRIBUTIONS = ("import importlib.metadata as m, json; "
                  "print(json.dumps(sorted([d.metadata['Name'].lower(), d.version] for d in m.distributions())))")


@pytest.mark.parametrize("minor", ["3.8", "3.10", "3.12"])
def test_a_seeded_environment_holds_what_python_m_venv_installs(tmp_path: Path, minor: str) -> None:
    """Against ``python -m venv`` itself, with each interpreter: pip, and setuptools below 3.12, at the same versions."""
    interpreters = {v: p for v, p in find_interpreters().items() if v.startswith(minor + ".")}
    if not interpreters:
        pytest.skip(f"no Python {minor} on this machine")
    version, python = max(interpreters.items(), key=lambda item: [int(x) for x in item[0].split(".")])
    subprocess.run([str(python), "-m", "venv", str(tmp_path / "venv")], check=True, capture_output=True, timeout=300)
    built = ensure_env(EnvSpec(python=version, seed=True), tmp_path / "cache", interpreters={version: python})
    # run from an empty folder: ``-c`` puts the working directory on sys.path, and a checkout installed in
    # place holds its own .egg-info there, which would be listed as installed
    listed = [subprocess.run([str(p), "-c", _DISTRIBUTIONS], capture_output=True, text=True, check=True,
                             cwd=tmp_path).stdout
              for p in (tmp_path / "venv" / "bin" / "python", built.python)]
    assert listed[0] == listed[1]
    names = [name for name, _ in json.loads(listed[1])]
    assert names == (["pip", "setuptools"] if minor != "3.12" else ["pip"])
    assert env_key(EnvSpec(python=version, seed=True), version) != env_key(EnvSpec(python=version), version)
    unseeded = ensure_env(EnvSpec(python=version), tmp_path / "cache", interpreters={version: python})
    assert subprocess.run([str(unseeded.python), "-c", _DISTRIBUTIONS], capture_output=True, text=True,
                          check=True, cwd=tmp_path).stdout.strip() == "[]"  # uv's own environments hold nothing
