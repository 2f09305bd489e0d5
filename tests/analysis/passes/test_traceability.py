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
from analysis.reading.astscan import parse, scan
from analysis.passes.traceability import (
    build_graph, co_usage, dotted_modules, metrics, module_facts, module_imports, reachable, resolve_import,
    usage_graph,
)
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


def test_usage_graph_and_co_usage(out: Path) -> None:
    g = nx.read_graphml(out / "usage_graph.graphml")
    provenance = json.loads((out / "usage_graph.graphml.provenance.json").read_text())
    manifest = {r["repo"]: r["commit"] for r in csv.DictReader((out.parent / "corpus" / "manifest.csv").open())}
    assert provenance["commits"] == manifest and provenance["tool_version"]
    assert g.graph["written_at"] == provenance["written_at"]
    assert g.has_edge("repo:r", "api:mlflow.log_metric")
    assert list(csv.DictReader((out / "api_co_usage.csv").open())) == []  # one repository: no pair is shared
    calls = [{"repo": "a", "api": "x", "style": "fluent"}, {"repo": "a", "api": "y", "style": "fluent"},
             {"repo": "b", "api": "x", "style": "fluent"}, {"repo": "b", "api": "y", "style": "fluent"},
             {"repo": "b", "api": "z", "style": "unresolved"}, {"repo": "c", "api": "w", "style": "fluent"},
             {"repo": "c", "api": "x", "style": "fluent"}, {"repo": "b", "api": "w", "style": "fluent"},
             {"repo": "a", "api": "v", "style": "fluent"}]
    g = usage_graph(calls, {"a", "b", "c"})
    assert co_usage(g) == [{"api_a": "w", "api_b": "x", "n_repos": 2}, {"api_a": "x", "api_b": "y", "n_repos": 2}]
    pairs = {(r["api_a"], r["api_b"]): r["n_repos"] for r in co_usage(g, min_repos=1)}
    assert pairs == {("x", "y"): 2, ("w", "x"): 2, ("v", "x"): 1, ("v", "y"): 1, ("w", "y"): 1}
    # the same as networkx's projection of the bipartite graph onto APIs
    apis = [n for n, d in g.nodes(data=True) if d["bipartite"] == 1]
    projected = nx.bipartite.weighted_projected_graph(g, apis)
    assert {tuple(sorted((a[4:], b[4:]))): d["weight"] for a, b, d in projected.edges(data=True)} == pairs


def test_import_resolution() -> None:
    names = module_imports(scan(parse("from . import deep\nfrom ..up import thing\nimport os\n")), "pkg/sub/m.py")
    assert {"pkg.sub.deep", "pkg.up", "pkg.up.thing", "os"} <= names
    modules = dotted_modules(["src/pkg/__init__.py", "src/pkg/m.py", "train.py"])
    assert resolve_import("pkg.m", modules) == "src/pkg/m.py"  # src layout: by suffix
    assert resolve_import("os", modules) is None
    scripts = dotted_modules(["a/train.py", "b/train.py", "b/test.py"])
    assert resolve_import("train", scripts, ["b"]) == "b/train.py"  # the script's own directory first
    assert resolve_import("train", scripts) == "a/train.py"  # else the first by suffix


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

def test_graphml_round_trips_any_text(tmp_path: Path) -> None:
    from analysis.passes.traceability import write_graphml

    g = nx.DiGraph(repo="o/r")
    g.add_node('metric_key:a<b>&"c"\x01', kind="metric_key", api="mlflow.log_metric")
    g.add_node("module:m.py", kind="module", main=True)
    g.add_edge("module:m.py", 'metric_key:a<b>&"c"\x01', kind="logs")
    write_graphml(g, tmp_path / "g.graphml")
    back = nx.read_graphml(tmp_path / "g.graphml")
    assert back.is_directed() and back.graph["repo"] == "o/r"
    assert back.nodes['metric_key:a<b>&"c"\ufffd'] == {"kind": "metric_key", "api": "mlflow.log_metric"}
    assert back.nodes["module:m.py"]["main"] == "True"
    assert back.edges["module:m.py", 'metric_key:a<b>&"c"\ufffd'] == {"kind": "logs"}
    usage = nx.Graph()
    usage.add_edge("repo:a", "api:mlflow.log_param", weight=3)
    write_graphml(usage, tmp_path / "u.graphml")
    back = nx.read_graphml(tmp_path / "u.graphml")
    assert not back.is_directed() and back.edges["api:mlflow.log_param", "repo:a"] == {"weight": "3"}
    assert not (tmp_path / "u.graphml.tmp").exists()


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


def test_graphml_round_trips_names_with_carriage_returns_newlines_and_tabs(tmp_path: Path) -> None:
    import networkx as nx

    from analysis.passes.traceability import write_graphml
    g = nx.DiGraph()
    g.add_node("script:a\rb.py", kind="script", command="python a\rb.py\n  --x\t1 & <y>")
    g.add_edge("script:a\rb.py", "param:\n", via="x\r\ny")
    write_graphml(g, tmp_path / "g.graphml")
    back = nx.read_graphml(tmp_path / "g.graphml")
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert list(back.edges(data=True)) == list(g.edges(data=True))


GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
ODD = "a&b <c> \"d\" 'e' \r\n\t x\r \x01\ufffe é 😀 &amp; ]]> &#99;"


def _edge_data_by_elementtree(path: Path) -> list[dict[str | None, str]]:
    """Each edge's data as the report read it before graphml_edge_data: the whole tree, by ElementTree."""
    from xml.etree import ElementTree

    root = ElementTree.parse(path).getroot()
    keys = {k.get("id"): k.get("attr.name") for k in root.iter(f"{GRAPHML_NS}key") if k.get("for") == "edge"}
    return [{keys.get(d.get("key")): (d.text or "") for d in edge.iter(f"{GRAPHML_NS}data")}
            for edge in root.iter(f"{GRAPHML_NS}edge")]


