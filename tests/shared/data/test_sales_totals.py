"""The database's sums of a category's sales: equal to summing the rows, on every path."""

from datetime import date

import pandas as pd
import pytest

from activities.planning.contexts import FrameHistory
from localdev.sample_data import generate_sample, load_sample
from shared.data import sales_totals
from shared.data.db import dispose_engine, get_engine

WINDOW = (date(2024, 7, 1), date(2024, 12, 23))


@pytest.fixture
def sample(tmp_path):
    url = f"sqlite:///{tmp_path / 'sums.db'}"
    data = generate_sample(stores=12, weeks=104, categories=1)
    load_sample(get_engine(url), data)
    yield (
        get_engine(url),
        data.sales.assign(week_start_date=pd.to_datetime(data.sales["week_start_date"])),
    )
    dispose_engine(url)


def _delete(engine, where: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM historical_sales WHERE {where}")


def test_weekly_totals_are_the_rows_summed_per_week(sample):
    engine, rows = sample
    with engine.connect() as conn:
        weekly = sales_totals.weekly_totals(conn, "outerwear")
        assert sales_totals.weekly_totals(conn, "hats").empty
    by_week = rows.groupby("week_start_date")["units_sold"]
    assert weekly["units_sold"].to_dict() == by_week.sum().to_dict()
    assert weekly["rows"].to_dict() == by_week.size().to_dict()
    assert str(weekly.index.dtype) == "datetime64[ns]" and weekly["units_sold"].dtype == "int64"


def test_store_window_sums_the_window_inclusive(sample):
    engine, rows = sample
    with engine.connect() as conn:
        totals = sales_totals.store_window(conn, "outerwear", *WINDOW)["units"]
    inside = rows[rows["week_start_date"].between(*(pd.Timestamp(d) for d in WINDOW))]
    assert totals.to_dict() == inside.groupby("store_id")["units_sold"].sum().to_dict()
    assert list(totals.index) == sorted(totals.index) and len(totals) == 12


def test_store_window_counts_the_weeks_each_store_sold_as_the_rows_do(sample):
    engine = sample[0]
    _delete(
        engine, "store_id = (SELECT MIN(store_id) FROM stores) AND week_start_date < '2024-09-01'"
    )
    with engine.connect() as conn:
        window = sales_totals.store_window(conn, "outerwear", *WINDOW)
        kept = pd.read_sql(
            "SELECT week_start_date, store_id, units_sold FROM historical_sales", conn
        )
    expected = FrameHistory(kept).store_window(*WINDOW)
    assert window.to_dict() == expected.to_dict()
    assert window["weeks"].min() < window["weeks"].max()  # the trimmed store sold fewer weeks


def _only_before(engine, known_from: date) -> list[str]:
    with engine.connect() as conn:
        weekly = sales_totals.weekly_totals(conn, "outerwear")
        recent = sales_totals.store_window(conn, "outerwear", known_from, date(2024, 12, 23))
        known = set(recent.index)
        starts = weekly.index.date
        earlier = weekly[starts < known_from]
        return sales_totals.stores_only_before(
            conn,
            "outerwear",
            list(earlier.index.date),
            list(starts[starts >= known_from]),
            known=known,
            earlier_rows=int(earlier["rows"].sum()),
            stores_table_size=12,
        )


def test_stores_that_stopped_selling_are_found_by_asking_per_store(sample, monkeypatch):
    """Two stores closed before the window: the rest answer at the first seek."""
    engine, _ = sample
    _delete(engine, "store_id IN ('S0003', 'S0008') AND week_start_date >= '2024-03-01'")
    asked: list[str] = []
    monkeypatch.setattr(sales_totals, "_sold_in", _recording(asked))
    assert _only_before(engine, WINDOW[0]) == ["S0003", "S0008"]
    assert asked == ["per store"]


def test_stores_of_a_category_few_stores_sell_are_found_by_reading_the_rows(sample, monkeypatch):
    """Most stores never sold in the window: reading the earlier rows is cheaper than asking."""
    engine, _ = sample
    _delete(engine, "store_id NOT IN ('S0001', 'S0002') AND week_start_date >= '2024-03-01'")
    asked: list[str] = []
    monkeypatch.setattr(sales_totals, "_sold_in", _recording(asked))
    expected = [f"S{n:04d}" for n in range(3, 13)]
    assert _only_before(engine, WINDOW[0]) == expected
    assert asked == []


def _recording(asked: list[str]):
    original = sales_totals._sold_in

    def sold_in(category_id, weeks):
        if not asked:
            asked.append("per store")
        return original(category_id, weeks)

    return sold_in
