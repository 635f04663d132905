"""What each agent is given: the contexts the planning functions take, and the season rules
both they and the database's ContextAssembler (shared.data.context) apply.

Why here: the contexts are the planning package's inputs, so they live beside it, free of the
database; the assembler builds them from SQLAlchemy reads and imports them from here (never the
other way round). They carry DataFrames, so they stay inside the activity process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from shared.results import DemandResult, InventoryResult
from shared.schemas import SeasonParameters

SEASON_WEEKS = 52
"""Weekly retail repeats yearly: the Demand agent's season length, and the least history (one
full season of weeks before the season start) a plan can be made from."""
SHARE_WINDOW_WEEKS = 26
"""The recent weeks whose sales split the Demand agent's forecast across stores; the context
assembler reads the same window's store totals once for the agent and for finding the
category's stores."""


def last_history_week(season_start: date) -> date:
    """The latest week start a plan for a season starting on `season_start` may learn from.

    A week counts as history only when all seven of its days come before the season starts, so
    a plan for a season already under way (or a past season replayed) never sees its own sales.
    The context assembler cuts the history here and the Demand agent applies the same cut to
    whatever it is given.
    """
    return season_start - timedelta(days=7)


class _Context(BaseModel):
    """Contexts carry DataFrames, so they live only inside the activity process."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    category_id: str
    parameters: SeasonParameters


Memo = Callable[[tuple[Any, ...], Callable[[], Any]], Any]


def weekly_units(sales: pd.DataFrame) -> pd.Series:
    """Units per week summed over stores, indexed by week start (datetime64, ascending)."""
    weeks = pd.to_datetime(sales["week_start_date"]).dt.normalize()
    return sales.assign(week=weeks).groupby("week")["units_sold"].sum()


class SalesHistory(ABC):
    """One category's weekly sales as the Demand agent reads them: sums, never rows.

    Why sums: at retail scale the rows are millions (50,000 stores x 156 weeks), and the agent
    needs only units per week and, per store over a window of weeks, units and weeks sold,
    which a database computes without handing the rows over (shared.data.context answers from
    SQL). A history held in memory (`FrameHistory`) answers the same questions with pandas.
    """

    @abstractmethod
    def weekly_totals(self) -> pd.Series:
        """Units per week summed over stores, indexed by week start (datetime64, ascending)."""

    @abstractmethod
    def store_window(self, first_week: date, last_week: date) -> pd.DataFrame:
        """Per store over the weeks starting from `first_week` through `last_week`: `units`
        sold and `weeks`, the number of weeks the store has a sales row in; indexed by store id
        (str), stores without rows in the window absent. The store split's question (a SUM and
        a COUNT grouped by store): a store present for part of a window is compared with the
        others at its own pace."""


class FrameHistory(SalesHistory):
    """A history from rows in memory (week_start_date, store_id, units_sold): what a caller with
    a DataFrame in hand (a test, a benchmark) gives the agent."""

    def __init__(self, sales: pd.DataFrame) -> None:
        self.sales = sales

    def weekly_totals(self) -> pd.Series:
        return weekly_units(self.sales)

    def store_window(self, first_week: date, last_week: date) -> pd.DataFrame:
        weeks = pd.to_datetime(self.sales["week_start_date"]).dt.normalize()
        inside = (weeks >= pd.Timestamp(first_week)) & (weeks <= pd.Timestamp(last_week))
        grouped = self.sales.loc[inside, ["store_id", "units_sold"]].groupby(
            "store_id", observed=True
        )["units_sold"]
        window = pd.DataFrame({"units": grouped.sum(), "weeks": grouped.size()})
        window.index = window.index.astype(str)
        return window


class DemandContext(_Context):
    """History for one category.

    `history`: its weekly sales as sums (see SalesHistory), weeks before the season only when
    the assembler made it. `stores`: the stores that sell the category (the stores table's
    rows).
    """

    history: SalesHistory
    stores: pd.DataFrame
    memo: Memo | None = None
    """`memo(key, build)`: build's value, computed once per (data version, category, season
    start, key) and shared by every later plan in this process (treat it as read-only); None
    (a context made by hand) computes every time. For work that depends on the history alone,
    such as the fitted forecast: sixty plans of one season fit it once."""


class InventoryContext(_Context):
    """The stores to allocate to and the persisted demand forecast to allocate from."""

    stores: pd.DataFrame
    demand: DemandResult


class PricingContext(_Context):
    """Forecast and allocation for the season; `actual_sales` (week_start_date, units_sold) when
    the season is already under way."""

    demand: DemandResult
    inventory: InventoryResult
    actual_sales: pd.DataFrame | None = None
