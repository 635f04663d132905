"""Request, response and message models: the one source of truth for every contract.

The HTTP functions, the orchestrator, the local runtime and the tests all import these, so a
contract changes in exactly one place. Nothing here imports pandas: the HTTP functions load
this module on a cold start (the DataFrame-carrying agent contexts live in shared.data.context).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from shared.agents import AgentName

ReplenishmentStrategy = Literal["none", "weekly", "bi-weekly"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    """Accept a `date` or a strict YYYY-MM-DD string; pydantic alone would also take timestamps."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("must be a date in YYYY-MM-DD format")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
WorkflowId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
# Also what the CSV import accepts in a category_id column (shared/data/csv_import.py).
CATEGORY_ID_PATTERN = r"[A-Za-z0-9_.-]{1,64}"
CategoryId = Annotated[str, StringConstraints(pattern=rf"^{CATEGORY_ID_PATTERN}$")]


SEASON_DATE_MIN = date(1900, 1, 1)
SEASON_DATE_MAX = date(2199, 12, 31)
"""Every day of a season lies in this range. The agents compute on pandas timestamps, which end
in April 2262, and Python dates end in 9999, where start + 7 x weeks would overflow; a bound far
from both (and from any real retail plan) makes such input a 422 instead of a crash."""


def _in_season_range(value: date) -> date:
    if not SEASON_DATE_MIN <= value <= SEASON_DATE_MAX:
        raise ValueError(
            f"must be between {SEASON_DATE_MIN.isoformat()} and {SEASON_DATE_MAX.isoformat()}"
        )
    return value


SeasonDate = Annotated[IsoDate, AfterValidator(_in_season_range)]


def season_end(start: date, weeks: int) -> date:
    """The specification's rule: the season ends 7 × weeks days after it starts."""
    return start + timedelta(days=7 * weeks)


REPLENISHMENT_CADENCE_WEEKS: dict[ReplenishmentStrategy, int] = {"weekly": 1, "bi-weekly": 2}


def replenishment_cadence(strategy: ReplenishmentStrategy) -> int | None:
    """Weeks between two DC shipments under `strategy`; None when it never replenishes ("none").

    The one rule behind both uses: the Inventory agent ships every cadence after launch, and the
    Demand agent sizes safety stock to cover one cadence of demand.
    """
    return REPLENISHMENT_CADENCE_WEEKS.get(strategy)


_EXTRACTION_EXTRAS = ("field_sources", "field_notes", "category_id")


