"""The store split: same-season shares, shrunk toward recent shares for stores without them."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from activities.planning.contexts import FrameHistory
from activities.planning.store_split import same_season_windows, store_shares

FIRST_WEEK = date(2022, 1, 3)  # a Monday
WEEKS = 156


def week_of_year(week: int) -> int:
    return week % 52


def sales_frame(rows: dict[str, np.ndarray], first_week: int = 0) -> pd.DataFrame:
    """One row per (store, week) from each store's weekly units; NaN = no row (not open)."""
    frames = []
    for store, units in rows.items():
        weeks = pd.date_range(FIRST_WEEK, periods=len(units), freq="7D")
        present = ~np.isnan(units)
        frames.append(
            pd.DataFrame(
                {
                    "week_start_date": weeks[present],
                    "store_id": store,
                    "units_sold": units[present],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def winter_peak(weeks: int, amplitude: float) -> np.ndarray:
    """100 units a week with a winter peak (weeks 44-52 of each year) `amplitude` times higher."""
    woy = np.arange(weeks) % 52
    return np.where(woy >= 43, 100.0 * amplitude, 100.0)


def stores_table(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"store_id": ids})


def season_after(weeks: int, offset_weeks: int, length: int = 9) -> list[date]:
    start = FIRST_WEEK + timedelta(weeks=weeks + offset_weeks)
    return [start + timedelta(weeks=i) for i in range(length)]


def test_store_window_sums_units_and_counts_weeks_inside_the_window_only():
    sales = sales_frame({"A": np.array([1.0, 2.0, 3.0, 4.0]), "B": np.array([np.nan, 5, 6, 7])})
    got = FrameHistory(sales).store_window(
        FIRST_WEEK + timedelta(weeks=1), FIRST_WEEK + timedelta(weeks=2)
    )
    assert got.loc["A"].tolist() == [5, 2]
    assert got.loc["B"].tolist() == [11, 2]
    empty = FrameHistory(sales).store_window(date(2030, 1, 7), date(2030, 2, 4))
    assert empty.empty


def test_windows_are_the_season_weeks_one_two_three_years_back_within_the_history():
    last_week = FIRST_WEEK + timedelta(weeks=WEEKS - 1)
    season = season_after(WEEKS, 0, 13)
    windows = same_season_windows(season, last_week)
    assert len(windows) == 3  # 156 weeks: three earlier years
    first, last = windows[0]
    assert first == season[0] - timedelta(days=364 + 3)
    assert last == season[-1] - timedelta(days=364 - 3)
    # History ending seven weeks into last year's same weeks: that window is cut there.
    short_history = FIRST_WEEK + timedelta(weeks=110)
    cut = same_season_windows(season, short_history)
    assert cut[0] == (windows[0][0], short_history)
    assert cut[1:] == windows[1:]


def test_a_store_whose_winter_peak_is_flatter_gets_its_winter_share_not_its_year_share():
    """Two stores equal over the year, one with a flat season: in winter the peaked store sells
    3 / 4 of the category, over the last six months (half winter) much less of it."""
    sales = sales_frame({"cold": winter_peak(WEEKS, 3.0), "warm": winter_peak(WEEKS, 1.0)})
    last_week = FIRST_WEEK + timedelta(weeks=WEEKS - 1)
    winter = season_after(WEEKS, 43 - WEEKS % 52, 9)  # weeks 44-52 of the next year
    shares = store_shares(FrameHistory(sales), stores_table(["cold", "warm"]), last_week, winter)
    assert shares["cold"] == pytest.approx(0.75, abs=0.01)
    recent = sales[sales["week_start_date"] > pd.Timestamp(last_week - timedelta(weeks=26))]
    recent_cold = (
        recent[recent["store_id"] == "cold"]["units_sold"].sum() / recent["units_sold"].sum()
    )
    assert recent_cold < 0.7


def test_a_store_opened_since_last_season_is_split_by_its_recent_share():
    """A store opened 20 weeks ago has no same-season history: its share is its recent one, and
    the established stores keep theirs relative to each other."""
    new = np.full(WEEKS, np.nan)
    new[-20:] = 200.0
    sales = sales_frame({"a": np.full(WEEKS, 100.0), "b": np.full(WEEKS, 300.0), "new": new})
    last_week = FIRST_WEEK + timedelta(weeks=WEEKS - 1)
    season = season_after(WEEKS, 2, 13)
    shares = store_shares(FrameHistory(sales), stores_table(["a", "b", "new"]), last_week, season)
    assert shares.sum() == pytest.approx(1.0)
    # Compared at its pace while open: 200 a week against 100 and 300.
    assert shares["new"] == pytest.approx(200 / 600)
    assert shares["b"] / shares["a"] == pytest.approx(3.0)


def test_a_store_open_for_part_of_the_same_weeks_is_not_halved():
    """Open for the later half of last year's same weeks (and always since), selling like an
    established store: its share is about theirs, not half of it."""
    late = np.full(WEEKS, 100.0)
    season = season_after(WEEKS, 0, 13)
    late[: WEEKS - 52 + 6] = np.nan  # opens 6 weeks into last year's same 13 weeks
    sales = sales_frame({"a": np.full(WEEKS, 100.0), "late": late})
    last_week = FIRST_WEEK + timedelta(weeks=WEEKS - 1)
    shares = store_shares(FrameHistory(sales), stores_table(["a", "late"]), last_week, season)
    assert shares["late"] == pytest.approx(0.5, abs=0.03)


def test_unknown_stores_are_dropped_and_no_sales_split_evenly():
    sales = sales_frame({"a": np.full(WEEKS, 10.0), "ghost": np.full(WEEKS, 90.0)})
    last_week = FIRST_WEEK + timedelta(weeks=WEEKS - 1)
    season = season_after(WEEKS, 0, 13)
    shares = store_shares(FrameHistory(sales), stores_table(["a", "b"]), last_week, season)
    assert shares.to_dict() == {"a": 1.0, "b": 0.0}
    silent = sales.assign(units_sold=0.0)
    even = store_shares(FrameHistory(silent), stores_table(["a", "b"]), last_week, season)
    assert even.to_dict() == {"a": 0.5, "b": 0.5}
