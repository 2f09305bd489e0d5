"""The report's sections, one module per group: the questions, storage and the probe, the re-runs, the methods."""
