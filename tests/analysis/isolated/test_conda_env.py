"""isolated.conda_env: conda environments solved and linked with rattler from a local channel the test writes.

Slow: each links an environment (and one runs uv); nothing leaves the machine (the channel is a directory,
the unreachable one a loopback port nobody listens on).
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from analysis.isolated.conda_env import CondaSpec, ensure_conda_env
from analysis.isolated.uv_env import DONE, EnvBuildError
from tests.analysis.isolated.conda_channel import HOST_MINOR, HOST_VERSION, wheel_of_tinycmd, write_channel

pytestmark = pytest.mark.slow


def _in(root: Path, code: str) -> str:
    """What ``code`` prints run by the environment's ``python`` after ``source bin/activate``."""
    done = subprocess.run(["bash", "-c", f"source {root}/bin/activate && python -c {json.dumps(code)}"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_conda_environment_is_linked_once_activatable_and_keyed_by_its_solution(tmp_path: Path) -> None:
    url = write_channel(tmp_path / "channel", {"censustestpkg": "VALUE = 42\n"})
    spec = CondaSpec((url,), (f"python={HOST_MINOR}", "censustestpkg"))
    cache = tmp_path / "envs"
    env = ensure_conda_env(spec, cache)
    assert (env.python_version, env.cached, env.python) == (HOST_VERSION, False, env.root / "bin" / "python")
    assert json.loads((env.root / DONE).read_text())["records"] == [
        f"{url}/noarch/censustestpkg-1.0-0.tar.bz2", f"{url}/noarch/python-{HOST_VERSION}-0.tar.bz2"]
    # the package linked where noarch: python packages go, seen by the prefix's python after activate
    assert (env.root / "lib" / f"python{HOST_MINOR}" / "site-packages" / "censustestpkg" / "__init__.py").is_file()
    shown = _in(env.root, "import censustestpkg, os, sys; "
                          "print(censustestpkg.VALUE, sys.prefix, os.environ['CONDA_PREFIX'])")
    assert shown == f"42 {env.root} {env.root}"
    again = ensure_conda_env(CondaSpec((url,), ("censustestpkg", f"python={HOST_MINOR}")), cache)
    assert (again.root, again.cached) == (env.root, True)  # the same solution: the same environment
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == [env.root.name]  # no build left behind


def test_the_pip_list_goes_into_the_prefix_with_scripts_for_its_final_path(tmp_path: Path) -> None:
    url = write_channel(tmp_path / "channel")
    project = tmp_path / "project"
    project.mkdir()
    wheel = wheel_of_tinycmd(project)
    spec = CondaSpec((url,), (f"python={HOST_MINOR}",), (f"./{wheel.name}",), project, "o/r@c:.")
    env = ensure_conda_env(spec, tmp_path / "envs")
    script = env.root / "bin" / "tinycmd"
    assert script.read_text().splitlines()[0] == f"#!{env.root}/bin/python"  # not the build's own directory
    done = subprocess.run(["bash", "-c", f"source {env.root}/bin/activate && tinycmd"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert (done.returncode, done.stdout.strip()) == (0, "tiny ok"), done.stderr
    assert _in(env.root, "import tinycmd; print(tinycmd.__file__)").startswith(f"{env.root}/lib/python{HOST_MINOR}/")


def test_a_channel_nobody_answers_is_named_and_leaves_nothing(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port, closed again: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = tmp_path / "envs"
    with pytest.raises(EnvBuildError) as caught:
        ensure_conda_env(CondaSpec((f"http://127.0.0.1:{port}/channel",), ("python",)), cache)
    assert caught.value.reason == "channel unreachable" and "Connection refused" in caught.value.log
    assert not cache.exists() or not [p for p in cache.iterdir() if p.is_dir()]


def test_a_package_no_channel_has_is_not_found(tmp_path: Path) -> None:
    url = write_channel(tmp_path / "channel")
    with pytest.raises(EnvBuildError) as caught:
        ensure_conda_env(CondaSpec((url,), ("python", "nosuchpackage")), tmp_path / "envs")
    assert caught.value.reason == "package not found" and "nosuchpackage" in caught.value.message
