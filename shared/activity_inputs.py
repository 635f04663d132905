"""What the orchestrator hands its activities: the one definition both sides use.

The orchestrator builds these models and passes their JSON; each activity validates what it
receives against the same model (shared/outcomes.py is the other direction). Both stay small:
every replay of the orchestrator re-reads them from its history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas import CompleteMessage, SeasonParameters, SessionId, WorkflowId
from shared.telemetry.trace_context import TraceContext


class AgentTask(BaseModel):
    """An agent activity's input: ids and parameters, nothing bulky (each agent reloads the
    earlier agents' full results from the database). Extra fields are ignored: an orchestration
    started by an earlier version still passes the `previous` summaries it used to send."""

    model_config = ConfigDict(extra="ignore")

    workflow_id: str
    session_id: str
    owner_id: str
    category_id: str
    parameters: SeasonParameters
    # The plan's trace (shared/telemetry): the agent's span hangs under the orchestration's.
    trace: TraceContext | None = None
    # The agent's deadline (all attempts): how long an attempt may keep retrying to record its
    # messages. Absent in orchestrations started by an earlier version: the agent's timeout
    # from the attempt's start is used then.
    deadline: datetime | None = None
    # The previous agent's result as the orchestrator accepted it (its compact summary): this
    # activity announces it (`complete` + `agent_status completed`) before its own `running`,
    # which saves the orchestrator a publishing activity per agent. Absent for the first agent
    # and in orchestrations started by an earlier version (they announce it themselves).
    accepted: CompleteMessage | None = None


class PublishRequest(BaseModel):
    """The publish_message activity's input: documented messages (no envelope fields), where
    they belong, and whether they end the workflow's stream."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: WorkflowId
    session_id: SessionId
    owner_id: str
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=10)
    close: bool = False
    trace: TraceContext | None = None
