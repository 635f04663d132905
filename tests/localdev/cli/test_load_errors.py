"""`localdev load` on bad files, as a newcomer meets them: one line per problem naming the file
as typed, the row and the column; a file separated by semicolons named as such, once; a missing
file called missing before anything is read; no JSON on the terminal."""

from __future__ import annotations

import pytest

from localdev.__main__ import main
from shared.data.csv_import import DataImportError, import_csv
from shared.data.db import dispose_engine, get_engine

STORES = "store_id,store_name,region,store_size_sqft,location_tier,median_income,store_format\n"
SALES = "week_start_date,store_id,category_id,units_sold\n"


@pytest.fixture
def url(tmp_path):
    database = f"sqlite:///{tmp_path / 'load.db'}"
    yield database
    dispose_engine(database)


def load(capsys, url: str, *args: str) -> tuple[int, list[str]]:
    code = main(["load", "--database-url", url, *args])
    return code, capsys.readouterr().err.splitlines()


def test_a_semicolon_separated_file_is_one_line_naming_the_separator(tmp_path, url, capsys):
    stores = tmp_path / "my stores.csv"
    stores.write_text(STORES.replace(",", ";") + "S1;One;West;12000;A;65000;mall\n")
    code, lines = load(capsys, url, "--stores", str(stores))
    assert code == 2
    assert lines[0] == "error: nothing was imported: 1 problem in my stores.csv"
    assert lines[1].startswith(
        "  my stores.csv, row 1 (the header): the columns are separated by semicolons (;), "
        "not commas"
    )
    assert not any("missing column" in line for line in lines)
    assert len(lines) == 3 and lines[2].startswith("hint: ")


def test_bad_rows_are_one_line_each_with_file_row_and_column(tmp_path, url, capsys):
    stores = tmp_path / "stores.csv"
    stores.write_text(STORES + "S1,One,West,12000,A,65000,mall\n")
    sales = tmp_path / "weekly.csv"
    sales.write_text(SALES + "2025-01-06,S1,denim,-3\n2025-01-13,S1,denim,many\n")
    code, lines = load(capsys, url, "--stores", str(stores), "--sales", str(sales))
    assert code == 2
    assert "  weekly.csv, row 2, column units_sold: '-3' must be at least 0" in lines
    assert "  weekly.csv, row 3, column units_sold: 'many' is not an integer" in lines
    assert not any("{" in line for line in lines)  # no JSON dump


def test_a_missing_file_is_called_missing_and_nothing_is_read(tmp_path, url, capsys):
    code, lines = load(capsys, url, "--stores", str(tmp_path / "nope.csv"))
    assert code == 2
    assert (
        lines[0]
        == f"error: the stores file {tmp_path / 'nope.csv'} does not exist (looked in {tmp_path})"
    )
    assert not any("row 1" in line for line in lines)


def test_the_import_names_the_separator_for_tabs_too(url):
    with pytest.raises(DataImportError) as caught:
        import_csv(get_engine(url), stores_csv=STORES.replace(",", "\t").encode())
    assert caught.value.details["problem_count"] == 1
    assert "separated by tabs" in caught.value.details["problems"][0]["problem"]
