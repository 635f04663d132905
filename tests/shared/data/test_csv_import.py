"""CSV import: the good path, every rejection (database unchanged), replace and append."""

import pandas as pd
import pytest
from sqlalchemy import text

from localdev.sample_data import export_csv, generate_sample, load_sample
from shared import results
from shared.data.columns import DEFAULT_VENDOR_LEAD_WEEKS
from shared.data.context import get_assembler
from shared.data.csv_import import DataImportError, import_csv
from shared.data.db import dispose_engine, get_engine
from shared.errors import InvalidParametersError

STORES_HEADER = (
    "store_id,store_name,region,store_size_sqft,location_tier,median_income,store_format\n"
)
SALES_HEADER = "week_start_date,store_id,category_id,units_sold\n"
GOOD_STORES = (
    STORES_HEADER + "N1,New One,West,9000,B,61000,street\nN2,New Two,Midwest,12000,A,80000,mall\n"
)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'import.db'}"
    engine = get_engine(url)
    load_sample(engine, generate_sample(stores=5, weeks=60, categories=2))
    yield engine
    dispose_engine(url)


def _dump(engine):
    with engine.connect() as conn:
        return {
            table: pd.read_sql_query(f"SELECT * FROM {table} ORDER BY 1, 2", conn)
            for table in ("stores", "categories", "historical_sales", "data_versions")
        }


def _assert_unchanged(engine, before):
    after = _dump(engine)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(after[table], frame, obj=table)


def _sales(rows):
    return (SALES_HEADER + "".join(f"{r}\n" for r in rows)).encode()


def test_good_import_adds_stores_and_a_new_category_with_a_warning(engine):
    rows = [
        f"2024-01-{d:02d},{s},socks,{u}" for d in (1, 8, 15) for s, u in (("N1", 3), ("S0001", 0))
    ]
    report = import_csv(engine, GOOD_STORES.encode(), _sales(rows))
    assert report.stores == 2 and report.sales_rows == 6 and report.sales_categories == ["socks"]
    assert report.categories_created == ["socks"] and "socks" in report.warnings[0]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM stores")).scalar() == 7
        assert (
            conn.execute(
                text("SELECT full_price FROM categories WHERE category_id='socks'")
            ).scalar()
            == 50.0
        )
        assert (
            conn.execute(
                text("SELECT SUM(units_sold) FROM historical_sales WHERE category_id='socks'")
            ).scalar()
            == 9
        )
    assert report.data_version == 2


def test_reimport_replaces_only_the_file_categories(engine, tmp_path):
    sample = generate_sample(stores=5, weeks=60, categories=2, seed=9)
    paths = export_csv(sample, tmp_path / "csv")
    outerwear = sample.sales[sample.sales["category_id"] == "outerwear"].iloc[:100]
    outerwear.to_csv(tmp_path / "outerwear.csv", index=False, date_format="%Y-%m-%d")
    report = import_csv(engine, paths["stores"], tmp_path / "outerwear.csv")
    assert report.sales_categories == ["outerwear"] and report.replaced
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text("SELECT category_id, COUNT(*) FROM historical_sales GROUP BY category_id")
            ).all()
        )
    assert counts == {"outerwear": 100, "swimwear": 5 * 60}


def test_append_adds_rows_and_rejects_stored_keys(engine):
    before = _dump(engine)
    with pytest.raises(DataImportError) as info:
        import_csv(engine, None, _sales(["2024-06-03,S0001,outerwear,4"]), replace=False)
    assert "already stored" in info.value.details["problems"][0]["problem"]
    _assert_unchanged(engine, before)
    report = import_csv(engine, None, _sales(["2021-06-07,S0001,outerwear,4"]), replace=False)
    assert report.sales_rows == 1 and not report.replaced


def test_categories_file_sets_the_economics(engine):
    categories = (
        "category_id,name,full_price,unit_cost,salvage_fraction,price_elasticity\n"
        "socks,Socks,12.5,3,0.1,-1.2\n"
    )
    report = import_csv(
        engine, None, _sales(["2024-01-01,S0001,socks,2"]), categories_csv=categories.encode()
    )
    assert report.categories_created == [] and report.warnings == []
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT full_price FROM categories WHERE category_id='socks'")
            ).scalar()
            == 12.5
        )


