"""The API's description: `GET /api/openapi.json` (OpenAPI 3.1), `GET /api/asyncapi.json` (the
WebSocket messages, AsyncAPI 3.0) and `GET /api/docs`, which renders the OpenAPI document with
Swagger UI.

Both documents are built from the models and the route table (orchestrator/http/contract/) on
the first request for them, so the function app imports none of it at start. The page's own
files live in docs/; Swagger UI's come from the pinned swagger-ui-bundle-v2 package (the same
files in Azure and offline, no CDN). Like the console, any signed-in caller may read them, and
a file is chosen by the last path segment, so /api/docs/ finds the same files.
"""

from __future__ import annotations

from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from orchestrator.http.dependencies import dependencies
from shared.errors import DataNotFoundError
from shared.http import http_endpoint, json_response
from shared.identity import authorize

PAGE_DIR = Path(__file__).with_name("docs")
PAGE_FILES = {"index.html": "text/html", "docs.js": "text/javascript", "docs.css": "text/css"}
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
# Swagger UI's files change only with the pinned package version.
A_DAY = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}

bp = df.Blueprint()


def docs_file(path: str) -> tuple[bytes, str, dict[str, str]]:
    """The bytes, media type and cache headers of the docs file `path` names (the page for
    none)."""
    name = path.rstrip("/").rsplit("/", 1)[-1] if path.strip("/") else "index.html"
    if name in PAGE_FILES:
        return (PAGE_DIR / name).read_bytes(), PAGE_FILES[name], NO_CACHE
    if name in SWAGGER_UI_FILES:
        from swagger_ui_bundle import swagger_ui_path

        return (swagger_ui_path / name).read_bytes(), SWAGGER_UI_FILES[name], A_DAY
    raise DataNotFoundError(
        "No such docs file",
        details={"files": sorted(PAGE_FILES | SWAGGER_UI_FILES)},
        suggestions=["Open /api/docs for the API documentation."],
    )


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def openapi_json(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of every HTTP operation."""
    authorize(req, None, dependencies().settings())
    from orchestrator.http.contract.openapi import openapi_document

    return json_response(openapi_document(), headers=dict(NO_CACHE))


@bp.route(route="asyncapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def asyncapi_json(req: func.HttpRequest) -> func.HttpResponse:
    """The AsyncAPI 3.0 document of the WebSocket messages."""
    authorize(req, None, dependencies().settings())
    from orchestrator.http.contract.asyncapi import asyncapi_document

    return json_response(asyncapi_document(), headers=dict(NO_CACHE))


@bp.route(route="docs/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def api_docs(req: func.HttpRequest) -> func.HttpResponse:
    """The documentation page and its files."""
    authorize(req, None, dependencies().settings())
    body, media_type, headers = docs_file(req.route_params.get("path") or "")
    charset = None if media_type.startswith("image/") else "utf-8"
    return func.HttpResponse(
        body, status_code=200, mimetype=media_type, charset=charset, headers=dict(headers)
    )
