"""The specification's contracts, enforced by the shared schemas."""

from datetime import date

import pytest
from pydantic import ValidationError

from shared.schemas import (
    WEBSOCKET_MESSAGE,
    ExtractionRequest,
    RunWorkflowRequest,
    SeasonParameters,
)

BASE = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
}


def test_end_date_is_derived_from_the_specification_example():
    params = SeasonParameters.model_validate(BASE)
    assert params.season_end_date == date(2025, 3, 26)
    assert params.model_dump(mode="json")["season_end_date"] == "2025-03-26"


def test_consistent_end_date_is_accepted_and_inconsistent_rejected():
    assert SeasonParameters.model_validate({**BASE, "season_end_date": "2025-03-26"})
    with pytest.raises(ValidationError, match="season_end_date"):
        SeasonParameters.model_validate({**BASE, "season_end_date": "2025-03-31"})


@pytest.mark.parametrize(
    "field,value",
    [
        ("forecast_horizon_weeks", 3),
        ("forecast_horizon_weeks", 53),
        ("forecast_horizon_weeks", 12.5),
        ("forecast_horizon_weeks", "12"),
        ("season_start_date", "01/01/2025"),
        ("season_start_date", "2025-02-30"),
        ("season_start_date", 1735689600),
        ("replenishment_strategy", "daily"),
        ("dc_holdback_percentage", 1.5),
        ("dc_holdback_percentage", -0.1),
        ("dc_holdback_percentage", float("nan")),
        ("confidence_score", 2),
        ("markdown_checkpoint_week", 13),
        ("unit_target", 0),
    ],
)
def test_out_of_contract_values_are_rejected(field, value):
    with pytest.raises(ValidationError):
        SeasonParameters.model_validate({**BASE, field: value})


def test_unknown_fields_are_rejected():
    with pytest.raises(ValidationError):
        SeasonParameters.model_validate({**BASE, "surprise": 1})


def test_week_starts_cover_the_horizon():
    weeks = SeasonParameters.model_validate(BASE).week_starts()
    assert len(weeks) == 12 and weeks[0] == date(2025, 1, 1) and weeks[-1] == date(2025, 3, 19)


@pytest.mark.parametrize("text", ["too short", "x" * 501, ""])
def test_extraction_request_length_bounds(text):
    with pytest.raises(ValidationError):
        ExtractionRequest(strategy_description=text)


@pytest.mark.parametrize("session_id", ["", "a" * 65, "has space", "semi;colon", "ünï"])
def test_session_id_charset(session_id):
    with pytest.raises(ValidationError):
        RunWorkflowRequest(session_id=session_id, parameters=BASE)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"},
        {"type": "progress", "agent_name": "Demand Agent", "progress": 45, "message": "Loading"},
        {"type": "complete", "agent_name": "Pricing Agent", "result": {"a": 1}},
        {"type": "error", "agent_name": "Inventory Agent", "error_message": "Data not found"},
        {"type": "heartbeat", "timestamp": "2025-11-04T10:30:00Z"},
    ],
)
def test_the_five_documented_messages_round_trip(message):
    parsed = WEBSOCKET_MESSAGE.validate_python(message)
    dumped = parsed.model_dump(exclude_none=True)
    assert dumped == message


def test_messages_reject_unknown_agents_and_out_of_range_progress():
    with pytest.raises(ValidationError):
        WEBSOCKET_MESSAGE.validate_python(
            {"type": "agent_status", "agent_name": "X", "status": "running"}
        )
    with pytest.raises(ValidationError):
        WEBSOCKET_MESSAGE.validate_python(
            {"type": "progress", "agent_name": "Demand Agent", "progress": 101, "message": "m"}
        )
