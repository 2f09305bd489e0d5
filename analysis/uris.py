"""Moved to ``analysis.tracking_uris``; kept importable until ``analyze`` imports from there."""

from __future__ import annotations

from analysis.tracking_uris import classify_uri, config_source, scan_text

__all__ = ["classify_uri", "config_source", "scan_text"]
