"""A seeded, realistic sample dataset: stores, categories and weekly sales per store.

Why a known generating process: forecast accuracy can then be judged against the truth. Every
number below comes from `numpy.random.default_rng` streams derived from `seed` (one for the
stores, one per category); the same arguments always give the same data. Everything is
vectorised over (store, category, week), so 2,000 stores x 156 weeks x 10 categories (3.1 M
rows) take about a second.

Calendar
    Weeks start on Mondays. History ends before `end_date` (default 2025-01-01, the example
    season start): the last week is the Monday-week ending before `end_date`
    (2024-12-23 .. 2024-12-29 by default), and there are `weeks` weeks before it. Those
    defaults are the fixed sample tests and benchmarks use; what `python -m localdev seed` and
    the first start of the local stack load is `current_calendar(today)`: history from
    HISTORY_START (2022-01-03) through the last full week before today, so a season from
    January 2025 on has three full years (156 weeks) of history before it and a season starting
    next month plans out of the box.

Stores
    region       Northeast 24 %, Southeast 22 %, Midwest 20 %, West 20 %, Southwest 14 %
    store_format flagship 6 %, mall 40 %, street 30 %, outlet 24 %
    location_tier A 30 %, B 45 %, C 25 % (flagships are always A)
    store_size_sqft lognormal around a format median (flagship 40,000, mall 18,000,
                 street 8,000, outlet 25,000; sigma 0.2), rounded to 100
    median_income lognormal around a tier median (A 98,000, B 72,000, C 54,000; sigma 0.12)
                 x region factor (Northeast 1.10, West 1.08, Southeast 0.92, Midwest 0.95,
                 Southwest 0.95), rounded to 100
    store effect e_s = (size / 15,000)^0.5 x (income / 70,000)^0.6 x format factor
                 (flagship 1.25, mall 1.0, street 0.95, outlet 0.8) x lognormal(0, 0.15),
                 normalised to mean 1 over the stores.

Expected units of store s, category c, week t (t = 0 .. weeks-1)
    mu = base_c x e_s x regional_level(c, region_s) x (1 + growth_c)^(t / 52)
         x season_c,r(t) x holiday_c(t) x promo_c(t) x weather_c,r(t)
    season      exp(a_r x sum_k A_k exp(-0.5 (d(t) - peak_k)^2 / width_k^2)), d(t) the day of
                year of the week's Thursday, distances taken around the year; normalised to mean
                1 over a year. a_r scales the amplitude by region (warm regions flatten
                outerwear/knitwear, see CATEGORY_SPECS).
    holiday     Black Friday week (the Monday of Thanksgiving week) x (1 + bf_c); the weeks
                containing Dec 11, Dec 18 and Dec 24 x (1 + 0.5 xmas_c), (1 + xmas_c),
                (1 + 0.8 xmas_c) (the strongest applies when two coincide).
    promo       chain-wide promotions per category: each non-holiday week with probability
                0.07, uplift uniform in [1.20, 1.50]; the following week x 0.93 (pull-forward).
                The calendar is returned as `SampleData.promotions`.
    weather     per (category, region) AR(1) on the log scale, phi 0.5, innovation sd 0.05.
    units_sold ~ Poisson(mu x lognormal(-0.005, 0.10)), integers >= 0.

Year-over-year change is therefore trend (known growth per category) plus promotions,
Black Friday's moving date and small weather shocks, not pure noise: a seasonal model with
trend beats seasonal-naive(52) on the category totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from shared.data.columns import ALIAS_SEPARATOR, DEFAULT_CURRENCY
from shared.data.csv_import import write_frames
from shared.data.csv_safety import neutralised_frame
from shared.data.schema import create_schema
from shared.data.tables import HistoricalSale, Store

DEFAULT_END_DATE = date(2025, 1, 1)
HISTORY_START = date(2022, 1, 3)
"""The first week of the sample seed loads: 156 weeks before the week of 2024-12-30, so every
season from January 2025 on keeps three full years of history (the Demand agent's longest
backtest window)."""
MIN_WEEKS = 156
REGIONS = ("Northeast", "Southeast", "Midwest", "West", "Southwest")
REGION_P = (0.24, 0.22, 0.20, 0.20, 0.14)
REGION_INCOME = (1.10, 0.92, 0.95, 1.08, 0.95)
WARM_REGIONS = ("Southeast", "Southwest")
FORMATS = ("flagship", "mall", "street", "outlet")
FORMAT_P = (0.06, 0.40, 0.30, 0.24)
FORMAT_SIZE = (40_000, 18_000, 8_000, 25_000)
FORMAT_FACTOR = (1.25, 1.0, 0.95, 0.8)
TIERS = ("A", "B", "C")
TIER_P = (0.30, 0.45, 0.25)
TIER_INCOME = (98_000, 72_000, 54_000)
CITIES = {
    "Northeast": ("Boston", "Hartford", "Albany", "Providence", "Newark", "Portland ME"),
    "Southeast": ("Atlanta", "Charlotte", "Orlando", "Nashville", "Raleigh", "Tampa"),
    "Midwest": ("Chicago", "Columbus", "Minneapolis", "Detroit", "Milwaukee", "Omaha"),
    "West": ("Seattle", "Portland", "San Jose", "Sacramento", "Denver", "Boise"),
    "Southwest": ("Phoenix", "Austin", "Tucson", "Albuquerque", "San Antonio", "El Paso"),
}

PROMO_PROBABILITY = 0.07
PROMO_UPLIFT = (1.20, 1.50)
PROMO_HANGOVER = 0.93
WEATHER_PHI = 0.5
WEATHER_SD = 0.05
NOISE_SD = 0.10


@dataclass(frozen=True)
class CategorySpec:
    """One category's economics and demand shape (see the module docstring for the formula)."""

    category_id: str
    name: str
    base_units: float
    annual_growth: float
    bumps: tuple[tuple[int, int, float], ...]  # (peak day of year, width in days, log amplitude)
    black_friday: float
    christmas: float
    warm_amplitude: float  # seasonal amplitude factor in warm regions
    warm_level: float  # level factor in warm regions (cold regions get 2 - warm_level, clipped)
    full_price: float
    unit_cost: float
    salvage_fraction: float
    price_elasticity: float


