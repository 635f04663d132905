"""The agents' results: full models persisted under the workflow id, and the compact summaries
that are all the orchestrator ever carries (the custom status, the `complete` message and the
workflow output show them as JSON, field for field, in declaration order)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.glossary import describe


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeekForecast(_Result):
    week_start: date
    units: int = Field(
        ge=0, description="whole units: the season total split over the weeks by largest remainder"
    )
    lower: float = Field(ge=0, description="80 % interval, lower bound")
    upper: float = Field(ge=0, description="80 % interval, upper bound")
    lower_95: float = Field(ge=0)
    upper_95: float = Field(ge=0)
    last_year_units: int | None = Field(
        None, ge=0, description="units sold in the same season week one year earlier"
    )


class StoreForecast(_Result):
    store_id: str
    share: float = Field(ge=0, le=1)
    units: int = Field(
        ge=0, description="whole units: the season total split over stores by largest remainder"
    )


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
    model_description: str = Field("", description="the forecasting method in a planner's words")
    model_weights: dict[str, float] = Field(default_factory=dict)
    history_weeks: int = Field(0, ge=0)
    service_level: float = Field(0.95, gt=0, lt=1)
    cover_weeks: int = Field(1, ge=1)
    warnings: list[str] = Field(default_factory=list)
    total_lower_80: float | None = Field(None, ge=0, description="season total, 80 % interval")
    total_upper_80: float | None = Field(None, ge=0)
    total_lower_95: float | None = Field(None, ge=0)
    total_upper_95: float | None = Field(None, ge=0)
    last_year_total: int | None = Field(
        None, ge=0, description="units sold over the same season weeks one year earlier"
    )
    last_year_missing_weeks: list[int] = Field(
        default_factory=list,
        description="season weeks the history has no week for one year earlier: last year's "
        "total counts the other weeks only",
    )

    @model_validator(mode="after")
    def _reconciles(self) -> DemandResult:
        """One rounding rule: the weeks and the stores each add up to the season total, so the
        figure is the same wherever it is summed (a partial list, as in a test, is not summed)."""
        if len(self.forecast_by_week) == self.horizon_weeks and self.horizon_weeks:
            weekly = sum(w.units for w in self.forecast_by_week)
            if weekly != self.total_demand:
                raise ValueError(f"weekly units sum to {weekly}, not {self.total_demand}")
        stores = self._store_units()
        if stores is not None and stores != self.total_demand:
            raise ValueError(f"store units sum to {stores}, not {self.total_demand}")
        return self

    def _store_units(self) -> float | None:
        """The season's units summed over its stores (None: no stores listed)."""
        return sum(s.units for s in self.store_forecast) if self.store_forecast else None

    def summary(self) -> DemandSummary:
        return DemandSummary(
            total_demand=self.total_demand,
            safety_stock_pct=round(self.safety_stock_pct, 4),
            confidence=round(self.confidence, 3),
            model_used=self.model_used,
            weeks=self.horizon_weeks,
            wape=None if self.backtest.wape is None else round(self.backtest.wape, 4),
            last_year_total=self.last_year_total,
            warnings=compact_warnings(self.warnings),
        )


class DemandSummary(_Result):
    """The Demand agent's result in a few numbers (rounded where it is computed)."""

    total_demand: int
    safety_stock_pct: float
    confidence: float
    model_used: str
    weeks: int
    wape: float | None
    last_year_total: int | None = None
    warnings: list[str] = Field(default_factory=list)


class StoreAllocation(_Result):
    store_id: str
    initial_allocation: int = Field(ge=0)
    store_name: str | None = None
    region: str | None = None
    launch_weeks_of_supply: float | None = Field(
        None, ge=0, description="weeks of the store's forecast its launch units cover"
    )


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
    replenishment_schedule: list[ReplenishmentShipment] = Field(
        description="the replenishment policy's deliveries on each replenishment week at the "
        "full-price forecast; the season plan's store_deliveries are the plan's, after actual "
        "sales and markdowns"
    )
    silhouette_score: float | None = None
    warnings: list[str] = Field(default_factory=list)
    explanation: str
    target_check: TargetCheck | None = None
    launch_weeks_of_supply: float | None = Field(
        None, ge=0, description="weeks of the season's forecast the launch units cover"
    )
    replenishment_policy: str = Field(
        "", description="the replenishment policy in a planner's words"
    )
    planned_lost_sales: int = Field(
        0, ge=0, description="forecast demand the stores cannot serve under this plan, in units"
    )
    stranded_units: int = Field(
        0,
        ge=0,
        description="units the DC holds, uncommitted, at the end of weeks in which stores lose "
        "sales (at most that week's lost sales)",
    )

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
            launch_weeks_of_supply=self.launch_weeks_of_supply,
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
    launch_weeks_of_supply: float | None = None


