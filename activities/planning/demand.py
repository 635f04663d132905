"""Demand agent: category-level weekly forecast for the season, store split, safety stock.

Pure function over a DemandContext (history already loaded by the activity layer); the
statistics live in activities.planning.forecasting so they can be checked on any seasonal series.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd

from activities.planning.contexts import (
    SEASON_WEEKS,
    DemandContext,
    last_history_week,
)
from activities.planning.forecasting import ENSEMBLE, ForecastTier, SeriesForecast, forecast_series
from activities.planning.recent_history import RecentHistory, recent_history
from activities.planning.store_split import YEAR_DAYS, store_shares
from activities.planning.units import largest_remainder
from shared.deadline import Checkpoint
from shared.errors import DataNotFoundError
from shared.progress import ProgressReporter, report
from shared.results import BacktestMetrics, DemandResult, StoreForecast, WeekForecast
from shared.schemas import SeasonParameters, replenishment_cadence

SERVICE_LEVEL = 0.95
MAX_GAP_WEEKS = 2 * SEASON_WEEKS
CHRISTMAS_WEEKS = (-2, -1, 0, 1)
TIER_CONFIDENCE: dict[ForecastTier, float] = {"full": 1.0, "short": 0.7, "unvalidated": 0.4}
MODEL_DESCRIPTIONS = {
    "SeasonalNaive": "the same week last year, repeated",
    "SeasonalNaiveDrift": "the same week last year, grown by the trend of the last year",
    "RobustSeasonal": (
        "the same week averaged over up to three past years, each grown by the measured "
        "year-over-year growth, with one-off spikes (past promotions) smoothed and holiday "
        "weeks matched by date"
    ),
    "AutoTheta": "a smoothed trend on the seasonally adjusted history (Theta method)",
    "MSTL": "the history split into yearly season and trend, each projected forward (MSTL)",
    ENSEMBLE: "a weighted average of the models that forecast the past seasons best",
}
"""Each forecasting method in a planner's words, carried in the result so that every screen
explains the same way what `model_used` means."""


def describe_model(model_used: str, weights: dict[str, float]) -> str:
    """`model_used` in words; a combination names its members and their weights."""
    if model_used != ENSEMBLE or not weights:
        return MODEL_DESCRIPTIONS.get(model_used, model_used)
    members = "; ".join(
        f"{name} {weight:.0%} ({MODEL_DESCRIPTIONS.get(name, name)})"
        for name, weight in weights.items()
    )
    return f"{MODEL_DESCRIPTIONS[ENSEMBLE]}: {members}"


def weekly_category_series(weekly: pd.Series, season_start: date) -> RecentHistory:
    """Units per week summed over stores (`weekly`: SalesHistory.weekly_totals) over the
    contiguous recent history (activities/planning/recent_history.py: a gap or a stray old week
    ends it, never filled with zeros), and only the weeks the history rule allows
    (contexts.last_history_week: weeks that end before the season starts), so a plan for a
    past season never sees its own sales."""
    if weekly.empty:
        return RecentHistory(series=pd.Series(dtype=float))
    totals = weekly.astype(float)
    cutoff = pd.Timestamp(last_history_week(season_start))
    recent = recent_history(totals[totals.index <= cutoff])
    return replace(recent, series=recent.series.clip(lower=0.0))


def black_friday(year: int) -> pd.Timestamp:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    nov1 = pd.Timestamp(year=year, month=11, day=1)
    return nov1 + pd.Timedelta(days=(3 - nov1.weekday()) % 7 + 22)


def retail_events(week_starts: pd.DatetimeIndex) -> np.ndarray:
    """A holiday label per week ("" for an ordinary week), from the calendar alone.

    Black Friday and Christmas move against a 52-week grid (Thanksgiving by up to a week, and a
    52-week year is a day short), so "the same week last year" can be the wrong week exactly
    when sales peak. Labelled weeks are matched with the same label in other years: the week
    holding Black Friday, and the weeks two before to one after the week holding Christmas Day.
    """
    labels = np.full(len(week_starts), "", dtype=object)
    starts = week_starts.normalize()
    ends = starts + pd.Timedelta(days=7)
    for year in range(starts.min().year - 1, starts.max().year + 1):
        christmas = pd.Timestamp(year=year, month=12, day=25)
        for k in CHRISTMAS_WEEKS:
            day = christmas + pd.Timedelta(weeks=k)
            labels[(starts <= day) & (day < ends)] = f"christmas{k:+d}"
        day = black_friday(year)
        labels[(starts <= day) & (day < ends)] = "black_friday"
    return labels


def season_offset(last_week: pd.Timestamp, season_start: date) -> int:
    """1-based forecast step that becomes season week 1: the history week grid continued past
    its end, matched to the season week it overlaps most (Monday weeks vs a Wednesday start)."""
    days = (pd.Timestamp(season_start) - last_week).days
    return max(1, math.floor(days / 7 + 0.5))


def last_year_units(series: pd.Series, week_starts: list[date]) -> list[int | None]:
    """Units sold in the history week nearest each season week 52 weeks earlier (within three
    days: the history's weeks may start on another weekday), None where history has no such
    week."""
    if series.empty:
        return [None] * len(week_starts)
    index = series.index
    found: list[int | None] = []
    for start in week_starts:
        target = pd.Timestamp(start) - pd.Timedelta(days=YEAR_DAYS)
        pos = int(np.abs((index - target).days).argmin())
        near = abs((index[pos] - target).days) <= 3
        found.append(round(float(series.iloc[pos])) if near else None)
    return found


def cover_weeks(parameters: SeasonParameters) -> int:
    """Weeks of demand one replenishment cycle must cover; with no replenishment, the season."""
    cadence = replenishment_cadence(parameters.replenishment_strategy)
    return parameters.forecast_horizon_weeks if cadence is None else cadence


def safety_stock(fc: SeriesForecast, keep: slice, cover: int, service_level: float) -> int:
    """z * sigma * sqrt(cover): sigma is the weekly standard deviation implied by the calibrated
    80 % interval over the season's weeks, so stock follows the intervals the planner sees
    (and widens with them when history is short)."""
    z = NormalDist().inv_cdf(service_level)
    sigma = fc.sigma(keep)
    typical = float(np.sqrt(np.mean(sigma**2))) if len(sigma) else 0.0
    return math.ceil(z * typical * math.sqrt(cover)) if typical > 0 else 0


def _confidence(fc: SeriesForecast) -> float:
    base = 1.0 - min(fc.wape, 1.0) if fc.wape is not None else 0.5
    folds_factor = 1.0 if fc.folds >= 3 or fc.tier == "unvalidated" else 0.85
    return round(max(0.0, min(1.0, base * TIER_CONFIDENCE[fc.tier] * folds_factor)), 3)


def _no_data(ctx: DemandContext, weeks: int) -> DataNotFoundError:
    return DataNotFoundError(
        f"Category '{ctx.category_id}' has {weeks} weeks of sales before the season start; "
        f"at least {SEASON_WEEKS} are needed to forecast a seasonal category.",
        details={
            "category_id": ctx.category_id,
            "weeks_found": weeks,
            "weeks_required": SEASON_WEEKS,
            "season_start_date": ctx.parameters.season_start_date.isoformat(),
        },
        suggestions=[
            "Load at least one full year of weekly sales for this category.",
            "Choose a season start date after the end of the loaded history.",
            "Plan with a comparable category that has a longer history.",
        ],
    )


def _not_contiguous(ctx: DemandContext, recent: RecentHistory) -> DataNotFoundError:
    """The recent run is shorter than a season because of a break: name the weeks on both
    sides, so the planner can import the missing weeks or delete the stray ones."""
    weeks = len(recent.series)
    gap = (
        {
            "first_missing_week": recent.missing_first.isoformat(),
            "last_missing_week": recent.missing_last.isoformat(),
        }
        if recent.missing_first is not None and recent.missing_last is not None
        else None
    )
    return DataNotFoundError(
        f"Category '{ctx.category_id}' has {weeks} contiguous weeks of sales before the season "
        f"start (the weeks of {recent.first_week.isoformat()} to "
        f"{recent.last_week.isoformat()}); at least {SEASON_WEEKS} are needed. "
        f"{recent.left_out().capitalize()}.",
        details={
            "category_id": ctx.category_id,
            "contiguous_weeks": weeks,
            "contiguous_first_week": recent.first_week.isoformat(),
            "contiguous_last_week": recent.last_week.isoformat(),
            "weeks_required": SEASON_WEEKS,
            "gap_before": gap,
            "earlier_weeks": recent.earlier_weeks,
            "earlier_first_week": recent.earlier_first and recent.earlier_first.isoformat(),
            "earlier_last_week": recent.earlier_last and recent.earlier_last.isoformat(),
            "season_start_date": ctx.parameters.season_start_date.isoformat(),
        },
        suggestions=[
            "Import the missing weeks (append mode), or replace the category's history with "
            "one file of consecutive weeks.",
            "Weeks that are placeholders or on another weekday grid: replace the category's "
            "history without them.",
        ],
    )


def _too_far(ctx: DemandContext, first: date, last: date, gap: int) -> DataNotFoundError:
    """The season starts too long after the history: say which dates, and what would plan it
    (a start the history reaches, or history that reaches the start)."""
    start = ctx.parameters.season_start_date
    latest_start = last + timedelta(weeks=MAX_GAP_WEEKS + 1)
    needed_end = start - timedelta(weeks=MAX_GAP_WEEKS + 1)
    needed_end -= timedelta(days=needed_end.weekday())
    return DataNotFoundError(
        f"The season starts on {start.isoformat()}, but sales history for "
        f"'{ctx.category_id}' covers the weeks of {first.isoformat()} to {last.isoformat()}: "
        f"{gap} weeks before the season, and at most {MAX_GAP_WEEKS} can be bridged.",
        details={
            "category_id": ctx.category_id,
            "season_start_date": start.isoformat(),
            "history_first_week": first.isoformat(),
            "history_last_week": last.isoformat(),
            "gap_weeks": gap,
            "max_gap_weeks": MAX_GAP_WEEKS,
        },
        suggestions=[
            f"Start the season on or before {latest_start.isoformat()}; if you meant another "
            "year, name it (e.g. 'Spring 2025' or 'March 3, 2025').",
            f"Or import history for '{ctx.category_id}' through at least the week of "
            f"{needed_end.isoformat()} (`localdev load --sales sales.csv --append` locally, "
            "POST /api/data/import on a deployed app).",
        ],
    )


def _explain(
    ctx: DemandContext,
    fc: SeriesForecast,
    total: int,
    ss: int,
    cover: int,
    n_weeks: int,
    gap: int,
    total_80: tuple[float, float],
    warnings: list[str],
) -> str:
    p = ctx.parameters
    parts = [
        f"Forecast {total:,} units for category {ctx.category_id} over {p.forecast_horizon_weeks} "
        f"weeks from {p.season_start_date.isoformat()}, from {n_weeks} weeks of history."
    ]
    if gap:
        parts.append(
            f"History ends {gap} weeks before the season; the gap was forecast and dropped."
        )
    if fc.tier == "unvalidated":
        parts.append(
            "History is too short to backtest, so last season scaled by its recent growth is used "
            "and the interval is deliberately wide."
        )
    else:
        model = (
            fc.model_used
            if fc.model_used != ENSEMBLE
            else "a combination of " + ", ".join(f"{k} {v:.0%}" for k, v in fc.weights.items())
        )
        parts.append(
            f"Chosen by a {fc.folds}-fold rolling backtest ({fc.backtest_horizon}-week horizon): "
            f"{model}, WAPE {fc.wape:.1%}"
            + (
                f" vs {fc.seasonal_naive_wape:.1%} for seasonal naive."
                if fc.seasonal_naive_wape is not None
                else "."
            )
        )
    if fc.tier == "short":
        parts.append("Under two years of history: only the one-season models could be validated.")
    lo, hi = total_80
    parts.append(
        f"80 % interval for the season: {lo:,.0f}–{hi:,.0f} units, calibrated on "
        f"{fc.folds} backtest folds."
        if fc.tier != "unvalidated"
        else f"80 % interval for the season: {lo:,.0f}–{hi:,.0f} units."
    )
    parts.extend(warnings)
    parts.append(
        f"Safety stock {ss:,} units ({SERVICE_LEVEL:.0%} service, {cover}-week cover, "
        "from the calibrated weekly interval)."
    )
    return " ".join(parts)


def run_demand_agent(
    ctx: DemandContext,
    progress: ProgressReporter | None = None,
    checkpoint: Checkpoint | None = None,
) -> DemandResult:
    """The season's forecast; `checkpoint` (shared/deadline.py) stops the model fits once the
    attempt's deadline has passed."""
    p = ctx.parameters
    report(progress, 5, "Loading historical data...")
    recent = weekly_category_series(ctx.history.weekly_totals(), p.season_start_date)
    series = recent.series
    if len(series) < SEASON_WEEKS:
        raise _not_contiguous(ctx, recent) if recent.earlier_weeks else _no_data(ctx, len(series))
    last_week = series.index[-1]
    offset = season_offset(last_week, p.season_start_date)
    if offset - 1 > MAX_GAP_WEEKS:
        raise _too_far(ctx, series.index[0].date(), last_week.date(), offset - 1)
    report(
        progress,
        15,
        f"Aggregated {len(series)} weeks across {len(ctx.stores)} stores",
    )
    h = p.forecast_horizon_weeks
    report(progress, 25, "Backtesting 5 models on rolling origins...")
    horizon = offset - 1 + h
    calendar = pd.date_range(series.index[0], periods=len(series) + horizon, freq="7D")

    def fit() -> SeriesForecast:
        return forecast_series(
            series.to_numpy(),
            SEASON_WEEKS,
            horizon,
            events=retail_events(calendar),
            period="week",
            checkpoint=checkpoint,
        )

    # The fit depends on the history and the horizon alone: the context shares it between plans.
    fc: SeriesForecast = fit() if ctx.memo is None else ctx.memo(("forecast", horizon), fit)
    keep = slice(offset - 1, offset - 1 + h)
    mean = fc.mean[keep]
    report(progress, 70, f"Model selected: {fc.model_used} (tier {fc.tier}, {fc.folds} folds)")
    # One rounding rule: the season total is rounded once and split into whole units by
    # largest remainder, over the weeks here and over the stores below, so every sum agrees.
    total = round(float(mean.sum()))
    weekly_units = largest_remainder(total, np.clip(mean, 0.0, None))
    season_weeks = p.week_starts()
    last_year = last_year_units(series, season_weeks)
    weeks = [
        WeekForecast(
            week_start=ws,
            units=int(weekly_units[i]),
            lower=round(float(fc.lower[80][keep][i]), 2),
            upper=round(float(fc.upper[80][keep][i]), 2),
            lower_95=round(float(fc.lower[95][keep][i]), 2),
            upper_95=round(float(fc.upper[95][keep][i]), 2),
            last_year_units=last_year[i],
        )
        for i, ws in enumerate(season_weeks)
    ]
    report(progress, 80, "Splitting the forecast across stores...")
    shares = store_shares(ctx.history, ctx.stores, last_week.date(), season_weeks)
    store_units = largest_remainder(total, shares.to_numpy(dtype=float))
    stores = [
        StoreForecast(store_id=sid, share=float(s), units=int(u))
        for (sid, s), u in zip(shares.items(), store_units, strict=True)
    ]
    cover = min(cover_weeks(p), h)
    ss = safety_stock(fc, keep, cover, SERVICE_LEVEL)
    total_80, total_95 = fc.total_interval(80, keep), fc.total_interval(95, keep)
    warnings = list(fc.warnings)
    if total == 0:
        warnings.append("The category sold nothing comparable: the forecast is zero.")
    if recent.earlier_weeks:
        warnings.append(f"Not used: {recent.left_out()}.")
    report(progress, 95, f"Safety stock {ss:,} units for {cover}-week cover")
    result = DemandResult(
        category_id=ctx.category_id,
        season_start_date=p.season_start_date,
        horizon_weeks=h,
        total_demand=total,
        forecast_by_week=weeks,
        store_forecast=stores,
        safety_stock_units=ss,
        safety_stock_pct=round(ss / total, 4) if total else 0.0,
        confidence=_confidence(fc),
        model_used=fc.model_used,
        model_description=describe_model(fc.model_used, fc.weights),
        model_weights=fc.weights,
        backtest=BacktestMetrics(
            wape=fc.wape,
            mase=fc.mase,
            seasonal_naive_wape=fc.seasonal_naive_wape,
            folds=fc.folds,
            horizon_weeks=fc.backtest_horizon,
            tier=fc.tier,
        ),
        history_weeks=len(series),
        service_level=SERVICE_LEVEL,
        cover_weeks=cover,
        warnings=warnings,
        explanation=_explain(
            ctx, fc, total, ss, cover, len(series), offset - 1, total_80, warnings
        ),
        total_lower_80=round(total_80[0], 2),
        total_upper_80=round(total_80[1], 2),
        total_lower_95=round(total_95[0], 2),
        total_upper_95=round(total_95[1], 2),
        last_year_total=None
        if all(u is None for u in last_year)
        else sum(u for u in last_year if u is not None),
        last_year_missing_weeks=[i + 1 for i, u in enumerate(last_year) if u is None],
    )
    report(progress, 100, f"Forecast complete: {total:,} units")
    return result