SAMPLE_ALIASES: dict[str, tuple[str, ...]] = {
    "outerwear": ("coat", "jacket", "parka", "puffer", "anorak"),
    "swimwear": ("swimsuit", "bikini", "board shorts", "swim trunks", "bathing suit", "beachwear"),
    "denim": ("jeans", "jeanswear"),
    "knitwear": ("sweater", "jumper", "cardigan", "knits"),
    "dresses": ("gown", "sundress"),
    "activewear": ("sportswear", "athleisure", "leggings", "gym wear"),
    "footwear": ("shoe", "sneaker", "boot", "sandal"),
    "accessories": ("bag", "belt", "scarf", "hat"),
    "sleepwear": ("pajamas", "pyjamas", "nightwear", "loungewear"),
}
"""The other words planners use for each sample category (the categories file's `aliases`
column); the numbered copies of a larger sample (`denim_2`) have none, so a word names one
category only."""


CATEGORY_SPECS: tuple[CategorySpec, ...] = (
    CategorySpec(
        "outerwear",
        "Outerwear",
        34,
        0.03,
        ((335, 38, 1.25), (285, 18, 0.35)),
        0.55,
        0.35,
        0.6,
        0.75,
        129.0,
        52.0,
        0.35,
        -1.8,
    ),
    CategorySpec(
        "swimwear",
        "Swimwear",
        26,
        0.05,
        ((165, 34, 1.6), (25, 18, 0.3)),
        0.05,
        0.0,
        0.85,
        1.3,
        45.0,
        16.0,
        0.20,
        -2.4,
    ),
    CategorySpec(
        "denim",
        "Denim",
        48,
        -0.01,
        ((222, 16, 0.7), (95, 30, 0.25)),
        0.35,
        0.25,
        1.0,
        1.0,
        69.0,
        24.0,
        0.30,
        -1.6,
    ),
    CategorySpec(
        "knitwear",
        "Knitwear",
        30,
        0.02,
        ((312, 45, 0.95),),
        0.40,
        0.45,
        0.65,
        0.8,
        79.0,
        30.0,
        0.30,
        -1.9,
    ),
    CategorySpec(
        "dresses",
        "Dresses",
        28,
        0.04,
        ((130, 40, 0.8), (350, 14, 0.3)),
        0.20,
        0.30,
        1.0,
        1.05,
        89.0,
        33.0,
        0.25,
        -2.1,
    ),
    CategorySpec(
        "activewear",
        "Activewear",
        36,
        0.08,
        ((10, 20, 0.6), (120, 40, 0.3)),
        0.30,
        0.20,
        1.0,
        1.0,
        55.0,
        19.0,
        0.30,
        -2.0,
    ),
    CategorySpec(
        "footwear",
        "Footwear",
        22,
        0.02,
        ((225, 20, 0.5), (100, 25, 0.3)),
        0.35,
        0.30,
        1.0,
        1.0,
        95.0,
        40.0,
        0.40,
        -1.5,
    ),
    CategorySpec(
        "accessories",
        "Accessories",
        40,
        0.03,
        ((345, 20, 0.9),),
        0.60,
        0.60,
        1.0,
        1.0,
        35.0,
        11.0,
        0.25,
        -1.7,
    ),
    CategorySpec(
        "sleepwear",
        "Sleepwear",
        18,
        0.01,
        ((340, 25, 0.8),),
        0.45,
        0.50,
        1.0,
        0.95,
        39.0,
        14.0,
        0.20,
        -1.9,
    ),
    CategorySpec(
        "shorts", "Shorts", 24, 0.04, ((180, 45, 1.0),), 0.05, 0.0, 0.8, 1.2, 35.0, 12.0, 0.20, -2.2
    ),
)


