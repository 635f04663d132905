"""Calling the app's HTTP functions the way the Functions host does.

The function is found by name in the app's index (the one the local host serves) and called
with an azure.functions.HttpRequest for its own route under http://localhost:7071/api/: query
already decoded into `params`, route parameters filled in. Other bindings (a Durable client)
are passed by name, as the host passes them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import azure.functions as func

from localdev.host.functions import index_app

ORIGIN = "http://localhost:7071"


def call_http(
    app: func.FunctionApp,
    name: str,
    method: str | None = None,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    route_params: dict[str, str] | None = None,
    **bindings: Any,
) -> Any:
    """What the function returns: an HttpResponse, or for an async function its coroutine.
    `method` defaults to the first the route accepts."""
    entry = index_app(app)[name]
    route_values = route_params or {}
    path = re.sub(
        r"\{\*?(\w+)[^}]*\}", lambda m: route_values.get(m.group(1), ""), entry.trigger["route"]
    )
    query = f"?{urlencode(params)}" if params else ""
    request = func.HttpRequest(
        method or entry.trigger["methods"][0],
        f"{ORIGIN}/api/{path}{query}",
        body=body,
        headers=headers or {},
        params=params or {},
        route_params=route_values,
    )
    return entry.user_function(req=request, **bindings)
