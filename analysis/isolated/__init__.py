"""Isolated Python environments (built with uv, seeded as python -m venv seeds them) and their bounded cache: what the probe and the re-runs run in."""