class MarkdownStep(_Result):
    week_number: int = Field(ge=1)
    week_start: date
    markdown_pct: float = Field(ge=0, le=0.5)
    price: float = Field(gt=0)
    expected_units_sold: int = Field(
        0, ge=0, description="expected sales this week: forecast, markdown uplift, stock at stores"
    )


class StockPosition(_Result):
    """One week of one location's stock. For the DC, `sales` is what it delivers to the stores
    and `receipts` what the vendor delivers; the glossary defines each level's figures."""

    opening: int = Field(ge=0)
    receipts: int = Field(ge=0)
    sales: int = Field(ge=0)
    closing: int = Field(ge=0)
    sell_through: float = Field(
        ge=0,
        le=1,
        description=f"stores: {describe('store_sell_through')} DC: {describe('dc_sell_through')}",
    )
    weeks_of_supply: float | None = Field(
        None,
        ge=0,
        description=f"stores: {describe('store_weeks_of_supply')} "
        f"DC: {describe('dc_weeks_of_supply')}",
    )


class PlanWeek(_Result):
    """A season week in a planner's terms: demand, price, and stock at the stores and the DC."""

    week_number: int = Field(ge=1)
    week_start: date
    forecast_units: int = Field(ge=0)
    last_year_units: int | None = Field(None, ge=0)
    markdown_pct: float = Field(ge=0, le=0.5)
    price: float = Field(gt=0)
    demand_units: int = Field(ge=0, description=describe("demand"))
    lost_sales: int = Field(0, ge=0, description=describe("lost_sales"))
    actual: bool = Field(
        False, description="the week has sold: its demand and sales are what really sold"
    )
    chain_sell_through: float = Field(0.0, ge=0, le=1, description=describe("chain_sell_through"))
    stores: StockPosition
    dc: StockPosition


DEFAULT_VENDOR_LEAD_WEEKS = 12
"""A fashion vendor's usual order-to-DC lead time, for a category whose file gives none."""


class BuyWeek(_Result):
    """A vendor receipt into the DC: the week it lands, the date to order by, units at cost and
    retail."""

    week_number: int = Field(ge=1)
    week_start: date
    order_by: date | None = Field(
        None, description="the landing week's start less the category's vendor lead time"
    )
    units: int = Field(ge=0)
    cost: float = Field(ge=0)
    retail_value: float = Field(ge=0)


class SeasonMoney(_Result):
    """The season in the category's currency (definitions in docs/agents.md)."""

    currency: str
    full_price: float = Field(gt=0)
    unit_cost: float = Field(ge=0)
    units_sold: int = Field(ge=0)
    units_sold_full_price: int = Field(ge=0)
    units_sold_marked_down: int = Field(ge=0)
    revenue_full_price: float = Field(ge=0, description="revenue of the units sold at full price")
    revenue_marked_down: float = Field(ge=0, description="revenue of the units sold marked down")
    revenue: float = Field(ge=0)
    markdown_cost: float = Field(ge=0, description="(full price - price paid) x marked-down units")
    cogs: float = Field(ge=0, description="units sold x unit cost")
    gross_margin: float
    gross_margin_pct: float | None
    leftover_units: int = Field(ge=0)
    leftover_cost: float = Field(ge=0)
    salvage_value: float = Field(ge=0)
    average_inventory_cost: float = Field(ge=0, description=describe("average_inventory_cost"))
    gmroi: float | None = Field(None, description=describe("gmroi"))
    gmroi_annualised: float | None = Field(None, description=describe("gmroi_annualised"))


