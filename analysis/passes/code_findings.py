"""The code pass: MLflow calls, integrations and tracking URIs of a ``.py`` file (Databricks
and Jupytext exports included), a notebook or a configuration file, from source prepared for parsing.

IPython syntax is neutralized without moving a line; a notebook (or a Databricks export) whose
cells do not all parse is read cell by cell, the failing cells blanked and reported, so one bad
cell does not hide the others' calls. Any other ``.py`` file with syntax errors is read in part
(``partial_parse``): the statements around each error are left out and reported, the others read.
"""

from __future__ import annotations

import re
from dataclasses import replace

import libcst as cst

from analysis.ftypes import BadSyntax, FileContext, FileFindings, LeftOut, ReadError, SourceError, TrackingUri
from analysis.passes.mlflow_calls import TRACKING_ENV, Resolver, find_in_module, may_use_mlflow, python_error_line
from analysis.passes.module_graph import module_facts
from analysis.passes.reproducibility import sets_seed
from analysis.passes.tracking_uris import classify_uri, config_source, scan_text
from analysis.reading.astscan import ModuleScan, parse, scan, scan_source
from analysis.reading.cst_walk import parse_checked
from analysis.reading.partial_parse import read_in_part
from analysis.reading.sources import NotebookCode, decode_python, is_binary, neutralize_magics, notebook_code
from analysis.repo_state import Checkout, RepoResult, SourceFile
from analysis.rows import CallSiteRow, FileRow, FileStatus, IntegrationRow, ProblemRow, Stage, TrackingUriRow

Bad = list[LeftOut]  # the parts of a file that were left out

PYTHON_NOTEBOOKS = ("python", "python3", "ipython", "")
NO_USE_REASON = "imports neither mlflow nor a logging integration: not parsed by LibCST"
LIBCST_RETRIES = 5  # statements LibCST alone rejects that are left out before a file is given up
_MAGIC_LINE = re.compile(r"(?m)^\s*[!%]")


class NotPython(Exception):
    """A notebook in another language: skipped, not a problem."""


class NoMlflowUse(Exception):
    """A notebook that mentions mlflow but imports neither it nor an integration: not parsed by LibCST."""


def blank_failing_cells(lines: list[str], spans: list[tuple[int, int, int]], *, absolute: bool) -> Bad:
    """Blank, in ``lines``, every cell that does not parse alone, and say where and why.

    ``spans`` are ``(cell, start, end)``: 0-based, end excluded. A reported line is the module
    line with ``absolute``, else the line inside the cell (None where the parser gives none).
    """
    bad: Bad = []
    for cell, start, end in spans:
        cell_text = "\n".join(lines[start:end]) + "\n"
        try:
            parse_checked(cell_text)
        except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError, ValueError) as err:
            syntax = isinstance(err, (cst.ParserSyntaxError, cst.CSTValidationError))
            raw = err.raw_line if isinstance(err, cst.ParserSyntaxError) else 1
            line = start + python_error_line(cell_text, raw) if absolute else (
                python_error_line(cell_text, raw) if syntax else None)
            message = (err.message if isinstance(err, cst.ParserSyntaxError) else
                       str(err) if isinstance(err, cst.CSTValidationError) else type(err).__name__)
            where = "" if line is None else f" at line {line}" if absolute else f" at line {line} of the cell"
            part = f"lines {start + 1}-{end}" if absolute else f"cell {cell}"
            bad.append(LeftOut(line, f"cell {cell}: syntax error: {message}", f"{part} skipped (syntax error{where})"))
            lines[start:end] = [""] * (end - start)
    return bad


