"""The engine: the corpus driver, one checkout's analysis, the pool, the cache and its stamps."""
