"""The per-file code pass: what a ``.py`` file with syntax errors still yields, and what it reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import analysis.passes.code_findings as code_findings
from analysis.ftypes import BadSyntax, FileContext, FileFindings
from analysis.passes.mlflow_calls import Resolver
from analysis.releases.catalog import load_snapshot
from analysis.repo_state import Parsed, RepoResult
from tests.analysis.passes.checkouts import checkout_of, source_file

RESOLVER = Resolver.from_catalog(load_snapshot())


def test_statements_only_libcst_rejects_are_left_out_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where LibCST's grammar is stricter than CPython's, the statement it stops at is left out as well."""
    real = code_findings.find_in_module

    def stricter(source: str, *args: object, **kwargs: object) -> FileFindings:
        for n, line in enumerate(source.split("\n"), 1):
            if "REJECTED" in line:
                raise BadSyntax("syntax error: parser error: not for LibCST", n)
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(code_findings, "find_in_module", stricter)
    source = b"import mlflow\nprint 'a'\nmlflow.log_param('a', 1)\nx = 1  # REJECTED\nmlflow.end_run()\n"
    findings, bad = code_findings.python_findings(source, RESOLVER, FileContext())
    assert [(s.line, s.api) for s in findings.call_sites] == [(3, "mlflow.log_param"), (5, "mlflow.end_run")]
    assert [(b.line, b.reason) for b in bad] == [
        (2, "syntax error: Missing parentheses in call to 'print'. Did you mean print(...)? (Python 2 syntax?)"),
        (4, "syntax error: parser error: not for LibCST (Python 2 syntax?)")]


def test_a_module_that_cannot_be_read_in_part_is_its_first_error() -> None:
    """A NUL byte is a LibCST syntax error, but CPython cannot read the module at all: one problem, nothing read."""
    with pytest.raises(BadSyntax) as caught:
        code_findings.python_findings(b"import mlflow\nmlflow.end_run()\nx = 1\0\n", RESOLVER, FileContext())
    assert caught.value.reason.startswith("syntax error: tokenizer error")


def test_string_and_bytes_concatenated_is_a_syntax_error_not_a_crash() -> None:
    """LibCST parses ``u"a" b"b"`` and then refuses it (CSTValidationError, which used to fail the whole repository)."""
    source = b"import mlflow\nmlflow.log_param('a', 1)\nx = u'a' b'b'\nmlflow.end_run()\n"
    findings, bad = code_findings.python_findings(source, RESOLVER, FileContext())
    assert [(s.line, s.api) for s in findings.call_sites] == [(2, "mlflow.log_param"), (4, "mlflow.end_run")]
    assert [(b.line, b.skipped) for b in bad] == [(3, "line 3 skipped (syntax error at line 3)")]
    notebook = (b'{"cells": [{"cell_type": "code", "source": "import mlflow"}, {"cell_type": "code", "source": '
                b'"x = u\'a\' b\'b\'"}, {"cell_type": "code", "source": "mlflow.end_run()"}], "metadata": {}}')
    findings, bad = code_findings.notebook_findings(notebook, RESOLVER, FileContext())
    assert [(s.cell, s.line, s.api) for s in findings.call_sites] == [(2, 1, "mlflow.end_run")]
    assert [(b.line, b.skipped) for b in bad] == [(1, "cell 1 skipped (syntax error at line 1 of the cell)")]


def test_the_file_pass_scans_once_and_parses_through_the_engine(tmp_path: Path) -> None:
    checkout = checkout_of(tmp_path, {
        "train.py": "import mlflow\nimport random\nfrom util import f\nrandom.seed(0)\nmlflow.log_metric('m', 1)\n",
        "util.py": "def f():\n    pass\n",  # no mlflow: scanned for the module graph, not parsed
        "mention.py": "# mlflow, in a comment only\nx = 1\n",  # imports neither mlflow nor an integration
        "run.sh": "export MLFLOW_TRACKING_URI=http://tracking:5000\n",
    })
    (tmp_path / "blob.py").write_bytes(b"\x00\x01mlflow")
    result = RepoResult("o/r")
    parsed: list[str] = []

    def parse(compute: Callable[[], Parsed]) -> Parsed:
        parsed.append(row.path)
        return compute()

    for rel in ["blob.py", *checkout.paths]:
        file = source_file(checkout, result, rel, parse)
        row = file.row
        code_findings.file_pass(file, checkout, result)
    assert parsed == ["run.sh", "train.py"]  # the others never reach LibCST
    assert [(c.path, c.site.line, c.site.api) for c in result.call_sites] == [("train.py", 5, "mlflow.log_metric")]
    assert [(u.path, u.uri.line, u.uri.source, u.uri.value) for u in result.uris] == [("run.sh", 1, "shell", "http://tracking:5000")]
    assert {f.path: f.status for f in result.files} == {
        "blob.py": "problem", "run.sh": "analyzed", "mention.py": "no-mlflow-use", "train.py": "analyzed",
        "util.py": "no-mlflow"}
    assert sorted(checkout.facts) == ["mention.py", "train.py", "util.py"]
    assert checkout.facts["train.py"].imports == frozenset({"util.py"})
    assert result.seeds