BAD_CASES = {
    "missing column": (
        None,
        SALES_HEADER.replace(",units_sold", "") + "2024-01-01,S0001,x\n",
        "sales",
        1,
        "missing column 'units_sold'",
    ),
    "wrong column": (
        None,
        SALES_HEADER.replace("units_sold", "units") + "2024-01-01,S0001,x,1\n",
        "sales",
        1,
        "unexpected column 'units'",
    ),
    "empty file": (None, "", "sales", 1, "empty"),
    "header only": (None, SALES_HEADER, "sales", 1, "no rows"),
    "ragged row": (
        None,
        SALES_HEADER + "2024-01-01,S0001,outerwear,1,9,9\n",
        "sales",
        1,
        "readable",
    ),
    "bad date": (None, SALES_HEADER + "2024-13-01,S0001,outerwear,1\n", "sales", 2, "YYYY-MM-DD"),
    "us date": (None, SALES_HEADER + "01/08/2024,S0001,outerwear,1\n", "sales", 2, "YYYY-MM-DD"),
    "off-grid weekday": (
        None,
        SALES_HEADER + "2024-01-01,S0001,outerwear,1\n2024-01-01,S0002,outerwear,1\n"
        "2024-01-10,S0001,outerwear,1\n",
        "sales",
        4,
        "Wednesday",
    ),
    "negative units": (
        None,
        SALES_HEADER + "2024-01-01,S0001,outerwear,-3\n",
        "sales",
        2,
        "at least 0",
    ),
    "text units": (
        None,
        SALES_HEADER + "2024-01-01,S0001,outerwear,many\n",
        "sales",
        2,
        "not an integer",
    ),
    "fractional units": (
        None,
        SALES_HEADER + "2024-01-01,S0001,outerwear,2.5\n",
        "sales",
        2,
        "whole number",
    ),
    "duplicate key": (
        None,
        SALES_HEADER + "2024-01-01,S0001,outerwear,1\n2024-01-01,S0001,outerwear,2\n",
        "sales",
        3,
        "duplicate of row 2",
    ),
    "unknown store": (
        None,
        SALES_HEADER + "2024-01-01,S9999,outerwear,1\n",
        "sales",
        2,
        "unknown store",
    ),
    "bad category id": (
        None,
        SALES_HEADER + "2024-01-01,S0001,out wear,1\n",
        "sales",
        2,
        "only letters",
    ),
    "empty store id": (
        None,
        SALES_HEADER + "2024-01-01,,outerwear,1\n",
        "sales",
        2,
        "must not be empty",
    ),
    "store size": (
        STORES_HEADER + "N1,One,West,-5,A,1000,mall\n",
        None,
        "stores",
        2,
        "greater than 0",
    ),
    "store income": (
        STORES_HEADER + "N1,One,West,500,A,rich,mall\n",
        None,
        "stores",
        2,
        "not a number",
    ),
    "duplicate store": (
        STORES_HEADER + "N1,One,West,500,A,1000,mall\nN1,Two,West,500,A,1000,mall\n",
        None,
        "stores",
        3,
        "duplicate of row 2",
    ),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_files_are_rejected_with_rows_and_change_nothing(engine, case):
    stores, sales, file, row, problem = BAD_CASES[case]
    before = _dump(engine)
    with pytest.raises(DataImportError) as info:
        import_csv(engine, stores and stores.encode(), sales if sales is None else sales.encode())
    err = info.value
    assert isinstance(err, InvalidParametersError) and err.status_code == 422
    assert any(
        (p["file"], p["row"]) == (file, row) and problem in p["problem"]
        for p in err.details["problems"]
    ), err.details
    assert err.details["problem_count"] >= 1 and "nothing was changed" in err.message
    _assert_unchanged(engine, before)


def test_a_bad_sales_file_also_blocks_its_good_stores_file(engine):
    before = _dump(engine)
    with pytest.raises(DataImportError):
        import_csv(engine, GOOD_STORES.encode(), _sales(["2024-01-01,N1,outerwear,-1"]))
    _assert_unchanged(engine, before)


def test_many_problems_list_the_first_twenty_and_count_all(engine):
    weeks = pd.date_range("2024-01-01", periods=30, freq="7D").strftime("%Y-%m-%d")
    rows = [f"{w},S0001,outerwear,-1" for w in weeks] + [f"{w},S0002,outerwear,x" for w in weeks]
    with pytest.raises(DataImportError) as info:
        import_csv(engine, None, _sales(rows))
    details = info.value.details
    assert details["problem_count"] == 60
    assert [p["row"] for p in details["problems"]] == list(range(2, 22))


def test_missing_file_and_nothing_to_import(engine, tmp_path):
    with pytest.raises(DataImportError) as info:
        import_csv(engine, None, tmp_path / "absent.csv")
    assert "not found" in info.value.details["problems"][0]["problem"]
    with pytest.raises(DataImportError):
        import_csv(engine)


CATEGORIES_HEADER = "category_id,name,full_price,unit_cost,salvage_fraction,price_elasticity"


def test_categories_carry_a_currency_defaulting_to_usd(engine):
    with_currency = (CATEGORIES_HEADER + ",currency\nkilts,Kilts,120,40,0.3,-1.5, gbp \n").encode()
    without = (CATEGORIES_HEADER + "\nsocks,Socks,8,2,0.1,-2.5\n").encode()
    import_csv(engine, categories_csv=with_currency)
    import_csv(engine, categories_csv=without)
    with engine.connect() as conn:
        currencies = dict(conn.execute(text("SELECT category_id, currency FROM categories")).all())
    assert currencies["kilts"] == "GBP" and currencies["socks"] == "USD"
    assert currencies["outerwear"] == "USD"  # the sample's


def test_a_bad_currency_is_rejected_with_the_row(engine):
    before = _dump(engine)
    bad = (CATEGORIES_HEADER + ",currency\nkilts,Kilts,120,40,0.3,-1.5,pounds\n").encode()
    with pytest.raises(DataImportError) as caught:
        import_csv(engine, categories_csv=bad)
    problem = caught.value.details["problems"][0]
    assert (problem["file"], problem["row"], problem["column"]) == ("categories", 2, "currency")
    _assert_unchanged(engine, before)


def test_a_database_from_before_the_currency_column_gets_it(tmp_path):
    from shared.data.schema import create_schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = get_engine(url)
    with old.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE categories (category_id VARCHAR(64) PRIMARY KEY, name VARCHAR(200), "
                "full_price FLOAT, unit_cost FLOAT, salvage_fraction FLOAT, price_elasticity FLOAT)"
            )
        )
        conn.execute(text("INSERT INTO categories VALUES ('denim', 'Denim', 69, 24, 0.3, -1.6)"))
    create_schema(old)
    with old.connect() as conn:
        assert conn.execute(text("SELECT currency FROM categories")).scalar() == "USD"
        lead = conn.execute(text("SELECT vendor_lead_weeks FROM categories")).scalar()
    assert lead == DEFAULT_VENDOR_LEAD_WEEKS == results.DEFAULT_VENDOR_LEAD_WEEKS
    assert get_assembler(url).category_info("denim").vendor_lead_weeks == lead
    dispose_engine(url)


