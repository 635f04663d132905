"""The sample generator: shape, determinism and the realism the agents rely on."""

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from localdev.__main__ import main as localdev_main
from localdev.sample_data import current_calendar, ensure_sample_data, export_csv, generate_sample
from shared.data.db import dispose_engine, get_engine
from shared.data.tables import read_data_version


@pytest.fixture(scope="module")
def sample():
    return generate_sample()


def test_shape_columns_and_calendar(sample):
    assert list(sample.sales.columns) == [
        "week_start_date",
        "store_id",
        "category_id",
        "units_sold",
    ]
    assert list(sample.stores.columns) == [
        "store_id",
        "store_name",
        "region",
        "store_size_sqft",
        "location_tier",
        "median_income",
        "store_format",
    ]
    assert len(sample.stores) == 50 and sample.stores["store_id"].is_unique
    assert len(sample.sales) == 50 * 156 * 3
    assert set(sample.categories["category_id"]) == {"outerwear", "swimwear", "denim"}
    weeks = sample.sales["week_start_date"]
    assert (weeks.dt.weekday == 0).all()
    assert weeks.max() == pd.Timestamp("2024-12-23") and weeks.nunique() == 156
    assert not sample.sales.duplicated(["category_id", "store_id", "week_start_date"]).any()
    assert (sample.sales["units_sold"] >= 0).all()
    assert set(sample.stores["region"]) == {
        "Northeast",
        "Southeast",
        "Midwest",
        "West",
        "Southwest",
    }
    assert set(sample.stores["location_tier"]) == {"A", "B", "C"}


def test_end_date_moves_the_calendar():
    weeks = generate_sample(stores=2, weeks=10, end_date=date(2024, 7, 1)).sales["week_start_date"]
    assert weeks.max() == pd.Timestamp("2024-06-24") and weeks.nunique() == 10


@pytest.mark.parametrize(
    "today,last_week,weeks",
    [
        (date(2026, 12, 7), "2026-11-30", 257),  # a Monday: last week ended yesterday
        (date(2026, 12, 6), "2026-11-23", 256),  # a Sunday: this week is not over yet
        (date(2026, 3, 4), "2026-02-23", 217),
        (date(2025, 1, 1), "2024-12-23", 156),  # the fixed sample's calendar
        (date(2024, 6, 1), "2024-05-20", 156),  # never fewer than three years
    ],
)
def test_the_current_calendar_ends_with_the_last_full_week(today, last_week, weeks):
    calendar = current_calendar(today)
    assert calendar == {"end_date": today, "weeks": weeks}
    dates = generate_sample(stores=2, categories=1, **calendar).sales["week_start_date"]
    assert dates.max() == pd.Timestamp(last_week) and dates.nunique() == weeks
    if weeks > 156:
        assert dates.min() == pd.Timestamp("2022-01-03")


def test_every_season_from_2025_on_keeps_three_years_of_history():
    dates = generate_sample(stores=2, categories=1, **current_calendar(date(2026, 12, 7)))
    weeks = dates.sales["week_start_date"].drop_duplicates()
    for start in (date(2025, 1, 1), date(2025, 3, 3), date(2026, 11, 30)):
        before = weeks[weeks <= pd.Timestamp(start) - pd.Timedelta(days=7)]
        assert len(before) >= 156, start


def test_the_fixed_calendar_is_the_fixed_sample(sample):
    pinned = generate_sample(**current_calendar(date(2025, 1, 1)))
    pd.testing.assert_frame_equal(sample.sales, pinned.sales)


def test_seed_loads_history_through_last_week_unless_the_end_is_fixed(tmp_path, capsys):
    today_url = f"sqlite:///{tmp_path / 'today.db'}"
    fixed_url = f"sqlite:///{tmp_path / 'fixed.db'}"
    args = ["--stores", "2", "--categories", "1"]
    try:
        assert localdev_main(["seed", "--database-url", today_url, *args]) == 0
        today = capsys.readouterr().out
        assert (
            localdev_main(["seed", "--database-url", fixed_url, "--end-date", "2025-01-01", *args])
            == 0
        )
        fixed = capsys.readouterr().out
    finally:
        dispose_engine(today_url)
        dispose_engine(fixed_url)
    today_utc = datetime.now(UTC).date()
    last = pd.Timestamp(today_utc) - pd.Timedelta(days=today_utc.weekday() + 7)
    assert f"weeks 2022-01-03 .. {last.date()}" in today
    assert "weeks 2022-01-03 .. 2024-12-23" in fixed


