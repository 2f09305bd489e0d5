"""rerun on a full disk: a build and a run that meet it are rows (``no space``), the next target runs, the journal
keeps what finished, and the next run tries them again.

The environment cache and the work directory are on a tmpfs of 400 MB mounted by the test (root only:
skipped elsewhere), filled but for 45 MB: room for a seeded environment (25 MB), not for a package of
60 MB nor for a run writing 100 MB. Slow: it builds environments and runs sandboxes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.rerun.driver_env import DRIVER_SPEC
from analysis.rerun.job import rerun
from analysis.isolated.uv_env import ensure_env
from miner.fileio import read_csv
from tests.analysis.rerun.conftest import make_corpus, rerun_settings

MB = 1 << 20


def _wheel(name: str, blob: int) -> bytes:
    """A wheel whose package holds ``blob`` bytes of zeros (small compressed, ``blob`` bytes installed)."""
    files = {f"{name}/__init__.py": b"", f"{name}/blob.bin": bytes(blob),
             f"{name}-0.1.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n".encode(),
             f"{name}-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
                     f"{len(data)}\n" for path, data in files.items()) + f"{name}-0.1.dist-info/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in [*files.items(), (f"{name}-0.1.dist-info/RECORD", record.encode())]:
            archive.writestr(path, data)
    return buffer.getvalue()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 400 MB (unmounted after)."""
    where = tmp_path / "small"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", str(where)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_full_disk_gives_rows_and_the_command_goes_on(tmp_path: Path, env_cache: Path, small_disk: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))  # the 60 MB package is not kept anywhere
    envs = small_disk / "envs"
    driver = ensure_env(DRIVER_SPEC, env_cache).root  # the MLflow that creates runs, copied: no index needed
    shutil.copytree(driver, envs / driver.name, symlinks=True)
    corpus = make_corpus(tmp_path, {
        "disk/bigenv": {"MLproject": "name: t\npython_env: env.yaml\nentry_points:\n  main:\n    command: python -c 'import big'\n",
                        "env.yaml": "dependencies:\n  - ./big-0.1-py3-none-any.whl\n",
                        "big-0.1-py3-none-any.whl": _wheel("big", 60 * MB)},
        "disk/writer": {"MLproject": "name: t\nentry_points:\n  fill:\n    command: python fill.py\n"
                                     "  small:\n    command: python -c \"print('small ok')\"\n",
                        "fill.py": "with open('big.bin', 'wb') as fh:\n    for _ in range(100):\n"
                                   "        fh.write(bytes(1 << 20))\nprint('wrote 100 MB')\n"},
    })
    filler = small_disk / "filler"
    with open(filler, "wb") as fh:
        for _ in range(shutil.disk_usage(small_disk).free // MB - 45):
            fh.write(os.urandom(MB))
    settings = rerun_settings(corpus, envs, work_dir=small_disk / "work", jobs=1, timeout=120)

    first = rerun(settings)
    assert not first.errors and first.n_run == 3
    rows = {r["entry_point"]: r for r in read_csv(corpus[1] / "rerun.csv")}
    assert (rows["main"]["env_build"], rows["main"]["status"], rows["main"]["failure_class"]) == \
        ("failed: no space", "not-attempted", "no space")
    assert (rows["fill"]["env_build"], rows["fill"]["status"], rows["fill"]["failure_class"]) == \
        ("ok", "failed", "no space")
    assert (rows["small"]["status"], rows["small"]["failure_class"]) == ("succeeded", "")  # the command went on
    journal = [json.loads(line) for line in (corpus[1] / "rerun" / "journal.jsonl").read_text().splitlines()]
    assert [r["row"]["entry_point"] for r in journal] == ["main", "fill", "small"]
    assert not list(envs.glob("*.tmp-*")) and not list((small_disk / "work").iterdir())  # nothing half-made is left
    summary = {r["name"]: r for r in read_csv(corpus[1] / "rerun_summary.csv")}
    assert summary["ran"]["n_eligible"] == "1" and summary["failed: no space"]["n"] == "1"  # the disk's, not the code's

    filler.unlink()
    second = rerun(settings)  # the full disk's targets are tried again; the one that ran is not
    assert (second.n_already, second.n_run) == (1, 2)
    rows = {r["entry_point"]: r for r in read_csv(corpus[1] / "rerun.csv")}
    assert [rows[e]["status"] for e in ("main", "fill", "small")] == ["succeeded", "succeeded", "succeeded"]
    disk = json.loads((corpus[1] / "rerun.csv.provenance.json").read_text())["disk"]
    assert disk["peak_run_target"] == "disk/writer:fill" and disk["peak_run_bytes"] >= 100 * MB
    assert disk["env_cache_max_bytes"] == 20 << 30 and disk["env_cache_bytes"] > 100 * MB
