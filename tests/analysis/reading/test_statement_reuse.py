"""Statement reuse: the tree LibCST gives for the whole text, put together from chunks parsed once."""

from __future__ import annotations

import gc
import textwrap

import libcst as cst
import pytest

from analysis.history import run as history_run
from analysis.reading import cst_walk
from analysis.reading.astscan import scan_source
from analysis.reading.statement_reuse import FULL_COLLECTION_EVERY, StatementReuse, chunk_starts


def _lines(source: str) -> tuple[tuple[tuple[int, int], ...], dict[int, tuple[tuple[int, int], ...]]]:
    """``ModuleScan.statements`` and ``ModuleScan.members`` of a source."""
    found = scan_source(source)
    assert found is not None
    return found.statements, found.members


def _statements(source: str) -> tuple[tuple[int, int], ...]:
    return _lines(source)[0]


def _cuts(source: str) -> list[int]:
    return chunk_starts(source.split("\n"), _statements(source))


@pytest.mark.parametrize(("source", "cuts"), [
    pytest.param("import a\nimport b\n\n\ndef f():\n    return 1\n", [0, 1, 2], id="each statement"),
    pytest.param("import a\n# about b\nimport b\n", [0, 1], id="column-0 comment goes with the next"),
    pytest.param("def f():\n    pass\n    # the block's footer\nx = 1\n", [0], id="indented comment: no cut"),
    pytest.param("x = 1\n   \ny = 2\n", [0], id="blank line holding spaces: no cut"),
    pytest.param("import a; import b\nimport c\n", [0, 1], id="one line, two statements"),
    pytest.param("x = 1\n@dec\n@dec2\ndef f():\n    pass\n", [0, 1], id="a cut before the decorators"),
    pytest.param("x = (1,\n     2)\ny = 3\n", [0, 2], id="a statement over lines"),
    pytest.param('"""doc"""\n\nimport a\n', [0, 1], id="docstring"),
])
def test_chunks_start_between_top_level_statements(source: str, cuts: list[int]) -> None:
    assert _cuts(source) == cuts


MODULES = {
    "header, decorators, classes": '''\
        #!/usr/bin/env python
        # a header comment

        """The module."""
        from __future__ import annotations

        import mlflow  # trailing comment


        @mlflow.trace
        @other(1)
        def train(x):
            # inside
            mlflow.log_param("x", x)

            return x


        class Model(Base):
            """Doc."""

            def fit(self):
                pass
            # the block's footer

        # before main
        if __name__ == "__main__":
            train(1)
        # the end
        ''',
    "two-space indentation": "import a\n\nif a:\n  b = 1\nelse:\n  b = 2\n\ndef f():\n  return b\n",
    "mixed indentation": "def f():\n  return 1\n\n\ndef g():\n    return 2\n\nx = 1\n",
    "suite then indented else": "import a\nif a: b = 1\nelse:\n    b = 2\ntry:\n    pass\nexcept E:\n    pass\nfinally:\n    c = 3\n",
    "no newline at the end": "import a\nx = a.f()",
    "a class at the end, no newline": "import a\n\n\nclass A:\n    x = 1\n\n    def f(self):\n        return a",
    "match and async": "import a\n\nmatch a:\n    case 1:\n        pass\n\nasync def f():\n    async with a:\n        pass\n",
    "comments at the end": "import a\nx = 1\n\n# one\n    # two indented\n        # three\n",
    "continuation": "import a\nx = 1 + \\\n    2\ny = [\n# inside brackets\n    3,\n]\n",
}


@pytest.mark.parametrize("name", MODULES)
def test_the_tree_is_libcsts_whole_parse(name: str) -> None:
    source = textwrap.dedent(MODULES[name])
    reuse = StatementReuse()
    first = reuse.parse(source, *_lines(source))
    again = reuse.parse(source, *_lines(source))  # every chunk from the kept ones
    whole = cst.parse_module(source)
    assert first.deep_equals(whole) and again.deep_equals(whole)
    assert again.code == source


def test_a_new_version_parses_only_its_changed_statement() -> None:
    v1 = "import mlflow\n\n\ndef a():\n    return 1\n\n\ndef b():\n    mlflow.log_metric('m', 1)\n\n\nb()\n"
    v2 = v1.replace("return 1", "return 2")
    reuse = StatementReuse()
    reuse.parse(v1, *_lines(v1))
    assert (reuse.parsed, reuse.reused) == (4, 0)
    tree = reuse.parse(v2, *_lines(v2))
    assert (reuse.parsed, reuse.reused) == (5, 3)  # `def a` again; the import, `def b` and the call kept
    assert tree.deep_equals(cst.parse_module(v2))


def _node_ids(node: cst.CSTNode, out: list[int]) -> list[int]:
    out.append(id(node))
    for child in node.children:
        _node_ids(child, out)
    return out


def test_the_same_statement_twice_gives_two_nodes() -> None:
    source = "import mlflow\nmlflow.log_metric('m', 1)\nmlflow.log_metric('m', 1)\n"
    reuse = StatementReuse()
    reuse.parse(source, *_lines(source))
    tree = reuse.parse(source, *_lines(source))
    ids = [id(node) for node in tree.body]
    assert len(set(_node_ids(tree.body[1], []) + _node_ids(tree.body[2], []))) == len(
        _node_ids(tree.body[1], [])) * 2, "a node shared by two statements of one tree"
    assert len(set(ids)) == 3 and tree.deep_equals(cst.parse_module(source))


