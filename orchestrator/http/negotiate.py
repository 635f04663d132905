"""How a browser gets its live progress stream: negotiate a Web PubSub URL.

`GET /api/orchestrator/negotiate?session_id=...` returns a client token: signed locally with the
access key when the app has one (no call to the service, so it works while the service is
unreachable), or, keyless (`WebPubSubEndpoint` + managed identity), issued by the service's
`:generateToken` REST call. Either way the token names the caller as its user and joins the
group of the caller's own session on connect (derived from the caller and the session, so
another planner's same session_id is another group); it has no roles, so the connection can
neither send nor join another group.

A browser that reconnects catches up on what it missed from the events route
(orchestrator/http/events.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ValidationError

from orchestrator.http.dependencies import dependencies
from shared.errors import (
    WebSocketConnectionError,
    invalid_from_validation,
)
from shared.http import http_endpoint, json_response
from shared.identity import PLANNER, authorize
from shared.messaging.listeners import note_listeners
from shared.messaging.publisher import group_for, iso_z, utc_now
from shared.schemas import SessionId
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

logger = logging.getLogger(__name__)

# Keyless tokens cost a REST call; a browser waiting on negotiate should not wait out the SDK's
# default of ten retries.
TOKEN_CALL_POLICY: dict[str, Any] = {"retry_total": 2, "connection_timeout": 5, "read_timeout": 5}

bp = df.Blueprint()


class NegotiateQuery(BaseModel):
    session_id: SessionId


def _token_failure(exc: Exception) -> str:
    """Why no token was issued, in words a client can act on (no exception names, no URLs)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(exc, ClientAuthenticationError):
        return "the app's identity could not get an Entra token"
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        return f"the service answered HTTP {exc.status_code}"
    return "the service is unreachable"


def negotiate_response(
    session_id: str,
    owner_id: str,
    settings: Settings,
    *,
    credential: TokenCredential | None = None,
) -> dict[str, Any]:
    """`{url, token, expires_at, hub, group}` for the browser of `owner_id`'s session.
    `credential` replaces the managed identity when the app is keyless (tests, other
    identities).

    The Web PubSub SDK, azure-core and PyJWT (~0.1 s with cryptography) load with the first
    negotiate, not with the app."""
    import jwt
    from azure.core.exceptions import AzureError

    from shared.messaging.webpubsub_client import build_service_client

    try:
        query = NegotiateQuery.model_validate({"session_id": session_id})
    except ValidationError as exc:
        raise invalid_from_validation(exc, "query") from None
    group = group_for(query.session_id, owner_id=owner_id)
    try:
        client = build_service_client(settings, credential=credential, **TOKEN_CALL_POLICY)
    except ValueError:
        raise WebSocketConnectionError(
            "Live updates are not configured",
            suggestions=[
                "Set WebPubSubEndpoint or WebPubSubConnectionString; "
                "GET .../workflows/{id}/events still works."
            ],
        ) from None
    try:
        with client:
            access = client.get_client_access_token(
                user_id=owner_id,
                roles=[],
                groups=[group],
                minutes_to_expire=settings.negotiate_token_minutes,
            )
    except AzureError as exc:
        logger.warning("Web PubSub client token not issued: %s", type(exc).__name__)
        raise WebSocketConnectionError(
            "Web PubSub did not issue a client token.",
            details={"reason": _token_failure(exc)},
            suggestions=[
                "Retry in a few seconds; progress is also available from the "
                "workflow's events endpoint."
            ],
        ) from None
    expires = jwt.decode(access["token"], options={"verify_signature": False})["exp"]
    return {
        "url": access["url"],
        "token": access["token"],
        "expires_at": iso_z(datetime.fromtimestamp(expires, UTC)),
        "hub": settings.webpubsub_hub,
        "group": group,
    }


@bp.route(route="orchestrator/negotiate", methods=["GET"])
@http_endpoint
def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    """The browser's stream URL; also tells the heartbeat timer someone is about to listen."""
    settings = dependencies().settings()
    principal = authorize(req, PLANNER, settings)
    body = negotiate_response(req.params.get("session_id", ""), principal.user_id, settings)
    note_listeners(settings, utc_now())
    return json_response(body, headers={"Cache-Control": "no-store"})
