"""Helpers every HTTP function uses: request id, JSON bodies and the one error path.

`http_endpoint` wraps a function body so that whatever it raises is answered with the documented
ErrorResponse, and every response (success or not) carries the `x-request-id` header and is
gzipped when the client accepts gzip and the body is over GZIP_MIN_BYTES. Its database
statements wait at most `HTTP_DATABASE_WAIT_MS` for a lock: a locked database is a quick 503
with Retry-After (shared/errors.py), never a hang.
"""

from __future__ import annotations

import functools
import gzip
import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import azure.functions as func
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.data.lock_wait import bounded_lock_wait
from shared.errors import (
    InvalidParametersError,
    RequestTooLargeError,
    error_response,
    invalid_from_validation,
)
from shared.schemas import WorkflowId
from shared.settings import get_settings
from shared.telemetry import http_span

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
MAX_BODY_BYTES = 1_000_000
MAX_JSON_INTEGER_DIGITS = 100
"""No field takes an integer of more than 9 digits. Bounding digits while parsing keeps int()
cheap (its cost grows with the square of the length) and independent of Python's own
4,300-digit limit, whose ValueError would otherwise surface as a 500."""

GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6
"""zlib's default: within a few percent of the smallest output at a fraction of level 9's time."""

ModelT = TypeVar("ModelT", bound=BaseModel)


def sane_request_id(value: str | None) -> str | None:
    """The caller's request id when it is safe to echo in a header and a JSON body (1-128
    printable ASCII characters), else None."""
    incoming = (value or "").strip()
    if incoming and len(incoming) <= 128 and incoming.isascii() and incoming.isprintable():
        return incoming
    return None


def request_id_for(req: func.HttpRequest, context: Any = None) -> str:
    """The caller's `x-request-id` when it is sane, else the invocation id, else a new uuid."""
    incoming = sane_request_id(req.headers.get(REQUEST_ID_HEADER))
    if incoming:
        return incoming
    invocation_id = getattr(context, "invocation_id", None)
    return str(invocation_id) if invocation_id else str(uuid.uuid4())


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body, default=str)
    return func.HttpResponse(
        text, status_code=status_code, mimetype="application/json", headers=headers or {}
    )


