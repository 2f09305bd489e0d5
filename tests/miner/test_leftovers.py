"""What killed runs leave in a corpus: removed by a later run, kept while a run still holds the lock."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from miner.ftypes import MineEvent, RepoStatus
from miner.leftovers import leftover_temporaries
from miner.mine import mine
from tests.conftest import make_repo
from tests.miner.mining import settings_for

_HOLDER = """
import sys, time
from pathlib import Path
from miner.leftovers import corpus_lock
corpus = Path(sys.argv[1])
with corpus_lock(corpus):
    busy = corpus / "repos" / ".partial" / "o_busy.abc123"
    busy.mkdir(parents=True)  # a clone in progress
    print("fetching", flush=True)
    time.sleep(120)
"""


def _leftovers(corpus: Path) -> set[str]:
    return {p.relative_to(corpus).as_posix() for p in leftover_temporaries(corpus)}


def test_a_later_run_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "repos" / ".partial" / "o_r.k3x9q" / "git" / "objects").mkdir(parents=True)  # killed mid-clone
    (corpus / "mlflow" / ".partial-2.9.0-a1b2").mkdir(parents=True)
    (corpus / "mlflow" / ".download-zz").mkdir()
    (corpus / ".manifest.csv.x1.tmp").write_text("half")
    make_repo(tmp_path / "src" / "r", {"a.py": "x = 1\n"})
    events: list[MineEvent] = []
    summary = mine(settings_for(tmp_path, from_local=tmp_path / "src"), events.append)
    assert summary.count(RepoStatus.OK) == 1
    assert _leftovers(corpus) == set()
    assert any("removed 4 temporary" in e.message for e in events)
    assert (corpus / "repos" / "r" / "a.py").is_file() and (corpus / ".mine-journal.jsonl").is_file()


def test_leftovers_of_a_run_still_going_are_kept_until_it_is_killed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_repo(tmp_path / "src" / "r", {"a.py": "x = 1\n"})
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(corpus)], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "fetching\n"
        mine(settings_for(tmp_path, from_local=tmp_path / "src"))  # concurrent with the holder
        assert _leftovers(corpus) == {"repos/.partial/o_busy.abc123"}
        holder.send_signal(signal.SIGKILL)  # kill -9: no cleanup runs, the lock goes with the process
        holder.wait(timeout=10)
        assert _leftovers(corpus) == {"repos/.partial/o_busy.abc123"}
        summary = mine(settings_for(tmp_path, from_local=tmp_path / "src"))
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert _leftovers(corpus) == set() and summary.count(RepoStatus.OK) == 1


def test_only_temporaries_are_leftovers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "repos" / ".partial" / "o_r.abc").mkdir(parents=True)
    (corpus / "repos" / "o" / "r").mkdir(parents=True)
    (corpus / "mlflow" / "2.9.2").mkdir(parents=True)
    (corpus / "mlflow" / ".partial-3.0.0-x").mkdir()
    (corpus / "mlflow" / ".hidden").mkdir()
    (corpus / ".lock.csv.q.tmp").write_text("")
    (corpus / "manifest.csv").write_text("")
    (corpus / ".mine-journal.jsonl").write_text("")
    assert {p.relative_to(corpus).as_posix() for p in leftover_temporaries(corpus)} == {
        "repos/.partial/o_r.abc", "mlflow/.partial-3.0.0-x", ".lock.csv.q.tmp"}
