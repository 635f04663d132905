"""The Demand agent replayed on past seasons of the project's sample, per category: weekly 80 %
interval coverage, season-total 80 % coverage and the store split's error.

    python -m bench.sample_seasons          # alone; `python -m bench accuracy` runs it too

Data: localdev.sample_data.generate_sample with 50 stores, 3 categories (outerwear, swimwear,
denim) and SAMPLE_WEEKS weeks of history, seed 42. The last SEASONS * SEASON_WEEKS weeks are cut
into SEASONS seasons of SEASON_WEEKS weeks; for each season and category the agent sees only
the weeks before it (three to almost six years) and is scored on what then sold:
  weekly coverage  = share of the season's weeks whose category units fall inside the week's
                     80 % interval
  total coverage   = share of seasons whose total falls inside the season total's 80 % interval
  split error      = sum over stores of |planned share - actual share of the season's units|
                     (the store-level WAPE when the category total is right; 0 is a perfect split)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from activities.planning.contexts import DemandContext, FrameHistory
from activities.planning.demand import run_demand_agent
from localdev.sample_data import generate_sample
from shared.schemas import SeasonParameters

SAMPLE_WEEKS = 312
SEASON_WEEKS = 13
SEASONS = 12
STORES = 50
SEED = 42
WEEKLY_TARGET = (0.75, 0.85)
TOTAL_TARGET = (0.70, 0.90)
SPLIT_RATIO_TARGET = 1.5  # outerwear's split error over the best category's


@dataclass(frozen=True)
class SeasonScore:
    """One category's forecast for one held-out season against what sold."""

    category: str
    season_start: str
    weeks: int
    weeks_inside80: int
    total_inside80: bool
    abs_error: float
    actual: float
    split_error: float


def _category_sales(sales: pd.DataFrame, category_id: str) -> pd.DataFrame:
    rows = sales[sales["category_id"] == category_id]
    out = rows[["week_start_date", "store_id", "units_sold"]].reset_index(drop=True)
    return out.assign(week_start_date=pd.to_datetime(out["week_start_date"]))


def score_season(
    category_id: str, sales: pd.DataFrame, stores: pd.DataFrame, start: pd.Timestamp
) -> SeasonScore:
    """Plan the season starting at `start` from the weeks before it; score it on the weeks of
    the season."""
    parameters = SeasonParameters(
        forecast_horizon_weeks=SEASON_WEEKS,
        season_start_date=start.date(),
        replenishment_strategy="weekly",
        dc_holdback_percentage=0.2,
    )
    history = sales[sales["week_start_date"] < start]
    ctx = DemandContext(
        category_id=category_id,
        parameters=parameters,
        history=FrameHistory(history),
        stores=stores,
    )
    result = run_demand_agent(ctx)
    end = start + pd.Timedelta(weeks=SEASON_WEEKS)
    season = sales[(sales["week_start_date"] >= start) & (sales["week_start_date"] < end)]
    actual = season.groupby("week_start_date")["units_sold"].sum().to_numpy(float)
    weeks = result.forecast_by_week
    lower = np.array([w.lower for w in weeks])
    upper = np.array([w.upper for w in weeks])
    planned = np.array([w.units for w in weeks], dtype=float)
    by_store = season.groupby("store_id")["units_sold"].sum().astype(float)
    actual_share = by_store / by_store.sum()
    planned_share = pd.Series({s.store_id: s.share for s in result.store_forecast})
    planned_share = planned_share.reindex(actual_share.index, fill_value=0.0)
    total = float(actual.sum())
    low, high = result.total_lower_80, result.total_upper_80
    return SeasonScore(
        category=category_id,
        season_start=start.date().isoformat(),
        weeks=len(actual),
        weeks_inside80=int(((actual >= lower) & (actual <= upper)).sum()),
        total_inside80=low is not None and high is not None and low <= total <= high,
        abs_error=float(np.abs(actual - planned).sum()),
        actual=total,
        split_error=float(np.abs(planned_share - actual_share).sum()),
    )


