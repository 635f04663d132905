"""The agents' summaries: typed models whose JSON is the contract the custom status, the
`complete` message and the workflow output carry (these keys, in this order, rounded here)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from shared.outcomes import run_agent_step
from shared.results import (
    BacktestMetrics,
    ClusterAllocation,
    DemandResult,
    InventoryResult,
    MarkdownStep,
    PricingResult,
    ReplenishmentShipment,
    StoreAllocation,
    TargetCheck,
)


def _demand(wape: float | None) -> DemandResult:
    return DemandResult(
        category_id="outerwear",
        season_start_date=date(2025, 1, 6),
        horizon_weeks=12,
        total_demand=8123,
        forecast_by_week=[],
        store_forecast=[],
        safety_stock_units=812,
        safety_stock_pct=0.123456,
        confidence=0.87654,
        model_used="AutoETS",
        backtest=BacktestMetrics(wape=wape, tier="short"),
        explanation="x",
    )


def _inventory(target_check: TargetCheck | None) -> InventoryResult:
    stores = [StoreAllocation(store_id=f"S{n}", initial_allocation=10) for n in range(3)]
    return InventoryResult(
        manufacturing_qty=9000,
        initial_allocation_total=30,
        dc_holdback_total=8970,
        clusters=[
            ClusterAllocation(
                cluster_id=0,
                cluster_label="A",
                allocation_percentage=1.0,
                total_units=30,
                stores=stores,
            )
        ],
        replenishment_schedule=[
            ReplenishmentShipment(week_number=2, week_start=date(2025, 1, 13), units=100)
        ],
        warnings=["w1"],
        explanation="x",
        target_check=target_check,
    )


def _pricing(markdowns: list[float]) -> PricingResult:
    return PricingResult(
        full_price=80.0,
        markdowns=[
            MarkdownStep(
                week_number=n + 1,
                week_start=date(2025, 1, 6),
                markdown_pct=pct,
                price=80.0 * (1 - pct),
            )
            for n, pct in enumerate(markdowns)
        ],
        checkpoint_week=6,
        projected_sell_through_at_checkpoint=0.5,
        expected_sell_through=0.912345,
        expected_revenue=12345.6789,
        leftover_units=42,
        reasoning="x",
    )


def _json(model) -> str:
    return json.dumps(model.summary().model_dump(mode="json"))


def test_the_demand_summary_json():
    assert _json(_demand(0.234567)) == (
        '{"total_demand": 8123, "safety_stock_pct": 0.1235, "confidence": 0.877, '
        '"model_used": "AutoETS", "weeks": 12, "wape": 0.2346, "last_year_total": null, '
        '"warnings": []}'
    )
    assert json.loads(_json(_demand(None)))["wape"] is None


def test_the_inventory_summary_json():
    assert _json(_inventory(None)) == (
        '{"manufacturing_qty": 9000, "initial_allocation_total": 30, "dc_holdback_total": 8970, '
        '"clusters": 1, "stores": 3, "replenishment_shipments": 1, "warnings": ["w1"], '
        '"target_check": null, "launch_weeks_of_supply": null}'
    )
    check = TargetCheck(
        verdict="no_target", forecast_units=9000, lower_80=8000, upper_80=10000, message="m"
    )
    assert json.loads(_json(_inventory(check)))["target_check"] == {
        "verdict": "no_target",
        "target_units": None,
        "forecast_units": 9000,
        "lower_80": 8000,
        "upper_80": 10000,
        "message": "m",
    }


def test_the_pricing_summary_json():
    assert _json(_pricing([0.0, 0.0, 0.2, 0.3])) == (
        '{"first_markdown_week": 3, "first_markdown_pct": 0.2, "expected_sell_through": 0.9123, '
        '"expected_revenue": 12345.68, "leftover_units": 42, "gross_margin": null, '
        '"gross_margin_pct": null}'
    )
    none = json.loads(_json(_pricing([0.0, 0.0])))
    assert none["first_markdown_week"] is None and none["first_markdown_pct"] == 0.0


def test_an_agent_step_hands_the_orchestrator_the_summary_json():
    demand = _demand(0.1)
    outcome = run_agent_step("Demand Agent", demand.summary)
    assert outcome["summary"] == demand.summary().model_dump(mode="json")


@pytest.mark.parametrize("tier", ["full", "short", "unvalidated"])
def test_a_forecast_tier_is_one_of_three(tier):
    assert BacktestMetrics(tier=tier).tier == tier


def test_an_unknown_forecast_tier_is_refused():
    with pytest.raises(ValidationError):
        BacktestMetrics.model_validate({"tier": "partial"})