class _IntegerTooLong(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(digits)
        self.digits = digits


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_JSON_INTEGER_DIGITS:
        raise _IntegerTooLong(digits)
    return int(text)


def read_json(req: func.HttpRequest) -> Any:
    """The request body as JSON, or an error saying what is wrong with it: 413 over
    MAX_BODY_BYTES, 422 empty, not JSON or holding an integer over MAX_JSON_INTEGER_DIGITS."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise RequestTooLargeError(
            "Request body too large",
            details={"max_bytes": MAX_BODY_BYTES, "received_bytes": len(raw)},
            suggestions=["Send a smaller JSON body."],
        )
    if not raw.strip():
        raise InvalidParametersError(
            "Request body is empty", suggestions=["Send a JSON object in the request body."]
        )
    try:
        return json.loads(raw.decode("utf-8"), parse_int=_bounded_int)
    except _IntegerTooLong as exc:
        raise InvalidParametersError(
            "Request body holds an integer too long to be a valid value",
            details={"max_integer_digits": MAX_JSON_INTEGER_DIGITS, "received_digits": exc.digits},
            suggestions=["Send numbers within the documented ranges."],
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidParametersError(
            "Request body is not valid JSON",
            details={"reason": str(exc)[:200]},
            suggestions=["Send a UTF-8 JSON object with Content-Type: application/json."],
        ) from None


def parse_body(req: func.HttpRequest, model: type[ModelT]) -> ModelT:
    data = read_json(req)
    if not isinstance(data, dict):
        raise InvalidParametersError(
            "Request body must be a JSON object",
            details={"received_type": type(data).__name__},
            suggestions=['Send a JSON object, e.g. {"strategy_description": "..."}.'],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from_validation(exc) from None


_WORKFLOW_ID = TypeAdapter(WorkflowId)


def route_workflow_id(req: func.HttpRequest) -> str:
    """The `{workflow_id}` route value (see `parse_workflow_id`)."""
    return parse_workflow_id(req.route_params.get("workflow_id") or "")


def parse_workflow_id(raw: str) -> str:
    """A workflow id, or 422: a malformed id can name no workflow, and it must never reach the
    Durable client or a query."""
    try:
        return _WORKFLOW_ID.validate_python(raw)
    except ValidationError:
        raise InvalidParametersError(
            "Invalid workflow id",
            details={"workflow_id": raw[:140]},
            suggestions=["Use the workflow_id returned by POST /api/orchestrator/run-workflow."],
        ) from None


def _finish(
    response: func.HttpResponse, request_id: str, req: func.HttpRequest | None = None
) -> func.HttpResponse:
    response.headers[REQUEST_ID_HEADER] = request_id
    return response if req is None else gzipped_if_accepted(req, response)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (RFC 9110: `gzip` or `*` with q > 0, and
    gzip not refused with q=0)."""
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        if coding:
            weights[coding.strip().lower()] = weight
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0


def gzipped_if_accepted(req: func.HttpRequest, response: func.HttpResponse) -> func.HttpResponse:
    """`response` gzipped when the client accepts it and the body is large enough to gain
    (GZIP_MIN_BYTES): results at retail scale shrink about tenfold. Answers vary with the
    request's Accept-Encoding, which `Vary` tells caches."""
    body = response.get_body()
    if len(body) < GZIP_MIN_BYTES or response.headers.get("content-encoding"):
        return response
    if not accepts_gzip(req.headers.get("accept-encoding")):
        return response
    headers = dict(response.headers.items())
    headers["Content-Encoding"] = "gzip"
    headers["Vary"] = "Accept-Encoding"
    return func.HttpResponse(
        gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
        status_code=response.status_code,
        headers=headers,
        mimetype=response.mimetype,
        charset=response.charset,
    )


def _failure(
    exc: BaseException, request_id: str, req: func.HttpRequest | None = None
) -> func.HttpResponse:
    status, body, headers = error_response(exc, request_id)
    if status >= 500 and body.error_type == "INTERNAL_ERROR":
        logger.exception("Unhandled error (request_id=%s)", request_id, exc_info=exc)
    else:
        logger.warning("%s %s (request_id=%s)", status, body.error_type, request_id)
    return _finish(json_response(body, status, headers), request_id, req)


def http_endpoint(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Answer every failure of `fn` through the one error mapping and tag every response.

    The wrapper keeps `fn`'s signature (functools.wraps) because the Functions worker binds
    arguments by parameter name. A `context` parameter, when `fn` declares one, supplies the
    invocation id used as the fallback request id.
    """

    signature = inspect.signature(fn)

    def _request(
        args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, str, func.HttpRequest | None]:
        """The request's span (telemetry on: under the caller's traceparent if it sent one),
        its request id and the request itself (its Accept-Encoding decides compression)."""
        bound = signature.bind_partial(*args, **kwargs).arguments
        req = next((v for v in bound.values() if isinstance(v, func.HttpRequest)), None)
        if req is None:
            request_id = str(uuid.uuid4())
            return http_span("", fn.__name__, "", {}, request_id), request_id, None
        request_id = request_id_for(req, bound.get("context"))
        path = urlsplit(req.url).path
        span = http_span(req.method, fn.__name__, path, req.headers, request_id)
        return span, request_id, req

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
            span, request_id, req = _request(args, kwargs)
            with span as answered:
                try:
                    with bounded_lock_wait(get_settings().http_database_wait_ms):
                        result: Awaitable[func.HttpResponse] = fn(*args, **kwargs)
                        response = _finish(await result, request_id, req)
                except Exception as exc:  # noqa: BLE001 - the one place errors become responses
                    response = _failure(exc, request_id, req)
                answered(response.status_code)
                return response

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        span, request_id, req = _request(args, kwargs)
        with span as answered:
            try:
                with bounded_lock_wait(get_settings().http_database_wait_ms):
                    response = _finish(fn(*args, **kwargs), request_id, req)
            except Exception as exc:  # noqa: BLE001 - the one place errors become responses
                response = _failure(exc, request_id, req)
            answered(response.status_code)
            return response

    return wrapper