def test_modules_that_cannot_be_cut_are_parsed_whole() -> None:
    reuse = StatementReuse()
    for source in ("x = 1\r\ny = 2\r\n", "x = 1\n", "x = 1\n\x0c\ny = 2\n"):
        tree = reuse.parse(source, *_lines(source))
        assert tree.deep_equals(cst.parse_module(source))
    assert (reuse.whole, reuse.chunked, reuse.parsed) == (3, 0, 0)
    mixed = textwrap.dedent(MODULES["mixed indentation"])
    assert reuse.parse(mixed, *_lines(mixed)).deep_equals(cst.parse_module(mixed))
    assert reuse.whole == 4  # its chunks disagree on the default indentation


def test_kept_chunks_are_bounded_least_recently_used_first() -> None:
    reuse = StatementReuse(max_chars=30)
    one, two = "a_long_name_one = 1\n", "a_long_name_two = 2\n"
    reuse.parse(one + two, _statements(one + two))  # 40 characters: `one` dropped
    reuse.parse(two + "b = 1\n", _statements(two + "b = 1\n"))
    assert (reuse.parsed, reuse.reused) == (3, 1)
    reuse.parse(one + two, _statements(one + two))  # `one` parsed again, which drops `two`, the oldest
    assert (reuse.parsed, reuse.reused) == (5, 1)


def test_reuse_is_on_only_inside_the_block() -> None:
    source = "import a\nx = 1\n"
    before = (cst_walk.STATEMENTS.chunked, cst_walk.STATEMENTS.whole)
    assert cst_walk.parse_accepted(source, _statements(source)).deep_equals(cst.parse_module(source))
    assert (cst_walk.STATEMENTS.chunked, cst_walk.STATEMENTS.whole) == before  # parsed by LibCST alone
    thresholds = gc.get_threshold()
    with cst_walk.STATEMENTS.reusing():
        with cst_walk.STATEMENTS.reusing():
            assert gc.get_threshold()[2] == FULL_COLLECTION_EVERY
        assert cst_walk.STATEMENTS.active
        cst_walk.parse_accepted(source, _statements(source))
        assert cst_walk.STATEMENTS.chunked == before[0] + 1
    assert not cst_walk.STATEMENTS.active and gc.get_threshold() == thresholds
    with cst_walk.STATEMENTS.reusing():
        parsed = cst_walk.STATEMENTS.parsed
        cst_walk.parse_accepted(source, _statements(source))
        assert cst_walk.STATEMENTS.parsed == parsed + 2, "the chunks were dropped when the block ended"


def test_a_history_task_runs_with_reuse_on() -> None:
    seen: list[bool] = []

    class Analyzer:
        def analyze(self, task: object) -> object:
            seen.append(cst_walk.STATEMENTS.active)
            return task

    assert history_run._history_task(Analyzer(), "task") == "task"  # type: ignore[arg-type]
    assert seen == [True] and not cst_walk.STATEMENTS.active


CLASS_V1 = '''\
import mlflow


class Trainer(Base):
    """Trains."""

    retries = 3  # a class attribute

    # about fit
    @mlflow.trace
    def fit(self, x):
        mlflow.log_param("x", x)
        return x

    def score(self):
        return 1
            # deeper than the members: the body's footer, no cut before the next member
    def save(self):
        class Inner:
            pass
        return Inner


trainer = Trainer()
'''


def test_a_class_is_cut_at_its_members() -> None:
    reuse = StatementReuse()
    tree = reuse.parse(CLASS_V1, *_lines(CLASS_V1))
    assert tree.deep_equals(cst.parse_module(CLASS_V1))
    # the import, the class's shell (up to the docstring), `retries`, `fit`, `score` and `save` together, the instance
    assert reuse.parsed == 6
    v2 = CLASS_V1.replace('mlflow.log_param("x", x)', 'mlflow.log_param("x", x * 2)')
    again = reuse.parse(v2, *_lines(v2))
    assert again.deep_equals(cst.parse_module(v2)) and again.code == v2
    assert (reuse.parsed, reuse.reused) == (7, 5)  # `fit` alone parsed again


def test_a_class_indented_otherwise_than_the_module_is_parsed_whole() -> None:
    source = "def f():\n    return 1\n\n\nclass A:\n  x = 1\n\n  def g(self):\n    return 2\n"
    reuse = StatementReuse()
    assert reuse.parse(source, *_lines(source)).deep_equals(cst.parse_module(source))
    assert reuse.whole == 1


BLOCKS_V1 = '''\
import mlflow


def main(epochs):
    """Train."""
    mlflow.log_param("epochs", epochs)
    for epoch in range(epochs):
        mlflow.log_metric("loss", 1 / (epoch + 1), step=epoch)

    # the end
    return epochs


if __name__ == "__main__":
    main(3)
    print("done")
else:
    pass
'''


def test_a_function_is_cut_at_its_statements_and_an_if_with_else_is_not() -> None:
    reuse = StatementReuse()
    assert reuse.parse(BLOCKS_V1, *_lines(BLOCKS_V1)).deep_equals(cst.parse_module(BLOCKS_V1))
    assert reuse.parsed == 6  # the import; main's shell (to its docstring), its three statements; the `if` whole
    v2 = BLOCKS_V1.replace("step=epoch)", "step=epoch + 1)")
    again = reuse.parse(v2, *_lines(v2))
    assert again.deep_equals(cst.parse_module(v2)) and again.code == v2
    assert (reuse.parsed, reuse.reused) == (7, 5)  # the loop alone parsed again
