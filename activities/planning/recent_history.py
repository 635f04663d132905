"""The contiguous recent history: the weeks the Demand agent forecasts from.

Why: filling every missing week with zero between the first and the last stored week let one
placeholder row (1900-01-01) stretch a category's series over 6,500 weeks of zeros. The
backtests then ran far past the agent's deadline, and 31 real weeks plus 25 placeholder weeks
passed the one-season rule. The agent now takes the trailing run of weeks that follow each
other exactly seven days apart; whatever lies before the latest break (a gap, a stray old row,
a second weekday grid) is reported, never forecast from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class RecentHistory:
    """The trailing contiguous weeks and what was left out before them.

    `series`: units per week, indexed by week start, seven days apart. `earlier_first` /
    `earlier_last` / `earlier_weeks`: the stored weeks before the break (None / 0 without one).
    `missing_first` / `missing_last`: the weeks absent between the two (None when the break is
    not a whole number of weeks, as with a second weekday grid)."""

    series: pd.Series
    earlier_first: date | None = None
    earlier_last: date | None = None
    earlier_weeks: int = 0
    missing_first: date | None = None
    missing_last: date | None = None

    @property
    def first_week(self) -> date:
        return pd.Timestamp(self.series.index[0]).date()

    @property
    def last_week(self) -> date:
        return pd.Timestamp(self.series.index[-1]).date()

    def left_out(self) -> str:
        """The weeks before the break, in words ("" when nothing was left out)."""
        if not self.earlier_weeks or self.earlier_first is None or self.earlier_last is None:
            return ""
        missing = (
            f"the weeks of {self.missing_first.isoformat()} to {self.missing_last.isoformat()} "
            "are missing"
            if self.missing_first is not None and self.missing_last is not None
            else "their weeks start on another weekday"
        )
        return (
            f"{self.earlier_weeks} stored week(s) from {self.earlier_first.isoformat()} to "
            f"{self.earlier_last.isoformat()} are not contiguous with the recent history "
            f"({missing})"
        )


def recent_history(totals: pd.Series) -> RecentHistory:
    """The trailing run of `totals` (units per week, index ascending) whose weeks are exactly
    seven days apart, and the weeks before it."""
    if totals.empty:
        return RecentHistory(series=totals)
    steps = totals.index.to_series().diff()
    breaks = (steps != WEEK).to_numpy()
    breaks[0] = False
    positions = breaks.nonzero()[0]
    if not len(positions):
        return RecentHistory(series=totals)
    start = int(positions[-1])
    earlier = totals.index[:start]
    before = pd.Timestamp(earlier[-1])
    after = pd.Timestamp(totals.index[start])
    whole_weeks = (after - before) % WEEK == pd.Timedelta(0)
    return RecentHistory(
        series=totals.iloc[start:],
        earlier_first=pd.Timestamp(earlier[0]).date(),
        earlier_last=before.date(),
        earlier_weeks=len(earlier),
        missing_first=(before + WEEK).date() if whole_weeks else None,
        missing_last=(after - WEEK).date() if whole_weeks else None,
    )
