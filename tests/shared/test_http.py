"""The HTTP wrapper: body parsing, request ids and failures answered through the one mapping."""

import json

import azure.functions as func
import pytest

from shared.errors import unexpected_error
from shared.http import http_endpoint, parse_body
from shared.schemas import ExtractionRequest


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
    assert payload == unexpected_error(resp.headers["x-request-id"]).model_dump()
