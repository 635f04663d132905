"""Minimal agent results for tests that need one to store, pass on or assemble from.

Valid models with no forecast weeks, stores or clusters unless a test gives them: what the data
layer and the next agent read is the totals, so each test states only the values it checks.
"""

from __future__ import annotations

from datetime import date

from shared.results import BacktestMetrics, DemandResult, InventoryResult, WeekForecast

SEASON_START = date(2025, 1, 1)


def demand_result(
    category_id: str = "c1",
    *,
    total_demand: int = 1000,
    season_start_date: date = SEASON_START,
    horizon_weeks: int = 12,
    forecast_by_week: list[WeekForecast] | None = None,
) -> DemandResult:
    """A demand agent's result: `total_demand` units over `horizon_weeks`, 10 % safety stock."""
    return DemandResult(
        category_id=category_id,
        season_start_date=season_start_date,
        horizon_weeks=horizon_weeks,
        total_demand=total_demand,
        forecast_by_week=forecast_by_week or [],
        store_forecast=[],
        safety_stock_units=round(total_demand * 0.1),
        safety_stock_pct=0.1,
        confidence=0.8,
        model_used="AutoTheta",
        backtest=BacktestMetrics(),
        explanation="x",
    )


def inventory_result(
    manufacturing_qty: int = 1100,
    *,
    initial_allocation_total: int = 600,
    dc_holdback_total: int = 500,
) -> InventoryResult:
    """An inventory agent's result: the quantities only, no clusters or shipments."""
    return InventoryResult(
        manufacturing_qty=manufacturing_qty,
        initial_allocation_total=initial_allocation_total,
        dc_holdback_total=dc_holdback_total,
        clusters=[],
        replenishment_schedule=[],
        explanation="x",
    )