def notebook_findings(data: bytes, resolver: Resolver, context: FileContext, code: NotebookCode | None = None,
                      found: ModuleScan | None = None) -> tuple[FileFindings, Bad]:
    """Findings of a notebook; code cells that do not parse alone are blanked and reported.

    ``code`` and ``found`` are the notebook's code cells and their ``ast`` scan when the caller has them.
    """
    code = code or notebook_code(data)
    if code.language not in PYTHON_NOTEBOOKS:
        raise NotPython(f"notebook language is {code.language}")
    implicit = "%run" in data.decode("utf-8", "replace")
    # None when a cell does not parse: LibCST's cell-by-cell path below reports it
    found = found or scan_source(code.source)
    sets_uri = any(name == TRACKING_ENV for _c, _l, name, _v in code.env_magics)  # `%env`, gone from the source
    if found is not None and not sets_uri and not may_use_mlflow(found, code.source, context, implicit):
        raise NoMlflowUse
    try:
        return _with_env_magics(find_in_module(code.source, resolver, context=context, cell_of_line=code.cell_of_line,
                                               implicit_mlflow=implicit, found=found), code), []
    except SourceError:
        pass
    # Every Jupyter cell is a complete statement list: find the cells that fail alone.
    lines = code.source.split("\n")
    bad = blank_failing_cells(lines, [(cell, first - 1, last) for cell, first, last in code.cells()], absolute=False)
    findings = find_in_module("\n".join(lines), resolver, context=context,
                              cell_of_line=code.cell_of_line, implicit_mlflow=implicit)
    return _with_env_magics(findings, code), bad


def _with_env_magics(findings: FileFindings, code: NotebookCode) -> FileFindings:
    """The findings plus the tracking URIs a notebook sets with ``%env`` (they run, and stay set)."""
    uris = [TrackingUri(line, "notebook", "%env", value.strip("\"'"), *classify_uri(value), cell)
            for cell, line, name, value in code.env_magics if name == TRACKING_ENV]
    if not uris:
        return findings
    return replace(findings, tracking_uris=tuple(sorted([*findings.tracking_uris, *uris],
                                                        key=lambda u: (u.cell or 0, u.line))))


# LibCST's parse of a module takes memory in proportion to its size (about 0.8 GB per MB of source
# measured here) and time and native stack in proportion to its nesting: a module past either
# bound is not handed to it (a problem row), so one file cannot crash or starve a run.
LIBCST_MAX_CHARS = 1_000_000
NESTED = "nested too deeply to parse safely (Python's own parser gives up): call sites not read"


def checked_scan(source: str) -> tuple[ModuleScan | None, str]:
    """The ``ast`` scan of a module, and why LibCST must not parse it ('' when it may).

    The scan is None where ``ast`` cannot parse the module; LibCST then reads it only when the
    reason is an ordinary syntax error (IPython magics, Python 2), never when ``ast`` ran out of
    stack or nesting levels: LibCST's native parser overflows its stack on the same inputs.
    """
    if len(source) > LIBCST_MAX_CHARS:
        refusal = f"too large to parse safely ({len(source):,} characters > {LIBCST_MAX_CHARS:,}): call sites not read"
        return scan_source(source), refusal
    try:
        tree = parse(source)
    except SyntaxError as err:
        return None, NESTED if "too many nested" in str(err.msg) or "too complex" in str(err.msg) else ""
    except (RecursionError, MemoryError):
        return None, NESTED
    except ValueError:  # NUL bytes: LibCST reports them
        return None, ""
    try:
        return scan(tree), ""
    except RecursionError:
        return None, NESTED


def scan_python(data: bytes) -> tuple[ModuleScan | None, str | None, str]:
    """The ``ast`` scan of a ``.py`` file, its text and why LibCST must not parse it ('' when it may);
    scan and text are None where it does not decode or parse as is."""
    try:
        text = decode_python(data)
    except SourceError:
        return None, None, ""
    found, refusal = checked_scan(text)
    return found, text, refusal


def scan_notebook(data: bytes) -> tuple[ModuleScan | None, NotebookCode | None, str]:
    """The ``ast`` scan of a Python notebook's code cells, those cells, and why LibCST must not parse
    them ('' when it may); None where they do not parse."""
    try:
        code = notebook_code(data)
    except SourceError:
        return None, None, ""
    if code.language not in PYTHON_NOTEBOOKS:
        return None, None, ""
    found, refusal = checked_scan(code.source)
    return found, code, refusal