@dataclass(frozen=True)
class SampleData:
    """Frames with exactly the table columns, plus the promotion calendar used (not stored)."""

    stores: pd.DataFrame
    categories: pd.DataFrame
    sales: pd.DataFrame
    promotions: pd.DataFrame


def history_weeks(weeks: int, end_date: date | None = None) -> pd.DatetimeIndex:
    """The `weeks` Monday week starts whose weeks all end before `end_date`."""
    end = end_date or DEFAULT_END_DATE
    last_day = end - timedelta(days=7)
    last_monday = last_day - timedelta(days=last_day.weekday())
    return pd.date_range(end=pd.Timestamp(last_monday), periods=weeks, freq="7D")


def current_calendar(today: date) -> dict[str, Any]:
    """`generate_sample` arguments for history that ends with the last full Monday-week before
    `today` and starts on HISTORY_START (never fewer than MIN_WEEKS weeks)."""
    last_week = history_weeks(1, today)[-1].date()
    weeks = (last_week - HISTORY_START).days // 7 + 1
    return {"end_date": today, "weeks": max(weeks, MIN_WEEKS)}


def _category_specs(count: int) -> list[CategorySpec]:
    specs = []
    for i in range(count):
        spec = CATEGORY_SPECS[i % len(CATEGORY_SPECS)]
        cycle = i // len(CATEGORY_SPECS)
        if cycle:
            spec = CategorySpec(
                **{
                    **spec.__dict__,
                    "category_id": f"{spec.category_id}_{cycle + 1}",
                    "name": f"{spec.name} {cycle + 1}",
                }
            )
        specs.append(spec)
    return specs


