"""The planner console, served by the app itself so a signed-in browser reaches it in Azure.

`GET /api/console` is the page. Its script and stylesheet are linked relative to it
(`console/app.js`): that is `/api/console/app.js` here, and `/console/app.js` under the local
host, which serves the same files from `/`. In Azure, App Service Authentication signs the
browser in before anything is served and the page's API calls ride on that session; the Web
PubSub connection goes straight to the service with the token negotiate hands out.

Any signed-in caller gets it (the page asks /api/me who that is; the API checks roles). Only
the console's own files (the planning page, the live seasons page, their script and
stylesheet) are served, chosen by the last path segment (so a trailing slash,
`/api/console/`, still finds them); any other name is a 404 ErrorResponse.
"""

from __future__ import annotations

from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from orchestrator.http.dependencies import dependencies
from shared.errors import DataNotFoundError
from shared.http import http_endpoint
from shared.identity import authorize

CONSOLE_DIR = Path(__file__).with_name("console")
FILES = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
    "seasons.html": "text/html",
    "seasons.js": "text/javascript",
}

bp = df.Blueprint()


def console_file(path: str) -> tuple[bytes, str]:
    """The bytes and media type of the console file `path` names (index.html for none)."""
    name = path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else "index.html"
    if name not in FILES:
        raise DataNotFoundError(
            "No such console file",
            details={"files": sorted(FILES)},
            suggestions=["Open /api/console for the planner console."],
        )
    return (CONSOLE_DIR / name).read_bytes(), FILES[name]


@bp.route(route="console/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def console(req: func.HttpRequest) -> func.HttpResponse:
    authorize(req, None, dependencies().settings())
    body, media_type = console_file(req.route_params.get("path") or "")
    return func.HttpResponse(
        body,
        status_code=200,
        mimetype=media_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