class SeasonParameters(BaseModel):
    """Structured season parameters, as extracted from the planner's strategy text.

    Numbers are strict (docs/input-rules.md): a JSON number where the document says number, a
    whole one where it says integer; `true` (once taken as 1.0: everything held at the DC) and
    numeric strings such as "0.15" are refused on the field."""

    model_config = ConfigDict(extra="forbid")

    forecast_horizon_weeks: int = Field(ge=4, le=52, strict=True)
    season_start_date: SeasonDate
    season_end_date: SeasonDate | None = None
    replenishment_strategy: ReplenishmentStrategy
    dc_holdback_percentage: float = Field(ge=0.0, le=1.0, allow_inf_nan=False, strict=True)
    extraction_reasoning: str | None = Field(None, max_length=4000)
    confidence_score: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False, strict=True)
    markdown_checkpoint_week: int | None = Field(None, ge=1, le=52, strict=True)
    markdown_threshold: float | None = Field(None, gt=0.0, lt=1.0, allow_inf_nan=False, strict=True)
    unit_target: int | None = Field(None, ge=1, le=100_000_000, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _without_field_sources(cls, data: Any) -> Any:
        """The extract endpoint adds `field_sources` (where each value came from),
        `field_notes` (why, for inferred values) and `category_id` to its answer; a client may
        send that answer back as the parameters unchanged (RunWorkflowRequest takes the
        category from it)."""
        if isinstance(data, dict) and any(key in data for key in _EXTRACTION_EXTRAS):
            return {k: v for k, v in data.items() if k not in _EXTRACTION_EXTRAS}
        return data

    @model_validator(mode="after")
    def _season_consistent(self) -> SeasonParameters:
        expected = season_end(self.season_start_date, self.forecast_horizon_weeks)
        if expected > SEASON_DATE_MAX:
            raise ValueError(
                f"season_end_date must be on or before {SEASON_DATE_MAX.isoformat()}: "
                f"{self.forecast_horizon_weeks} weeks from {self.season_start_date.isoformat()} "
                f"end on {expected.isoformat()}"
            )
        if self.season_end_date is None:
            self.season_end_date = expected
        elif self.season_end_date != expected:
            raise ValueError(
                f"season_end_date must be season_start_date + 7 x forecast_horizon_weeks days "
                f"({expected.isoformat()}), got {self.season_end_date.isoformat()}"
            )
        if (
            self.markdown_checkpoint_week is not None
            and self.markdown_checkpoint_week > self.forecast_horizon_weeks
        ):
            raise ValueError("markdown_checkpoint_week must fall within the season")
        return self

    def week_starts(self) -> list[date]:
        """The first day of each week of the season."""
        return [
            self.season_start_date + timedelta(days=7 * i)
            for i in range(self.forecast_horizon_weeks)
        ]


class ExtractionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy_description: str = Field(min_length=10, max_length=500, strict=True)


MAX_REASON_CHARS = 500


class TerminateRequest(BaseModel):
    """The optional body of terminate; no body, `{}` or no reason means the default reason.
    Anything else (an array, a bare string or number, another field) is a 422: the body is
    documented as this object or nothing."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=MAX_REASON_CHARS, strict=True)


class RunWorkflowRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: SessionId
    parameters: SeasonParameters
    category_id: CategoryId | None = None

    @model_validator(mode="before")
    @classmethod
    def _category_from_the_extraction(cls, data: Any) -> Any:
        """No `category_id` given: the one the extraction read from the text, when the client
        sent its answer back as the parameters (null there means the default category)."""
        if not isinstance(data, dict) or data.get("category_id") is not None:
            return data
        parameters = data.get("parameters")
        if isinstance(parameters, dict) and parameters.get("category_id") is not None:
            return {**data, "category_id": parameters["category_id"]}
        return data


class ErrorResponse(BaseModel):
    error_type: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    suggestions: list[str] = Field(default_factory=list)
    request_id: str


class _Message(BaseModel):
    """Fields the transport may add to every WebSocket message (never renaming documented ones)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = None
    workflow_id: str | None = None
    timestamp: str | None = None
    sequence: int | None = None


AgentState = Literal["running", "completed", "failed"]


class AgentStatusMessage(_Message):
    type: Literal["agent_status"] = "agent_status"
    agent_name: AgentName
    status: AgentState


class ProgressMessage(_Message):
    type: Literal["progress"] = "progress"
    agent_name: AgentName
    progress: int = Field(ge=0, le=100)
    message: str


class CompleteMessage(_Message):
    type: Literal["complete"] = "complete"
    agent_name: AgentName
    result: dict[str, Any]

    def announcement(self) -> list[_Message]:
        """The accepted result as the documented order announces it: this `complete`, then the
        agent's `agent_status completed` (whoever publishes it: the next agent's activity, the
        orchestrator or a termination)."""
        return [self, AgentStatusMessage(agent_name=self.agent_name, status="completed")]


class ErrorMessage(_Message):
    type: Literal["error"] = "error"
    agent_name: AgentName
    error_message: str
    error_type: str | None = None
    suggestions: list[str] | None = None  # what the planner can do about it, when known


class HeartbeatMessage(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    timestamp: str


class SeasonVariance(BaseModel):
    """A live season's plan against actual over the weeks with actuals, in units."""

    model_config = ConfigDict(extra="forbid")

    weeks_with_actuals: int = Field(ge=0)
    actual_units: int = Field(ge=0)
    planned_units: int = Field(ge=0, description="the original plan over the same weeks")
    variance_pct: float | None = Field(None, description="(actual - planned) / planned x 100")
    remaining_forecast_units: int = Field(ge=0, description="the working plan's remaining weeks")


class PlanUpdatedMessage(_Message):
    """A live season has a new plan version (its content: GET /api/seasons/{season_id})."""

    type: Literal["plan_updated"] = "plan_updated"
    season_id: str
    version: int = Field(ge=1)
    variance: SeasonVariance
    reason: str


class ActualsLateMessage(_Message):
    """A season week's actuals had not arrived the set number of days after it ended."""

    type: Literal["actuals_late"] = "actuals_late"
    season_id: str
    week_number: int = Field(ge=1)
    week_start: date
    days_late: int = Field(ge=0)


WebSocketMessage = Annotated[
    AgentStatusMessage
    | ProgressMessage
    | CompleteMessage
    | ErrorMessage
    | HeartbeatMessage
    | PlanUpdatedMessage
    | ActualsLateMessage,
    Field(discriminator="type"),
]
WEBSOCKET_MESSAGE = TypeAdapter(WebSocketMessage)


# The orchestrator's custom status and output -----------------------------------------------
# Written by orchestrator/workflow.py, read by GET /api/orchestrator/workflows/{id}
# (orchestrator/http/runs.py). Their JSON is exactly the fields that were set: an execution log
# entry has `error_type` only when its agent failed, the status has `error` only once the
# workflow failed.

WorkflowState = Literal["running", "completed", "failed"]
# An agent's summary as the orchestrator carries it: the JSON of its summary model
# (shared/results.py), at most 2 KB.
Summary = dict[str, Any]


class _Reported(BaseModel):
    def as_json(self) -> dict[str, Any]:
        """The JSON the orchestrator reports: only the fields that were set."""
        return self.model_dump(mode="json", exclude_unset=True)


class ExecutionLogEntry(_Reported):
    agent_name: AgentName
    started_at: str
    duration_ms: int = Field(ge=0)
    status: Literal["completed", "failed"]
    attempts: int = Field(ge=1)
    error_type: str | None = None


class WorkflowFailure(_Reported):
    """The error that stopped the workflow, and the agent it stopped at."""

    error_type: str
    message: str
    agent_name: AgentName
    suggestions: list[str] = Field(default_factory=list, max_length=5)
    """What would fix it (the agent's own suggestions, e.g. the dates that would plan)."""


class WorkflowStatus(_Reported):
    """The custom status: where the chain is, what finished, and what stopped it."""

    status: WorkflowState
    current_agent: AgentName | None
    progress: int = Field(ge=0, le=100)
    completed_agents: list[AgentName]
    results: dict[AgentName, Summary]
    execution_log: list[ExecutionLogEntry]
    error: WorkflowFailure | None = None


class WorkflowOutput(_Reported):
    """What a completed workflow returns: every agent's summary and the execution log."""

    status: Literal["completed"]
    workflow_id: str
    session_id: str
    category_id: str
    results: dict[AgentName, Summary]
    execution_log: list[ExecutionLogEntry]
