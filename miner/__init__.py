"""The miner: builds a reproducible corpus from GitHub, local clones and MLflow releases."""

from __future__ import annotations

__version__ = "0.1.0"
