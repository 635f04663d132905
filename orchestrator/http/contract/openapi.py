"""The OpenAPI 3.1 document, built from the route table (routes.py) and the pydantic models it
names: every schema comes from `TypeAdapter.json_schemas`, so the document says exactly what
the functions validate and answer.

Built once per process on the first request for it (`openapi_document`), never at import: the
function app's cold start stays as it was (tests/test_function_app_import_cost.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter

from orchestrator.http.contract import SCHEMA_REF, TITLE, VERSION, examples
from orchestrator.http.contract.routes import (
    OPERATIONS,
    PATH_PARAMETERS,
    ROUTE_PREFIX,
    Answer,
    Operation,
    Param,
)
from shared.http import REQUEST_ID_HEADER
from shared.identity import APP_ROLES
from shared.schemas import ErrorResponse, WebSocketMessage

_ROUTE_PARAM = re.compile(r"\{(\*?)(\w+)[^}]*\}")

GENERIC_ERRORS: dict[int, str] = {
    401: "UNAUTHENTICATED: no signed-in caller, or principal headers that are not Easy Auth's",
    403: "FORBIDDEN: the caller lacks the app role this operation needs",
    413: "REQUEST_TOO_LARGE: a JSON body over 1 MB (an upload over 50 MB)",
    414: "URI_TOO_LONG: a URL over 8 KB or a query string over 4 KB",
    422: "INVALID_PARAMETERS: invalid body, query, header or path value "
    "(`details.validation_errors`)",
    500: "INTERNAL_ERROR: an unexpected error (nothing internal is shown; the request id finds "
    "the logged trace), or CONTEXT_ASSEMBLY_ERROR: the database cannot be read",
    503: "A service the operation needs is unavailable for now; retry (after Retry-After "
    "seconds when it is sent)",
}

SECURITY_SCHEMES: dict[str, Any] = {
    "appServiceSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "AppServiceAuthSession",
        "description": "App Service Authentication (Easy Auth) with Microsoft Entra ID: sign "
        "in at /.auth/login/aad and the browser carries this session cookie. Easy Auth passes "
        "the caller to the app as X-MS-CLIENT-PRINCIPAL-* headers (stripped from what a client "
        "sends). Locally, `python -m localdev serve` signs a request without them in as the "
        "local developer.",
    },
    "entraBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Microsoft Entra ID access token for the app's registration (audience "
        "api://<app id>), which Easy Auth validates. App roles (`planner`, `data-admin`) come "
        "from its `roles` claim.",
    },
}


def openapi_path(route: str) -> str:
    """The OpenAPI path of a Functions route template: `{*path}` is `{path}`, constraints go."""
    return f"/{ROUTE_PREFIX}/" + _ROUTE_PARAM.sub(lambda m: "{" + m.group(2) + "}", route)


def route_parameters(route: str) -> list[tuple[str, bool]]:
    """(name, is catch-all) of each parameter of a route template."""
    return [(m.group(2), bool(m.group(1))) for m in _ROUTE_PARAM.finditer(route)]


def documented_paths(route: str) -> list[str]:
    """The OpenAPI paths of a route: a catch-all also matches the route without its segment."""
    full = openapi_path(route)
    if any(catch_all for _, catch_all in route_parameters(route)):
        return [full.rsplit("/", 1)[0], full]
    return [full]


class _Schemas:
    """Collects every type the document uses and turns them into components at the end."""

    def __init__(self) -> None:
        self._wanted: dict[tuple[str, str], TypeAdapter[Any]] = {}
        self._refs: list[tuple[dict[str, Any], tuple[str, str]]] = []

    def ref(self, annotation: Any, mode: str = "serialization") -> dict[str, Any]:
        """A placeholder filled in with `annotation`'s schema (usually a $ref) by `finish`."""
        key = (repr(annotation), mode)
        self._wanted.setdefault(key, TypeAdapter(annotation))
        holder: dict[str, Any] = {}
        self._refs.append((holder, key))
        return holder

    def finish(self) -> dict[str, Any]:
        """Fill every placeholder; the models' definitions, for components/schemas."""
        inputs = [(key, key[1], adapter) for key, adapter in self._wanted.items()]
        schemas, defs = TypeAdapter.json_schemas(inputs, ref_template=SCHEMA_REF)  # type: ignore[arg-type]
        for holder, key in self._refs:
            holder.update(schemas[(key, key[1])])  # type: ignore[index]
        return dict(defs.get("$defs", {}))


def _parameter(
    schemas: _Schemas, location: str, param: Param, required: bool | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": location,
        "required": param.required if required is None else required,
        "schema": schemas.ref(param.annotation, "validation"),
    }
    if param.description:
        out["description"] = param.description
    if param.example is not None:
        out["example"] = param.example
    return out


def _query_parameters(op: Operation) -> list[Param]:
    """The operation's query: its explicit parameters, and the fields of its query model that are
    not route parameters (each with the model's type and requiredness)."""
    params = list(op.query)
    if op.query_model is not None:
        on_path = {name for name, _ in route_parameters(op.route)}
        for name, info in op.query_model.model_fields.items():
            if name not in on_path:
                annotation = op.query_model.model_fields[name].rebuild_annotation()
                params.append(Param(name, annotation, required=info.is_required()))
    return params


