"""CSV outputs: every value reads back as written, with the project's reader and with pandas."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from analysis.engine.driver import analyze
from analysis.ftypes import AnalyzeSettings
from miner.fileio import Journal, read_csv, write_csv
from miner.ftypes import CorpusSpec, MineSettings, MlflowSelection
from miner.mine import mine
from tests.conftest import make_repo

VALUES = [
    pytest.param("a\rb.py", id="carriage-return"),
    pytest.param("a\nb", id="newline"),
    pytest.param("a\r\nb\r", id="crlf-and-trailing-cr"),
    pytest.param('say "hi", then go', id="quotes-and-comma"),
    pytest.param('"', id="lone-quote"),
    pytest.param("=HYPERLINK(\"http://x\")", id="formula-equals"),
    pytest.param("+1", id="formula-plus"),
    pytest.param("-1", id="formula-minus-a-negative-default"),
    pytest.param("@SUM(A1)", id="formula-at"),
    pytest.param("\tx", id="leading-tab"),
    pytest.param("\U0001d518\U0001f600 caf\u00e9", id="non-bmp"),
    pytest.param("a\x85b\u2028c\x0bd", id="other-unicode-line-breaks"),
    pytest.param(" padded ", id="spaces"),
    pytest.param("NA", id="pandas-na-word"),
    pytest.param("", id="empty"),
]


def _pandas(path: Path) -> list[dict[str, str]]:
    # how statistics.py and report.py read the tables
    return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")  # type: ignore[no-any-return]


@pytest.mark.parametrize("value", VALUES)
def test_value_round_trips(tmp_path: Path, value: str) -> None:
    rows = [{"repo": "o/r", "path": value, "line": 3}, {"repo": "o/s", "path": "plain.py", "line": None}]
    write_csv(tmp_path / "t.csv", ("repo", "path", "line"), rows)
    expected = [{"repo": "o/r", "path": value, "line": "3"}, {"repo": "o/s", "path": "plain.py", "line": ""}]
    assert read_csv(tmp_path / "t.csv") == expected
    assert _pandas(tmp_path / "t.csv") == expected


def test_all_hostile_values_in_one_row_round_trip(tmp_path: Path) -> None:
    columns = tuple(f"c{i}" for i in range(len(VALUES)))
    row = {c: p.values[0] for c, p in zip(columns, VALUES)}
    write_csv(tmp_path / "t.csv", columns, [row, row])
    assert read_csv(tmp_path / "t.csv") == [row, row] == _pandas(tmp_path / "t.csv")


def test_what_is_not_text_is_written_as_replacement_character(tmp_path: Path) -> None:
    # NUL ends a value in pandas' parser; a lone surrogate (a literal "\ud800" in mined code) is not UTF-8
    write_csv(tmp_path / "t.csv", ("key",), [{"key": "a\0b"}, {"key": "c\ud800d"}])
    expected = [{"key": "a\ufffdb"}, {"key": "c\ufffdd"}]
    assert read_csv(tmp_path / "t.csv") == expected == _pandas(tmp_path / "t.csv")


HOSTILE_NAMES = ["a\rb.py", 'q"u,o\nte.py', "=cmd.py", "-x.py", "\U0001f600.py"]


def test_hostile_file_names_survive_mine_and_analyze(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {name: "import mlflow\nmlflow.log_param('k', 1)\n" for name in HOSTILE_NAMES}
    files["keys.py"] = "import mlflow\nmlflow.log_param('=1+1\\r,\"', 1)\nmlflow.log_param('\\ud800', 2)\n"
    make_repo(tmp_path / "src" / "o" / "r", files)
    spec = CorpusSpec(name="t", path=tmp_path / "t.toml", mlflow=MlflowSelection(source="none"))
    mine(MineSettings(spec=spec, corpus_dir=tmp_path / "corpus", from_local=tmp_path / "src", skip_mlflow=True))
    analyze(AnalyzeSettings(corpus_dir=tmp_path / "corpus", out_dir=tmp_path / "out", jobs=1, draw_report=False))
    out = tmp_path / "out"
    for reader in (read_csv, _pandas):
        calls = reader(out / "call_sites.csv")
        assert {c["repo"] for c in calls} == {"o/r"}  # no phantom repository from a split row
        sites = {(c["path"], c["line"], c["api"]) for c in calls if c["path"] != "keys.py"}
        assert sites == {(name, "2", "mlflow.log_param") for name in HOSTILE_NAMES}
        assert sorted(c["key"] for c in calls if c["path"] == "keys.py") == ["=1+1\r,\"", "\ufffd"]
        listed = {f["path"]: f["status"] for f in reader(out / "files.csv")}
        assert listed == {name: "analyzed" for name in [*HOSTILE_NAMES, "keys.py"]}
    practices = {p["practice"]: p for p in _pandas(out / "practices.csv") if p["population"] == "all"}
    assert (practices["logs params"]["n_repos"], practices["logs params"]["n_eligible"]) == ("1", "1")


def test_journal_survives_torn_line(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"a": 1})
    with journal.path.open("ab") as fh:
        fh.write(b'{"b": ')
    journal.append({"c": 3})
    assert list(journal.read()) == [{"a": 1}, {"c": 3}]
    assert os.path.getsize(journal.path) > 0
