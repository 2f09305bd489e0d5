"""The table registry: columns from the row types, and ``read_table`` as the inverse of writing a row."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.tables import CATALOG, STORAGE, TABLES, Table, cells, flat, read_table, table_frame
from miner.fileio import write_csv

ALL = [*TABLES.values(), CATALOG, STORAGE]


def sample(row_type: type, variant: int) -> Any:
    """A row whose every field holds a value of one of its annotation's types (variant 1: the other types)."""
    hints = typing.get_type_hints(row_type)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(row_type):
        hint = hints[f.name]
        allowed = typing.get_args(hint) or (hint,)
        kind = allowed[variant % len(allowed)]
        if dataclasses.is_dataclass(kind):
            values[f.name] = sample(kind, variant)  # type: ignore[arg-type]
        else:
            values[f.name] = {bool: variant == 0, int: 7 + variant, float: 0.25, str: f"a, \"b\"\n{variant}",
                              type(None): None}[kind]
    return row_type(**values)


@pytest.mark.parametrize("table", ALL, ids=[t.file for t in ALL])
@pytest.mark.parametrize("variant", [0, 1])
def test_read_table_restores_what_was_written(tmp_path: Path, table: Table, variant: int) -> None:
    row = sample(table.row_type, variant)
    path = tmp_path / table.file
    write_csv(path, table.columns, [cells(flat(row))])
    assert read_table(path, table.row_type) == [row]


@pytest.mark.parametrize("table", ALL, ids=[t.file for t in ALL])
def test_table_frame_holds_the_flat_rows_read_table_reads(tmp_path: Path, table: Table) -> None:
    """The frame is made from the typed cells without making the rows: each of its rows is ``flat`` of
    the row ``read_table`` reads, value for value and type for type (a nested finding's fields too)."""
    path = tmp_path / table.file
    write_csv(path, table.columns, [cells(flat(sample(table.row_type, v))) for v in (0, 1)])
    frame = table_frame(path, table.row_type)
    assert sorted(frame.columns) == sorted(table.columns)
    rows = pd.DataFrame([flat(row) for row in read_table(path, table.row_type)], columns=list(frame.columns))
    pd.testing.assert_frame_equal(frame, rows, check_exact=True)
    for got, want in zip(frame.to_dict("records"), rows.to_dict("records"), strict=True):
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_a_cell_that_does_not_read_names_file_line_and_column(tmp_path: Path) -> None:
    table = TABLES["entry_points"]
    path = tmp_path / table.file
    good = cells(flat(sample(table.row_type, 0)))
    write_csv(path, table.columns, [good, {**good, "n_params": "many"}])
    with pytest.raises(ValueError, match=r"entry_points\.csv:3: column n_params: 'many'"):
        read_table(path, table.row_type)


def test_table_frame_types_its_columns_and_reads_an_absent_file_as_no_rows(tmp_path: Path) -> None:
    table = TABLES["mlprojects"]
    path = tmp_path / table.file
    write_csv(path, table.columns, [cells(flat(sample(table.row_type, 0)))])
    frame = table_frame(path, table.row_type)
    assert list(frame.columns) == list(table.columns)
    assert frame.loc[0, "valid"] is True or bool(frame.loc[0, "valid"]) is True
    assert frame.loc[0, "n_entry_points"] == 7
    empty = table_frame(tmp_path / "absent.csv", table.row_type)
    assert list(empty.columns) == list(table.columns) and len(empty) == 0


@pytest.mark.parametrize("table", ALL, ids=[t.file for t in ALL])
def test_read_columns_are_the_cells_read_cells_reads(tmp_path: Path, table: Table) -> None:
    """Column by column, the typed cells ``read_cells`` reads row by row, types included."""
    from analysis.tables import read_cells, read_columns

    path = tmp_path / table.file
    write_csv(path, table.columns, [cells(flat(sample(table.row_type, v))) for v in (0, 1, 0)])
    columns = read_columns(path, table.row_type)
    rows = list(read_cells(path, table.row_type))
    assert list(columns) == list(rows[0])
    for name, values in columns.items():
        assert values == [row[name] for row in rows], name
        assert [type(v) for v in values] == [type(row[name]) for row in rows], name


def test_read_columns_reads_ragged_records_as_read_cells_does(tmp_path: Path) -> None:
    """A record shorter than the header (its last cells empty), a longer one (extra cells dropped), an
    empty record (skipped), a column the file lacks (empty cells), as ``csv.DictReader`` reads them."""
    from analysis.tables import read_cells, read_columns

    table = TABLES["mlprojects"]  # its last column is text
    path = tmp_path / table.file
    write_csv(path, table.columns, [cells(flat(sample(table.row_type, 0)))])
    header, record = path.read_text(encoding="utf-8").split("\n", 1)
    lacking = ",".join(header.split(",")[:-1])  # the last column (error) missing from the header
    path.write_text(f"{lacking}\n{record.rstrip()},extra\n\n{record.rstrip()}\n", encoding="utf-8")
    rows = list(read_cells(path, table.row_type))
    columns = read_columns(path, table.row_type)
    assert len(rows) == 2
    assert columns == {name: [row[name] for row in rows] for name in rows[0]}


def test_read_columns_names_the_file_line_and_column_of_a_bad_cell(tmp_path: Path) -> None:
    from analysis.tables import read_columns

    table = TABLES["entry_points"]
    path = tmp_path / table.file
    good = cells(flat(sample(table.row_type, 0)))
    write_csv(path, table.columns, [good, good, {**good, "n_params": "many"}, {**good, "n_params": "few"}])
    with pytest.raises(ValueError, match=r"entry_points\.csv:4: column n_params: 'many'"):
        read_columns(path, table.row_type)
    assert table_frame(tmp_path / "absent.csv", table.row_type).empty
