"""The analysis: per-file passes over a mined corpus, then corpus-level tables."""

from __future__ import annotations
