"""Runs the probe's workload: ``python <this folder> --backend URI ...`` (see ``probe_workload``)."""

from __future__ import annotations

import os
import sys

# ``python <folder>`` puts the folder first on sys.path, even under PYTHONSAFEPATH; ``python
# <folder>/__main__.py`` does not then, so the folder is put there for the sibling imports below
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from probe_workload import main  # noqa: E402

sys.exit(main())