def test_categories_carry_a_vendor_lead_time_defaulting_to_twelve_weeks(engine):
    with_lead = CATEGORIES_HEADER + ",vendor_lead_weeks\nkilts,Kilts,120,40,0.3,-1.5, 20 \n"
    without = CATEGORIES_HEADER + "\nsocks,Socks,8,2,0.1,-2.5\n"
    import_csv(engine, categories_csv=with_lead.encode())
    import_csv(engine, categories_csv=without.encode())
    with engine.connect() as conn:
        lead = dict(
            conn.execute(text("SELECT category_id, vendor_lead_weeks FROM categories")).all()
        )
    assert lead["kilts"] == 20 and lead["socks"] == DEFAULT_VENDOR_LEAD_WEEKS


@pytest.mark.parametrize("value", ["-1", "53", "six", "2.5"])
def test_a_bad_vendor_lead_time_is_rejected_with_the_row(engine, value):
    before = _dump(engine)
    bad = CATEGORIES_HEADER + f",vendor_lead_weeks\nkilts,Kilts,120,40,0.3,-1.5,{value}\n"
    with pytest.raises(DataImportError) as caught:
        import_csv(engine, categories_csv=bad.encode())
    problem = caught.value.details["problems"][0]
    assert (problem["row"], problem["column"]) == (2, "vendor_lead_weeks")
    _assert_unchanged(engine, before)
