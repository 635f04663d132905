"""ContextAssembler: contexts, validation errors, caching, invalidation, broken databases."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from activities.planning import demand
from activities.planning.contexts import last_history_week
from localdev.sample_data import generate_sample, load_sample
from shared.data.context import (
    ContextAssembler,
    cached_sales_bytes,
    clear_context_cache,
    get_assembler,
)
from shared.data.csv_import import import_csv
from shared.data.db import dispose_engine, get_engine
from shared.data.schema import create_schema
from shared.data.tables import bump_data_version
from shared.errors import ContextAssemblyError, DataNotFoundError
from shared.schemas import SeasonParameters
from tests.support.results import demand_result, inventory_result

ROOT = Path(__file__).resolve().parents[3]

PARAMS = SeasonParameters(
    forecast_horizon_weeks=12,
    season_start_date=date(2025, 1, 1),
    replenishment_strategy="weekly",
    dc_holdback_percentage=0.45,
)


def _params(start: date) -> SeasonParameters:
    return SeasonParameters(
        **{**PARAMS.model_dump(exclude={"season_end_date"}), "season_start_date": start}
    )


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ctx.db'}"
    yield url
    clear_context_cache()
    dispose_engine(url)


@pytest.fixture
def seeded(url):
    load_sample(get_engine(url), generate_sample(stores=8, weeks=104, categories=2))
    return url


def test_demand_context_has_the_weekly_sums_before_the_season(seeded):
    ctx = ContextAssembler(get_engine(seeded)).assemble_demand_context("outerwear", PARAMS)
    weekly = ctx.history.weekly_totals()
    assert str(weekly.index.dtype) == "datetime64[ns]" and weekly.dtype == "int64"
    assert weekly.index.is_monotonic_increasing
    assert len(weekly) == 104 and weekly.index.max() == pd.Timestamp("2024-12-23")
    assert len(ctx.stores) == 8 and "median_income" in ctx.stores


def test_history_is_cut_before_an_earlier_season(seeded):
    ctx = ContextAssembler(get_engine(seeded)).assemble_demand_context(
        "outerwear", _params(date(2024, 6, 5))
    )
    assert ctx.history.weekly_totals().index.max() == pd.Timestamp("2024-05-27")
    # Store totals never reach past the history either: asked up to the end of the data, they
    # stop at its last week.
    rows = ContextAssembler(get_engine(seeded)).load_historical_sales("outerwear")
    before = rows[rows["week_start_date"] <= pd.Timestamp("2024-05-27")]
    totals = ctx.history.store_window(date(2023, 1, 1), date(2024, 12, 30))["units"]
    assert (
        totals.to_dict() == before.groupby("store_id", observed=True)["units_sold"].sum().to_dict()
    )


def test_a_week_is_history_only_when_all_its_days_precede_the_season():
    assert last_history_week(date(2025, 1, 6)) == date(2024, 12, 30)  # Monday: the week before
    assert last_history_week(date(2025, 1, 3)) == date(2024, 12, 27)  # Friday: 2024-12-30 is out


def test_a_friday_season_leaves_out_the_week_it_starts_in(seeded):
    ctx = ContextAssembler(get_engine(seeded)).assemble_demand_context(
        "outerwear", _params(date(2024, 5, 31))
    )
    assert ctx.history.weekly_totals().index.max() == pd.Timestamp("2024-05-20")


def test_categories_default_and_info(seeded):
    assembler = ContextAssembler(get_engine(seeded))
    assert [c.category_id for c in assembler.list_categories()] == ["outerwear", "swimwear"]
    assert assembler.default_category_id() == "outerwear"
    info = assembler.category_info("swimwear")
    assert info.full_price == 45.0 and info.price_elasticity < 0


def test_inventory_and_pricing_contexts(seeded):
    assembler = ContextAssembler(get_engine(seeded))
    inv = assembler.assemble_inventory_context("outerwear", PARAMS, demand_result("outerwear"))
    assert len(inv.stores) == 8 and inv.demand.total_demand == 1000
    with pytest.raises(ContextAssemblyError):
        assembler.assemble_inventory_context("swimwear", PARAMS, demand_result("outerwear"))
    pricing = assembler.assemble_pricing_context(
        "outerwear", PARAMS, demand_result("outerwear"), inventory_result()
    )
    assert pricing.actual_sales is None  # the season starts after the history
    replay = _params(date(2024, 9, 2))
    pricing = assembler.assemble_pricing_context(
        "outerwear", replay, demand_result("outerwear"), inventory_result()
    )
    assert pricing.actual_sales is not None
    assert list(pricing.actual_sales.columns) == ["week_start_date", "units_sold"]
    assert len(pricing.actual_sales) == 12
    # A Wednesday season against Monday weeks: the week starting two days before the season is
    # mostly its first week, the one starting two days before its end mostly the next season's.
    wednesday = _params(date(2024, 9, 4))
    pricing = assembler.assemble_pricing_context(
        "outerwear", wednesday, demand_result("outerwear"), inventory_result()
    )
    assert pricing.actual_sales is not None
    weeks = pricing.actual_sales["week_start_date"]
    assert len(weeks) == 12 and weeks.min() == pd.Timestamp(2024, 9, 2)


def test_unknown_category_names_the_existing_ones(seeded):
    with pytest.raises(DataNotFoundError) as info:
        ContextAssembler(get_engine(seeded)).assemble_demand_context("hats", PARAMS)
    assert info.value.details["available_categories"] == ["outerwear", "swimwear"]
    assert info.value.status_code == 404


def test_short_history_is_rejected_with_counts(url):
    load_sample(get_engine(url), generate_sample(stores=3, weeks=40, categories=1))
    with pytest.raises(DataNotFoundError) as info:
        ContextAssembler(get_engine(url)).assemble_demand_context("outerwear", PARAMS)
    assert info.value.details["weeks_found"] == 40 and info.value.details["weeks_required"] == 52


@pytest.mark.parametrize("schema", [False, True])
def test_empty_database_says_how_to_import(url, schema):
    if schema:
        create_schema(get_engine(url))
    assembler = ContextAssembler(get_engine(url))
    with pytest.raises(DataNotFoundError) as info:
        assembler.assemble_demand_context(assembler.default_category_id(), PARAMS)
    [suggestion] = info.value.suggestions
    assert "POST /api/data/import" in suggestion and "data-admin" in suggestion


def test_cached_calls_return_the_same_frames(seeded):
    assembler = get_assembler(seeded)
    assert get_assembler(seeded) is assembler
    first = assembler.assemble_demand_context("outerwear", PARAMS)
    second = ContextAssembler(get_engine(seeded)).assemble_demand_context("outerwear", PARAMS)
    assert second.history.weekly_totals() is first.history.weekly_totals()
    assert second.stores is first.stores


def test_the_database_sums_equal_the_sums_of_the_rows(seeded):
    """What the database sums (weekly and per store over a window) is what summing the rows
    gives: the rows path is the reference."""
    assembler = ContextAssembler(get_engine(seeded))
    ctx = assembler.assemble_demand_context("outerwear", PARAMS)
    rows = assembler.load_historical_sales("outerwear")
    assert ctx.history.weekly_totals().to_dict() == (
        rows.groupby("week_start_date")["units_sold"].sum().to_dict()
    )
    window = rows[rows["week_start_date"].between("2024-07-01", "2024-12-23")]
    by_store = window.groupby("store_id", observed=True)["units_sold"].sum()
    totals = ctx.history.store_window(date(2024, 7, 1), date(2024, 12, 23))["units"]
    assert totals.to_dict() == by_store.to_dict() and totals.dtype == "int64"
    assert list(totals.index) == sorted(ctx.stores["store_id"])


def test_sales_of_a_store_missing_from_the_stores_table_are_named(seeded):
    """A database written around the import (foreign keys off) can hold sales of a store it
    does not list: the typed load keeps the unknown id, so the error can name it."""
    with get_engine(seeded).begin() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql(
            "INSERT INTO historical_sales SELECT category_id, week_start_date, 'GHOST-9', "
            "units_sold FROM historical_sales WHERE store_id = 'S0001'"
        )
        bump_data_version(conn, datetime.now(UTC))
    with pytest.raises(DataNotFoundError) as info:
        ContextAssembler(get_engine(seeded)).assemble_demand_context("outerwear", PARAMS)
    assert info.value.details["missing_store_ids"] == ["GHOST-9"]


def test_the_cache_is_bounded_in_bytes_least_recently_used_first(seeded):
    clear_context_cache()
    one = ContextAssembler(get_engine(seeded)).load_historical_sales("outerwear")
    size = cached_sales_bytes()
    assert size == one.memory_usage(index=True, deep=True).sum() > 0
    clear_context_cache()
    bounded = ContextAssembler(get_engine(seeded), cache_limit_bytes=int(size * 1.5))

    first = bounded.load_historical_sales("outerwear")
    second = bounded.load_historical_sales("swimwear")

    assert cached_sales_bytes() <= size * 1.5
    assert bounded.load_historical_sales("swimwear") is second  # the newest stays
    assert bounded.load_historical_sales("outerwear") is not first  # dropped, read again
    assert cached_sales_bytes() <= size * 1.5


def test_reimport_invalidates_the_cache(seeded):
    assembler = ContextAssembler(get_engine(seeded))
    before = assembler.load_historical_sales("outerwear")
    assert assembler.load_historical_sales("outerwear") is before
    import_csv(
        get_engine(seeded),
        None,
        b"week_start_date,store_id,category_id,units_sold\n"
        + "".join(
            f"{w:%Y-%m-%d},S0001,outerwear,7\n"
            for w in pd.date_range("2023-01-02", periods=60, freq="7D")
        ).encode(),
    )
    after = assembler.load_historical_sales("outerwear")
    assert after is not before and len(after) == 60 and set(after["units_sold"]) == {7}


def test_another_process_import_is_noticed_through_the_version(seeded):
    assembler = ContextAssembler(get_engine(seeded))
    before = assembler.load_historical_sales("swimwear")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "localdev",
            "seed",
            "--force",
            "--database-url",
            seeded,
            "--stores",
            "8",
            "--weeks",
            "104",
            "--categories",
            "2",
            "--seed",
            "5",
            "--end-date",
            "2025-01-01",
        ],
        check=True,
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    after = assembler.load_historical_sales("swimwear")
    assert after is not before and not after["units_sold"].equals(before["units_sold"])


def _bump_elsewhere(url: str) -> None:
    """What another process's import does to this database: a new data version."""
    other = create_engine(url)
    with other.begin() as conn:
        bump_data_version(conn, datetime.now(UTC))
    other.dispose()


