"""`GET /api/me`: who the app takes the caller to be (the console shows it)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from orchestrator.http.dependencies import dependencies
from shared.http import http_endpoint, json_response
from shared.identity import authorize

bp = df.Blueprint()


@bp.route(route="me", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def me(req: func.HttpRequest) -> func.HttpResponse:
    """`{user_id, name, identity_provider, roles}` of the signed-in caller; 401 otherwise."""
    principal = authorize(req, None, dependencies().settings())
    return json_response(principal.public(), headers={"Cache-Control": "no-store"})