def test_same_seed_same_data_other_seed_differs(sample):
    again = generate_sample()
    pd.testing.assert_frame_equal(sample.sales, again.sales)
    pd.testing.assert_frame_equal(sample.stores, again.stores)
    other = generate_sample(seed=7)
    assert not other.sales["units_sold"].equals(sample.sales["units_sold"])


def test_adding_categories_keeps_the_existing_ones(sample):
    more = generate_sample(categories=5)
    pd.testing.assert_frame_equal(more.sales.iloc[: len(sample.sales)], sample.sales)


def _totals(sample, category):
    sales = sample.sales[sample.sales["category_id"] == category]
    return sales.groupby("week_start_date")["units_sold"].sum()


@pytest.mark.parametrize("category", ["outerwear", "swimwear", "denim"])
def test_yearly_seasonality(sample, category):
    totals = _totals(sample, category).to_numpy(dtype=float)
    lag52 = np.corrcoef(totals[:-52], totals[52:])[0, 1]
    assert lag52 > 0.6


def test_categories_peak_in_their_season(sample):
    def peak_month(category):
        totals = _totals(sample, category)
        return totals.groupby(totals.index.month).mean().idxmax()

    assert peak_month("outerwear") in (11, 12)
    assert peak_month("swimwear") in (5, 6, 7)
    assert peak_month("denim") == 8


def test_black_friday_week_beats_its_neighbours(sample):
    totals = _totals(sample, "outerwear")
    black_friday_week = pd.Timestamp("2024-11-25")  # Thanksgiving 2024-11-28
    neighbours = totals.loc[[pd.Timestamp("2024-11-11"), pd.Timestamp("2024-11-18")]]
    assert totals.loc[black_friday_week] > 1.25 * neighbours.mean()


def test_bigger_and_richer_stores_sell_more():
    sample = generate_sample(stores=300, weeks=52, categories=1)
    per_store = sample.sales.groupby("store_id")["units_sold"].sum()
    stores = sample.stores.set_index("store_id").join(per_store)
    assert stores["units_sold"].corr(stores["store_size_sqft"], method="spearman") > 0.3
    assert stores["units_sold"].corr(stores["median_income"], method="spearman") > 0.2


def test_year_over_year_growth_follows_the_trend(sample):
    totals = _totals(sample, "swimwear")  # +5 % a year
    first, last = totals.iloc[:52].sum(), totals.iloc[-52:].sum()
    annual = (last / first) ** 0.5  # two years apart
    assert 1.03 < annual < 1.08


def test_ensure_sample_data_loads_once_and_export_round_trips(tmp_path, sample):
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    engine = get_engine(url)
    try:
        assert ensure_sample_data(engine) is True
        assert ensure_sample_data(engine) is False
        with engine.connect() as conn:
            assert read_data_version(conn) == 1
            stored = pd.read_sql_query(
                "SELECT COUNT(*) AS n, SUM(units_sold) AS u FROM historical_sales", conn
            )
        assert stored["n"][0] == len(sample.sales)
        assert stored["u"][0] == sample.sales["units_sold"].sum()
    finally:
        dispose_engine(url)
    paths = export_csv(sample, tmp_path / "csv")
    back = pd.read_csv(paths["sales"], parse_dates=["week_start_date"])
    assert back.iloc[0]["week_start_date"] == pd.Timestamp("2022-01-03")
    with open(paths["sales"]) as sales:
        assert sales.readline().strip() == "week_start_date,store_id,category_id,units_sold"
    assert len(back) == len(sample.sales)
