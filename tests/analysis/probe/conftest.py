"""The probe's tests import the workload's modules as the workload does: by name, its folder on sys.path."""

from __future__ import annotations

import sys

from analysis.probe.run import WORKLOAD

if str(WORKLOAD) not in sys.path:
    sys.path.insert(0, str(WORKLOAD))
