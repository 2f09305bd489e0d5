"""What a run's output says about how it ended: the status and the failure class.

The failure class is the exception class of the last Python traceback in the output (module
prefix dropped: ``urllib.error.URLError`` is ``URLError``), with three classes named for what
they mean rather than how a library spells them: ``network refused`` (any exception of a failed
connection or name lookup: there is no network in the sandbox), ``process limit`` (a fork that
the process limit refused) and memory, which is a status of its own (``killed-memory``: a
``MemoryError``, an allocation the data-segment limit refused, or a kill by SIGKILL that was not
the timeout's). A full disk is ``no space`` (``ENOSPC``, ``EDQUOT``: the disk, not the project).
Without a traceback the class is the exit status (``exit 127`` for a command not found,
``signal SIGSEGV``...).
"""

from __future__ import annotations

import re
import signal

MESSAGE_CHARS = 300

_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^(?P<cls>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_NETWORK_CLASSES = frozenset({
    "URLError", "gaierror", "herror", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
    "ConnectionAbortedError", "NewConnectionError", "MaxRetryError", "ConnectTimeout", "ConnectTimeoutError",
    "NameResolutionError", "ProxyError", "SSLError", "RemoteDisconnected", "ConnectError", "ClientConnectorError",
    "ContentTooShortError", "ReadTimeout", "ReadTimeoutError", "Timeout", "timeout"})
_NETWORK_WORDS = ("temporary failure in name resolution", "name or service not known", "network is unreachable",
                  "connection refused", "failed to resolve", "nodename nor servname", "no address associated",
                  "failed to establish a new connection", "could not resolve host", "name resolution")
_MEMORY_WORDS = ("cannot allocate memory", "std::bad_alloc", "unable to allocate", "out of memory")
_FORK_WORDS = ("resource temporarily unavailable",)
_SPACE_WORDS = ("no space left on device", "[errno 28]", "disk quota exceeded", "[errno 122]")


def last_traceback(text: str) -> tuple[str, str] | None:
    """``(class, message)`` of the last Python traceback in ``text``, or None."""
    at = text.rfind(_TRACEBACK)
    if at < 0:
        return None
    lines = text[at:].splitlines()[1:]
    for line in lines:
        if line.startswith((" ", "\t")) or not line.strip():
            continue
        match = _EXCEPTION_LINE.match(line.strip())
        if match:
            return match.group("cls").rsplit(".", 1)[-1], (match.group("msg") or "").strip()
        if line.startswith(("During handling", "The above exception")):
            continue
    return None


def last_line(text: str) -> str:
    """The last non-empty line, truncated."""
    line = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")
    return line[:MESSAGE_CHARS]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def classify(output: str, returncode: int | None, timed_out: bool) -> tuple[str, str, str]:
    """``(status, failure_class, message)`` of a run from its output and how it ended."""
    if timed_out:
        return "timeout", "timeout", last_line(output)
    found = last_traceback(output)
    low = output.lower()
    if returncode == 0:
        return "succeeded", "", ""
    message = last_line(output)
    if found is not None:
        cls, text = found
        message = f"{cls}: {text}"[:MESSAGE_CHARS] if text else cls
        combined = f"{cls} {text}".lower()
        if any(w in combined for w in _SPACE_WORDS):
            return "failed", "no space", message
        if cls.endswith("MemoryError") or any(w in combined for w in _MEMORY_WORDS):
            return "killed-memory", cls, message
        if cls == "BlockingIOError" or any(w in combined for w in _FORK_WORDS) and "fork" in low:
            return "failed", "process limit", message
        if cls in _NETWORK_CLASSES or any(w in combined for w in _NETWORK_WORDS):
            return "failed", "network refused", message
        return "failed", cls, message
    if any(w in low for w in _SPACE_WORDS):
        return "failed", "no space", message
    if any(w in low for w in _MEMORY_WORDS):
        return "killed-memory", "memory", message
    if "fork" in low and any(w in low for w in _FORK_WORDS):
        return "failed", "process limit", message
    if any(w in low for w in _NETWORK_WORDS):
        return "failed", "network refused", message
    if returncode is not None and (returncode < 0 or returncode > 128):
        number = -returncode if returncode < 0 else returncode - 128
        if number == signal.SIGKILL:  # not our timeout: the kernel's out-of-memory killer
            return "killed-memory", "SIGKILL", message
        return "failed", _signal_name(number), message
    return "failed", f"exit {returncode}", message
