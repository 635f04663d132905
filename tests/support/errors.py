"""What every error answer promises, checked once for every test that expects one."""

from __future__ import annotations

import json
from collections.abc import Mapping

import azure.functions as func
import httpx

from shared.schemas import ErrorResponse

ERROR_KEYS = {"error_type", "message", "details", "suggestions", "request_id"}


def assert_error(
    response: httpx.Response | func.HttpResponse, status: int, error_type: str | None = None
) -> ErrorResponse:
    """The ErrorResponse `response` carries (over the wire or from a function called directly),
    after checking its status, its `error_type` when one is given, and `assert_error_body`."""
    if isinstance(response, func.HttpResponse):
        body, headers = response.get_body(), response.headers
    else:
        body, headers = response.content, response.headers
    assert response.status_code == status, body
    return assert_error_body(body, headers, error_type)


def assert_error_body(
    body: bytes, headers: Mapping[str, str], error_type: str | None = None
) -> ErrorResponse:
    """An ErrorResponse with exactly the documented keys, a message, no traceback, and the
    request id the x-request-id header carries."""
    assert set(json.loads(body)) == ERROR_KEYS
    error = ErrorResponse.model_validate_json(body)
    assert error.message
    assert "Traceback" not in body.decode()
    assert error.request_id == headers["x-request-id"]
    if error_type is not None:
        assert error.error_type == error_type
    return error
