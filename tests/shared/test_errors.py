"""The one exception → (status, ErrorResponse) mapping and the HTTP wrapper around it."""

import json

import azure.functions as func
import pytest

from shared import errors
from shared.http import http_endpoint, parse_body
from shared.schemas import ExtractionRequest

SUBCLASSES = {
    errors.ParameterExtractionError: (400, "PARAMETER_EXTRACTION_ERROR"),
    errors.DataNotFoundError: (404, "DATA_NOT_FOUND"),
    errors.AgentTimeoutError: (504, "AGENT_TIMEOUT"),
    errors.AgentExecutionError: (500, "AGENT_EXECUTION_ERROR"),
    errors.ContextAssemblyError: (500, "CONTEXT_ASSEMBLY_ERROR"),
    errors.WebSocketConnectionError: (503, "WEBSOCKET_CONNECTION_ERROR"),
    errors.InvalidParametersError: (422, "INVALID_PARAMETERS"),
    errors.WorkflowTerminatedError: (409, "WORKFLOW_TERMINATED"),
}


@pytest.mark.parametrize("cls,expected", SUBCLASSES.items())
def test_each_error_maps_to_its_status_and_type(cls, expected):
    exc = cls("boom", details={"k": 1}, suggestions=["do x"])
    status, body, _ = errors.error_response(exc, "rid-1")
    assert (status, body.error_type) == expected
    assert body.details == {"k": 1} and body.suggestions == ["do x"] and body.request_id == "rid-1"


def test_only_data_and_validation_errors_are_not_worth_retrying():
    not_retryable = {cls for cls in SUBCLASSES if not cls.retryable}
    assert not_retryable == {
        errors.DataNotFoundError,
        errors.InvalidParametersError,
        errors.WorkflowTerminatedError,
    }


def test_unexpected_exception_reveals_nothing():
    status, body, _ = errors.error_response(RuntimeError("secret sk-123 in /etc/passwd"), "rid")
    assert status == 500 and body.error_type == "INTERNAL_ERROR"
    assert "secret" not in body.model_dump_json() and "passwd" not in body.model_dump_json()


def _req(body: bytes, headers=None) -> func.HttpRequest:
    return func.HttpRequest("POST", "http://localhost/api/x", body=body, headers=headers or {})


@http_endpoint
def _echo(req: func.HttpRequest) -> func.HttpResponse:
    parsed = parse_body(req, ExtractionRequest)
    return func.HttpResponse(parsed.strategy_description)


@http_endpoint
def _crash(req: func.HttpRequest) -> func.HttpResponse:
    raise KeyError("internal detail")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1,2]",
        b'{"strategy_description": 5}',
        b'{"strategy_description": "short"}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_bad_bodies_answer_422_with_request_id(body):
    resp = _echo(_req(body, {"x-request-id": "abc"}))
    assert resp.status_code == 422
    payload = json.loads(resp.get_body())
    assert payload["error_type"] == "INVALID_PARAMETERS" and payload["request_id"] == "abc"
    assert resp.headers["x-request-id"] == "abc"


def test_success_also_carries_a_request_id():
    resp = _echo(_req(b'{"strategy_description": "long enough text"}'))
    assert resp.status_code == 200 and resp.headers["x-request-id"]


def test_crash_becomes_500_without_internals():
    resp = _crash(_req(b"{}"))
    payload = json.loads(resp.get_body())
    assert resp.status_code == 500 and "internal detail" not in resp.get_body().decode()
    assert payload["request_id"] == resp.headers["x-request-id"]
