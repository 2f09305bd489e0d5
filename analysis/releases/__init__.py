"""MLflow's own releases: the API catalog, the storage model, the schema revisions."""