def _no_tree(path: Path) -> list[dict[str | None, str]]:
    raise AssertionError(f"{path} read by ElementTree")


def test_graphml_edge_data_reads_what_write_graphml_writes_as_elementtree_does(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from analysis.passes import traceability
    from analysis.report.methodology import graph_edge_counts
    from analysis.passes.traceability import graphml_edge_data, write_graphml

    g = nx.DiGraph(repo="o/r", note="two\nlines")
    g.add_node(f"function:{ODD}", kind="function", path=ODD)
    g.add_node("module:m.py", kind="module", main=True)
    g.add_node("dependency:x", kind=ODD)
    g.add_edge("module:m.py", f"function:{ODD}", kind="calls", by_name=True, via=ODD)
    g.add_edge(f"function:{ODD}", "module:m.py", kind="calls", via="\r")
    g.add_edge(f"function:{ODD}", f"function:{ODD}", kind="calls", by_name=False)
    g.add_edge("module:m.py", "module:m.py", kind="unresolved")
    g.add_edge("module:m.py", "dependency:x", kind="pins", pin_class=ODD)
    path = tmp_path / "g.graphml"
    write_graphml(g, path)
    expected = _edge_data_by_elementtree(path)
    written = ODD.replace("\x01", "\ufffd").replace("\ufffe", "\ufffd")  # characters XML cannot hold
    assert expected == [{"kind": "calls", "via": "\r"}, {"kind": "calls", "by_name": "False"},  # the first node's
                        {"kind": "calls", "by_name": "True", "via": written}, {"kind": "unresolved"},
                        {"kind": "pins", "pin_class": written}]

    monkeypatch.setattr(traceability, "_graphml_edge_data_tree", _no_tree)  # read without building the tree
    assert graphml_edge_data(path) == expected
    assert graph_edge_counts(path) == Counter({"calls": 3, "by-name": 1, "inferred": 2, "unresolved": 1})


WRITTEN = ("<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
           "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml."
           "graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
           '  <key id="d0" for="edge" attr.name="kind" attr.type="string" />\n'
           '  <key id="d1" for="edge" attr.name="by_name" attr.type="string" />\n'
           '  <graph edgedefault="directed">\n'
           '    <node id="a"></node>\n'
           '    <edge source="a" target="a"><data key="d0">calls</data><data key="d1">True</data></edge>\n'
           '    <edge source="a" target="a"><data key="d0">unresolved</data></edge>\n'
           "  </graph>\n</graphml>\n")


@pytest.mark.parametrize(("text", "written"), [  # these match write_graphml's lines: read without the tree
    pytest.param(WRITTEN, True, id="as-written"),
    pytest.param(WRITTEN.replace(">calls<", ">&#99;al&#x6C;s<").replace(">True<", ">TRU&#69;<"), True, id="references"),
    pytest.param(WRITTEN.replace('"d1">True', '"d7">True'), True, id="undeclared-key"),
    pytest.param(WRITTEN.replace('"d1" for="edge" attr.name="by_name"', '"d1" for="edge" attr.name="kind"'), True,
                 id="two-keys-one-name"),
    pytest.param(WRITTEN.replace('</node>\n', '</node>\n    <edge source="a" target="a"><data key="d0">calls</data>'
                                 '<data key="d0">unresolved</data></edge>\n'), True, id="repeated-key"),
    # these do not match write_graphml's lines: read by ElementTree
    pytest.param(WRITTEN.replace("<node", "<!-- <edge source='a' target='a'> --><node"), False, id="comment"),
    pytest.param(WRITTEN.replace(">calls<", "><![CDATA[calls]]><"), False, id="cdata"),
    pytest.param(WRITTEN.replace("\n", "\r\n").replace(">True<", ">True\r<"), False, id="crlf"),
    pytest.param(WRITTEN.replace('<data key="d0">unresolved</data>', '<data key="d0">unresolved<x/>calls</data>'), False,
                 id="child-element"),
    pytest.param(WRITTEN.replace(' xmlns:xsi', '\n  xmlns:xsi'), False, id="line-break-in-tag"),
])
def test_graphml_edge_data_reads_edited_graphml_as_elementtree_does(tmp_path: Path, text: str, written: bool,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.passes import traceability
    from analysis.report.methodology import graph_edge_counts
    from analysis.passes.traceability import graphml_edge_data

    path = tmp_path / "g.graphml"
    path.write_bytes(text.encode())
    expected = _edge_data_by_elementtree(path)
    if written:
        monkeypatch.setattr(traceability, "_graphml_edge_data_tree", _no_tree)
    assert graphml_edge_data(path) == expected
    counts = graph_edge_counts(path)
    assert counts["calls"] == sum(d.get("kind") == "calls" for d in expected)
    assert counts["unresolved"] == sum(d.get("kind") == "unresolved" for d in expected)


def test_graphml_edge_data_of_networkx_writer_and_of_a_broken_file(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    from analysis.passes.traceability import graphml_edge_data

    g = nx.DiGraph()
    g.add_edge("a", "b", kind="calls", by_name=True, via="x")
    nx.write_graphml(g, tmp_path / "nx.graphml")
    assert graphml_edge_data(tmp_path / "nx.graphml") == [{"kind": "calls", "by_name": "True", "via": "x"}]
    (tmp_path / "cut.graphml").write_text(WRITTEN[:-40])  # a file cut short: an error, as ElementTree's
    with pytest.raises(ElementTree.ParseError):
        graphml_edge_data(tmp_path / "cut.graphml")
