"""Run by ``conda_env`` in a process of its own: solve a conda environment with py-rattler, and link it.

``python rattler_child.py REQUEST_JSON`` prints one JSON object: ``{"records": [[url, sha256, md5], ...],
"python": version}`` or ``{"error": exception name, "message": text}``. With ``prefix`` in the request the
solution is also linked there (``final`` patched into the files, no link scripts run), after checking it is
the one ``expect`` names. A process of its own because rattler's async runtime does not survive a ``fork``:
a worker process forked from one that had used rattler waited forever; and the process ends with
``os._exit``, since the interpreter's finalization with rattler's threads about aborted one run in three
(``PyGILState_Release``). Imports only the standard library
and rattler.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


async def _main(request: dict[str, Any]) -> dict[str, Any]:
    import rattler

    channels = [rattler.Channel(url) for url in request["channels"]]
    specs = [rattler.MatchSpec(s) for s in request["specs"]]
    platforms = [rattler.Subdir.current(), rattler.Subdir("noarch")]
    records = await rattler.solve(channels, specs, platforms=platforms,
                                  virtual_packages=rattler.VirtualPackage.detect())
    found = sorted([str(r.url), str(r.sha256 or ""), str(r.md5 or "")] for r in records)
    python = next((str(r.version) for r in records if r.name.normalized == "python"), "")
    if request.get("prefix"):
        if request.get("expect") is not None and found != request["expect"]:
            return {"error": "ChannelChanged", "message": "the channels gave another solution between solve and link"}
        await rattler.install(records, target_prefix=request["prefix"], alternative_target_prefix=request["final"],
                              execute_link_scripts=False, show_progress=False)
    return {"records": found, "python": python}


def main(argv: list[str]) -> int:
    """Answer the request in ``argv[1]``; the answer is printed, an error of rattler's is an answer too."""
    request = json.loads(argv[1])
    try:
        answer = asyncio.run(_main(request))
    except Exception as err:  # rattler's errors derive from Exception only
        answer = {"error": type(err).__name__, "message": str(err)}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    main(sys.argv)
    os._exit(0)  # not through the interpreter's finalization: rattler's runtime threads crash it now and then
