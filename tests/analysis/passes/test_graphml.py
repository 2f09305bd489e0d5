"""GraphML written line by line: read back by networkx as written, and its edge data read without the tree."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from analysis.passes import graphml
from analysis.passes.graphml import graphml_edge_data, write_graphml


def test_graphml_round_trips_any_text(tmp_path: Path) -> None:
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



def test_graphml_round_trips_names_with_carriage_returns_newlines_and_tabs(tmp_path: Path) -> None:
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

    monkeypatch.setattr(graphml, "_graphml_edge_data_tree", _no_tree)  # read without building the tree
    assert graphml_edge_data(path) == expected


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
    path = tmp_path / "g.graphml"
    path.write_bytes(text.encode())
    expected = _edge_data_by_elementtree(path)
    if written:
        monkeypatch.setattr(graphml, "_graphml_edge_data_tree", _no_tree)
    assert graphml_edge_data(path) == expected


def test_graphml_edge_data_of_networkx_writer_and_of_a_broken_file(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    g = nx.DiGraph()
    g.add_edge("a", "b", kind="calls", by_name=True, via="x")
    nx.write_graphml(g, tmp_path / "nx.graphml")
    assert graphml_edge_data(tmp_path / "nx.graphml") == [{"kind": "calls", "by_name": "True", "via": "x"}]
    (tmp_path / "cut.graphml").write_text(WRITTEN[:-40])  # a file cut short: an error, as ElementTree's
    with pytest.raises(ElementTree.ParseError):
        graphml_edge_data(tmp_path / "cut.graphml")
