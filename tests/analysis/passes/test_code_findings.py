"""The per-file code pass: what a ``.py`` file with syntax errors still yields, and what it reports."""

from __future__ import annotations

import pytest

import analysis.passes.code_findings as code_findings
from analysis.releases.catalog import load_snapshot
from analysis.ftypes import BadSyntax, FileContext, FileFindings
from analysis.passes.mlflow_calls import Resolver

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
