"""Isolated environments: interpreter choice, failure reasons, build once and reuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.uv_env import EnvBuildError, EnvSpec, classify_failure, ensure_env, find_interpreters, pick_interpreter

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
])
def test_classify_failure(output: str, reason: str) -> None:
    assert classify_failure(output) == reason


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
    assert not any(p.is_dir() for p in (tmp_path / "cache").iterdir())
