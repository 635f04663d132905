"""The agents' results: full models persisted under the workflow id, and the compact summaries
that are all the orchestrator ever carries (the custom status, the `complete` message and the
workflow output show them as JSON, field for field, in declaration order)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeekForecast(_Result):
    week_start: date
    units: float = Field(ge=0)
    lower: float = Field(ge=0, description="80 % interval, lower bound")
    upper: float = Field(ge=0, description="80 % interval, upper bound")
    lower_95: float = Field(ge=0)
    upper_95: float = Field(ge=0)


class StoreForecast(_Result):
    store_id: str
    share: float = Field(ge=0, le=1)
    units: float = Field(ge=0)


# How far the history let the forecast be checked: "full" (two seasons or more, every candidate
# backtested), "short" (one to two seasons, the one-season candidates only) or "unvalidated" (too
# little to backtest: the drift model with a deliberately wide interval).
ForecastTier = Literal["full", "short", "unvalidated"]


class BacktestMetrics(_Result):
    wape: float | None = None
    mase: float | None = None
    seasonal_naive_wape: float | None = None
    folds: int = 0
    horizon_weeks: int = 0
    tier: ForecastTier = "full"


class DemandResult(_Result):
    category_id: str
    season_start_date: date
    horizon_weeks: int
    total_demand: int = Field(ge=0)
    forecast_by_week: list[WeekForecast]
    store_forecast: list[StoreForecast]
    safety_stock_units: int = Field(ge=0)
    safety_stock_pct: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)
    model_used: str
    backtest: BacktestMetrics
    explanation: str
    model_weights: dict[str, float] = Field(default_factory=dict)
    history_weeks: int = Field(0, ge=0)
    service_level: float = Field(0.95, gt=0, lt=1)
    cover_weeks: int = Field(1, ge=1)
    warnings: list[str] = Field(default_factory=list)
    total_lower_80: float | None = Field(None, ge=0, description="season total, 80 % interval")
    total_upper_80: float | None = Field(None, ge=0)
    total_lower_95: float | None = Field(None, ge=0)
    total_upper_95: float | None = Field(None, ge=0)

    def summary(self) -> DemandSummary:
        return DemandSummary(
            total_demand=self.total_demand,
            safety_stock_pct=round(self.safety_stock_pct, 4),
            confidence=round(self.confidence, 3),
            model_used=self.model_used,
            weeks=self.horizon_weeks,
            wape=None if self.backtest.wape is None else round(self.backtest.wape, 4),
        )


class DemandSummary(_Result):
    """The Demand agent's result in a few numbers (rounded where it is computed)."""

    total_demand: int
    safety_stock_pct: float
    confidence: float
    model_used: str
    weeks: int
    wape: float | None


class StoreAllocation(_Result):
    store_id: str
    initial_allocation: int = Field(ge=0)


class ClusterAllocation(_Result):
    cluster_id: int
    cluster_label: str
    allocation_percentage: float = Field(ge=0, le=1)
    total_units: int = Field(ge=0)
    stores: list[StoreAllocation]


class ReplenishmentShipment(_Result):
    week_number: int = Field(ge=1)
    week_start: date
    units: int = Field(ge=0)


MAX_SUMMARY_WARNINGS = 3
MAX_WARNING_CHARS = 240


def compact_warnings(warnings: list[str]) -> list[str]:
    """The first few warnings, each cut to a sentence a console can show, and a count of the
    rest: the orchestrator limits a summary's size, the full list stays in the stored result."""
    shown = [
        w if len(w) <= MAX_WARNING_CHARS else w[: MAX_WARNING_CHARS - 1] + "…"
        for w in warnings[:MAX_SUMMARY_WARNINGS]
    ]
    rest = len(warnings) - len(shown)
    if rest:
        shown.append(f"{rest} more warning{'s' if rest > 1 else ''} in the full result.")
    return shown


class TargetCheck(_Result):
    """The planner's unit target against the season's forecast demand and its 80 % interval."""

    verdict: Literal["below_80", "within_80", "above_80", "no_target"]
    target_units: int | None = Field(None, ge=0)
    forecast_units: int = Field(ge=0)
    lower_80: int = Field(ge=0)
    upper_80: int = Field(ge=0)
    message: str


class InventoryResult(_Result):
    manufacturing_qty: int = Field(ge=0)
    initial_allocation_total: int = Field(ge=0)
    dc_holdback_total: int = Field(ge=0)
    clusters: list[ClusterAllocation]
    replenishment_schedule: list[ReplenishmentShipment]
    silhouette_score: float | None = None
    warnings: list[str] = Field(default_factory=list)
    explanation: str
    target_check: TargetCheck | None = None

    def summary(self) -> InventorySummary:
        return InventorySummary(
            manufacturing_qty=self.manufacturing_qty,
            initial_allocation_total=self.initial_allocation_total,
            dc_holdback_total=self.dc_holdback_total,
            clusters=len(self.clusters),
            stores=sum(len(c.stores) for c in self.clusters),
            replenishment_shipments=len(self.replenishment_schedule),
            warnings=compact_warnings(self.warnings),
            target_check=self.target_check,
        )


class InventorySummary(_Result):
    """The Inventory agent's plan in counts, its first warnings and the unit-target check."""

    manufacturing_qty: int
    initial_allocation_total: int
    dc_holdback_total: int
    clusters: int
    stores: int
    replenishment_shipments: int
    warnings: list[str]
    target_check: TargetCheck | None


class MarkdownStep(_Result):
    week_number: int = Field(ge=1)
    week_start: date
    markdown_pct: float = Field(ge=0, le=0.5)
    price: float = Field(gt=0)


class PricingResult(_Result):
    full_price: float = Field(gt=0)
    markdowns: list[MarkdownStep]
    checkpoint_week: int = Field(ge=1)
    projected_sell_through_at_checkpoint: float = Field(ge=0, le=1)
    expected_sell_through: float = Field(ge=0, le=1)
    expected_revenue: float = Field(ge=0)
    leftover_units: int = Field(ge=0)
    reasoning: str
    inventory_units: int = Field(0, ge=0)
    expected_units_sold: int = Field(0, ge=0)
    salvage_value: float = Field(0.0, ge=0)
    markdown_threshold: float | None = None
    scenarios: int = Field(1, ge=1)

    def summary(self) -> PricingSummary:
        first = next((m for m in self.markdowns if m.markdown_pct > 0), None)
        return PricingSummary(
            first_markdown_week=first.week_number if first else None,
            first_markdown_pct=first.markdown_pct if first else 0.0,
            expected_sell_through=round(self.expected_sell_through, 4),
            expected_revenue=round(self.expected_revenue, 2),
            leftover_units=self.leftover_units,
        )


class PricingSummary(_Result):
    """The Pricing agent's plan: its first markdown and what the season is expected to bring."""

    first_markdown_week: int | None
    first_markdown_pct: float
    expected_sell_through: float
    expected_revenue: float
    leftover_units: int
