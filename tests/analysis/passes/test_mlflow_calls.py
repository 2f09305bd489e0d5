"""The call-site pass: one parse and one walk for its finders, and the gate that spares LibCST most modules."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from analysis.releases.catalog import load_snapshot
from analysis.ftypes import FileContext
from analysis.reading.astscan import parse, scan
from analysis.reading.cst_walk import parse_accepted
from analysis.passes.mlflow_calls import Resolver, find_in_module, may_use_mlflow
from tests.analysis.passes.test_call_sites import FINDS
from tests.analysis.passes.test_integrations import FINDS as INTEGRATION_FINDS
from tests.analysis.passes.test_tracking_uris import FINDS as URI_FINDS

RESOLVER = Resolver.from_catalog(load_snapshot())


GATE_KEEPS = [
    pytest.param("from pytorch_lightning.loggers import MLFlowLogger\nMLFlowLogger()\n", id="integration-import"),
    pytest.param("import transformers\nargs = transformers.TrainingArguments(report_to=['mlflow'])\n", id="report-to"),
    pytest.param("import os\nos.environ['MLFLOW_TRACKING_URI'] = 'http://h'\n", id="environ"),
    pytest.param("def f():\n    import mlflow.sklearn\n    mlflow.sklearn.autolog()\n", id="function-level-import"),
]


@pytest.mark.parametrize("code", [p.values[0] for p in [*FINDS, *INTEGRATION_FINDS, *URI_FINDS, *GATE_KEEPS]])
def test_gate_keeps_every_module_with_findings(code: str) -> None:
    source = textwrap.dedent(code)
    findings = find_in_module(source, RESOLVER)
    assert findings.call_sites or findings.integrations or findings.tracking_uris
    assert may_use_mlflow(scan(parse(source)), source, FileContext())


GATE_SKIPS = [
    pytest.param("# logged with mlflow by the caller\nx = 1\n", id="comment"),
    pytest.param("deps = ['mlflow==2.9', 'numpy']\n", id="string"),
    pytest.param("from mlflow_helpers import log_metric\nlog_metric('a', 1)\n", id="look-alike-package"),
    pytest.param("from .mlflow import log_metric\nlog_metric('a', 1)\n", id="relative-module-named-mlflow"),
    pytest.param("import importlib\nmlflow = importlib.import_module('mlflow')\nmlflow.log_metric('a', 1)\n",
                 id="dynamic-import-not-followed"),
]


@pytest.mark.parametrize("code", GATE_SKIPS)
def test_gate_skips_modules_that_cannot_use_mlflow(code: str) -> None:
    assert not may_use_mlflow(scan(parse(code)), code, FileContext())
    findings = find_in_module(code, RESOLVER)  # what LibCST would have found: nothing
    assert not (findings.call_sites or findings.integrations or findings.tracking_uris)


def test_gate_keeps_modules_of_projects_reexporting_mlflow_and_run_notebooks() -> None:
    code = "from tools.tracking import log_metric\nlog_metric('a', 1)  # mlflow\n"
    found = scan(parse(code))
    assert not may_use_mlflow(found, code, FileContext())
    assert may_use_mlflow(found, code, FileContext(reexports=frozenset({"tools.tracking"})))
    assert may_use_mlflow(found, code, FileContext(), implicit_mlflow=True)


# Sources CPython accepts, with the constructs LibCST's node checks look at: whitespace, parentheses,
# string prefixes and concatenation, operators, decorators, f-strings, walrus, match, star expressions.
ACCEPTED = [
    "x = (a  +  b)\n",
    "def f(a, /, b=1, *args, c: int = 2, **kw) -> None:\n    return (yield)\n",
    "@dec\n@dec2(1)\nclass C(B, metaclass=M):\n    '''doc'''\n    x: int = 1\n",
    "s = u'a' 'b' f'{x!r:>{w}}'\nt = b'a' rb'\\x00'\n",
    "if (n := len(a)) > 10:\n    pass\nelif not a:\n    ...\nelse:\n    del a[0], b\n",
    "match p:\n    case [1, *rest] | {'k': v} if v:\n        pass\n    case Point(x=0):\n        pass\n",
    "async def g():\n    async with a as b, c:\n        await b\n    async for i in c:\n        pass\n",
    "x = [i for i in range(3) if i] ; y = {k: v for k, v in d.items()}\n",
    "lambda: (yield)\nprint(*a, **k, sep='')\nx = a if b else c\nassert x, 'm'\n",
    "try:\n    pass\nexcept* ValueError as e:\n    raise E from e\nfinally:\n    pass\n",
    "global g\nx = not a and b or c; x @= y; x **= -~z\n",
    "import a.b as c\nfrom ..m import (x as y, z)\nfrom . import *\n",
    "with (open(a) as f, open(b) as g):\n    pass\n",
    "# comment\n\n\nx = 1  # trailing\r\ny = 2 + \\\n    3\n",
]


@pytest.mark.parametrize("source", ACCEPTED)
def test_parse_accepted_gives_the_tree_libcst_checks_and_round_trips(source: str) -> None:
    ast.parse(source)  # CPython accepts it: the premise of parse_accepted
    checked = cst.parse_module(source)
    unchecked = parse_accepted(source)
    assert unchecked.deep_equals(checked) and unchecked.code == source


def test_parse_accepted_turns_the_node_check_back_on_even_when_the_parse_fails() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_accepted("def (:\n")
    with pytest.raises(cst.CSTValidationError):  # the check is on again for nodes built by hand
        cst.Name("not a name")
    # a source CPython rejects but LibCST parses: its check refuses it, so find_in_module keeps it for such sources
    with pytest.raises(SyntaxError):
        ast.parse("x = u'a' b'b'\n")
    with pytest.raises(cst.CSTValidationError):
        cst.parse_module("x = u'a' b'b'\n")


def test_a_parse_in_another_thread_keeps_libcsts_check_while_one_runs_without_it() -> None:
    import threading

    from analysis.reading.cst_walk import parse_checked
    # one unchecked parse of this module takes a fraction of a second; without the lock, thousands of
    # checked parses slip through unchecked meanwhile (this test fails without it), so one is enough
    big = "".join(f"def f{i}(a, b=1):\n    return [a + b for _ in range({i})]\n" for i in range(1000))
    done = threading.Event()
    unchecked_slipped: list[int] = []
    attempts: list[int] = []

    def unchecked_parses() -> None:
        parse_accepted(big)
        done.set()

    def checked_parses() -> None:
        while not done.is_set():
            attempts.append(1)
            try:
                parse_checked("x = u'a' b'b'\n")  # CPython rejects it; only LibCST's check does
                unchecked_slipped.append(1)
            except cst.CSTValidationError:
                pass

    threads = [threading.Thread(target=unchecked_parses), threading.Thread(target=checked_parses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unchecked_slipped == [] and attempts  # the checked thread did race the unchecked parse
