"""Synthetic retail data for the agents' tests and benchmark.

A chain of stores with realistic attributes and weekly category sales built from a known
structure (store volume x seasonal profile x trend x weekly shock, Poisson counts), so tests can
check that forecasts recover what was put in. Shaped like localdev.sample_data.generate_sample:
an object with .stores, .categories and .sales (week_start_date, store_id, category_id,
units_sold).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from activities.planning.contexts import DemandContext, FrameHistory
from shared.schemas import SeasonParameters

REGIONS = ("North", "South", "East", "West")
TIERS = ("A", "B", "C")
FORMATS = ("flagship", "standard", "outlet")
HISTORY_START = date(2022, 1, 3)  # a Monday


@dataclass(frozen=True)
class Chain:
    stores: pd.DataFrame
    categories: pd.DataFrame
    sales: pd.DataFrame


def make_stores(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fmt = rng.choice(FORMATS, size=n, p=[0.15, 0.6, 0.25])
    size = np.where(fmt == "flagship", 30_000, np.where(fmt == "outlet", 9_000, 16_000))
    size = (size * rng.lognormal(0, 0.2, n)).round(-2).astype(int)
    tier = rng.choice(TIERS, size=n, p=[0.3, 0.45, 0.25])
    income = np.where(tier == "A", 95_000, np.where(tier == "B", 70_000, 50_000))
    income = (income * rng.lognormal(0, 0.15, n)).round(-3).astype(int)
    return pd.DataFrame(
        {
            "store_id": [f"S{i + 1:04d}" for i in range(n)],
            "store_name": [f"Store {i + 1}" for i in range(n)],
            "region": rng.choice(REGIONS, size=n),
            "store_size_sqft": size,
            "location_tier": tier,
            "median_income": income,
            "store_format": fmt,
        }
    )


def seasonal_profile(weeks: int, peaks: tuple[tuple[int, float, float], ...]) -> np.ndarray:
    """1 + sum of Gaussian bumps (week of year, height, width) repeating every 52 weeks."""
    woy = np.arange(weeks) % 52
    prof = np.ones(weeks)
    for centre, height, width in peaks:
        d = np.minimum(np.abs(woy - centre), 52 - np.abs(woy - centre))
        prof += height * np.exp(-0.5 * (d / width) ** 2)
    return prof


CATEGORY_SHAPES = (
    ("outerwear", ((46, 2.5, 5.0),), 0.10),
    ("swimwear", ((24, 3.0, 4.0),), 0.06),
    ("dresses", ((15, 1.0, 5.0), (48, 0.8, 3.0)), 0.04),
)


def make_chain(
    stores: int = 50,
    weeks: int = 156,
    categories: int = 3,
    seed: int = 42,
    *,
    base_units: float = 12.0,
    shock_sd: float = 0.08,
) -> Chain:
    """Weekly sales per store and category. Store volume follows size, income and format;
    each category has its own seasonal peaks and yearly growth; a weekly category-wide
    lognormal shock (weather, promotions) makes the aggregate genuinely noisy."""
    rng = np.random.default_rng(seed)
    store_df = make_stores(stores, seed)
    volume = (
        store_df["store_size_sqft"].to_numpy()
        / 16_000
        * (store_df["median_income"].to_numpy() / 70_000) ** 0.5
        * np.where(store_df["store_format"] == "outlet", 0.8, 1.0)
    )
    week_dates = pd.to_datetime([HISTORY_START + timedelta(days=7 * i) for i in range(weeks)])
    frames, cats = [], []
    for c in range(categories):
        name, peaks, growth = CATEGORY_SHAPES[c % len(CATEGORY_SHAPES)]
        cat_id = f"{name}-{c // len(CATEGORY_SHAPES) + 1}" if c >= len(CATEGORY_SHAPES) else name
        cats.append({"category_id": cat_id, "category_name": name.title()})
        level = seasonal_profile(weeks, peaks) * (1 + growth) ** (np.arange(weeks) / 52)
        level *= rng.lognormal(0, shock_sd, weeks)
        lam = base_units * np.outer(level, volume)
        units = rng.poisson(lam)
        frames.append(
            pd.DataFrame(
                {
                    "week_start_date": np.repeat(week_dates, stores),
                    "store_id": np.tile(store_df["store_id"].to_numpy(), weeks),
                    "category_id": cat_id,
                    "units_sold": units.ravel(),
                }
            )
        )
    return Chain(store_df, pd.DataFrame(cats), pd.concat(frames, ignore_index=True))


def params(
    start: date = date(2025, 1, 1),
    weeks: int = 12,
    strategy: str = "weekly",
    holdback: float = 0.2,
    **extra,
) -> SeasonParameters:
    return SeasonParameters(
        forecast_horizon_weeks=weeks,
        season_start_date=start,
        replenishment_strategy=strategy,
        dc_holdback_percentage=holdback,
        **extra,
    )


def next_season_start(chain: Chain, gap_days: int = 9) -> date:
    """A season starting just after the history (default: the Wednesday after the next Monday)."""
    last = pd.Timestamp(chain.sales["week_start_date"].max()).date()
    return last + timedelta(days=gap_days)


def demand_context(chain: Chain, category_id: str, parameters: SeasonParameters) -> DemandContext:
    sales = chain.sales[chain.sales["category_id"] == category_id][
        ["week_start_date", "store_id", "units_sold"]
    ].reset_index(drop=True)
    return DemandContext(
        category_id=category_id,
        parameters=parameters,
        history=FrameHistory(sales),
        stores=chain.stores,
    )
