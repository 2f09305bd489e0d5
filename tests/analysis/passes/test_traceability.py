"""Traceability graphs: entry point -> script -> imported helpers -> logged keys, and the metrics over them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings
from analysis.passes.module_graph import dotted_modules, module_facts
from analysis.passes.traceability import build_graph, metrics, reachable
from analysis.reading.astscan import parse, scan
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo

REPO = {
    "MLproject": "name: p\nconda_env: conda.yaml\nentry_points:\n  main:\n    parameters:\n      alpha: float\n"
                 "      beta: {type: int, default: 1}\n    command: python train.py {alpha}\n",
    "conda.yaml": "dependencies: [python=3.10, {pip: [mlflow==2.9.2]}]\n",
    "train.py": "import mlflow\nfrom pkg.helpers import log_all\nwith mlflow.start_run():\n    log_all()\n"
                "    mlflow.log_metric('acc', 1.0)\n    mlflow.sklearn.log_model(m, 'model', registered_model_name='p')\n",
    "pkg/__init__.py": "",
    "pkg/helpers.py": "import mlflow\nfrom . import deep\ndef log_all():\n    mlflow.log_param('alpha', 1)\n    deep.go()\n"
                      "def unused():\n    mlflow.log_metric('never', 1)\n    fn = log_all\n    fn()\n",
    "pkg/deep.py": "import mlflow\ndef go():\n    mlflow.log_metric('loss', 2.0)\n",
    "orphan.py": "import mlflow\nmlflow.log_metric('nobody', 1)\n",
    "tool.py": "import importlib\nimport mlflow\nif __name__ == '__main__':\n    importlib.import_module('x')\n"
               "    mlflow.log_param('t', 1)\n",
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("trace")
    make_repo(tmp / "src" / "r", REPO)
    spec = CorpusSpec(name="t", path=tmp / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp / "corpus", from_local=tmp / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp / "corpus", out_dir=tmp / "out", draw_report=False))
    return tmp / "out"


def test_graph_links_entry_point_to_keys_logged_in_helpers(out: Path) -> None:
    g = nx.read_graphml(out / "graphs" / "r.graphml")
    commit = {r["repo"]: r["commit"] for r in csv.DictReader((out.parent / "corpus" / "manifest.csv").open())}["r"]
    assert g.graph["repo"] == "r" and g.graph["commit"] == commit and g.graph["tool"].startswith("mlflow-census ")
    ep = "entry_point:MLproject:main"
    assert g.edges["mlproject:MLproject", ep]["kind"] == "declares"
    assert g.edges[ep, "module:train.py"]["kind"] == "runs"
    assert g.edges[ep, "parameter:MLproject:main:alpha"]["kind"] == "declares"
    assert g.edges["module:train.py", "module:pkg/helpers.py"]["kind"] == "imports"
    assert g.edges["module:pkg/helpers.py", "module:pkg/deep.py"]["kind"] == "imports"  # relative import
    assert g.edges["function:pkg/helpers.py:log_all", "param_key:alpha"]["kind"] == "logs"
    assert g.edges["function:pkg/deep.py:go", "metric_key:loss"]["kind"] == "logs"
    assert g.edges["module:train.py", "function:pkg/helpers.py:log_all"]["kind"] == "calls"
    assert g.edges["function:pkg/helpers.py:log_all", "function:pkg/deep.py:go"]["kind"] == "calls"
    assert g.edges["function:pkg/helpers.py:unused", "unresolved:call through variable fn"]["kind"] == "unresolved"
    reached = reachable(g, ep)
    assert {"module:train.py", "function:pkg/helpers.py:log_all", "function:pkg/deep.py:go"} <= reached
    assert "function:pkg/helpers.py:unused" not in reached  # in an imported module, never called
    assert g.edges["mlproject:MLproject", "env:conda.yaml"]["kind"] == "uses_env"
    assert g.edges["env:conda.yaml", "dependency:mlflow"]["pin_class"] == "exact"
    assert g.edges["module:tool.py", "unresolved:dynamic-import"]["kind"] == "unresolved"
    assert nx.has_path(g, ep, "metric_key:loss")
    model = "model:train.py:6"
    assert g.nodes[model]["flavor"] == "sklearn"
    assert g.edges[model, "registered_model:p"]["kind"] == "registers"


def test_traceability_metrics(out: Path) -> None:
    (row,) = list(csv.DictReader((out / "traceability.csv").open()))
    assert (row["n_entry_points"], row["n_declared_params"], row["declared_params_logged"]) == ("1", "2", "1")
    assert row["declared_params_logged_share"] == "0.5" and row["params_logged_by_mlflow_run"] == "true"
    # acc (train.py), loss (deep.go, called through log_all) reachable; nobody (orphan.py) and never
    # (helpers.unused: its module is imported, the function is never called) not
    assert (row["n_metric_sites"], row["metric_sites_reachable"]) == ("4", "2")
    assert (row["n_model_sites"], row["models_in_run"]) == ("1", "1")
    assert (row["env_linked"], row["code_version_linked"], row["data_linked"]) == ("true", "true", "false")
    # helpers.py (2), deep.py, orphan.py, tool.py log outside any start_run of their own file
    assert row["implicit_run_sites"] == "5"
    assert row["orphan_logging_sites"] == "2"  # orphan.py and helpers.unused: reached by no entry point or script


def test_usage_graph_written_with_its_provenance(out: Path) -> None:
    g = nx.read_graphml(out / "usage_graph.graphml")
    provenance = json.loads((out / "usage_graph.graphml.provenance.json").read_text())
    manifest = {r["repo"]: r["commit"] for r in csv.DictReader((out.parent / "corpus" / "manifest.csv").open())}
    assert provenance["commits"] == manifest and provenance["tool_version"]
    assert g.graph["written_at"] == provenance["written_at"]
    assert g.has_edge("repo:r", "api:mlflow.log_metric")
    assert list(csv.DictReader((out / "api_co_usage.csv").open())) == []  # one repository: no pair is shared


def test_scripts_import_their_neighbours() -> None:
    g = _graph({"a/train.py": "def run():\n    pass\n", "b/train.py": "def run():\n    pass\n",
                "b/test.py": "import train\ntrain.run()\n"})
    assert g.has_edge("module:b/test.py", "module:b/train.py")
    assert g.has_edge("module:b/test.py", "function:b/train.py:run")
    assert not g.has_edge("module:b/test.py", "function:a/train.py:run")


def _graph(sources: dict[str, str]) -> nx.DiGraph:
    modules = dotted_modules(sources)
    facts = {rel: module_facts(scan(parse(text)), text, rel, modules) for rel, text in sources.items()}
    empty: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "mlprojects", "entry_points", "parameters", "dependencies", "tracking_uris", "call_sites")}
    return build_graph("r", list(sources), facts, empty)


LIB = ("class Trainer:\n    def __init__(self):\n        self.ready = True\n    def fit(self):\n        self.step()\n"
       "    def step(self):\n        pass\n    def unused(self):\n        pass\n"
       "class Other:\n    def fit(self):\n        pass\n"
       "def step():\n    pass\n")


def test_calls_on_instances_of_known_classes_reach_their_methods() -> None:
    g = _graph({"main.py": "from lib import Trainer\nt = Trainer()\nt.fit()\n", "lib.py": LIB})
    assert g.edges["module:main.py", "function:lib.py:Trainer.__init__"]["kind"] == "calls"  # the constructor
    assert "by_name" not in g.edges["module:main.py", "function:lib.py:Trainer.fit"]
    assert not g.has_edge("module:main.py", "function:lib.py:Other.fit")  # t is a Trainer
    # self.step() is the class's own method, not the module-level function of the same name
    assert g.has_edge("function:lib.py:Trainer.fit", "function:lib.py:Trainer.step")
    assert not g.has_edge("function:lib.py:Trainer.fit", "function:lib.py:step")
    reached = reachable(g, "module:main.py")
    assert reached >= {"function:lib.py:Trainer.fit", "function:lib.py:Trainer.step"}
    assert "function:lib.py:Trainer.unused" not in reached and "function:lib.py:Other.fit" not in reached


def test_calls_on_objects_of_unknown_class_link_by_name_to_methods_only() -> None:
    g = _graph({"main.py": "import lib\ndef run(model):\n    model.fit()\n    model.step()\n", "lib.py": LIB})
    assert g.edges["function:main.py:run", "function:lib.py:Trainer.fit"]["by_name"] is True
    assert g.edges["function:main.py:run", "function:lib.py:Other.fit"]["by_name"] is True
    assert g.has_edge("function:main.py:run", "function:lib.py:Trainer.step")
    assert not g.has_edge("function:main.py:run", "function:lib.py:step")  # a function is not a method


def test_dotted_module_calls_and_inherited_methods() -> None:
    g = _graph({"main.py": "import pkg.lib\npkg.lib.step()\nclass Sub(pkg.lib.Trainer):\n    def go(self):\n"
                           "        self.fit()\n",
                "pkg/__init__.py": "", "pkg/lib.py": LIB})
    assert g.has_edge("module:main.py", "function:pkg/lib.py:step")  # `import a.b` then `a.b.f()`
    # Sub.fit is inherited from Trainer, found through the base class
    assert "by_name" not in g.edges["function:main.py:Sub.go", "function:pkg/lib.py:Trainer.fit"]
    assert not g.has_edge("function:main.py:Sub.go", "function:pkg/lib.py:Other.fit")


def test_super_calls_reach_the_base_class_only() -> None:
    g = _graph({"lib.py": LIB, "main.py": (
        "from lib import Trainer\nimport torch\n"
        "class Sub(Trainer):\n    def __init__(self):\n        super().__init__()\n"
        "    def fit(self):\n        super().fit()\n        self.hook()\n"
        "class Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "class Plugin:\n    def hook(self):\n        pass\n"
        "s = Sub()\n")})
    assert g.has_edge("function:main.py:Sub.__init__", "function:lib.py:Trainer.__init__")
    assert g.has_edge("function:main.py:Sub.fit", "function:lib.py:Trainer.fit")
    assert not g.has_edge("function:main.py:Sub.fit", "function:lib.py:Other.fit")
    assert not g.has_edge("function:main.py:Sub.fit", "function:main.py:Sub.fit")
    # an outside base (torch): its __init__ is not the repository's
    assert not any(v.endswith(".__init__") for v in g.successors("function:main.py:Net.__init__"))
    # a method the class and its known bases do not define: by name
    assert g.edges["function:main.py:Sub.fit", "function:main.py:Plugin.hook"]["by_name"] is True
    assert g.has_edge("module:main.py", "function:main.py:Sub.__init__")  # constructing Sub

def test_functions_passed_as_values_and_registered_with_frameworks_are_reached() -> None:
    g = _graph({"cli.py": (
        "import click\nimport fire\nfrom threading import Thread\nfrom lib import step\n"
        "@click.group()\ndef cli():\n    pass\n"
        "@cli.command()\ndef train():\n    pass\n"
        "@staticmethod\ndef helper():\n    pass\n"
        "def worker():\n    pass\n"
        "def main():\n    Thread(target=worker).start()\n    list(map(step, [1]))\n"
        "if __name__ == '__main__':\n    fire.Fire(main)\n"), "lib.py": LIB})
    assert g.edges["module:cli.py", "function:cli.py:main"] == {"kind": "calls", "via": "argument"}
    assert g.edges["function:cli.py:main", "function:cli.py:worker"]["via"] == "argument"
    assert g.edges["function:cli.py:main", "function:lib.py:step"]["via"] == "argument"
    assert g.nodes["function:cli.py:train"]["registered"] is True
    assert "registered" not in g.nodes["function:cli.py:helper"]  # @staticmethod registers nothing
    reached = reachable(g, "module:cli.py")
    assert {"function:cli.py:train", "function:cli.py:cli", "function:cli.py:worker", "function:lib.py:step"} <= reached
    assert "function:cli.py:helper" not in reached


def test_a_direct_call_is_not_labelled_as_inferred() -> None:
    g = _graph({"m.py": "def f():\n    pass\ndef g():\n    run(f)\n    f()\n"})
    assert g.edges["function:m.py:g", "function:m.py:f"] == {"kind": "calls"}


def test_parameters_shadow_module_names_and_properties_are_values() -> None:
    g = _graph({"conftest.py": "def ctx():\n    pass\ndef helper():\n    pass\n",
                "test_x.py": ("from conftest import ctx, helper\n"
                              "def test_one(ctx, helper):\n    use(ctx)\n    helper()\n"
                              "class K:\n    @property\n    def dates(self):\n        return 1\n"
                              "    def cb(self):\n        pass\n"
                              "    def go(self):\n        run(self.dates, self.cb)\n")})
    # `ctx` and `helper` inside test_one are pytest fixtures' values, not the module functions
    assert not g.has_edge("function:test_x.py:test_one", "function:conftest.py:ctx")
    assert not g.has_edge("function:test_x.py:test_one", "function:conftest.py:helper")
    assert not g.has_edge("function:test_x.py:K.go", "function:test_x.py:K.dates")  # a property: its value
    assert g.edges["function:test_x.py:K.go", "function:test_x.py:K.cb"]["via"] == "argument"


def test_methods_called_on_the_class_itself() -> None:
    g = _graph({"lib.py": LIB, "main.py": (
        "from lib import Trainer\nclass Sub(Trainer):\n    def __init__(self):\n        Trainer.__init__(self)\n"
        "def make():\n    return Trainer.fit(None)\n")})
    assert g.has_edge("function:main.py:Sub.__init__", "function:lib.py:Trainer.__init__")
    assert "by_name" not in g.edges["function:main.py:make", "function:lib.py:Trainer.fit"]
    assert not g.has_edge("function:main.py:make", "function:lib.py:Other.fit")


def test_notebooks_and_notebook_exports_run_as_scripts() -> None:
    sources = {"export.py": "# Databricks notebook source\nimport mlflow\nmlflow.log_metric('a', 1)\n",
               "cells.py": "# %%\nimport mlflow\nmlflow.log_param('b', 1)\n",
               "lib.py": "import mlflow\ndef unused():\n    mlflow.log_param('c', 1)\n"}
    modules = dotted_modules(sources)
    facts = {rel: module_facts(scan(parse(text)), text, rel, modules) for rel, text in sources.items()}
    site = {"cell": "", "col": "0", "enclosing_function": "", "in_loop": False, "in_run_context": False,
            "key_kind": "literal", "has_step": False, "n_args": "2", "note": "", "style": "fluent"}
    calls = [{**site, "path": "nb.ipynb", "line": "2", "api": "mlflow.log_metric", "category": "metric", "key": "acc"},
             {**site, "path": "export.py", "line": "3", "api": "mlflow.log_metric", "category": "metric", "key": "a"},
             {**site, "path": "cells.py", "line": "3", "api": "mlflow.log_param", "category": "param", "key": "b"},
             {**site, "path": "lib.py", "line": "3", "api": "mlflow.log_param", "category": "param", "key": "c",
              "enclosing_function": "unused"}]
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "mlprojects", "entry_points", "parameters", "dependencies", "tracking_uris")}
    rows["call_sites"] = calls
    g = build_graph("r", list(sources), facts, rows)
    assert g.nodes["module:nb.ipynb"]["kind"] == "notebook" and g.nodes["module:export.py"]["main"] is True
    assert g.nodes["module:cells.py"]["main"] is True and g.nodes["module:lib.py"]["main"] is False
    assert metrics(g, "r", rows).orphan_logging_sites == 1  # only lib.unused, which nothing runs


def test_a_notebook_runs_the_repository_functions_it_calls(tmp_path: Path) -> None:
    from tests.analysis.engine.test_driver import notebook

    make_repo(tmp_path / "src" / "r", {
        "explore.ipynb": notebook("%matplotlib inline\nfrom src.train import run", "run()"),  # no 'mlflow' in it
        "src/__init__.py": "", "src/train.py": "import mlflow\ndef run():\n    mlflow.log_metric('loss', 1)\n",
        "src/unused.py": "import mlflow\ndef never():\n    mlflow.log_metric('x', 1)\n"})
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out", draw_report=False))
    g = nx.read_graphml(tmp_path / "out" / "graphs" / "r.graphml")
    assert g.nodes["module:explore.ipynb"]["kind"] == "notebook" and g.nodes["module:explore.ipynb"]["main"] == "True"
    assert g.edges["module:explore.ipynb", "function:src/train.py:run"]["kind"] == "calls"
    row = next(csv.DictReader((tmp_path / "out" / "traceability.csv").open()))
    assert row["orphan_logging_sites"] == "1"  # never(); run() is reached from the notebook


CALL_GRAPH = {
    "train.py": "import mlflow\nfrom lib import Model, fit, helper\n"
                "def run(model, step):\n"
                "    fit(model)\n"  # calls lib.fit
                "    model.save()\n"  # a parameter's method: every method named save, by name
                "    step()\n"  # calls what the caller passed: no edge
                "    go = helper\n    go()\n"  # through a variable: unresolved
                "if __name__ == '__main__':\n"
                "    list(map(helper, []))\n"  # helper passed as a value: an inferred call
                "    run(Model(), 1)\n",  # calls run; Model has no __init__ to run
    "lib.py": "import mlflow\nclass Model:\n    def save(self):\n        mlflow.log_metric('m', 1)\n"
              "def fit(model):\n    pass\ndef helper(x):\n    return x\n",
}


def test_the_pass_alone_counts_the_call_graph_edges_it_writes(tmp_path: Path) -> None:
    from analysis.passes import code_findings, traceability
    from analysis.repo_state import RepoResult
    from tests.analysis.passes.checkouts import checkout_of, source_file

    checkout = checkout_of(tmp_path / "r", CALL_GRAPH, graphs_dir=tmp_path / "graphs")
    result = RepoResult("o/r")
    for rel in checkout.paths:
        code_findings.file_pass(source_file(checkout, result, rel), checkout, result)
    traceability.repo_pass(checkout, result)
    g = nx.read_graphml(tmp_path / "graphs" / "o__r.graphml")
    call_graph = {(u, v, d["kind"], d.get("by_name", ""), d.get("via", "")) for u, v, d in g.edges(data=True)
                  if d["kind"] in ("calls", "unresolved")}
    assert call_graph == {
        ("module:train.py", "function:train.py:run", "calls", "", ""),
        ("module:train.py", "function:lib.py:helper", "calls", "", "argument"),
        ("function:train.py:run", "function:lib.py:fit", "calls", "", ""),
        ("function:train.py:run", "function:lib.py:Model.save", "calls", "True", ""),
        ("function:train.py:run", "unresolved:call through variable go", "unresolved", "", ""),
    }
    (row,) = result.traceability
    assert (row.n_call_edges, row.n_by_name_edges, row.n_inferred_edges, row.n_unresolved_edges) == (4, 1, 1, 1)
    assert (row.n_nodes, row.n_edges) == (g.number_of_nodes(), g.number_of_edges())


def test_the_call_graph_counts_in_traceability_csv(out: Path) -> None:
    (row,) = list(csv.DictReader((out / "traceability.csv").open()))
    # calls: train.py -> log_all, log_all -> deep.go, train.py -> its start_run site; unresolved: unused()'s
    # call through fn, tool.py's import_module
    assert (row["n_call_edges"], row["n_by_name_edges"], row["n_inferred_edges"], row["n_unresolved_edges"]) == (
        "3", "0", "0", "2")
    from collections import Counter

    from analysis.report.methodology import graph_edge_counts

    assert graph_edge_counts(out / "traceability.csv") == {
        "r": Counter({"calls": 3, "by-name": 0, "inferred": 0, "unresolved": 2})}
