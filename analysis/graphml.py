"""The traceability and usage graphs' file format: GraphML written line by line as it goes, and read back."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape

import networkx as nx

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# a value holding none of these is written as it is
_TO_ESCAPE = re.compile("[&<>\"\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(value: object, attribute: bool = False) -> str:
    """Text safe inside an XML 1.0 element, or an attribute with ``attribute`` (characters XML cannot hold
    become U+FFFD). A parser turns a bare carriage return into a newline, and whitespace in an attribute
    into spaces: they are written as character references, so every value reads back as written."""
    text = str(value)
    if _TO_ESCAPE.search(text) is None:  # most values: nothing to escape
        return text
    entities = {'"': "&quot;", "\r": "&#13;"}
    if attribute:
        entities.update({"\n": "&#10;", "\t": "&#9;"})
    return escape(_NOT_XML.sub("\ufffd", text), entities)


_GRAPHML_HEAD = ("<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" "
                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"http://graphml."
                 "graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n")


def _edges(g: nx.Graph) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """``g.edges(data=True)``, read from the adjacency where the graph is directed (the same edges in the
    same order, without a view's work per edge)."""
    if not g.is_directed():
        yield from g.edges(data=True)
        return
    for u, successors in g.adjacency():
        for v, data in successors.items():
            yield u, v, data


def write_graphml(g: nx.Graph, path: Path) -> None:
    """GraphML readable by networkx and Gephi (attribute values as strings), written as it goes.

    ``nx.write_graphml`` builds the whole XML tree in memory first (300 MB for the 180,000 edges of
    MLflow's own source); this writes one line per node and edge, into a temporary file renamed
    into place when complete.
    """
    keys: dict[tuple[str, str], str] = {}
    for domain, items in (("graph", [g.graph]), ("node", (d for _n, d in g.nodes(data=True))),
                          ("edge", (d for _u, _v, d in _edges(g)))):
        for data in items:
            for name in data:
                if (domain, name) not in keys:
                    keys[domain, name] = f"d{len(keys)}"
    # the opening tag of each key's values, and each value written (most values and every node
    # name recur: each is escaped once)
    opening = {(domain, name): f'<data key="{key}">' for (domain, name), key in keys.items()}
    texts: dict[str, str] = {}
    ids: dict[Any, str] = {}

    def text(value: object) -> str:
        if type(value) is not str:
            return _xml(value)
        known = texts.get(value)
        if known is None:
            known = texts[value] = _xml(value)
        return known

    def cells(domain: str, attrs: Mapping[str, Any]) -> str:
        return "".join([f"{opening[domain, k]}{text(v)}</data>" for k, v in attrs.items()])

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            out.write(_GRAPHML_HEAD)
            for (domain, name), key in keys.items():
                out.write(f'  <key id="{key}" for="{domain}" attr.name="{_xml(name, True)}" attr.type="string" />\n')
            out.write(f'  <graph edgedefault="{"directed" if g.is_directed() else "undirected"}">\n')
            out.write(f"    {cells('graph', g.graph)}\n" if g.graph else "")
            lines: list[str] = []
            for node, attrs in g.nodes(data=True):
                ids[node] = escaped = _xml(node, True)
                lines.append(f'    <node id="{escaped}">{cells("node", attrs)}</node>\n')
                if len(lines) >= 1000:
                    out.write("".join(lines))
                    lines.clear()
            for u, v, attrs in _edges(g):
                lines.append(f'    <edge source="{ids[u]}" target="{ids[v]}">{cells("edge", attrs)}</edge>\n')
                if len(lines) >= 1000:
                    out.write("".join(lines))
                    lines.clear()
            out.write("".join(lines))
            out.write("  </graph>\n</graphml>\n")
        tmp.replace(path)
    except BaseException:  # a full disk, an interrupt: no half file left behind
        tmp.unlink(missing_ok=True)
        raise


# The lines write_graphml writes, as patterns (read_graphml). A value holds no '<' and no bare
# carriage return (written as &#13;: a parser turns a bare one into a newline); a key's name, no
# reference and no whitespace a parser would change.
_DATA = r'<data key="d\d+">[^<\r]*+</data>'
_KEY_LINE = r'  <key id="(d\d+)" for="(graph|node|edge)" attr\.name="([^"<&\t\n\r]*+)" attr\.type="string" />\n'
_NODE_LINE = rf'    <node id="([^"<]*+)">((?:{_DATA})*+)</node>\n'
_EDGE_LINE = rf'    <edge source="([^"<]*+)" target="([^"<]*+)">((?:{_DATA})*+)</edge>\n'
_KEY_LINES, _NODE_LINES, _EDGE_LINES = re.compile(_KEY_LINE), re.compile(_NODE_LINE), re.compile(_EDGE_LINE)
_GRAPHML_FILE = re.compile(re.sub(r"(?<!\\)\((?!\?)", "(?:", (  # the lines' groups uncaptured, but for the sections
    re.escape(_GRAPHML_HEAD) + f"(?P<keys>(?:{_KEY_LINE})*+)" + '  <graph edgedefault="(?P<default>directed|undirected)">\n'
    + f"(?:    (?P<graph>(?:{_DATA})++)\n)?+" + f"(?P<nodes>(?:{_NODE_LINE})*+)"
    + f"(?P<edges>(?:{_EDGE_LINE})*+)" + "  </graph>\n</graphml>\n")))
_DATA_VALUE = re.compile(r'<data key="(d\d+)">([^<]*)</data>')
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(text: str) -> str:
    """XML text with its references replaced (those of a document with no DTD: the five entities, numbers)."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: chr(int(m[1], 16)) if m[1] else chr(int(m[2])) if m[2] else _ENTITIES[m[3]], text)


def _attribute(text: str) -> str:
    """An attribute's value as a parser gives it: each literal line end, newline or tab a space (XML's
    normalization of attribute values), then its references replaced."""
    if "\r" in text or "\n" in text or "\t" in text:
        text = text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _unescape(text)


class _NotAsWritten(Exception):
    """A file matching write_graphml's lines that networkx would still read otherwise (an undeclared key, an
    edge given twice)."""


def read_graphml(path: Path) -> nx.Graph:
    """The graph of a GraphML file as ``networkx.read_graphml`` reads it (values as strings, ``node_default``
    and ``edge_default`` in the graph's data; a multigraph where an edge is given twice).

    A directed graph as ``write_graphml`` writes it (well formed, as expat checks) is read with patterns of
    its lines, without building its XML tree: the agreement statistics read every repository's graph, in
    about a third of networkx's time. Any other file is read by networkx, and one that is not well formed
    raises its ``ParseError``.
    """
    data = path.read_bytes()
    try:
        expat.ParserCreate(None, "}").Parse(data, True)  # the well-formedness ElementTree's parser checks
        written = _GRAPHML_FILE.fullmatch(data.decode("utf-8"))
    except (expat.ExpatError, UnicodeDecodeError):
        written = None
    if written is not None and written["default"] == "directed":
        try:
            return _as_written(written)
        except _NotAsWritten:
            pass
    graph: nx.Graph = nx.read_graphml(path)
    return graph


def _as_written(written: re.Match[str]) -> nx.DiGraph:
    names = {key: name for key, _domain, name in _KEY_LINES.findall(written["keys"])}

    def cells(text: str) -> dict[str, str]:
        out = {}
        for key, value in _DATA_VALUE.findall(text):
            if key not in names:
                raise _NotAsWritten(key)  # networkx: "Bad GraphML data: no key"
            out[names[key]] = _unescape(value)
        return out

    g = nx.DiGraph()
    g.graph.update(node_default={}, edge_default={})
    text = written.string
    for node, data in _NODE_LINES.findall(text, written.start("nodes"), written.end("nodes")):
        g.add_node(_attribute(node), **cells(data))
    for source, target, data in _EDGE_LINES.findall(text, written.start("edges"), written.end("edges")):
        u, v = _attribute(source), _attribute(target)
        if g.has_edge(u, v):
            raise _NotAsWritten(f"{u} -> {v}")  # networkx: a multigraph
        g.add_edge(u, v, **cells(data))
    if written["graph"]:
        g.graph.update(cells(written["graph"]))
    return g
