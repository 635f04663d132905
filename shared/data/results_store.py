"""Agents' full results, persisted as JSON text under (workflow id, agent key of the registry).

Activities save here and the result endpoints read here, so the orchestrator only ever carries
summaries. Saving is an upsert because Durable Functions may replay or retry an activity: the
latest run of an agent overwrites the earlier one cleanly. The SQL is portable (update, then
insert when nothing was updated; a concurrent insert of the same key is retried as an update).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.agents import AGENT_KEYS, AgentKey
from shared.data.tables import AgentResultRow, WorkflowEvent, WorkflowOwnerRow
from shared.errors import InvalidParametersError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _check_agent(agent: str) -> None:
    """Only the registry's agents (shared/agents.py) have results."""
    if agent not in AGENT_KEYS:
        raise InvalidParametersError(
            f"Unknown agent {agent!r}; expected one of {', '.join(AGENT_KEYS)}.",
            details={"agent": agent, "agents": list(AGENT_KEYS)},
        )


def save_result(
    engine: Engine,
    workflow_id: str,
    agent: AgentKey,
    result: BaseModel,
    *,
    now: datetime | None = None,
) -> None:
    """Store `result` for the workflow's agent, replacing an earlier run of the same agent."""
    _check_agent(agent)
    values = {"result": result.model_dump_json(), "created_at": now or datetime.now(UTC)}
    key = (AgentResultRow.workflow_id == workflow_id) & (AgentResultRow.agent == agent)
    for _ in range(2):
        try:
            with engine.begin() as conn:
                if conn.execute(update(AgentResultRow).where(key).values(values)).rowcount == 0:
                    conn.execute(
                        insert(AgentResultRow).values(
                            workflow_id=workflow_id, agent=agent, **values
                        )
                    )
            return
        except IntegrityError:
            continue  # another writer inserted the key between our update and insert
    raise RuntimeError(f"could not save the {agent} result of workflow {workflow_id}")


def load_result(
    engine: Engine, workflow_id: str, agent: AgentKey, model_cls: type[ModelT]
) -> ModelT | None:
    """The stored result parsed as `model_cls`, or None when the agent has not saved one."""
    _check_agent(agent)
    with engine.connect() as conn:
        text = conn.execute(
            select(AgentResultRow.result).where(
                (AgentResultRow.workflow_id == workflow_id) & (AgentResultRow.agent == agent)
            )
        ).scalar_one_or_none()
    return None if text is None else model_cls.model_validate_json(text)


def list_results(engine: Engine, workflow_id: str) -> dict[str, str]:
    """The workflow's stored results as {agent: JSON text}, in agent order."""
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                select(AgentResultRow.agent, AgentResultRow.result).where(
                    AgentResultRow.workflow_id == workflow_id
                )
            ).all()
        )
    return {agent: rows[agent] for agent in AGENT_KEYS if agent in rows}


def latest_workflow_with(
    engine: Engine, agent: AgentKey, owner_id: str, *, accepted_by: str | None = None
) -> str | None:
    """The owner's workflow whose `agent` result was stored most recently, or None; with
    `accepted_by` (an event-log message key) only among workflows whose log holds that
    message."""
    _check_agent(agent)
    query = (
        select(AgentResultRow.workflow_id)
        .join(WorkflowOwnerRow, WorkflowOwnerRow.workflow_id == AgentResultRow.workflow_id)
        .where((AgentResultRow.agent == agent) & (WorkflowOwnerRow.owner_id == owner_id))
    )
    if accepted_by is not None:
        query = query.where(
            exists().where(
                WorkflowEvent.workflow_id == AgentResultRow.workflow_id,
                WorkflowEvent.message_key == accepted_by,
            )
        )
    with engine.connect() as conn:
        return conn.execute(
            query.order_by(AgentResultRow.created_at.desc()).limit(1)
        ).scalar_one_or_none()