def season_starts(week_index: pd.DatetimeIndex) -> list[pd.Timestamp]:
    """The first weeks of the last SEASONS seasons of SEASON_WEEKS weeks."""
    first = len(week_index) - SEASONS * SEASON_WEEKS
    return [week_index[first + k * SEASON_WEEKS] for k in range(SEASONS)]


def evaluate() -> list[SeasonScore]:
    """Every category on every held-out season of the sample."""
    data = generate_sample(stores=STORES, weeks=SAMPLE_WEEKS, categories=3, seed=SEED)
    week_index = pd.DatetimeIndex(sorted(pd.to_datetime(data.sales["week_start_date"].unique())))
    scores = []
    for category_id in data.categories["category_id"]:
        sales = _category_sales(data.sales, str(category_id))
        for start in season_starts(week_index):
            scores.append(score_season(str(category_id), sales, data.stores, start))
    return scores


def summarise(scores: list[SeasonScore], seconds: float) -> dict[str, Any]:
    """Per category and over all: weekly and season-total 80 % coverage, split error, WAPE;
    and whether each target is met."""
    frame = pd.DataFrame([s.__dict__ for s in scores])
    categories: dict[str, dict[str, float]] = {}
    for category, group in frame.groupby("category", sort=False):
        categories[str(category)] = {
            "seasons": len(group),
            "weekly_coverage80": group["weeks_inside80"].sum() / group["weeks"].sum(),
            "total_coverage80": float(group["total_inside80"].mean()),
            "split_error": float(group["split_error"].mean()),
            "wape": group["abs_error"].sum() / group["actual"].sum(),
        }
    best_split = min(c["split_error"] for c in categories.values())
    outerwear = categories.get("outerwear", {}).get("split_error", best_split)
    total_coverage = float(frame["total_inside80"].mean())
    lo, hi = WEEKLY_TARGET
    return {
        "setup": f"sample, {SEASONS} past {SEASON_WEEKS}-week seasons per category",
        "seconds": round(seconds, 1),
        "categories": categories,
        "total_coverage80": total_coverage,
        "outerwear_split_vs_best": outerwear / best_split if best_split > 0 else 1.0,
        "targets_met": {
            "weekly_coverage80": all(
                lo <= c["weekly_coverage80"] <= hi for c in categories.values()
            ),
            "total_coverage80": TOTAL_TARGET[0] <= total_coverage <= TOTAL_TARGET[1],
            "outerwear_split": outerwear <= SPLIT_RATIO_TARGET * best_split,
        },
    }


def print_summary(fig: dict[str, Any]) -> None:
    ok = {True: "ok", False: "MISSED"}
    met = fig["targets_met"]
    print(f"\n{fig['setup']}: {fig['seconds']:.0f} s")
    print(
        "  "
        + "  ".join(
            f"{n:>13}" for n in ("category", "WAPE", "weekly 80 %", "total 80 %", "split error")
        )
    )
    for name, c in fig["categories"].items():
        print(
            f"  {name:>13}  {c['wape']:>13.2%}  {c['weekly_coverage80']:>13.1%}  "
            f"{c['total_coverage80']:>13.0%}  {c['split_error']:>13.1%}"
        )
    print(
        f"  weekly 80 % coverage within 75-85 % for every category {ok[met['weekly_coverage80']]}; "
        f"season totals: 80 % covers {fig['total_coverage80']:.0%} (70-90 %) "
        f"{ok[met['total_coverage80']]}; outerwear's split error "
        f"{fig['outerwear_split_vs_best']:.2f}x the best category's (target <= "
        f"{SPLIT_RATIO_TARGET:.1f}) {ok[met['outerwear_split']]}"
    )


def run() -> dict[str, Any]:
    """Evaluate, print and return the figures."""
    started = time.perf_counter()
    fig = summarise(evaluate(), time.perf_counter() - started)
    print_summary(fig)
    return fig


if __name__ == "__main__":
    run()
