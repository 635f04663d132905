"""Admission: a per-planner limit on running plans (MAX_RUNNING_PLANS_PER_USER).

Why: 100 run-workflow calls by one planner were all accepted; they filled every worker, and
another planner's plan took 52 s instead of 3 s (or timed out). A plan counts as running from
its owner row (written before the orchestration starts) until its event stream is closed (its
terminal message recorded) or the Durable runtime reports it finished, and never longer than
the longest a plan can run (every agent's deadline back to back), so a plan whose host died
cannot hold a slot forever. The HTTP side (orchestrator/http/admission.py) asks the runtime
and serialises one planner's requests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from shared.data.schema import ensure_schema
from shared.data.tables import WorkflowEventStream, WorkflowOwnerRow
from shared.errors import TooManyRunningPlansError

RETRY_AFTER_SECONDS = 5
"""What a refused planner is told to wait: about the time a plan takes on an idle instance."""


def open_plans(engine: Engine, owner_id: str, since: datetime) -> list[str]:
    """The owner's plans started since `since` whose event stream is not closed: those that
    may be running (the caller asks the Durable runtime about them)."""
    ensure_schema(engine)
    closed = select(WorkflowEventStream.workflow_id).where(WorkflowEventStream.closed.is_(True))
    with engine.connect() as conn:
        rows = conn.execute(
            select(WorkflowOwnerRow.workflow_id).where(
                WorkflowOwnerRow.owner_id == owner_id,
                WorkflowOwnerRow.created_at >= since,
                WorkflowOwnerRow.workflow_id.not_in(closed),
            )
        ).scalars()
        return list(rows)


def too_many_running(running: int, limit: int) -> TooManyRunningPlansError:
    """The 429 a planner gets with `running` plans running at the limit."""
    return TooManyRunningPlansError(
        f"You have {running} plan{'' if running == 1 else 's'} running, as many as one planner "
        "may run at once. Wait for "
        f"one to finish; this request was not started (retry in {RETRY_AFTER_SECONDS} s).",
        RETRY_AFTER_SECONDS,
        details={"running_plans": running, "max_running_plans_per_user": limit},
        suggestions=[
            f"Retry after {RETRY_AFTER_SECONDS} s (the Retry-After header), or wait for a "
            "running plan to finish or terminate one you no longer need.",
        ],
    )
