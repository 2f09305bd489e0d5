"""The call-site pass: one parse and one walk for its finders, and the gate that spares LibCST most modules."""

from __future__ import annotations

import textwrap

import pytest

from analysis.catalog import load_snapshot
from analysis.ftypes import FileContext
from analysis.astscan import parse, scan
from analysis.mlflow_calls import Resolver, find_in_module, may_use_mlflow
from tests.analysis.test_call_sites import FINDS
from tests.analysis.test_integrations import FINDS as INTEGRATION_FINDS
from tests.analysis.test_tracking_uris import FINDS as URI_FINDS

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
