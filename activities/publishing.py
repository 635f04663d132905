"""Publishing from the workflow: the `publish_message` activity and the `heartbeat` timer.

The orchestrator cannot publish itself (it replays, so it would publish again on every replay);
it calls this activity instead. The orchestrator only announces its own decisions — the last
agent's accepted result (`complete` + `agent_status completed`) or a failure (`error` +
`agent_status failed`) — each as one batch, recorded in one transaction. Everything an agent
reports while it runs, it publishes itself, and so does the previous agent's accepted result,
which the orchestrator hands to the next agent's activity (activities/agent_runs.py).

The timer fires every 30 s but sends only while someone may be listening (a browser negotiated
or a workflow started within `HEARTBEAT_WINDOW_MINUTES`, see shared.messaging.listeners): an
idle app reads one database row per tick and makes no Web PubSub call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from sqlalchemy import Engine

from shared.activity_inputs import PublishRequest
from shared.data.db import get_engine
from shared.messaging.listeners import listeners_expected
from shared.messaging.publisher import PublishedEvent, Publisher, get_publisher, utc_now
from shared.settings import get_settings
from shared.telemetry import publish_span

logger = logging.getLogger(__name__)

HEARTBEAT_SCHEDULE = "*/30 * * * * *"

bp = df.Blueprint()


def publish_payload(payload: Any, publisher: Publisher) -> dict[str, Any]:
    """Validate the activity input and publish it: `{"sequences": [recorded sequence numbers]}`.

    An invalid input raises (it is a bug in the caller, and the orchestrator should see it);
    delivery never does: it happens in the background, after the messages are recorded.
    Messages the log already holds (a re-run of this activity) are not recorded again.
    """
    data = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
    request = PublishRequest.model_validate(data)
    with publish_span(data, len(request.messages)):
        events = publisher.publish_all(
            request.messages,
            session_id=request.session_id,
            workflow_id=request.workflow_id,
            owner_id=request.owner_id,
            close=request.close,
        )
    return {"sequences": [event.sequence for event in events]}


def send_heartbeat(
    engine: Engine, now: datetime, publisher: Callable[[], Publisher]
) -> PublishedEvent | None:
    """The heartbeat to every connection while listeners are expected at `now`; otherwise
    None, without building a publisher or touching Web PubSub."""
    if not listeners_expected(engine, now):
        return None
    return publisher().heartbeat()


@bp.activity_trigger(input_name="payload")
def publish_message(payload: dict) -> dict:
    return publish_payload(payload, get_publisher())


@bp.timer_trigger(schedule=HEARTBEAT_SCHEDULE, arg_name="timer", use_monitor=False)
def heartbeat(timer: func.TimerRequest) -> None:
    if timer.past_due:
        logger.info("heartbeat timer is past due; sending one now if anyone listens")
    send_heartbeat(get_engine(get_settings().database_url), utc_now(), get_publisher)
