"""Schema creation, constraints and the data-version counter."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

from shared.data.schema import create_schema
from shared.data.tables import Category, HistoricalSale, Store, bump_data_version, read_data_version

NOW = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


def _store(**overrides):
    row = {
        "store_id": "S1",
        "store_name": "One",
        "region": "West",
        "store_size_sqft": 1000,
        "location_tier": "A",
        "median_income": 50_000.0,
        "store_format": "mall",
    }
    return {**row, **overrides}


def _category(**overrides):
    row = {
        "category_id": "c1",
        "name": "C1",
        "full_price": 10.0,
        "unit_cost": 4.0,
        "salvage_fraction": 0.3,
        "price_elasticity": -2.0,
    }
    return {**row, **overrides}


def test_schema_is_created_idempotently_with_the_documented_tables(engine):
    create_schema(engine)
    inspector = inspect(engine)
    assert {"stores", "categories", "historical_sales", "agent_results", "data_versions"} <= set(
        inspector.get_table_names()
    )
    # The primary key doubles as the "one category over time" index.
    assert inspector.get_pk_constraint("historical_sales")["constrained_columns"] == [
        "category_id",
        "week_start_date",
        "store_id",
    ]


@pytest.mark.parametrize(
    "table,row",
    [
        (
            HistoricalSale,
            {
                "category_id": "c1",
                "store_id": "S1",
                "week_start_date": date(2024, 1, 1),
                "units_sold": -1,
            },
        ),
        (
            HistoricalSale,
            {
                "category_id": "c1",
                "store_id": "NOPE",
                "week_start_date": date(2024, 1, 1),
                "units_sold": 1,
            },
        ),
        (
            HistoricalSale,
            {
                "category_id": "c1",
                "store_id": "S1",
                "week_start_date": date(2023, 1, 2),
                "units_sold": 1,
            },
        ),
        (Store, _store(store_size_sqft=0)),
        (Category, _category(price_elasticity=0.5)),
        (Category, _category(category_id="c2", salvage_fraction=1.5)),
    ],
)
def test_constraints_reject_bad_rows(engine, table, row):
    with engine.begin() as conn:
        conn.execute(insert(Store), [_store()])
        conn.execute(insert(Category), [_category()])
        conn.execute(
            insert(HistoricalSale),
            [
                {
                    "category_id": "c1",
                    "store_id": "S1",
                    "week_start_date": date(2023, 1, 2),
                    "units_sold": 3,
                }
            ],
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(table), [row])


def test_data_version_starts_at_zero_and_counts_up(engine):
    with engine.begin() as conn:
        assert read_data_version(conn) == 0
        assert bump_data_version(conn, NOW) == 1
        assert bump_data_version(conn, NOW) == 2
    with engine.connect() as conn:
        assert read_data_version(conn) == 2
