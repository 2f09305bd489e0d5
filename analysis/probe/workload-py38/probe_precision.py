"""Precision: each value logged, read back by a helper with its own client, and compared."""

from __future__ import annotations

import importlib
import math
import sys
from typing import Any, Dict, List, Optional, Tuple

from probe_common import TIMESTAMP, Row, _message, _new_experiment, _param, _row, _Warned
from probe_helpers import _Helper
from probe_store import Store


def _metric_cases() -> List[Tuple[str, Any, int, Any]]:
    """(name, value, timestamp, step) of every metric round trip."""
    cases: List[Tuple[str, Any, int, Any]] = [
        ("float64 max", sys.float_info.max, TIMESTAMP, 0),
        ("float64 min normal", sys.float_info.min, TIMESTAMP, 0),
        ("float64 min subnormal", 5e-324, TIMESTAMP, 0),
        ("-0.0", -0.0, TIMESTAMP, 0),
        ("0.1", 0.1, TIMESTAMP, 0),
        ("1/3", 1 / 3, TIMESTAMP, 0),
        ("nan", float("nan"), TIMESTAMP, 0),
        ("+inf", float("inf"), TIMESTAMP, 0),
        ("-inf", float("-inf"), TIMESTAMP, 0),
        ("int 2**53+1", 2 ** 53 + 1, TIMESTAMP, 0),
        ("int 2**64", 2 ** 64, TIMESTAMP, 0),
        ("bool True", True, TIMESTAMP, 0),
        ("timestamp 0", 1.0, 0, 0),
        ("timestamp -1", 1.0, -1, 0),
        ("timestamp 2**63-1", 1.0, 2 ** 63 - 1, 0),
        ("timestamp 2**63", 1.0, 2 ** 63, 0),
        ("step -2**63", 1.0, TIMESTAMP, -2 ** 63),
        ("step 2**63-1", 1.0, TIMESTAMP, 2 ** 63 - 1),
        ("step 2**63", 1.0, TIMESTAMP, 2 ** 63),
    ]
    try:
        import numpy as np
    except ImportError:
        return cases
    cases += [
        ("numpy float32 0.1", np.float32(0.1), TIMESTAMP, 0),
        ("numpy float16 0.1", np.float16(0.1), TIMESTAMP, 0),
        ("numpy int64 2**62+1", np.int64(2 ** 62 + 1), TIMESTAMP, 0),
        ("numpy 0-d array 0.1", np.array(0.1), TIMESTAMP, 0),
        ("numpy float64 nan", np.float64("nan"), TIMESTAMP, 0),
        ("numpy step int64", 1.0, TIMESTAMP, np.int64(7)),
    ]
    return cases


def _exact_value(value: Any) -> Any:
    """What the caller meant, as an exact Python number (numpy scalars and 0-d arrays unwrapped)."""
    if hasattr(value, "item"):
        return value.item()
    return value


def _same_number(stored_text: str, meant: Any) -> bool:
    try:
        stored = float(stored_text)
    except ValueError:
        return False
    if isinstance(meant, float) and math.isnan(meant):
        return math.isnan(stored)
    if stored != meant:
        return False
    return not (stored == 0 and math.copysign(1, stored) != math.copysign(1, float(meant)))


def _max_param_length() -> Optional[int]:
    try:
        return int(importlib.import_module("mlflow.utils.validation").MAX_PARAM_VAL_LENGTH)
    except (ImportError, AttributeError):
        return None


def _param_cases(limit: Optional[int]) -> List[Tuple[str, str, str]]:
    """(name, key, value) of every param round trip."""
    cases = [
        ("unicode value", "unicode_value", "na\u00efve \u2713 \u65e5\u672c\u8a9e \U0001F680"),
        ("newline in value", "newline_value", "line1\nline2"),
        ("empty value", "empty_value", ""),
        ("key with space", "with space", "v"),
        ("key with slash", "with/slash", "v"),
        ("key with colon", "with:colon", "v"),
        ("key with dots and dash", "dots.and-dash_", "v"),
        ("unicode key", "cl\u00e9_\u043a\u043b\u044e\u0447", "v"),
        ("key in lower case", "case_key", "lower"),
        ("the same key in upper case", "CASE_KEY", "upper"),  # one key under a case-blind collation
        ("key ../escape", "../escape", "v"),
        ("key with double slash", "a//b", "v"),
        ("key of 250 chars", "k" * 250, "v"),
        ("key of 251 chars", "k" * 251, "v"),
        ("empty key", "", "v"),
    ]
    if limit:
        cases += [("value at MAX_PARAM_VAL_LENGTH", "at_limit", "a" * limit),
                  ("value at MAX_PARAM_VAL_LENGTH+1", "past_limit", "b" * (limit + 1))]
    return cases


