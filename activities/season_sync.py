"""The season activity: bring a live season's plan up to date with the database, once.

Each generation of the season orchestration calls it first (orchestrator/season.py), so the
database, not the event that woke it, decides what happens: an early, duplicate, reordered or
dropped doorbell costs at most one call that finds nothing new. It is idempotent, since Durable
runs an activity at least once:
- version 1 (the plan as launched) is written if missing;
- when the season's `actuals_version` is ahead of the latest plan version's, the season is
  re-planned (activities/planning/season_replan.py) and the next version written
  insert-if-absent, then `plan_updated` is published (the event log records it once per
  version);
- each week whose actuals are `season_actuals_late_days` overdue gets one `actuals_late`;
- at the season's end (its last week's deadline passed) or once it was closed, the season is
  marked completed and the closing summary returned.
It answers with ids, numbers and one wake-up time, never plan data.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from activities.agent_runs import pricing_inputs, replenishment_policy
from activities.planning.pricing import PricingInputs
from activities.planning.season_replan import LaunchedPlan, original_plan, replan_season
from shared.agents import DEMAND, INVENTORY, PRICING
from shared.data.context import get_assembler
from shared.data.db import get_engine
from shared.data.results_store import load_result
from shared.data.seasons import (
    CLOSED,
    COMPLETED,
    OPEN,
    PlanVersion,
    Season,
    load_season,
    plan_versions,
    save_plan_version,
    season_actuals,
    set_status,
)
from shared.errors import DataNotFoundError
from shared.messaging.publisher import Publisher
from shared.results import DemandResult, InventoryResult, PricingResult
from shared.schemas import ActualsLateMessage, PlanUpdatedMessage, SeasonParameters
from shared.season_report import variance_summary
from shared.settings import Settings

logger = logging.getLogger(__name__)


class SeasonSyncInput(BaseModel):
    """What a generation hands the activity: the season and the orchestration's clock."""

    model_config = ConfigDict(extra="forbid")

    season_id: str
    now: datetime


class SeasonSyncOutput(BaseModel):
    """What the generation needs next: whether the season is over, and when to wake."""

    model_config = ConfigDict(extra="forbid")

    finished: bool
    version: int
    wake_at: datetime | None = None
    closing: dict[str, Any] | None = None


def _launched(settings: Settings, season: Season) -> LaunchedPlan:
    engine = get_engine(settings.database_url)
    results = {
        agent.key: load_result(engine, season.workflow_id, agent.key, model)
        for agent, model in (
            (DEMAND, DemandResult),
            (INVENTORY, InventoryResult),
            (PRICING, PricingResult),
        )
    }
    missing = [key for key, value in results.items() if value is None]
    if missing:
        raise DataNotFoundError(
            f"The plan of season {season.season_id} has no stored {', '.join(missing)} result",
            details={"season_id": season.season_id, "missing_results": missing},
        )
    demand, inventory, pricing = (results[a.key] for a in (DEMAND, INVENTORY, PRICING))
    assert isinstance(demand, DemandResult) and isinstance(inventory, InventoryResult)
    assert isinstance(pricing, PricingResult)
    return LaunchedPlan(
        category_id=season.category_id,
        parameters=SeasonParameters.model_validate(season.parameters),
        demand=demand,
        inventory=inventory,
        pricing=pricing,
    )


def _economics(settings: Settings, category_id: str) -> PricingInputs:
    return pricing_inputs(get_assembler(settings.database_url).category_info(category_id))


def _weekly_actuals(actuals: Any, parameters: SeasonParameters) -> dict[int, int]:
    starts = {start: index + 1 for index, start in enumerate(parameters.week_starts())}
    totals: dict[int, int] = {}
    for week_start, units in actuals.groupby("week_start_date")["units_sold"].sum().items():
        number = starts.get(week_start)
        if number is not None:
            totals[number] = int(units)
    return totals


