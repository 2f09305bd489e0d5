"""Experiment stores committed to repositories: discovery and readers, as MLflow reads them."""
