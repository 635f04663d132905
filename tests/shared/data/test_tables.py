"""Schema creation, constraints, the data-version counter and the results store."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

from shared.data.db import create_schema, dispose_engine, get_engine
from shared.data.results_store import list_results, load_result, save_result
from shared.data.tables import Category, HistoricalSale, Store, bump_data_version, read_data_version
from shared.errors import InvalidParametersError
from shared.results import BacktestMetrics, DemandResult

NOW = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'tables.db'}"
    engine = get_engine(url)
    create_schema(engine)
    yield engine
    dispose_engine(url)


def _store(**overrides):
    row = dict(
        store_id="S1",
        store_name="One",
        region="West",
        store_size_sqft=1000,
        location_tier="A",
        median_income=50_000.0,
        store_format="mall",
    )
    return {**row, **overrides}


def _category(**overrides):
    row = dict(
        category_id="c1",
        name="C1",
        full_price=10.0,
        unit_cost=4.0,
        salvage_fraction=0.3,
        price_elasticity=-2.0,
    )
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
            dict(category_id="c1", store_id="S1", week_start_date=date(2024, 1, 1), units_sold=-1),
        ),
        (
            HistoricalSale,
            dict(category_id="c1", store_id="NOPE", week_start_date=date(2024, 1, 1), units_sold=1),
        ),
        (
            HistoricalSale,
            dict(category_id="c1", store_id="S1", week_start_date=date(2023, 1, 2), units_sold=1),
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
            [dict(category_id="c1", store_id="S1", week_start_date=date(2023, 1, 2), units_sold=3)],
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


def _demand(total: int) -> DemandResult:
    return DemandResult(
        category_id="c1",
        season_start_date=date(2025, 1, 1),
        horizon_weeks=12,
        total_demand=total,
        forecast_by_week=[],
        store_forecast=[],
        safety_stock_units=0,
        safety_stock_pct=0.1,
        confidence=0.8,
        model_used="AutoTheta",
        backtest=BacktestMetrics(),
        explanation="x",
    )


def test_results_store_round_trips_and_a_replay_overwrites(engine):
    assert load_result(engine, "wf-1", "demand", DemandResult) is None
    save_result(engine, "wf-1", "demand", _demand(100), now=NOW)
    save_result(engine, "wf-1", "demand", _demand(250), now=NOW)
    loaded = load_result(engine, "wf-1", "demand", DemandResult)
    assert loaded == _demand(250)
    assert list(list_results(engine, "wf-1")) == ["demand"]
    assert list_results(engine, "wf-2") == {}


def test_results_store_rejects_unknown_agents(engine):
    with pytest.raises(InvalidParametersError):
        save_result(engine, "wf-1", "marketing", _demand(1))
