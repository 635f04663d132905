"""What an agent activity hands the orchestrator: its summary, or the failure it understood,
typed and marked retryable or not; anything it did not understand still raises."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.errors import (
    AgentExecutionError,
    ContextAssemblyError,
    DataNotFoundError,
    InvalidParametersError,
)
from shared.outcomes import AgentOutcome, run_agent_step
from shared.results import DemandSummary


def _raise(exc: Exception):
    def step():
        raise exc

    return step


def test_a_summary_passes_through_as_json():
    summary = DemandSummary(
        total_demand=12,
        safety_stock_pct=0.1234,
        confidence=0.8,
        model_used="AutoETS",
        weeks=4,
        wape=None,
    )
    assert run_agent_step("Demand Agent", lambda: summary) == {
        "summary": {
            "total_demand": 12,
            "safety_stock_pct": 0.1234,
            "confidence": 0.8,
            "model_used": "AutoETS",
            "weeks": 4,
            "wape": None,
            "last_year_total": None,
            "warnings": [],
        },
        "failure": None,
    }


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (
            DataNotFoundError(
                "Category 'x' has 30 weeks of history",
                details={"weeks": 30},
                suggestions=["Load more history."],
            ),
            False,
        ),
        (InvalidParametersError("The season starts before the history"), False),
        (ContextAssemblyError("The database stayed locked"), True),
    ],
)
def test_an_understood_error_becomes_a_typed_failure(error, retryable):
    outcome = AgentOutcome.model_validate(run_agent_step("Demand Agent", _raise(error)))
    assert outcome.summary is None and outcome.failure is not None
    assert outcome.failure.error_type == error.error_type
    assert outcome.failure.message == error.message
    assert outcome.failure.details == error.details
    assert outcome.failure.suggestions == error.suggestions
    assert outcome.failure.retryable is retryable
    again = outcome.failure.to_error()
    assert type(again) is type(error) and again.message == error.message


def test_an_unexpected_exception_still_raises():
    with pytest.raises(KeyError):
        run_agent_step("Demand Agent", _raise(KeyError("x")))


def test_an_unknown_error_type_comes_back_as_an_execution_error():
    outcome = AgentOutcome.model_validate(
        {"failure": {"error_type": "SOMETHING_NEW", "message": "m", "retryable": True}}
    )
    assert outcome.failure is not None
    error = outcome.failure.to_error()
    assert isinstance(error, AgentExecutionError) and error.message == "m"


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"summary": {"a": 1}, "failure": {"error_type": "X", "message": "m", "retryable": False}},
        {"summary": {"a": 1}, "extra": True},
    ],
)
def test_an_outcome_has_exactly_one_of_summary_and_failure(data):
    with pytest.raises(ValidationError):
        AgentOutcome.model_validate(data)
