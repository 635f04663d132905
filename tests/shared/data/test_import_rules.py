"""History that is what it says: the import's plausibility rules on a real SQLite database
(issue 32 cases 1, 4, 6 and 7): dates inside the window, one weekday grid per category, no
control or invisible characters, no look-alike ids, formulas recognised after normalisation."""

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import text

from localdev.sample_data import generate_sample, load_sample
from shared.data.csv_import import DataImportError, import_csv
from shared.data.csv_safety import neutralise_cell, neutralised_frame, starts_like_formula
from shared.data.db import dispose_engine, get_engine
from shared.data.import_rules import EARLIEST_SALES_YEAR, id_key

STORES_HEADER = (
    "store_id,store_name,region,store_size_sqft,location_tier,median_income,store_format\n"
)
SALES_HEADER = "week_start_date,store_id,category_id,units_sold\n"
NOW = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'rules.db'}"
    engine = get_engine(url)
    sample = generate_sample(stores=5, weeks=60, categories=1, end_date=date(2024, 5, 1))
    load_sample(engine, sample)
    yield engine
    dispose_engine(url)


def _count(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _problems(engine, *, stores=None, sales=None, replace=True, now=NOW):
    before = _count(engine, "SELECT COUNT(*) FROM historical_sales")
    stores_before = _count(engine, "SELECT COUNT(*) FROM stores")
    with pytest.raises(DataImportError) as info:
        import_csv(engine, stores, sales, replace=replace, now=now)
    assert _count(engine, "SELECT COUNT(*) FROM historical_sales") == before
    assert _count(engine, "SELECT COUNT(*) FROM stores") == stores_before
    return info.value.details["problems"]


def test_a_placeholder_row_from_1900_is_refused_naming_the_window(engine):
    sales = (SALES_HEADER + "1900-01-01,S0001,outerwear,3\n2024-04-22,S0001,outerwear,3\n").encode()
    problems = _problems(engine, sales=sales, replace=False)
    assert [(p["row"], p["column"]) for p in problems] == [(2, "week_start_date")]
    assert f"before {EARLIEST_SALES_YEAR}" in problems[0]["problem"]


def test_a_week_after_the_current_one_is_refused_by_the_injected_clock(engine):
    sales = (SALES_HEADER + "2024-06-03,S0001,outerwear,3\n2024-06-10,S0001,outerwear,3\n").encode()
    problems = _problems(engine, sales=sales, replace=False)
    assert [p["row"] for p in problems] == [3]
    assert "2024-06-10" in problems[0]["problem"] and "future" in problems[0]["problem"]
    later = datetime(2024, 6, 12, tzinfo=UTC)
    assert import_csv(engine, None, sales, replace=False, now=later).sales_rows == 2


def test_append_refuses_a_second_weekday_grid_for_a_category(engine):
    """Case 4: the stored history is on Mondays; the same weeks dated Sundays are refused."""
    sundays = pd.date_range("2023-06-04", periods=4, freq="7D")
    rows = "".join(f"{d.date()},S0001,outerwear,40\n" for d in sundays)
    problems = _problems(engine, sales=(SALES_HEADER + rows).encode(), replace=False)
    assert len(problems) == 4
    assert "Sunday" in problems[0]["problem"] and "Monday" in problems[0]["problem"]
    # Replacing the category with a Sunday grid is one grid, so it is allowed.
    assert import_csv(engine, None, (SALES_HEADER + rows).encode(), now=NOW).sales_rows == 4


@pytest.mark.parametrize(
    ("field", "line"),
    [
        ("store_id", "2024-04-22,S0001\x00junk,outerwear,3\n"),
        ("category_id", "2024-04-22,S0001,outer\x07wear,3\n"),
        ("units_sold", "2024-04-22,S0001,outerwear,3\x1b\n"),
    ],
)
def test_nul_and_control_characters_in_a_sales_field_are_refused(engine, field, line):
    problems = _problems(engine, sales=(SALES_HEADER + line).encode(), replace=False)
    assert problems[0]["row"] == 2 and "control character" in problems[0]["problem"]


def test_a_nul_in_a_store_id_is_refused_not_truncated(engine):
    stores = (STORES_HEADER + "NU\x00L2,Nul,West,9000,B,61000,street\n").encode()
    problems = _problems(engine, stores=stores)
    assert problems[0]["row"] == 2 and "U+0000" in problems[0]["problem"]
    assert _count(engine, "SELECT COUNT(*) FROM stores WHERE store_id = 'NU'") == 0


@pytest.mark.parametrize(
    ("stored", "lookalike"),
    [("S9", "\uff339"), ("CASE1", "case1"), ("S0001", "s0001"), ("Straße", "STRASSE")],
)
def test_a_lookalike_of_a_stored_store_id_is_refused_naming_both(engine, stored, lookalike):
    if stored != "S0001":
        import_csv(engine, (STORES_HEADER + f"{stored},One,West,9000,B,61000,street\n").encode())
    stores = (STORES_HEADER + f"{lookalike},Two,West,9000,B,61000,street\n").encode()
    problems = _problems(engine, stores=stores)
    assert problems[0]["column"] == "store_id"
    assert repr(stored) in problems[0]["problem"] and repr(lookalike) in problems[0]["problem"]


def test_lookalike_ids_within_one_file_are_refused(engine):
    stores = (
        STORES_HEADER + "CASE1,One,West,9000,B,61000,street\ncase1,Two,West,9000,B,61000,street\n"
    ).encode()
    problems = _problems(engine, stores=stores)
    assert [p["row"] for p in problems] == [3]
    assert "'CASE1'" in problems[0]["problem"] and "row 2" in problems[0]["problem"]


def test_a_sales_category_lookalike_of_a_stored_category_is_refused(engine):
    sales = (SALES_HEADER + "2024-04-22,S0001,OuterWear,3\n").encode()
    problems = _problems(engine, sales=sales, replace=False)
    assert "'outerwear'" in problems[0]["problem"] and "'OuterWear'" in problems[0]["problem"]


@pytest.mark.parametrize(
    "store_id",
    ["ZWC\u200b", "S\u202e9", "\u2066S9\u2069", "S\u200d1", "\u00adS1"],
)
def test_invisible_and_bidi_characters_in_ids_are_refused(engine, store_id):
    stores = (STORES_HEADER + f"{store_id},Two,West,9000,B,61000,street\n").encode()
    problems = _problems(engine, stores=stores)
    assert "invisible" in problems[0]["problem"]


@pytest.mark.parametrize(
    "name", ["\uff1dHYPERLINK(1)", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\ufeff=1", "\u200b=1"]
)
def test_formula_prefixes_are_recognised_after_normalisation_at_import(engine, name):
    stores = (STORES_HEADER + f"N7,{name},West,9000,B,61000,street\n").encode()
    problems = _problems(engine, stores=stores)
    assert any("formula" in p["problem"] or "invisible" in p["problem"] for p in problems)


@pytest.mark.parametrize(
    "cell", ["\uff1dHYPERLINK(1)", "\uff0b1", "\uff0d1", "\uff20x", "\ufeff=1", "\u200b=1", " =1"]
)
def test_downloads_neutralise_normalised_formula_prefixes(cell):
    assert starts_like_formula(cell)
    assert neutralise_cell(cell) == "'" + cell
    frame = neutralised_frame(pd.DataFrame({"name": [cell, "plain"], "units": [-1, 2]}))
    assert frame["name"].tolist() == ["'" + cell, "plain"] and frame["units"].tolist() == [-1, 2]


def test_id_key_folds_width_and_case():
    assert id_key("\uff33\uff19") == id_key("s9") == "s9"
    assert id_key("Straße") == id_key("STRASSE")
