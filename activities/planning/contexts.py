"""What each agent is given: the contexts the planning functions take, and the season rules
both they and the database's ContextAssembler (shared.data.context) apply.

Why here: the contexts are the planning package's inputs, so they live beside it, free of the
database; the assembler builds them from SQLAlchemy reads and imports them from here (never the
other way round). They carry DataFrames, so they stay inside the activity process.
"""

from __future__ import annotations

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


class DemandContext(_Context):
    """History for one category.

    `sales`: one row per (week_start_date, store_id) with `units_sold`, weeks ascending,
    `week_start_date` as datetime64. `stores`: the stores table. `weekly_units`: units per
    week summed over the stores of `sales` (weeks ascending), when the assembler has it cached;
    None lets the agent sum `sales` itself (what `weekly_units` computes).
    """

    sales: pd.DataFrame
    stores: pd.DataFrame
    weekly_units: pd.Series | None = None
    memo: Memo | None = None
    """`memo(key, build)`: build's value, computed once per (data version, category, season
    start, key) and shared by every later plan in this process (treat it as read-only); None
    (a context made by hand) computes every time. For work that depends on the history alone,
    such as the fitted forecast: sixty plans of one season fit it once."""


def weekly_units(sales: pd.DataFrame) -> pd.Series:
    """Units per week summed over stores, indexed by week start (datetime64, ascending)."""
    weeks = pd.to_datetime(sales["week_start_date"]).dt.normalize()
    return sales.assign(week=weeks).groupby("week")["units_sold"].sum()


def store_units_between(sales: pd.DataFrame, first_week: date, last_week: date) -> pd.DataFrame:
    """Per store, over the weeks starting from `first_week` to `last_week` (both included):
    `units` sold and `weeks`, the number of weeks the store has a sales row in (one row per
    store and week, as the context holds them).

    The store split's one question to the history (a SUM and a COUNT grouped by store over a
    date window), so a database can answer it without sending the rows. Indexed by store_id,
    stores without rows in the window absent.
    """
    weeks = sales["week_start_date"]
    if not pd.api.types.is_datetime64_any_dtype(weeks):
        weeks = pd.to_datetime(weeks)
    inside = (weeks >= pd.Timestamp(first_week)) & (weeks <= pd.Timestamp(last_week))
    # observed=True: a categorical store_id (the context's) groups by the stores present only.
    grouped = sales.loc[inside, ["store_id", "units_sold"]].groupby("store_id", observed=True)
    units = grouped["units_sold"]
    return pd.DataFrame({"units": units.sum(), "weeks": units.size()})


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
