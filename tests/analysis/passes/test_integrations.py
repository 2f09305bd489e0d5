"""Integrations: MLflow loggers and callbacks of other libraries, and ``report_to="mlflow"``."""

from __future__ import annotations

import textwrap

import pytest

from analysis.passes.integrations import Integrations
from analysis.passes.mlflow_calls import find_in_module
from tests.analysis.passes.finders import RESOLVER, run_alone


def integrations(code: str) -> list[tuple[int, str, str, str]]:
    """What the finder finds, run alone in the walk."""
    return [(i.line, i.framework, i.target, i.evidence) for i in run_alone(Integrations, code)]


FINDS = [
    pytest.param("""\
        from pytorch_lightning.loggers import MLFlowLogger
        logger = MLFlowLogger(experiment_name="e")
        """, [(2, "lightning", "pytorch_lightning.loggers.MLFlowLogger", "call")], id="lightning-logger"),
    pytest.param("""\
        import lightning as L
        trainer = L.Trainer(logger=L.pytorch.loggers.MLFlowLogger())
        """, [(2, "lightning", "lightning.pytorch.loggers.MLFlowLogger", "call")], id="lightning-alias-attribute"),
    pytest.param("""\
        from transformers.integrations import MLflowCallback
        trainer.add_callback(MLflowCallback())
        """, [(2, "huggingface", "transformers.integrations.MLflowCallback", "call")], id="huggingface-callback"),
    pytest.param("""\
        from optuna.integration.mlflow import MLflowCallback
        def tune():
            study.optimize(objective, callbacks=[MLflowCallback(metric_name="acc")])
        """, [(3, "optuna", "optuna.integration.mlflow.MLflowCallback", "call")], id="optuna-callback-in-function"),
    pytest.param("""\
        from ray.air.integrations.mlflow import setup_mlflow, mlflow_mixin
        @mlflow_mixin
        def train(config):
            setup_mlflow(config)
        """, [(2, "ray", "ray.air.integrations.mlflow.mlflow_mixin", "call"),
              (4, "ray", "ray.air.integrations.mlflow.setup_mlflow", "call")], id="ray-decorator-and-setup"),
    pytest.param("""\
        from transformers import TrainingArguments
        args = TrainingArguments(output_dir="out", report_to="mlflow")
        """, [(2, "huggingface", "TrainingArguments", 'report_to="mlflow"')], id="report-to"),
    pytest.param("""\
        import transformers
        args = transformers.TrainingArguments(report_to=["wandb", "MLflow"])
        """, [(2, "huggingface", "transformers.TrainingArguments", 'report_to="mlflow"')], id="report-to-list"),
    pytest.param("""\
        from pytorch_lightning.loggers import MLFlowLogger
        args = make_args(report_to="mlflow")
        logger = MLFlowLogger()
        """, [(2, "huggingface", "make_args", 'report_to="mlflow"'),
              (3, "lightning", "pytorch_lightning.loggers.MLFlowLogger", "call")], id="in-source-order"),
]


@pytest.mark.parametrize(("code", "expected"), FINDS)
def test_finds(code: str, expected: list[tuple[int, str, str, str]]) -> None:
    assert integrations(code) == expected


IGNORES = [
    pytest.param("""\
        class MLFlowLogger:
            pass
        MLFlowLogger()
        """, id="local-class"),
    pytest.param("""\
        from mylib.loggers import MLFlowLogger
        MLFlowLogger()
        """, id="not-an-integration-package"),
    pytest.param("""\
        from pytorch_lightning.loggers import TensorBoardLogger
        TensorBoardLogger()
        """, id="another-logger"),
    pytest.param("""\
        from pytorch_lightning.loggers import MLFlowLogger
        LOGGERS = {"mlflow": MLFlowLogger}
        """, id="named-not-called"),
    pytest.param("""\
        from transformers import TrainingArguments
        TrainingArguments(report_to="wandb")
        TrainingArguments(report_to=None)
        TrainingArguments(report_to=backend)
        """, id="report-to-elsewhere"),
    pytest.param("""\
        # MLFlowLogger(), report_to="mlflow"
        s = "MLFlowLogger()"
        """, id="comments-and-strings"),
]


@pytest.mark.parametrize("code", IGNORES)
def test_ignores(code: str) -> None:
    assert integrations(code) == []


@pytest.mark.parametrize("code", [p.values[0] for p in FINDS])
def test_alone_as_in_the_pass(code: str) -> None:
    found = find_in_module(textwrap.dedent(code), RESOLVER).integrations
    assert [(i.line, i.framework, i.target, i.evidence) for i in found] == integrations(code)
