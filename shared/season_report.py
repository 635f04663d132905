"""Plan against actual for a live season: by week, and the variance summary of a version.

Pure functions over the stored plan documents (activities/planning/season_replan.py writes
them) and the actual units per week, so the activity that publishes `plan_updated`, the HTTP
route and the CLI show the same figures. Definitions (DESIGN.md's vocabulary):
- variance % = (actual - original plan) / original plan x 100, per week and over the weeks
  with actuals;
- sell-through = cumulative actual sales / cumulative store receipts (launch + DC shipments
  of the working plan);
- weeks of supply = the stores' stock at week end / the working plan's next week forecast.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import SeasonVariance


class SeasonWeek(BaseModel):
    """One season week: the original plan, the working plan and what sold."""

    model_config = ConfigDict(extra="forbid")

    week_number: int = Field(ge=1)
    week_start: date
    original_units: int = Field(ge=0)
    working_units: int = Field(ge=0)
    lower: float = Field(ge=0, description="working plan's 80 % band, lower bound")
    upper: float = Field(ge=0, description="working plan's 80 % band, upper bound")
    actual_units: int | None = Field(None, ge=0, description="none until the week is uploaded")
    variance_pct: float | None = None
    sell_through: float | None = Field(None, ge=0)
    weeks_of_supply: float | None = Field(None, ge=0)
    shipment_units: int = Field(0, ge=0)
    markdown_pct: float = Field(0.0, ge=0)


def _pct(actual: int, planned: int) -> float | None:
    return None if planned <= 0 else round((actual - planned) / planned * 100, 1)


def plan_against_actual(
    original: dict[str, Any], working: dict[str, Any], actual_by_week: dict[int, int]
) -> list[SeasonWeek]:
    """Every season week; `actual_by_week` maps week number to units sold (all stores)."""
    received = working.get("launch_units", 0)
    sold = 0
    rows: list[SeasonWeek] = []
    weeks = working["weeks"]
    for index, week in enumerate(weeks):
        number = week["week_number"]
        received += week["shipment_units"] if number > 1 else 0
        planned = original["weeks"][index]["forecast_units"]
        actual = actual_by_week.get(number)
        sell_through = cover = None
        if actual is not None:
            sold += actual
            sell_through = round(sold / received, 4) if received else None
            following = weeks[index + 1]["forecast_units"] if index + 1 < len(weeks) else 0
            stock = max(0, received - sold)
            cover = round(stock / following, 1) if following else None
        rows.append(
            SeasonWeek(
                week_number=number,
                week_start=week["week_start"],
                original_units=planned,
                working_units=week["forecast_units"],
                lower=week["lower"],
                upper=week["upper"],
                actual_units=actual,
                variance_pct=None if actual is None else _pct(actual, planned),
                sell_through=sell_through,
                weeks_of_supply=cover,
                shipment_units=week["shipment_units"],
                markdown_pct=week["markdown_pct"],
            )
        )
    return rows


def variance_summary(
    original: dict[str, Any], working: dict[str, Any], actual_by_week: dict[int, int]
) -> SeasonVariance:
    """Plan against actual over the weeks the working plan was made from."""
    sold_weeks = int(working.get("weeks_sold", 0))
    actual = sum(actual_by_week.get(w, 0) for w in range(1, sold_weeks + 1))
    planned = sum(week["forecast_units"] for week in original["weeks"][:sold_weeks])
    remaining = sum(week["forecast_units"] for week in working["weeks"][sold_weeks:])
    return SeasonVariance(
        weeks_with_actuals=sold_weeks,
        actual_units=actual,
        planned_units=planned,
        variance_pct=_pct(actual, planned),
        remaining_forecast_units=remaining,
    )


class SeasonItem(BaseModel):
    """A live season as `GET /api/seasons` lists it."""

    model_config = ConfigDict(extra="forbid")

    season_id: str
    workflow_id: str
    session_id: str = Field(description="the plan's session: negotiate it to hear plan_updated")
    category_id: str
    status: str = Field(description="open, closed (early) or completed")
    season_start_date: date
    weeks: int = Field(ge=1)
    actuals_version: int = Field(ge=0, description="uploads that changed the actuals")
    created_at: str


class SeasonList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seasons: list[SeasonItem]


class PlanVersionInfo(BaseModel):
    """One plan version: 1 is the plan as launched, each later one a re-plan."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    actuals_version: int = Field(ge=0)
    created_at: str
    changes: dict[str, Any] = Field(description="what changed against the previous version, why")
    variance: dict[str, Any] = Field(description="the SeasonVariance plan_updated carried")


class SeasonDetail(SeasonItem):
    """`GET /api/seasons/{season_id}`."""

    versions: list[PlanVersionInfo]
    original_plan: dict[str, Any] | None
    working_plan: dict[str, Any] | None
    weeks_plan_against_actual: list[SeasonWeek]


class ActualsRowIn(BaseModel):
    """One row of a JSON upload (the sales file's columns, `on_hand` optional)."""

    week_start_date: str
    store_id: str
    category_id: str
    units_sold: int = Field(ge=0)
    on_hand: int | None = Field(None, ge=0)


class ActualsUpload(BaseModel):
    """A JSON upload of weekly actuals (or send the same columns as text/csv)."""

    rows: list[ActualsRowIn]


class ActualsAccepted(BaseModel):
    """The upload is recorded (or was already: `duplicate`) and the season was told."""

    model_config = ConfigDict(extra="forbid")

    season_id: str
    upload_id: str
    duplicate: bool
    actuals_version: int = Field(ge=0)
    rows: int = Field(ge=0)


class SeasonClosed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    season_id: str
    status: str
