"""The passes: per-file passes by the file's kind, then per-repository passes in order (listed in ``registry``).

A pass is a module named after what it finds, holding ``file_pass(file, checkout, result)`` (a
per-file pass: ``file`` is the ``SourceFile`` the file stage read) or ``repo_pass(checkout,
result)`` (a per-repository pass, run once the file stage is done, on what it and the passes
before it found), or both. The modules a pass reads with (parsers, finders, graph code) sit beside
it, named after what they read or build, and hold no pass function. A new pass is a new module and
one line in ``registry.py``, where ``FILE_PASSES`` and ``REPO_PASSES`` list them.

The per-file passes over code share one parse: ``code_findings`` scans a file once with ``ast`` (the
module graph's facts, seeds, the gate that keeps files which cannot use MLflow away from LibCST),
then walks it once with LibCST for every finder of ``mlflow_calls`` (call sites, integrations,
tracking URIs).
"""