def _stores(rng: np.random.Generator, count: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The stores frame, each store's region index and its (normalised) store effect."""
    region = rng.choice(len(REGIONS), size=count, p=REGION_P)
    fmt = rng.choice(len(FORMATS), size=count, p=FORMAT_P)
    tier = np.where(fmt == 0, 0, rng.choice(len(TIERS), size=count, p=TIER_P))
    size = np.round(np.asarray(FORMAT_SIZE)[fmt] * rng.lognormal(0.0, 0.2, count), -2).astype(
        np.int64
    )
    income = np.round(
        np.asarray(TIER_INCOME)[tier]
        * np.asarray(REGION_INCOME)[region]
        * rng.lognormal(0.0, 0.12, count),
        -2,
    )
    effect = (
        (size / 15_000) ** 0.5
        * (income / 70_000) ** 0.6
        * np.asarray(FORMAT_FACTOR)[fmt]
        * rng.lognormal(0.0, 0.15, count)
    )
    effect /= effect.mean()
    city_pick = rng.integers(0, 6, size=count)
    names = [
        f"{CITIES[REGIONS[r]][c]} {FORMATS[f].title()} {i + 1}"
        for i, (r, c, f) in enumerate(zip(region, city_pick, fmt, strict=True))
    ]
    frame = pd.DataFrame(
        {
            "store_id": [f"S{i + 1:04d}" for i in range(count)],
            "store_name": names,
            "region": np.asarray(REGIONS, dtype=object)[region],
            "store_size_sqft": size,
            "location_tier": np.asarray(TIERS, dtype=object)[tier],
            "median_income": income.astype(float),
            "store_format": np.asarray(FORMATS, dtype=object)[fmt],
        }
    )
    return frame, region, effect


def _seasonality(spec: CategorySpec, day_of_year: np.ndarray, amplitude: float) -> np.ndarray:
    """exp(amplitude x sum of circular gaussian bumps), normalised to mean 1 over a year."""

    def log_shape(days: np.ndarray) -> np.ndarray:
        total = np.zeros(days.shape, dtype=float)
        for peak, width, height in spec.bumps:
            dist = np.abs(days - peak)
            dist = np.minimum(dist, 365.25 - dist)
            total += height * np.exp(-0.5 * (dist / width) ** 2)
        return amplitude * total

    year_mean = np.exp(log_shape(np.arange(1, 366, dtype=float))).mean()
    return np.exp(log_shape(day_of_year)) / year_mean


def _holiday_calendar(weeks: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per week: 1 where the week holds Black Friday, and its Christmas weight (0..1)."""
    black_friday = np.zeros(len(weeks))
    christmas = np.zeros(len(weeks))
    starts = weeks.normalize()
    for year in sorted(set(starts.year) | {starts[0].year - 1}):
        nov1 = pd.Timestamp(year=year, month=11, day=1)
        thanksgiving = nov1 + pd.Timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        black_friday[starts == thanksgiving - pd.Timedelta(days=3)] = 1.0
        for day, weight in ((11, 0.5), (18, 1.0), (24, 0.8)):
            target = pd.Timestamp(year=year, month=12, day=day)
            hit = (starts <= target) & (target < starts + pd.Timedelta(days=7))
            christmas[hit] = np.maximum(christmas[hit], weight)
    return black_friday, christmas


def generate_sample(
    stores: int = 50,
    weeks: int = 156,
    categories: int = 3,
    seed: int = 42,
    end_date: date | None = None,
) -> SampleData:
    """Generate the sample described in the module docstring."""
    if stores < 1 or weeks < 1 or categories < 1:
        raise ValueError("stores, weeks and categories must be at least 1")
    week_index = history_weeks(weeks, end_date)
    specs = _category_specs(categories)
    # Independent streams: the stores, then one per category, so adding categories or weeks
    # never changes the stores and adding categories never changes the existing ones.
    store_frame, region, effect = _stores(np.random.default_rng([seed, 0]), stores)

    t = np.arange(weeks, dtype=float)
    thursday_doy = (week_index + pd.Timedelta(days=3)).dayofyear.to_numpy().astype(float)
    black_friday, christmas = _holiday_calendar(week_index)
    warm = np.isin(np.asarray(REGIONS), WARM_REGIONS)

    units = np.empty((categories, stores, weeks), dtype=np.int64)
    promo_rows: list[tuple[pd.Timestamp, str, float]] = []
    for c, spec in enumerate(specs):
        rng = np.random.default_rng([seed, 1, c])
        trend = (1.0 + spec.annual_growth) ** (t / 52.0)
        holiday = np.maximum(
            1.0 + spec.black_friday * black_friday, 1.0 + spec.christmas * christmas
        )
        promo_weeks = (
            (rng.random(weeks) < PROMO_PROBABILITY) & (black_friday == 0) & (christmas == 0)
        )
        uplift = rng.uniform(*PROMO_UPLIFT, size=weeks)
        promo = np.where(promo_weeks, uplift, 1.0)
        after = np.roll(promo_weeks, 1)
        after[0] = False
        promo = np.where(after & ~promo_weeks, promo * PROMO_HANGOVER, promo)
        promo_rows.extend(
            (week_index[w], spec.category_id, float(uplift[w])) for w in np.flatnonzero(promo_weeks)
        )
        # mu per (region, week): everything that does not depend on the individual store.
        mu_rw = np.empty((len(REGIONS), weeks))
        for r in range(len(REGIONS)):
            amplitude = spec.warm_amplitude if warm[r] else 1.0
            level = spec.warm_level if warm[r] else float(np.clip(2.0 - spec.warm_level, 0.7, 1.3))
            shocks = rng.normal(0.0, WEATHER_SD, weeks)
            weather = np.empty(weeks)
            weather[0] = shocks[0] / np.sqrt(1 - WEATHER_PHI**2)
            for w in range(1, weeks):
                weather[w] = WEATHER_PHI * weather[w - 1] + shocks[w]
            mu_rw[r] = (
                spec.base_units
                * level
                * trend
                * _seasonality(spec, thursday_doy, amplitude)
                * holiday
                * promo
                * np.exp(weather)
            )
        mu = mu_rw[region, :] * effect[:, None]
        noise = rng.lognormal(-0.5 * NOISE_SD**2, NOISE_SD, size=mu.shape)
        units[c] = rng.poisson(mu * noise)

    category_ids = np.asarray([s.category_id for s in specs], dtype=object)
    store_ids = store_frame["store_id"].to_numpy(dtype=object)
    sales = pd.DataFrame(
        {
            "week_start_date": np.tile(week_index.to_numpy(), categories * stores),
            "store_id": np.tile(np.repeat(store_ids, weeks), categories),
            "category_id": np.repeat(category_ids, stores * weeks),
            "units_sold": units.reshape(-1),
        }
    )
    category_frame = pd.DataFrame(
        {
            "category_id": category_ids,
            "name": [s.name for s in specs],
            "full_price": [s.full_price for s in specs],
            "unit_cost": [s.unit_cost for s in specs],
            "salvage_fraction": [s.salvage_fraction for s in specs],
            "price_elasticity": [s.price_elasticity for s in specs],
            "currency": DEFAULT_CURRENCY,
            "aliases": [ALIAS_SEPARATOR.join(SAMPLE_ALIASES.get(s.category_id, ())) for s in specs],
        }
    )
    promotions = pd.DataFrame(promo_rows, columns=["week_start_date", "category_id", "uplift"])
    return SampleData(store_frame, category_frame, sales, promotions)


def export_csv(sample: SampleData, directory: Path) -> dict[str, Path]:
    """Write stores.csv, categories.csv and sales.csv in the import format; returns the paths.
    Text that a spreadsheet would run as a formula is neutralised (shared/data/csv_safety.py)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.csv" for name in ("stores", "categories", "sales")}
    # RFC 4180 line ends: the csv writer then quotes any cell holding a CR or LF.
    options: dict[str, Any] = {"index": False, "lineterminator": "\r\n"}
    neutralised_frame(sample.stores).to_csv(paths["stores"], **options)
    neutralised_frame(sample.categories).to_csv(paths["categories"], **options)
    neutralised_frame(sample.sales).to_csv(paths["sales"], date_format="%Y-%m-%d", **options)
    return paths


def hold_back(sample: SampleData, weeks: int) -> tuple[SampleData, pd.DataFrame]:
    """The sample without its last `weeks` weeks of sales, and those weeks' sales: load the
    first, plan the season that starts with the first held-back week, and feed the rest to the
    live season week by week (docs/seasons.md)."""
    if weeks < 1:
        raise ValueError("hold back at least one week")
    starts = sorted(sample.sales["week_start_date"].unique())
    if weeks >= len(starts):
        raise ValueError(f"the sample has {len(starts)} weeks; hold back fewer")
    cut = starts[-weeks]
    kept = sample.sales[sample.sales["week_start_date"] < cut].reset_index(drop=True)
    held = sample.sales[sample.sales["week_start_date"] >= cut].reset_index(drop=True)
    return SampleData(sample.stores, sample.categories, kept, sample.promotions), held


def write_weekly_files(held: pd.DataFrame, directory: Path) -> list[Path]:
    """One `actuals_<category>_<week_start>.csv` per held-back category and week, in the
    upload's columns (week_start_date,store_id,category_id,units_sold): a season plans one
    category and refuses another's rows."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for (category, week), rows in held.groupby(["category_id", "week_start_date"], sort=True):
        stamp = pd.Timestamp(week).date().isoformat()
        path = directory / f"actuals_{category}_{stamp}.csv"
        neutralised_frame(
            rows[["week_start_date", "store_id", "category_id", "units_sold"]]
        ).to_csv(path, index=False, lineterminator="\r\n", date_format="%Y-%m-%d")
        paths.append(path)
    return paths


def load_sample(engine: Engine, sample: SampleData) -> None:
    """Write the sample through the import's write path (replacing its categories' sales)."""
    write_frames(engine, stores=sample.stores, categories=sample.categories, sales=sample.sales)


def database_is_empty(engine: Engine) -> bool:
    """True when no stores and no sales are stored (schema must exist)."""
    with engine.connect() as conn:
        sales = conn.execute(select(func.count()).select_from(HistoricalSale)).scalar_one()
        store_count = conn.execute(select(func.count()).select_from(Store)).scalar_one()
    return sales == 0 and store_count == 0


def ensure_sample_data(engine: Engine, **generate_args: Any) -> bool:
    """Create the schema and, when the database holds no data, load the default sample.

    Returns True when it loaded the sample. Two processes starting at once may both load: the
    sample is deterministic and a load replaces its categories, so the result is the same.
    """
    create_schema(engine)
    if not database_is_empty(engine):
        return False
    load_sample(engine, generate_sample(**generate_args))
    return True
