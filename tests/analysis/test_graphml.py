"""GraphML written line by line: read back by networkx as written, and read without the tree as networkx reads it."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from analysis import graphml
from analysis.graphml import read_graphml, write_graphml


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


ODD = "a&b <c> \"d\" 'e' \r\n\t x\r \x01\ufffe é 😀 &amp; ]]> &#99;"


def _seen(g: nx.Graph) -> tuple[str, dict[str, object], list[object], list[object]]:
    """Everything a reader gives of a graph, in order: its type, its data, its nodes and edges with theirs."""
    return type(g).__name__, dict(g.graph), list(g.nodes(data=True)), list(g.edges(data=True))


def _by_networkx(path: Path) -> tuple[str, dict[str, object], list[object], list[object]]:
    return _seen(nx.read_graphml(path))


def _no_networkx(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(path: Path) -> nx.Graph:
        raise AssertionError(f"{path} read by networkx")
    monkeypatch.setattr(graphml.nx, "read_graphml", refuse)


def test_read_graphml_reads_what_write_graphml_writes_as_networkx_does(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    g = nx.DiGraph(repo="o/r", note="two\nlines")
    g.add_node(f"function:{ODD}", kind="function", path=ODD)
    g.add_node("module:m.py", kind="module", main=True)
    g.add_node("dependency:x", kind=ODD, empty="")
    g.add_node("alone")
    g.add_edge("module:m.py", f"function:{ODD}", kind="calls", by_name=True, via=ODD)
    g.add_edge(f"function:{ODD}", "module:m.py", kind="calls", via="\r")
    g.add_edge(f"function:{ODD}", f"function:{ODD}", kind="calls", by_name=False)
    g.add_edge("module:m.py", "module:m.py", kind="unresolved")
    g.add_edge("module:m.py", "dependency:x", kind="pins", pin_class=ODD)
    path = tmp_path / "g.graphml"
    write_graphml(g, path)
    expected = _by_networkx(path)
    written = ODD.replace("\x01", "\ufffd").replace("\ufffe", "\ufffd")  # characters XML cannot hold
    assert expected[1] == {"node_default": {}, "edge_default": {}, "repo": "o/r", "note": "two\nlines"}
    assert expected[2][0] == (f"function:{written}", {"kind": "function", "path": written})
    assert expected[2][2] == ("dependency:x", {"kind": written, "empty": ""})
    assert [d for _u, _v, d in expected[3]] == [  # the first node's edges first
        {"kind": "calls", "via": "\r"}, {"kind": "calls", "by_name": "False"},
        {"kind": "calls", "by_name": "True", "via": written}, {"kind": "unresolved"},
        {"kind": "pins", "pin_class": written}]
    _no_networkx(monkeypatch)  # read without building the tree
    assert _seen(read_graphml(path)) == expected


WRITTEN = ("<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
           "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml."
           "graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n"
           '  <key id="d0" for="edge" attr.name="kind" attr.type="string" />\n'
           '  <key id="d1" for="edge" attr.name="by_name" attr.type="string" />\n'
           '  <graph edgedefault="directed">\n'
           '    <node id="a"></node>\n'
           '    <edge source="a" target="a"><data key="d0">calls</data><data key="d1">True</data></edge>\n'
           '    <edge source="a" target="b"><data key="d0">unresolved</data></edge>\n'
           "  </graph>\n</graphml>\n")


@pytest.mark.parametrize(("text", "written"), [  # these match write_graphml's lines: read without the tree
    pytest.param(WRITTEN, True, id="as-written"),
    pytest.param(WRITTEN.replace(">calls<", ">&#99;al&#x6C;s<").replace(">True<", ">TRU&#69;<"), True, id="references"),
    pytest.param(WRITTEN.replace('"d1" for="edge" attr.name="by_name"', '"d1" for="edge" attr.name="kind"'), True,
                 id="two-keys-one-name"),
    pytest.param(WRITTEN.replace('<node id="a">', '<node id="a&#10;b\tc">').replace('"a" target="a"', '"a&#10;b\tc" target="z"'),
                 True, id="names-with-references-and-a-tab"),
    pytest.param(WRITTEN.replace("  <graph edgedefault=\"directed\">\n", "  <key id=\"d2\" for=\"graph\" "
                                 "attr.name=\"repo\" attr.type=\"string\" />\n  <graph edgedefault=\"directed\">\n"
                                 "    <data key=\"d2\">o/r</data>\n"), True, id="graph-data"),
    # these match the lines but not as networkx reads them, or do not match: read by networkx
    pytest.param(WRITTEN.replace('</node>\n', '</node>\n    <edge source="a" target="a"><data key="d0">calls</data>'
                                 '<data key="d0">unresolved</data></edge>\n'), False, id="an-edge-twice"),
    pytest.param(WRITTEN.replace('edgedefault="directed"', 'edgedefault="undirected"'), False, id="undirected"),
    pytest.param(WRITTEN.replace("<node", "<!-- <edge source='a' target='a'> --><node"), False, id="comment"),
    pytest.param(WRITTEN.replace(">calls<", "><![CDATA[calls]]><"), False, id="cdata"),
    pytest.param(WRITTEN.replace("\n", "\r\n").replace(">True<", ">True\r<"), False, id="crlf"),
    pytest.param(WRITTEN.replace(' xmlns:xsi', '\n  xmlns:xsi'), False, id="line-break-in-tag"),
])
def test_read_graphml_reads_edited_graphml_as_networkx_does(tmp_path: Path, text: str, written: bool,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.graphml"
    path.write_bytes(text.encode())
    expected = _by_networkx(path)
    if written:
        _no_networkx(monkeypatch)
    assert _seen(read_graphml(path)) == expected


def test_read_graphml_of_an_undeclared_key_networkx_writer_and_a_broken_file(tmp_path: Path) -> None:
    from xml.etree import ElementTree

    g = nx.DiGraph()
    g.add_edge("a", "b", kind="calls", by_name=True, via="x")
    nx.write_graphml(g, tmp_path / "nx.graphml")
    assert _seen(read_graphml(tmp_path / "nx.graphml")) == _by_networkx(tmp_path / "nx.graphml")
    (tmp_path / "key.graphml").write_text(WRITTEN.replace('"d1">True', '"d7">True'))  # as networkx: an error
    with pytest.raises(nx.NetworkXError, match="no key d7"):
        read_graphml(tmp_path / "key.graphml")
    (tmp_path / "cut.graphml").write_text(WRITTEN[:-40])  # a file cut short: an error, as networkx's
    with pytest.raises(ElementTree.ParseError):
        read_graphml(tmp_path / "cut.graphml")
