"""The passes: per-file passes sharing one parse, then per-repository passes."""