def test_version_checks_can_be_throttled(seeded):
    clock = [0.0]
    assembler = ContextAssembler(
        get_engine(seeded), version_check_seconds=5.0, clock=lambda: clock[0]
    )
    before = assembler.load_historical_sales("outerwear")
    _bump_elsewhere(seeded)
    clock[0] = 4.0
    assert assembler.load_historical_sales("outerwear") is before
    clock[0] = 6.0
    assert assembler.load_historical_sales("outerwear") is not before


def test_corrupt_database_file_is_a_clear_error(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not an sqlite database at all " * 200)
    url = f"sqlite:///{path}"
    try:
        with pytest.raises(ContextAssemblyError) as info:
            ContextAssembler(get_engine(url)).assemble_demand_context("outerwear", PARAMS)
        assert "corrupt" in info.value.message
        assert info.value.details["database"] == "sqlite"
        assert str(path) not in json.dumps(info.value.details)  # no file paths to clients
    finally:
        dispose_engine(url)


def test_plans_of_one_season_share_one_forecast_fit_even_when_they_start_together(
    seeded, monkeypatch
):
    """The fit depends on the history alone: plans arriving together wait for the one being
    built instead of fitting it again; another season start is its own fit."""
    fits: list[int] = []
    fit = demand.forecast_series

    def counted(*args, **kwargs):
        fits.append(len(args[0]))
        return fit(*args, **kwargs)

    monkeypatch.setattr(demand, "forecast_series", counted)
    assembler = ContextAssembler(get_engine(seeded))

    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda _: demand.run_demand_agent(
                    assembler.assemble_demand_context("outerwear", PARAMS)
                ),
                range(4),
            )
        )
    assert len(fits) == 1
    assert all(r.model_dump() == results[0].model_dump() for r in results)
    demand.run_demand_agent(
        assembler.assemble_demand_context("outerwear", _params(date(2024, 12, 4)))
    )
    assert len(fits) == 2