def databricks_export(text: str) -> bool:
    """A ``.py`` file exported from a Databricks notebook (cells between ``# COMMAND`` lines)."""
    return text[:200].startswith("# Databricks notebook source") or "# COMMAND ----------" in text


def runs_notebook(text: str) -> bool:
    """A Databricks export that ``%run``s another notebook (which may bring ``mlflow`` into scope)."""
    return databricks_export(text) and "%run" in text


def python_findings(data: bytes, resolver: Resolver, context: FileContext,
                    found: ModuleScan | None = None) -> tuple[FileFindings, Bad]:
    """Findings of a ``.py`` file; IPython magics (Databricks and Jupytext exports) are neutralized, and
    a file with syntax errors is read in part (the parts left out are returned).

    ``found`` is the file's ``ast`` scan when the caller has one.
    """
    text = decode_python(data)
    exported = databricks_export(text)
    implicit = runs_notebook(text)
    try:
        return find_in_module(text, resolver, context=context, implicit_mlflow=implicit, found=found), []
    except SourceError as err:
        magics = exported or _MAGIC_LINE.search(text) is not None
        if not magics and not isinstance(err, BadSyntax):
            raise
        first_error = last_error = err
    if magics:
        text = neutralize_magics(text)
        try:
            return find_in_module(text, resolver, context=context, implicit_mlflow=implicit), []
        except SourceError as err:
            last_error = err
    if not exported:
        if not isinstance(last_error, BadSyntax):
            raise first_error
        return _read_in_part(text, first_error, python2_hint(data), resolver, context, implicit)
    # A Databricks export is a notebook: blank the cells that do not parse alone.
    lines = text.split("\n")
    starts = [0] + [i + 1 for i, ln in enumerate(lines) if ln.strip() == "# COMMAND ----------"]
    ends = [s - 1 for s in starts[1:]] + [len(lines)]
    bad = blank_failing_cells(lines, [(n, start, end) for n, (start, end) in enumerate(zip(starts, ends))],
                              absolute=True)
    return find_in_module("\n".join(lines), resolver, context=context, implicit_mlflow=implicit), bad


def _read_in_part(text: str, error: SourceError, hint: str, resolver: Resolver, context: FileContext,
                  implicit: bool) -> tuple[FileFindings, Bad]:
    """Findings of the statements of a module that parse, and the parts left out; ``error`` (the
    module's own) is raised when it cannot be read in part."""
    module = read_in_part(text)
    for _ in range(LIBCST_RETRIES):
        if module is None:
            break
        try:
            findings = find_in_module(module.text, resolver, context=context, implicit_mlflow=implicit)
        except BadSyntax as err:  # LibCST's grammar is not quite CPython's: leave out where it stops too
            if err.line is None or not module.leave_out(err.line, err.reason.removeprefix("syntax error: ")):
                break
            continue
        return findings, [LeftOut(s.line, f"syntax error: {s.message}{hint}",
                                  f"{s.lines} skipped (syntax error at line {s.line})") for s in module.skips]
    raise error


def read_in_part_reason(bad: Bad) -> str:
    """What ``files.csv`` says of a file read in part."""
    shown = "; ".join(b.skipped for b in bad[:3])
    return f"read in part: {shown}" + (f"; {len(bad) - 3} more parts skipped" if len(bad) > 3 else "")


def config_findings(rel: str, data: bytes) -> FileFindings:
    """Tracking URIs set in a configuration file (``.env``, shell, compose, CI, Makefile, Dockerfile)."""
    return FileFindings(tracking_uris=tuple(scan_text(data.decode("utf-8", "replace"), config_source(rel) or "config")))


def looks_python2(data: bytes) -> bool:
    """Print statements or ``except X, e``: why a file may not parse."""
    return re.search(rb"^\s*print\s+[\"'\w]", data, re.M) is not None or b"except Exception, " in data


