"""How the Demand agent splits a category's season forecast across stores.

Each store's share comes from the same weeks of earlier years (a winter coat season is split as
past winters were, not as the last six months were: warm-region stores sell a smaller part of a
category's winter peak than of its year), shrunk toward the store's recent share where the store
has little same-season history (a store that opened since). Both are read through one window
query, `SalesHistory.store_window`, which the database answers directly.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from activities.planning.contexts import SHARE_WINDOW_WEEKS, SalesHistory

RECENT_WEEKS = SHARE_WINDOW_WEEKS
"""The recent window a store with no same-season history is split by."""
SAME_SEASON_YEARS = 3
"""Earlier years whose same weeks are pooled: more years average out noise, older ones describe
a store as it was."""
YEAR_DAYS = 364  # 52 weeks: the same weekday a year earlier, as retail calendars compare
WEEK_SLACK_DAYS = 3  # history weeks may start on another weekday than the season


def _rate_shares(window: pd.DataFrame) -> pd.Series:
    """Shares from units per week present: a store present for part of the window is compared
    with the others at its own pace, not halved for the weeks before it opened."""
    rate = (window["units"].clip(lower=0.0) / window["weeks"].replace(0.0, np.nan)).fillna(0.0)
    total = float(rate.sum())
    return rate / total if total > 0 else rate


def _window(history: SalesHistory, first: date, last: date, ids: list[str]) -> pd.DataFrame:
    """`history.store_window` over the stores table: units and weeks present per store id."""
    found = history.store_window(first, last)
    found.index = found.index.astype(str)
    return found.reindex(ids, fill_value=0).astype(float)


def same_season_windows(
    season_weeks: list[date], last_week: date, years: int = SAME_SEASON_YEARS
) -> list[tuple[date, date]]:
    """The season's weeks moved back one, two, ... `years` years (52 weeks each), as (first,
    last) week-start bounds widened by WEEK_SLACK_DAYS, keeping only the parts that lie in the
    history (up to `last_week`); windows the history does not reach are left out."""
    slack = timedelta(days=WEEK_SLACK_DAYS)
    out = []
    for k in range(1, years + 1):
        back = timedelta(days=YEAR_DAYS * k)
        first, last = season_weeks[0] - back - slack, season_weeks[-1] - back + slack
        last = min(last, last_week)
        if first <= last:
            out.append((first, last))
    return out


def store_shares(
    history: SalesHistory,
    stores: pd.DataFrame,
    last_week: date,
    season_weeks: list[date],
) -> pd.Series:
    """Each store's share of the category for the season's weeks, over the stores table (sales
    of unknown stores are dropped; nothing sold anywhere: an even split).

    Shares compare stores by units per week present (`_rate_shares`):
    same-season share s: over the same weeks of up to SAME_SEASON_YEARS earlier years;
    recent share r: over the last RECENT_WEEKS weeks;
    c: the fraction of those same-season weeks the store was present in (1 with the whole
    same-season history, 0 for a store opened since).
    A store takes (1 - c) * r off the top, and what is left is split among the stores by
    c * s: a store opened since is planned at its recent pace, and the established stores
    split the rest as they split the same weeks before.
    """
    recent_first = last_week - timedelta(weeks=RECENT_WEEKS - 1)
    ids = (
        [str(s) for s in stores["store_id"]]
        if not stores.empty
        else sorted(str(s) for s in history.store_window(recent_first, last_week).index)
    )
    if not ids:
        return pd.Series(dtype=float)
    recent = _rate_shares(_window(history, recent_first, last_week, ids))
    windows = [_window(history, a, b, ids) for a, b in same_season_windows(season_weeks, last_week)]
    past = sum(windows, pd.DataFrame(0.0, index=ids, columns=["units", "weeks"]))
    season_weeks_seen = sum(float(w["weeks"].max()) for w in windows)
    same = _rate_shares(past)
    if season_weeks_seen <= 0 or float(same.sum()) <= 0:
        return recent if float(recent.sum()) > 0 else pd.Series(1.0 / len(ids), index=ids)
    coverage = (past["weeks"] / season_weeks_seen).clip(upper=1.0)
    from_recent = (1.0 - coverage) * recent
    weighted = coverage * same
    shares = from_recent + (1.0 - float(from_recent.sum())) * weighted / float(weighted.sum())
    return shares / float(shares.sum())