def probe_precision(store: Store, client: Any) -> List[Row]:
    """Log each value, read it back from a fresh process (a helper: its own client), compare."""
    rows: List[Row] = []
    limit = _max_param_length()
    rows.append(_row("precision", "MAX_PARAM_VAL_LENGTH", limit if limit is not None else "", "chars", "", "",
                     "measured" if limit is not None else "error", "mlflow.utils.validation"))
    run_id = client.create_run(_new_experiment(client, "precision")).info.run_id
    metric_keys: Dict[str, str] = {}
    logged: Dict[str, Tuple[str, str]] = {}  # name -> (error, warning)
    cases = _metric_cases()
    for i, (name, value, timestamp, step) in enumerate(cases):
        key = "p%02d" % i
        metric_keys[name] = key
        with _Warned() as warned:
            try:
                client.log_metric(run_id, key, value, timestamp=timestamp, step=step)
                logged[name] = ("", warned.text())
            except Exception as err:
                logged[name] = (_message(err), warned.text())
    params = _param_cases(limit)
    if limit:  # log_param and log_batch validated differently in some releases
        params.append(("value at MAX_PARAM_VAL_LENGTH+1 through log_batch", "past_limit_batch", "c" * (limit + 1)))
    for name, key, value in params:
        with _Warned() as warned:
            try:
                if "log_batch" in name:
                    client.log_batch(run_id, params=[_param(key, value)])
                else:
                    client.log_param(run_id, key, value)
                logged["param " + name] = ("", warned.text())
            except Exception as err:
                logged["param " + name] = (_message(err), warned.text())
    back = _Helper("readback", store, {"uri": store.uri, "run_id": run_id, "metrics": list(metric_keys.values()),
                                "params": [key for _, key, _ in params]}).answer()
    for name, value, timestamp, step in cases:
        error, warned_text = logged[name]
        history = back["metrics"][metric_keys[name]]
        rows.append(_metric_verdict(name, value, timestamp, step, error, warned_text, history))
    for name, key, value in params:
        error, warned_text = logged["param " + name]
        rows.append(_param_verdict(name, value, error, warned_text, back["params"].get(key), limit))
    return rows


def _metric_verdict(name: str, value: Any, timestamp: int, step: int, error: str, warned: str,
                    history: Any) -> Row:
    probe = "precision metric"
    if error:
        return _row(probe, name, "", "", 1, "", "rejected", error)
    if isinstance(history, str):
        return _row(probe, name, "", "", 1, "", "error", "logged, but reading back failed: " + history)
    if len(history) != 1:
        return _row(probe, name, "", "", 1, "", "changed", "logged once, read back %d points: %s" % (len(history), history))
    stored_text, stored_ts, stored_step = history[0]
    meant = _exact_value(value)
    differences: List[Tuple[str, Any]] = []  # (what differs, what was stored)
    if not _same_number(stored_text, meant):
        differences.append(("value %s stored as %s" % (_show(meant), stored_text), stored_text))
    if stored_ts != _exact_value(timestamp):
        differences.append(("timestamp %s stored as %s" % (timestamp, stored_ts), stored_ts))
    if stored_step != _exact_value(step):
        differences.append(("step %s stored as %s" % (step, stored_step), stored_step))
    detail = "; ".join(d for d, _ in differences) or "read back %s" % stored_text
    if warned:
        detail += "; warned: " + warned
    # the value cell holds what came back in place of what was meant: the value, else the timestamp or step
    shown = differences[0][1] if differences else stored_text
    return _row(probe, name, shown, "", 1, "", "changed" if differences else "exact", detail)


def _show(x: Any) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


def _param_verdict(name: str, value: str, error: str, warned: str, stored: Optional[str],
                   limit: Optional[int]) -> Row:
    probe = "precision param"
    if error:
        return _row(probe, name, "", "chars", 1, "", "rejected", error)
    if stored == value:
        return _row(probe, name, len(value), "chars", 1, "", "exact", ("warned: " + warned) if warned else "")
    if stored is None:
        return _row(probe, name, "", "chars", 1, "", "changed", "accepted, but not found under its key on reading back")
    how = "truncated to %d chars" % len(stored) if value.startswith(stored) else "stored as %r" % stored[:80]
    return _row(probe, name, len(stored), "chars", 1, "", "changed",
                how + ("; warned: " + warned if warned else "; no warning"))