class SeasonPlan(_Result):
    """The weekly stock flow, money and buy plan, built from the Inventory and Pricing agents'
    own plans; the validator holds every identity a planner would check."""

    manufacturing_qty: int = Field(ge=0)
    weeks: list[PlanWeek]
    buy_plan: list[BuyWeek] = Field(description=describe("buy_plan"))
    store_deliveries: list[ReplenishmentShipment] = Field(
        default_factory=list, description=describe("store_deliveries")
    )
    vendor_lead_weeks: int = Field(0, ge=0, description="the category's vendor lead time, weeks")
    history_weeks: int = Field(
        0, ge=0, description="weeks from the season start that have sold (actual, not plan)"
    )
    lost_sales: int = Field(0, ge=0, description=describe("lost_sales"))
    stranded_units: int = Field(0, ge=0, description=describe("stranded_units"))
    money: SeasonMoney
    launch_weeks_of_supply: float | None = Field(None, ge=0)
    last_year_units: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _reconciles(self) -> SeasonPlan:
        problems: list[str] = []
        prev_store, prev_dc = 0, 0
        for w in self.weeks:
            for name, pos, prev in (("stores", w.stores, prev_store), ("DC", w.dc, prev_dc)):
                if pos.opening != prev:
                    problems.append(f"week {w.week_number}: {name} open {pos.opening} != {prev}")
                if pos.opening + pos.receipts - pos.sales != pos.closing:
                    problems.append(f"week {w.week_number}: {name} stock does not balance")
            if w.dc.sales != w.stores.receipts:
                problems.append(f"week {w.week_number}: DC shipped != store receipts")
            if w.stores.sales + w.lost_sales != w.demand_units:
                problems.append(f"week {w.week_number}: sales + lost sales != demand")
            prev_store, prev_dc = w.stores.closing, w.dc.closing
        sold = sum(w.stores.sales for w in self.weeks)
        if self.weeks and sum(w.dc.receipts for w in self.weeks) != self.manufacturing_qty:
            problems.append("DC receipts != manufacturing quantity")
        if sold != self.money.units_sold:
            problems.append(f"weekly sales {sold} != units sold {self.money.units_sold}")
        if self.weeks and prev_store + prev_dc != self.money.leftover_units:
            problems.append("closing stock != leftover units")
        if self.money.units_sold + self.money.leftover_units != self.manufacturing_qty:
            problems.append("sold + leftover != manufacturing quantity")
        bought = sum(b.units for b in self.buy_plan)
        if self.buy_plan and bought != self.manufacturing_qty:
            problems.append("buy plan != manufacturing quantity")
        delivered = sum(d.units for d in self.store_deliveries)
        if self.store_deliveries and delivered != sum(w.stores.receipts for w in self.weeks):
            problems.append("store deliveries != store receipts")
        if self.weeks and sum(w.lost_sales for w in self.weeks) != self.lost_sales:
            problems.append("weekly lost sales != season lost sales")
        if problems:
            raise ValueError("the season plan does not reconcile: " + "; ".join(problems))
        return self


class PricingResult(_Result):
    full_price: float = Field(gt=0)
    markdowns: list[MarkdownStep]
    checkpoint_week: int = Field(ge=1)
    projected_sell_through_at_checkpoint: float = Field(
        ge=0, le=1, description=describe("checkpoint_sell_through")
    )
    expected_sell_through: float = Field(ge=0, le=1, description=describe("expected_sell_through"))
    expected_revenue: float = Field(ge=0)
    leftover_units: int = Field(ge=0)
    reasoning: str
    inventory_units: int = Field(0, ge=0)
    expected_units_sold: int = Field(0, ge=0)
    salvage_value: float = Field(0.0, ge=0)
    markdown_threshold: float | None = None
    scenarios: int = Field(1, ge=1)
    currency: str = "USD"
    season_plan: SeasonPlan | None = None

    def summary(self) -> PricingSummary:
        first = next((m for m in self.markdowns if m.markdown_pct > 0), None)
        money = self.season_plan.money if self.season_plan else None
        return PricingSummary(
            first_markdown_week=first.week_number if first else None,
            first_markdown_pct=first.markdown_pct if first else 0.0,
            expected_sell_through=round(self.expected_sell_through, 4),
            expected_revenue=round(self.expected_revenue, 2),
            leftover_units=self.leftover_units,
            gross_margin=None if money is None else money.gross_margin,
            gross_margin_pct=None if money is None else money.gross_margin_pct,
        )


class PricingSummary(_Result):
    """The Pricing agent's plan: its first markdown and what the season is expected to bring."""

    first_markdown_week: int | None
    first_markdown_pct: float
    expected_sell_through: float
    expected_revenue: float
    leftover_units: int
    gross_margin: float | None = None
    gross_margin_pct: float | None = None
