"""rerun --network: a run reaches a server on the host's loopback with ``all`` and is refused with ``none``.

Slow: it mines and analyzes a repository, starts a server and runs sandboxes. That nothing else of the
sandbox loosens with ``all`` is checked by the containment tests of ``test_job.py``, under both policies.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from pathlib import Path
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from analysis.rerun.job import rerun
from miner.fileio import read_csv
from tests.analysis.rerun.conftest import make_corpus, rerun_settings


def test_a_loopback_server_is_reached_with_the_hosts_network_and_refused_without(tmp_path: Path,
                                                                               env_cache: Path) -> None:
    token = uuid.uuid4().hex
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.txt").write_text(token)
    requests: list[str] = []

    class Recording(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Recording, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.txt"
        corpus = make_corpus(tmp_path, {"net/fetch": {
            "MLproject": "name: t\nentry_points:\n  main:\n    command: python fetch.py\n",
            "fetch.py": f"import urllib.request\nprint('GOT', urllib.request.urlopen({url!r}, timeout=10).read().decode())\n",
        }})
        log = corpus[1] / "rerun" / "logs" / "net__fetch__MLproject__main.run.log"

        rerun(rerun_settings(corpus, env_cache, jobs=1))  # --network none, the default
        (row,) = read_csv(corpus[1] / "rerun.csv")
        assert (row["network"], row["status"], row["failure_class"]) == ("none", "failed", "network refused")
        assert "Connection refused" in log.read_text() and requests == []  # its own loopback has no server

        again = rerun(rerun_settings(corpus, env_cache, jobs=1, network="all"))
        assert (again.n_already, again.n_run) == (0, 1)  # measured under another policy: run again
        (row,) = read_csv(corpus[1] / "rerun.csv")
        assert (row["network"], row["status"]) == ("all", "succeeded")
        assert f"GOT {token}" in log.read_text() and requests == ["/data.txt"]
        assert json.loads((corpus[1] / "rerun.csv.provenance.json").read_text())["network"] == "all"
        summary = read_csv(corpus[1] / "rerun_summary.csv")
        assert [(r["name"], r["n"]) for r in summary if r["section"] == "network"] == [("all", "1")]

        same = rerun(rerun_settings(corpus, env_cache, jobs=1, network="all"))
        assert (same.n_already, same.n_run) == (1, 0)
    finally:
        server.shutdown()
        server.server_close()
