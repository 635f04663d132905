"""Publishing from the workflow: the `publish_message` activity and the `heartbeat` timer.

The orchestrator cannot publish itself (it replays, so it would publish again on every replay);
it calls this activity instead, which runs once per message.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict

from shared.progress import Publisher, get_publisher
from shared.schemas import SessionId, WorkflowId

logger = logging.getLogger(__name__)

HEARTBEAT_SCHEDULE = "*/30 * * * * *"

bp = df.Blueprint()


class PublishRequest(BaseModel):
    """The activity input: one documented message (no envelope fields) and where it belongs."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: WorkflowId
    session_id: SessionId
    owner_id: str
    message: dict[str, Any]


def publish_payload(payload: Any, publisher: Publisher) -> dict[str, Any]:
    """Validate the activity input and publish it: `{"sequence": n, "delivered": bool}`.

    An invalid input raises (it is a bug in the caller, and the orchestrator should see it);
    a delivery failure never does — it comes back as `delivered: false`.
    """
    data = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    request = PublishRequest.model_validate(data)
    event = publisher.publish(
        request.message,
        session_id=request.session_id,
        workflow_id=request.workflow_id,
        owner_id=request.owner_id,
    )
    return {"sequence": event.sequence, "delivered": event.delivered}


@bp.activity_trigger(input_name="payload")
def publish_message(payload: dict) -> dict:
    return publish_payload(payload, get_publisher())


@bp.timer_trigger(schedule=HEARTBEAT_SCHEDULE, arg_name="timer", use_monitor=False)
def heartbeat(timer: func.TimerRequest) -> None:
    if timer.past_due:
        logger.info("heartbeat timer is past due; sending one now")
    get_publisher().heartbeat()