def _describe_changes(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """What changed between two plan versions, and why, in a planner's words."""
    before = sum(w["forecast_units"] for w in previous["weeks"][current["weeks_sold"] :])
    after = sum(w["forecast_units"] for w in current["weeks"][current["weeks_sold"] :])
    shipped_before = sum(w["shipment_units"] for w in previous["weeks"])
    shipped_after = sum(w["shipment_units"] for w in current["weeks"])
    sold = int(current["weeks_sold"])
    planned = sum(w["forecast_units"] for w in previous["weeks"][:sold])
    span = "Week 1" if sold == 1 else f"Weeks 1-{sold}"
    reasons = [
        f"{span} sold {current.get('sold_units', 0):,} units against {planned:,} planned; the "
        f"remaining weeks were re-forecast x{current['reforecast_ratio']:.2f} "
        f"(the ratio shrunk towards the plan), from {before:,} to {after:,} units."
        if sold
        else "No complete week of actuals yet: the forecast is unchanged."
    ]
    if shipped_after != shipped_before:
        reasons.append(
            f"DC shipments change from {shipped_before:,} to {shipped_after:,} units: the stores "
            f"hold {current['store_on_hand_units']:,} units for the rest of the season."
        )
    if current["first_markdown_week"] != previous["first_markdown_week"] or (
        current["first_markdown_pct"] != previous["first_markdown_pct"]
    ):
        reasons.append(
            "Markdown re-decided from the actual sell-through: "
            + (
                f"{current['first_markdown_pct']:.0%} from week {current['first_markdown_week']}."
                if current["first_markdown_week"]
                else "no markdown."
            )
        )
    return {
        "remaining_forecast_units": {"before": before, "after": after},
        "dc_shipment_units": {"before": shipped_before, "after": shipped_after},
        "first_markdown": {
            "before": [previous["first_markdown_week"], previous["first_markdown_pct"]],
            "after": [current["first_markdown_week"], current["first_markdown_pct"]],
        },
        "reason": " ".join(reasons),
    }


def _publish(publisher: Publisher, season: Season, message: Any) -> None:
    publisher.publish(
        message,
        session_id=season.session_id,
        workflow_id=season.season_id,
        owner_id=season.owner_id,
    )


def sync_season(
    payload: dict[str, Any], settings: Settings, publisher: Publisher
) -> dict[str, Any]:
    """The activity's body (see the module docstring)."""
    task = SeasonSyncInput.model_validate(payload)
    engine = get_engine(settings.database_url)
    season = load_season(engine, task.season_id)
    if season is None:
        return SeasonSyncOutput(finished=True, version=0).model_dump(mode="json")
    plan = _launched(settings, season)
    versions = plan_versions(engine, season.season_id)
    if not versions:
        first = PlanVersion(
            1, 0, original_plan(plan), {"reason": "The plan as launched."}, {}, task.now
        )
        save_plan_version(engine, season.season_id, first)
        versions = plan_versions(engine, season.season_id)
    original, latest = versions[0], versions[-1]
    actuals = season_actuals(engine, season.season_id)
    weekly = _weekly_actuals(actuals, plan.parameters)
    if season.status == OPEN and season.actuals_version > latest.actuals_version:
        working = replan_season(
            plan, actuals, _economics(settings, season.category_id), replenishment_policy(settings)
        )
        variance = variance_summary(original.plan, working.plan, weekly)
        changes = _describe_changes(latest.plan, working.plan)
        version = PlanVersion(
            latest.version + 1,
            season.actuals_version,
            working.plan,
            changes,
            variance.model_dump(mode="json"),
            task.now,
        )
        save_plan_version(engine, season.season_id, version)
        latest = plan_versions(engine, season.season_id)[-1]
        logger.info("Season %s: plan version %d", season.season_id, latest.version)
    if latest.version > 1:
        _publish(
            publisher,
            season,
            PlanUpdatedMessage(
                season_id=season.season_id,
                version=latest.version,
                variance=latest.variance,
                reason=latest.changes.get("reason", ""),
            ),
        )
    late = timedelta(days=settings.season_actuals_late_days)
    starts = plan.parameters.week_starts()

    def deadline_of(week_start: date) -> datetime:
        # A week's actuals are due `late` after it ends, or after the launch for a season
        # launched once its weeks had passed (a back-filled season, a demo).
        week_end = datetime.combine(week_start + timedelta(days=7), time.min, UTC)
        return max(week_end, season.created_at.astimezone(UTC)) + late

    next_deadline: datetime | None = None
    for index, start in enumerate(starts):
        deadline = deadline_of(start)
        if index + 1 in weekly:
            continue
        if deadline <= task.now and season.status == OPEN:
            _publish(
                publisher,
                season,
                ActualsLateMessage(
                    season_id=season.season_id,
                    week_number=index + 1,
                    week_start=start,
                    days_late=(task.now - deadline + late).days,
                ),
            )
        elif deadline > task.now and next_deadline is None:
            next_deadline = deadline
    season_end = deadline_of(starts[-1])
    season_over = season_end <= task.now or len(weekly) == len(starts)
    if season.status in (CLOSED, COMPLETED) or season_over:
        if season.status == OPEN:
            set_status(engine, season.season_id, COMPLETED, task.now)
        closing = {
            "season_id": season.season_id,
            "versions": latest.version,
            "status": CLOSED if season.status == CLOSED else COMPLETED,
            "plan_against_actual": variance_summary(original.plan, latest.plan, weekly).model_dump(
                mode="json"
            ),
        }
        return SeasonSyncOutput(finished=True, version=latest.version, closing=closing).model_dump(
            mode="json"
        )
    return SeasonSyncOutput(
        finished=False, version=latest.version, wake_at=next_deadline or season_end
    ).model_dump(mode="json")
