"""YAML read under bounds: what loads as ``yaml.safe_load`` loads it, and what is refused, quickly and small."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings
from analysis.reading import safe_yaml
from analysis.reading.env_files import parse_conda
from analysis.reading.mlproject import parse_mlproject
from miner.fileio import read_csv
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo


def alias_bomb(levels: int = 10, fanout: int = 9, tail: str = "") -> str:
    """Issue 10's bomb: ``levels`` lists, each naming the previous one ``fanout`` times (81 aliases for 10 x 9)."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * fanout)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n" + tail


LOADS = [
    pytest.param("name: p\nentry_points:\n  main:\n    command: python t.py {a}\n", id="mlproject"),
    pytest.param("dependencies:\n  - python=3.10\n  - pip:\n    - mlflow==2.9\n", id="conda"),
    pytest.param("base: &b {image: x, tag: 1}\nuse: {<<: *b, tag: 2}\nagain: [*b, *b]\n", id="anchors-and-merge-keys"),
    pytest.param("a: !!str 1\nb: 2020-01-02\nc: ~\n", id="standard-tags"),
    pytest.param("", id="empty"),
    pytest.param("[" * 50 + "]" * 50, id="nested-50"),
]


@pytest.mark.parametrize("text", LOADS)
def test_loads_what_safe_load_loads(text: str) -> None:
    assert safe_yaml.load(text, "f.yaml") == yaml.safe_load(text)


REFUSED = [
    pytest.param(alias_bomb(), 6, "alias bomb", id="10-levels-of-9-aliases"),  # a5: the first list over the bound
    pytest.param("a: &a " + "x" * 100_000 + "\nb: [" + ", ".join(["*a"] * 30) + "]\n", 2, "alias bomb",
                 id="few-aliases-of-a-long-scalar"),
    pytest.param("a: &x [1]\nb: [" + ", ".join(["*x"] * 1500) + "]\n", 2, "alias references", id="too-many-aliases"),
    pytest.param("a: &a [1, *a]\n", 1, "recursive alias", id="recursive"),
    pytest.param("a: &a {b: *a}\n", 1, "recursive alias", id="recursive-mapping"),
    pytest.param("[" * 5000 + "]" * 5000, 1, "nested over 100 levels", id="deep-nesting"),
    # the 101st node is a scalar, on the line before the 101st collection: refused where the scalar is
    pytest.param("[" * 100 + "\n x,\n [1]" + "]" * 100, 2, "nested over 100 levels", id="deep-scalar-first"),
    pytest.param("a: [1\n", 2, "YAML error (line 2)", id="syntax-error"),
    pytest.param("a: 1\n---\nb: 2\n", 2, "YAML error", id="two-documents"),
    pytest.param("tag: !!python/object:os.system x\n", 1, "YAML error", id="python-tag"),
    pytest.param("# pad\n" * 200_000, None, "file too large", id="too-large"),
]


@pytest.mark.parametrize(("text", "line", "reason"), REFUSED)
def test_refused_with_path_line_and_reason(text: str, line: int | None, reason: str) -> None:
    with pytest.raises(safe_yaml.BadYAML) as caught:
        safe_yaml.load(text, "dir/f.yaml")
    assert (caught.value.path, caught.value.line) == ("dir/f.yaml", line)
    assert reason in str(caught.value)


def test_a_plain_document_is_read_by_libyaml_and_the_rest_by_the_bounded_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    composed: list[str] = []

    class Watched(safe_yaml._BoundedLoader):
        def __init__(self, text: str) -> None:
            composed.append(text)
            super().__init__(text)

    monkeypatch.setattr(safe_yaml, "_BoundedLoader", Watched)
    plain = "name: p\nentry_points:\n  main:\n    command: python t.py {a}\n"
    assert safe_yaml.load(plain, "MLproject") == yaml.safe_load(plain) and composed == []
    aliased = "base: &b {image: x}\nuse: [*b]\n"
    assert safe_yaml.load(aliased, "f.yaml") == yaml.safe_load(aliased) and composed == [aliased]
    with pytest.raises(safe_yaml.BadYAML, match=r"YAML error \(line 2\)"):  # libyaml's errors are not worded here
        safe_yaml.load("a: [1\n", "f.yaml")
    assert composed[-1] == "a: [1\n"


@pytest.mark.parametrize("text", [pytest.param(p.values[0], id=p.id) for p in [*LOADS, *REFUSED]])
def test_without_libyaml_every_document_gives_the_same(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def outcome() -> object:
        try:
            return safe_yaml.load(text, "f.yaml")
        except safe_yaml.BadYAML as err:
            return (err.line, err.reason)
    with_libyaml = outcome()
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert outcome() == with_libyaml


def test_issue_bomb_is_refused_quickly_in_little_memory() -> None:
    text = alias_bomb(tail="entry_points: {main: {command: *a9}}\n")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(safe_yaml.BadYAML, match="alias bomb"):
            safe_yaml.load(text, "MLproject")
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 1.0 and peak < 2_000_000  # 9**9 lists if expanded; refused from ~100 distinct nodes


def test_bomb_in_mlproject_and_conda_file_is_one_reason_each() -> None:
    spec = parse_mlproject(alias_bomb(tail="entry_points: {main: {command: *a9}}\n"), "MLproject", set())
    assert not spec.valid and "alias bomb" in spec.error
    deps, problems, _ = parse_conda(alias_bomb(tail="dependencies: *a9\n"), "conda.yaml", lambda _p: None)
    assert deps == [] and [(p.path, p.line) for p in problems] == [("conda.yaml", 6)]
    assert "alias bomb" in problems[0].reason


def test_bombs_are_problem_rows_of_an_analyze_run(tmp_path: Path) -> None:
    make_repo(tmp_path / "src" / "r", {
        "MLproject": alias_bomb(tail="conda_env: conda.yaml\nentry_points: {main: {command: *a9}}\n"),
        "conda.yaml": alias_bomb(tail="dependencies: *a9\n"),
        "train.py": "import mlflow\nmlflow.log_param('a', 1)\n",
    })
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    started = time.perf_counter()
    analyze(AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out", jobs=1, draw_report=False))
    assert time.perf_counter() - started < 30
    problems = {(p["path"], p["stage"]): p for p in read_csv(tmp_path / "out" / "problems.csv")}
    assert set(problems) == {("MLproject", "mlproject"), ("conda.yaml", "environment")}
    assert all("alias bomb" in p["reason"] for p in problems.values())
    assert problems[("conda.yaml", "environment")]["line"] == "6"
    files = {f["path"]: f["status"] for f in read_csv(tmp_path / "out" / "files.csv")}
    assert files["MLproject"] == "problem" and files["train.py"] == "analyzed"
