"""Moved to ``analysis.tracking_uris`` (with the finder of URIs set in code); kept until no module imports it."""

from __future__ import annotations

from analysis.tracking_uris import classify_uri, config_source, scan_text

__all__ = ["classify_uri", "config_source", "scan_text"]