def python2_hint(data: bytes) -> str:
    """What a syntax error's reason adds when the file looks like Python 2."""
    return " (Python 2 syntax?)" if looks_python2(data) else ""


def file_pass(file: SourceFile, checkout: Checkout, result: RepoResult) -> None:
    """A ``.py`` file, a notebook or a configuration file: one ``ast`` scan (the module graph's facts, the
    gate that keeps files which cannot use MLflow away from LibCST, call positions), then the engine's
    cached LibCST parse and its findings."""
    row, data = file.row, file.data
    repo, rel, kind = row.repo, row.path, row.kind
    if is_binary(data):
        row.status, row.reason = FileStatus.PROBLEM, "binary content"
        result.problems.append(ProblemRow(repo, rel, None, Stage.READ, "binary content"))
        return
    facts = checkout.wants_facts
    if not facts and (hit := file.cached()) is not None:  # nothing wanted but the findings, and they are known
        add_findings(result, row, *hit)
        return
    if facts and kind in ("python", "notebook") and not result.seeds:
        result.seeds = sets_seed(data)
    found = text = code = None
    refusal = ""
    if kind == "python":
        found, text, refusal = scan_python(data)
        if facts and found is not None and text is not None:
            checkout.facts[rel] = module_facts(found, text, rel, checkout.modules)
    elif kind == "notebook":  # a notebook is a script of the graph, mlflow in its text or not
        found, code, refusal = scan_notebook(data)
        if facts and found is not None and code is not None:
            checkout.facts[rel] = module_facts(found, code.source, rel, checkout.modules)
    if b"mlflow" not in data.lower():
        row.status, row.reason = FileStatus.NO_MLFLOW, "no 'mlflow' in the text: not parsed"
        return
    # notebooks are gated in notebook_findings (their %run and %env are not in the scanned text)
    if (kind == "python" and found is not None and text is not None
            and not may_use_mlflow(found, text, file.context, runs_notebook(text))):
        row.status, row.reason = FileStatus.NO_MLFLOW_USE, NO_USE_REASON
        return
    if refusal:
        row.status, row.reason = FileStatus.PROBLEM, refusal
        result.problems.append(ProblemRow(repo, rel, None, Stage.PARSE, refusal))
        return

    def compute() -> tuple[FileFindings, Bad]:
        if kind == "python":
            return python_findings(data, file.resolver, file.context, found)
        if kind == "notebook":
            return notebook_findings(data, file.resolver, file.context, code, found)
        return config_findings(rel, data), []

    try:
        findings, bad = file.parse(compute)
    except NotPython as err:
        row.status, row.reason = FileStatus.SKIPPED, str(err)
        return
    except NoMlflowUse:
        row.status, row.reason = FileStatus.NO_MLFLOW_USE, NO_USE_REASON
        return
    except SourceError as err:
        hint = python2_hint(data) if kind == "python" else ""
        row.status, row.reason = FileStatus.PROBLEM, err.reason + hint
        result.problems.append(ProblemRow(repo, rel, err.line, Stage.READ if isinstance(err, ReadError)
                                          else Stage.PARSE, err.reason + hint))
        return
    add_findings(result, row, findings, bad)


def add_findings(result: RepoResult, row: FileRow, findings: FileFindings, bad: Bad) -> None:
    """A file's findings into its rows: call sites, integrations, tracking URIs, and the parts left out."""
    repo, rel = row.repo, row.path
    result.problems.extend(ProblemRow(repo, rel, part.line, Stage.PARSE, part.reason) for part in bad)
    row.status = FileStatus.ANALYZED
    if bad:
        row.reason = read_in_part_reason(bad)
    result.call_sites.extend(CallSiteRow(repo, rel, site) for site in findings.call_sites)
    result.integrations.extend(IntegrationRow(repo, rel, integ) for integ in findings.integrations)
    source = None if row.kind == "config" else ("notebook" if row.kind == "notebook" else "code")
    result.uris.extend(TrackingUriRow(repo, rel, replace(uri, source=source) if source else uri)
                       for uri in findings.tracking_uris)
