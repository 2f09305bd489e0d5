"""rerun.sandbox: the refusals of a machine that cannot sandbox a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.rerun import sandbox as sandbox_module
from analysis.rerun.sandbox import SandboxUnavailable, probe
from cli import Exit, app

runner = CliRunner()


def test_no_bubblewrap_refuses_with_a_clear_message(tiny_results: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "_which", lambda name: "")
    with pytest.raises(SandboxUnavailable, match="bubblewrap .* not installed.*--no-sandbox"):
        probe()
    corpus, out = tiny_results
    result = runner.invoke(app, ["rerun", "--corpus", str(corpus), "--out", str(out), "--env-cache", str(tmp_path)])
    assert result.exit_code == Exit.BAD_INPUT
    assert "bubblewrap" in result.output and "--no-sandbox" in result.output
    assert not (out / "rerun.csv").exists()


def test_a_bubblewrap_that_cannot_make_namespaces_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox_module, "_which", lambda name: str(fake))
    with pytest.raises(SandboxUnavailable, match="No permissions to creating new namespace.*user namespaces"):
        probe()

