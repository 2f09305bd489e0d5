"""Statement reuse (``analysis.reading.statement_reuse``) on every version of a corpus's histories: the same trees, and the time.

    python benchmarks/statement_reuse.py --corpus /tmp/hist-corpus [--repos N]

For each repository of a corpus mined with ``--history``, every distinct ``.py`` file and notebook of
its first-parent history that mentions mlflow and that ``ast`` parses, oldest first, is parsed as the
code pass parses it (``cst_walk.parse_accepted``) twice: whole, and with its top-level statements'
chunks reused inside ``STATEMENTS.reusing()`` (one block per repository, as the history runs). Prints
how many trees differ (``deep_equals``; there must be none), the seconds of each way in this one
process, the whole way first and the reusing way second for each file, and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--repos", type=int, default=0, help="only the first N repositories (0: all)")
    opts = parser.parse_args()

    import libcst

    from analysis.ftypes import ReadError
    from analysis.history.gitlog import BlobReader
    from analysis.reading.astscan import scan_source
    from analysis.reading.cst_walk import STATEMENTS, parse_accepted
    from analysis.reading.sources import decode_python, notebook_code
    from history import _distinct_blobs  # benchmarks/history.py: every (blob, kind) of a first-parent history
    from miner.corpus import read_corpus

    corpus = read_corpus(opts.corpus.resolve())
    repos = [r for r in corpus.repos if r.git_dir is not None][: opts.repos or None]
    whole_s = reuse_s = 0.0
    n = 0
    differ: list[str] = []
    for repo in repos:
        assert repo.git_dir is not None
        blobs, _head = _distinct_blobs(repo.git_dir, repo.commit)  # oldest first, as the history meets them
        with BlobReader(repo.git_dir) as reader:
            datas = reader.read_many(sha for sha, _kind in blobs)
        with STATEMENTS.reusing():
            for sha, kind in blobs:
                data = datas.get(sha)
                if data is None or b"mlflow" not in data.lower():
                    continue
                try:
                    text = decode_python(data) if kind == "python" else notebook_code(data).source
                except (ReadError, SyntaxError, UnicodeDecodeError, ValueError):
                    continue
                found = scan_source(text)
                if found is None:
                    continue
                started = time.perf_counter()
                try:
                    whole = parse_accepted(text)
                except (libcst.ParserSyntaxError, RecursionError, ValueError):
                    continue
                parsed = time.perf_counter()
                reused = parse_accepted(text, found.statements, found.members)
                whole_s += parsed - started
                reuse_s += time.perf_counter() - parsed
                n += 1
                if not whole.deep_equals(reused):
                    differ.append(f"{repo.repo} {sha}")
        print(f"{repo.repo}: {len(blobs)} blobs; so far {n} files, {len(differ)} trees differ", file=sys.stderr)
    print(f"{n} files of {len(repos)} repositories: {len(differ)} trees differ from the whole parse")
    for item in differ[:20]:
        print("  differs:", item)
    print(f"whole {whole_s:.1f} s, reusing {reuse_s:.1f} s: {reuse_s / max(whole_s, 1e-9):.3f}x "
          f"({STATEMENTS.chunked} modules in chunks, {STATEMENTS.whole} whole; chunks {STATEMENTS.reused} reused, "
          f"{STATEMENTS.parsed} parsed)")


if __name__ == "__main__":
    main()
