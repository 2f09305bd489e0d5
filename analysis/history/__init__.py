"""History: MLflow usage at every first-parent commit of each mined repository (``analyze --history``).

``gitlog`` walks the commits and their tree diffs from git objects; ``commits`` runs the engine's
per-file passes once per distinct blob and the per-repository passes where their inputs changed;
``evolution`` sums a repository's history up; ``run`` runs every repository and writes the tables
(``analysis.tables.HISTORY``, their rows in ``analysis.history_rows``). The engine's driver calls ``run.analyze_history`` once.
"""
