"""The Demand agent plans from the contiguous recent history (issue 32 case 1): rows that got
into the database around the import (a placeholder week of 1900, a gap) never stretch its
series over decades of zeros; it answers DATA_NOT_FOUND naming the weeks instead of running
past its deadline. Real path: SQLite database -> ContextAssembler -> run_demand_agent."""

from datetime import date

import pytest
from sqlalchemy import text

from activities.planning.demand import run_demand_agent
from localdev.sample_data import generate_sample, load_sample
from shared.data.context import clear_context_cache, get_assembler
from shared.data.db import dispose_engine, get_engine
from shared.errors import DataNotFoundError
from shared.schemas import SeasonParameters

SEASON = SeasonParameters(
    forecast_horizon_weeks=12,
    season_start_date=date(2025, 1, 1),
    replenishment_strategy="weekly",
    dc_holdback_percentage=0.2,
)
INSERT = (
    "INSERT INTO historical_sales (category_id, store_id, week_start_date, units_sold) "
    "VALUES ('outerwear', 'S0001', :day, 3)"
)


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'history.db'}"
    load_sample(get_engine(url), generate_sample(stores=4, weeks=104, categories=1))
    yield url
    clear_context_cache()
    dispose_engine(url)


def _sql(url, statement, **values):
    with get_engine(url).begin() as conn:
        conn.execute(text(statement), values)
    clear_context_cache()


def _plan(url):
    ctx = get_assembler(url).assemble_demand_context("outerwear", SEASON)
    return run_demand_agent(ctx)


def test_a_stray_placeholder_week_does_not_change_the_plan(database):
    clean = _plan(database)
    _sql(database, INSERT, day="1900-01-01")
    poisoned = _plan(database)
    assert poisoned.total_demand == clean.total_demand
    assert poisoned.forecast_by_week == clean.forecast_by_week
    assert "1900-01-01" in poisoned.explanation


def test_31_weeks_plus_25_placeholder_weeks_are_data_not_found_naming_the_weeks(database):
    _sql(database, "DELETE FROM historical_sales WHERE week_start_date < '2024-06-03'")
    for week in range(25):
        _sql(
            database,
            INSERT,
            day=date.fromordinal(date(1900, 1, 1).toordinal() + 7 * week).isoformat(),
        )
    with pytest.raises(DataNotFoundError) as info:
        _plan(database)
    err = info.value
    assert err.details["contiguous_weeks"] == 30
    assert err.details["contiguous_first_week"] == "2024-06-03"
    assert err.details["gap_before"] == {
        "first_missing_week": "1900-06-25",
        "last_missing_week": "2024-05-27",
    }
    assert "2024-06-03" in err.message and "1900-06-18" in err.message


def test_a_gap_inside_the_last_year_is_data_not_found_naming_the_missing_weeks(database):
    _sql(
        database,
        "DELETE FROM historical_sales WHERE week_start_date BETWEEN '2024-09-02' AND '2024-09-16'",
    )
    with pytest.raises(DataNotFoundError) as info:
        _plan(database)
    err = info.value
    assert err.details["gap_before"] == {
        "first_missing_week": "2024-09-02",
        "last_missing_week": "2024-09-16",
    }
    assert "2024-09-02" in err.message and "2024-09-16" in err.message
