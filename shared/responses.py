"""What the HTTP functions answer where no request or result model says it already: the
envelopes around the shared contracts (shared/schemas.py, shared/results.py).

The OpenAPI document (orchestrator/http/contract/) describes every answer with these models, and
Schemathesis checks the live answers against it, so a field a function adds without adding it
here fails a test instead of going undocumented (the envelopes forbid unknown fields). Nothing
here imports pandas: like shared/schemas.py, it loads with the HTTP functions.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.agents import AgentName
from shared.extraction.combine import FieldSource
from shared.results import (
    ClusterAllocation,
    DemandResult,
    InventoryResult,
    SeasonPlan,
)
from shared.runtime_status import RuntimeStatus
from shared.schemas import (
    ExecutionLogEntry,
    SeasonParameters,
    Summary,
    WebSocketMessage,
    WorkflowFailure,
    WorkflowOutput,
)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identity(_Answer):
    """`GET /api/me`: who the app takes the caller to be."""

    user_id: str
    name: str
    identity_provider: str
    roles: list[str] = Field(description="the caller's app roles, sorted")


class ExtractionAnswer(SeasonParameters):
    """The extracted parameters plus the category the text names and where each value came
    from; run-workflow accepts the whole answer back as `parameters` (it ignores `field_sources`
    and `field_notes`, and plans `category_id` unless the request names one)."""

    category_id: str | None = Field(
        description="the category the text names (null: none, or only a generic word; the run "
        "then uses the default category)"
    )
    field_sources: dict[str, FieldSource]
    field_notes: dict[str, str] = Field(
        description="why a value is what it is where the words alone do not show it, e.g. "
        "'assumed 2027: the text names no year'"
    )

    @model_validator(mode="before")
    @classmethod
    def _without_field_sources(cls, data: Any) -> Any:
        """Unlike the parameters, the answer keeps its `field_sources`, `field_notes` and
        `category_id`."""
        return data


class NegotiateAnswer(_Answer):
    """A Web PubSub client URL for the caller's own group of one session."""

    url: str = Field(description="wss:// (ws:// locally) URL with the access token")
    token: str
    expires_at: str = Field(description="UTC, ISO 8601 with Z")
    hub: str
    group: str


class WorkflowStarted(_Answer):
    """run-workflow's answer: the workflow and where to follow it. A repeated Idempotency-Key
    (200) also says the run's runtime status and that it was replayed."""

    status: Literal["started"]
    workflow_id: str
    session_id: str
    category_id: str | None
    status_url: str
    terminate_url: str
    events_url: str
    negotiate_url: str
    runtime_status: RuntimeStatus | None = None
    idempotent_replay: bool | None = None


class WorkflowEnding(_Answer):
    """The output of a failed or terminated workflow: what finished before it stopped."""

    status: Literal["failed", "terminated", "canceled"]
    results: dict[AgentName, Summary]
    execution_log: list[ExecutionLogEntry]
    error: WorkflowFailure | None
    failure: str


class WorkflowStatusAnswer(_Answer):
    """`GET /api/orchestrator/workflows/{workflow_id}`: where the chain is and what it made."""

    workflow_id: str
    session_id: str | None
    category_id: str | None
    runtime_status: RuntimeStatus
    status: str = Field(
        description="running, completed or failed as the orchestrator reports it; "
        "before its first report the runtime status in lower case; terminated"
    )
    current_agent: AgentName | None
    progress: int = Field(ge=0, le=100)
    completed_agents: list[AgentName]
    execution_log: list[ExecutionLogEntry]
    results: dict[AgentName, Summary]
    error: WorkflowFailure | None
    output: WorkflowOutput | WorkflowEnding | None
    created_time: str | None
    last_updated_time: str | None


class TerminateAccepted(_Answer):
    status: Literal["terminating"]
    workflow_id: str
    reason: str


class EventsPage(_Answer):
    """The workflow's recorded messages after `after`, oldest first (at most 1,000)."""

    workflow_id: str
    events: list[WebSocketMessage]
    last_sequence: int = Field(ge=0)
    has_more: bool


class ClusterSummary(_Answer):
    cluster_id: int
    cluster_label: str
    store_count: int = Field(ge=0)
    allocation_percentage: float = Field(ge=0, le=1)
    total_units: int = Field(ge=0)
    store_ids: list[str]


class StoreClusters(_Answer):
    """`GET /api/stores/clusters`: the store groups of one inventory plan."""

    workflow_id: str
    silhouette_score: float | None
    clusters: list[ClusterSummary]


class StorePageBlock(_Answer):
    """Where one page of a per-store table sits among every store (`?store_limit=&store_offset=`
    on the forecast and allocation routes); the totals beside it are over every store."""

    offset: int = Field(ge=0)
    limit: int = Field(ge=1)
    returned: int = Field(ge=0, description="stores on this page")
    total_stores: int = Field(ge=0)
    next_offset: int | None = Field(description="where the next page starts; null on the last")


class ForecastStorePage(StorePageBlock):
    units_total: float = Field(description="season units forecast over every store")
    share_total: float = Field(description="the stores' shares summed (1 up to rounding)")


class AllocationStorePage(StorePageBlock):
    initial_allocation_total: int = Field(ge=0, description="launch units over every store")


class ForecastPage(DemandResult):
    """The forecast with one page of its stores; everything not per store is whole."""

    store_page: ForecastStorePage

    def _store_units(self) -> float | None:
        """A page holds only some stores: the season's store total is the page block's."""
        return self.store_page.units_total


class PagedClusterAllocation(ClusterAllocation):
    """A cluster with the stores of this page only, and how many it has on every page."""

    store_count: int = Field(ge=0)


class AllocationPage(InventoryResult):
    """The allocation with one page of its stores (counted across clusters in order)."""

    # A page narrows each cluster to its own stores and says how many the cluster has in all.
    clusters: list[PagedClusterAllocation]  # type: ignore[assignment]
    store_page: AllocationStorePage


class SeasonPlanAnswer(SeasonPlan):
    """`GET /api/plans/{workflow_id}`: the season plan (stock flow, money, buy plan) of a plan."""

    workflow_id: str
