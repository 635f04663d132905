"""How a browser gets its progress stream: negotiate a Web PubSub URL, or catch up on events.

`GET /api/orchestrator/negotiate?session_id=...` signs a client token locally with the access
key (no call to the service, so it works while the service is unreachable): the token names the
caller as its user and joins the group of the caller's own session on connect (derived from the
caller and the session, so another planner's same session_id is another group); it has no roles,
so the connection can neither send nor join another group.

`GET /api/orchestrator/workflows/{workflow_id}/events?after=N` returns the recorded messages with
sequence > N, oldest first, so a client that reconnects misses nothing; only to the workflow's
owner (anyone else gets the 404 of an unknown workflow).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.db import ensure_schema, get_engine
from shared.errors import (
    DataNotFoundError,
    InvalidParametersError,
    WebSocketConnectionError,
    invalid_from_validation,
)
from shared.events import MAX_FETCH, fetch_events
from shared.http import http_endpoint, json_response
from shared.identity import PLANNER, authorize
from shared.listeners import note_listeners
from shared.ownership import is_owner
from shared.progress import group_for, iso_z, utc_now
from shared.schemas import SessionId, WorkflowId
from shared.settings import Settings, get_settings

MAX_SEQUENCE = 2_147_483_647

bp = df.Blueprint()


class NegotiateQuery(BaseModel):
    session_id: SessionId


class EventsQuery(BaseModel):
    model_config = ConfigDict(strict=True)

    workflow_id: WorkflowId
    after: int = Field(0, ge=0, le=MAX_SEQUENCE)


def _validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from_validation(exc, "query") from None


def negotiate_response(session_id: str, owner_id: str, settings: Settings) -> dict[str, Any]:
    """`{url, token, expires_at, hub, group}` for the browser of `owner_id`'s session.

    The Web PubSub SDK and PyJWT (~0.1 s with cryptography) load with the first negotiate,
    not with the app."""
    import jwt
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

    query = _validated(NegotiateQuery, {"session_id": session_id})
    group = group_for(query.session_id, owner_id=owner_id)
    try:
        connection_string = settings.webpubsub_connection()
    except ValueError:
        raise WebSocketConnectionError(
            "Live updates are not configured",
            suggestions=[
                "Set WebPubSubConnectionString; GET .../workflows/{id}/events still works."
            ],
        ) from None
    client = WebPubSubServiceClient.from_connection_string(
        connection_string, hub=settings.webpubsub_hub
    )
    access = client.get_client_access_token(
        user_id=owner_id,
        roles=[],
        groups=[group],
        minutes_to_expire=settings.negotiate_token_minutes,
    )
    expires = jwt.decode(access["token"], options={"verify_signature": False})["exp"]
    return {
        "url": access["url"],
        "token": access["token"],
        "expires_at": iso_z(datetime.fromtimestamp(expires, timezone.utc)),
        "hub": settings.webpubsub_hub,
        "group": group,
    }


def _parse_after(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    too_long = len(raw) > len(str(MAX_SEQUENCE))  # before int(), which refuses 4,300+ digits
    if too_long or not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SEQUENCE:
        raise InvalidParametersError(
            "Invalid query: after must be a non-negative integer",
            details={
                "validation_errors": [
                    {"field": "after", "message": f"must be an integer from 0 to {MAX_SEQUENCE}"}
                ]
            },
            suggestions=["Pass the last sequence number you received, e.g. ?after=12."],
        )
    return int(raw)


def events_response(
    workflow_id: str, after: str | None, database_url: str, owner_id: str
) -> dict[str, Any]:
    """Events with sequence > `after` of one of `owner_id`'s workflows; 404 for any other id.
    A workflow that has just started may have no events yet (an empty page)."""
    query = _validated(EventsQuery, {"workflow_id": workflow_id, "after": _parse_after(after)})
    engine = get_engine(database_url)
    ensure_schema(engine)
    if not is_owner(engine, query.workflow_id, owner_id):
        raise DataNotFoundError(
            f"Workflow {query.workflow_id} not found",
            details={"workflow_id": query.workflow_id},
            suggestions=["Use the workflow_id returned by POST /api/orchestrator/run-workflow."],
        )
    page = fetch_events(engine, query.workflow_id, query.after)
    return {
        "workflow_id": query.workflow_id,
        "events": page.events,
        "last_sequence": page.last_sequence,
        "has_more": len(page.events) == MAX_FETCH
        and page.events[-1]["sequence"] < page.last_sequence,
    }


@bp.route(route="orchestrator/negotiate", methods=["GET"])
@http_endpoint
def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    """The browser's stream URL; also tells the heartbeat timer someone is about to listen."""
    settings = get_settings()
    principal = authorize(req, PLANNER, settings)
    body = negotiate_response(req.params.get("session_id", ""), principal.user_id, settings)
    note_listeners(settings, utc_now())
    return json_response(body, headers={"Cache-Control": "no-store"})


@bp.route(route="orchestrator/workflows/{workflow_id}/events", methods=["GET"])
@http_endpoint
def workflow_events(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    principal = authorize(req, PLANNER, settings)
    body = events_response(
        req.route_params.get("workflow_id", ""),
        req.params.get("after"),
        settings.database_url,
        principal.user_id,
    )
    return json_response(body)
