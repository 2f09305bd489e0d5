"""``rerun``: re-execute MLproject entry points in a sandbox and measure how many reproduce.

One module per step, in the order a target goes through them: ``targets`` (what to run, from
analyze's CSVs), ``envplan`` (the environment ``mlflow run`` would build), ``command`` (the
parameters substituted as MLflow does), ``sandbox`` (bubblewrap, limits, timeout), ``driver``
(inside the sandbox: the MLflow run around the command), ``outcome`` (status and failure class
from the output), ``compare`` (committed and fresh runs, read by ``analysis/stored_runs``; metrics
compared), ``target_run`` (one target on a worker), ``job`` (all targets, resumable, written as
they finish) and ``statistics`` (rates, failures, time, readiness against outcome). Value types
are in ``ftypes``.
"""