def _content(schema: dict[str, Any] | None, media_types: Iterable[str], example: Any) -> Any:
    content: dict[str, Any] = {}
    for media_type in media_types:
        entry: dict[str, Any] = {"schema": schema if schema is not None else {"type": "string"}}
        if example is not None and media_type == "application/json":
            entry["example"] = example
        content[media_type] = entry
    return content


def _response_headers(names: Iterable[str], status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {
        REQUEST_ID_HEADER: {
            "description": "The caller's x-request-id when sane, else the invocation id",
            "required": True,
            "schema": {"type": "string"},
        }
    }
    for name in names:
        headers[name] = {"description": "The workflow's status URL", "schema": {"type": "string"}}
    if status in (429, 503):
        headers["Retry-After"] = {
            "description": "Seconds to wait before retrying, when the app can tell",
            "schema": {"type": "string"},
        }
    return headers


def _answer(schemas: _Schemas, answer: Answer, status: int) -> dict[str, Any]:
    schema = None if answer.model is None else schemas.ref(answer.model)
    return {
        "description": answer.description,
        "headers": _response_headers(answer.headers, status),
        "content": _content(schema, answer.media_types, answer.example),
    }


def _error_statuses(op: Operation, has_input: bool) -> dict[int, str]:
    statuses = {401: GENERIC_ERRORS[401], 414: GENERIC_ERRORS[414]}
    if op.role is not None:
        statuses[403] = GENERIC_ERRORS[403]
    if op.body is not None or op.upload:
        statuses[413] = GENERIC_ERRORS[413]
    if has_input:
        statuses[422] = GENERIC_ERRORS[422]
    statuses |= {500: GENERIC_ERRORS[500], 503: GENERIC_ERRORS[503]}
    return statuses | dict(op.errors)


def _request_body(schemas: _Schemas, op: Operation) -> dict[str, Any] | None:
    if op.upload:
        properties = {
            name: {"type": "string", "contentMediaType": "text/csv", "description": f"{name}.csv"}
            for name in op.upload
        }
        return {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "minProperties": 1}
                }
            },
        }
    if op.body is None:
        return None
    content: dict[str, Any] = {"schema": schemas.ref(op.body, "validation")}
    if op.body_example is not None:
        content["example"] = op.body_example
    return {"required": op.body_required, "content": {"application/json": content}}


def _operation(schemas: _Schemas, op: Operation, path: str) -> dict[str, Any]:
    parameters = [
        _parameter(schemas, "path", Param(name, PATH_PARAMETERS[name]), required=True)
        for name in re.findall(r"\{(\w+)\}", path)
    ]
    parameters += [_parameter(schemas, "query", p) for p in _query_parameters(op)]
    parameters += [_parameter(schemas, "header", p) for p in op.headers]
    body = _request_body(schemas, op)
    responses: dict[str, Any] = {
        str(status): _answer(schemas, answer, status) for status, answer in op.answers.items()
    }
    for status, when in _error_statuses(op, bool(parameters or body)).items():
        example = op.error_examples.get(status, examples.FORBIDDEN if status == 403 else None)
        responses[str(status)] = {
            "description": when,
            "headers": _response_headers((), status),
            "content": _content(schemas.ref(ErrorResponse), ["application/json"], None),
        }
        if example is not None:
            responses[str(status)]["content"]["application/json"]["example"] = example
    role = f"the `{op.role}` app role" if op.role else "any signed-in caller"
    operation: dict[str, Any] = {
        "operationId": op.function if path == openapi_path(op.route) else f"{op.function}_index",
        "summary": op.summary,
        "description": (op.description + "\n\n" if op.description else "") + f"Needs {role}.",
        "tags": [op.tag],
        "x-required-role": op.role,
        "parameters": parameters,
        "responses": dict(sorted(responses.items())),
    }
    if body is not None:
        operation["requestBody"] = body
    return operation


DESCRIPTION = (
    "Season planning for retail on Azure Functions: a planner describes a season in words, the "
    "service extracts its parameters and a Durable orchestrator runs the Demand, Inventory and "
    "Pricing agents while the browser follows over Azure Web PubSub.\n\n"
    "Every answer carries `x-request-id`; every error is an `ErrorResponse` with its status. "
    "Every operation needs a signed-in caller (App Service Authentication with Microsoft Entra "
    f"ID) and most need an app role ({', '.join(f'`{r}`' for r in APP_ROLES)}). A workflow that "
    "is not the caller's answers exactly as one that does not exist (404).\n\n"
    "The WebSocket messages (`negotiate` gives the URL) are described in "
    "[asyncapi.json](asyncapi.json) and here as `WebSocketMessage`, which the events route "
    "also returns."
)


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The whole document (cached: the models do not change while the process runs)."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        for path in documented_paths(op.route):
            paths.setdefault(path, {})[op.method.lower()] = _operation(schemas, op, path)
    messages = schemas.ref(WebSocketMessage)
    components = schemas.finish()
    components["WebSocketMessage"] = messages
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "this Function App"}],
        "security": [{name: []} for name in SECURITY_SCHEMES],
        "tags": [{"name": tag} for tag in dict.fromkeys(op.tag for op in OPERATIONS)],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }
