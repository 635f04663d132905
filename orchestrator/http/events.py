"""How a browser catches up on its progress stream: the workflow's recorded messages.

`GET /api/orchestrator/workflows/{workflow_id}/events?after=N` returns the recorded messages with
sequence > N, oldest first, so a client that reconnects misses nothing; only to the workflow's
owner (anyone else gets the 404 of an unknown workflow).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from orchestrator.http.dependencies import dependencies
from shared.data.events import MAX_FETCH, fetch_events
from shared.data.ownership import is_owner
from shared.data.schema import ensure_schema
from shared.errors import DataNotFoundError, InvalidParametersError, invalid_from_validation
from shared.http import http_endpoint, json_response
from shared.identity import PLANNER, authorize
from shared.schemas import WorkflowId

MAX_SEQUENCE = 2_147_483_647

bp = df.Blueprint()


class EventsQuery(BaseModel):
    model_config = ConfigDict(strict=True)

    workflow_id: WorkflowId
    after: int = Field(0, ge=0, le=MAX_SEQUENCE)


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
    workflow_id: str, after: str | None, engine: Engine, owner_id: str
) -> dict[str, Any]:
    """Events with sequence > `after` of one of `owner_id`'s workflows; 404 for any other id.
    A workflow that has just started may have no events yet (an empty page)."""
    try:
        query = EventsQuery.model_validate(
            {"workflow_id": workflow_id, "after": _parse_after(after)}
        )
    except ValidationError as exc:
        raise invalid_from_validation(exc, "query") from None
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


@bp.route(route="orchestrator/workflows/{workflow_id}/events", methods=["GET"])
@http_endpoint
def workflow_events(req: func.HttpRequest) -> func.HttpResponse:
    resolved = dependencies()
    principal = authorize(req, PLANNER, resolved.settings())
    body = events_response(
        req.route_params.get("workflow_id", ""),
        req.params.get("after"),
        resolved.engine(),
        principal.user_id,
    )
    return json_response(body)
