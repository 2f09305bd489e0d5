"""What runs killed mid-way leave in a corpus, and the lock under which a run removes them."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from miner.corpus import REPOS, releases_dir
from miner.ftypes import MineEvent, ProgressFn
from miner.gitio import remove_tree

log = logging.getLogger(__name__)


def _quiet(_event: MineEvent) -> None:
    return None


def leftover_temporaries(corpus: Path) -> list[Path]:
    """What runs killed mid-way leave in a corpus: unfinished checkouts (``repos/.partial/*``),
    MLflow releases (``mlflow/.partial-*``, ``mlflow/.download-*``) and atomic writes (``.*.tmp``)."""
    found: list[Path] = []
    partial = corpus / REPOS / ".partial"
    if partial.is_dir():
        found += sorted(partial.iterdir())
    releases = releases_dir(corpus)
    for folder in (corpus, releases):
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if p.name.startswith(".") and (
                p.name.endswith(".tmp") or folder == releases and p.name.startswith((".partial-", ".download-"))))
    return found


@contextlib.contextmanager
def corpus_lock(corpus: Path, progress: ProgressFn = _quiet) -> Iterator[None]:
    """Hold a shared lock on ``<corpus>/.mine.lock`` while a run may write temporaries in the corpus.

    On entry, when no other run holds the lock (an exclusive lock is taken without waiting), the
    leftovers of killed runs are removed: with no run alive, none of them is in use. A run killed
    with ``kill -9`` loses its lock with its process, so its leftovers are removed by the next run,
    never those of a run still going on the same corpus.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: leftovers stay (harmless) rather than risk a running mine's
        yield
        return
    with (corpus / ".mine.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another mine holds %s: its temporary files are left alone", corpus / ".mine.lock")
        else:
            leftovers = leftover_temporaries(corpus)
            for path in leftovers:
                remove_tree(path)
            if leftovers:
                progress(MineEvent("message", f"removed {len(leftovers)} temporary files and directories "
                                              "left by an interrupted run"))
        fcntl.flock(handle, fcntl.LOCK_SH)  # waits while another run cleans
        yield
