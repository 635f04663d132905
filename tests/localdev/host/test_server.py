"""The local Functions host: routing, request/response conversion, bindings, timers, lifecycle.

A small test FunctionApp is registered with the real azure-functions decorators and served by
the real host on a free port; requests go over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func
import httpx
import pytest
from azure.functions.timer import TimerRequest

from localdev.host.functions import index_app
from localdev.host.routes import build_routes
from localdev.host.server import HostPlugins, LocalOptions, Service, free_port, start_host
from shared.errors import unexpected_error


def build_test_app() -> tuple[func.FunctionApp, dict[str, list]]:
    """A DFApp with the shapes the real app uses; `calls` records what the functions saw."""
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    calls: dict[str, list] = {"timer": [], "flaky_timer": []}
    barrier = threading.Barrier(2, timeout=5)

    @app.route(route="items/{item_id:int}/{label?}", methods=["GET"])
    def get_item(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        return func.HttpResponse(
            json.dumps(
                {
                    "method": req.method,
                    "route": dict(req.route_params),
                    "query": dict(req.params),
                    "header": req.headers.get("x-custom"),
                    "url": req.url,
                    "invocation_id": context.invocation_id,
                    "function_name": context.function_name,
                    "thread": threading.current_thread().name,
                }
            ),
            mimetype="application/json",
            headers={"x-extra": "yes"},
        )

    @app.route(route="items/new", methods=["GET"])
    def new_item(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("literal route", status_code=200)

    @app.route(route="echo", methods=["POST", "PUT"])
    async def echo(req: func.HttpRequest) -> func.HttpResponse:
        body = req.get_json()
        return func.HttpResponse(
            json.dumps({"echo": body, "method": req.method}),
            status_code=201,
            mimetype="application/json",
        )

    @app.route(route="files/{*path}", methods=["GET"])
    def files(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(req.route_params.get("path", ""))

    @app.route(route="rendezvous", methods=["GET"])
    def rendezvous(req: func.HttpRequest) -> func.HttpResponse:
        barrier.wait()
        return func.HttpResponse("met")

    @app.route(route="broken", methods=["GET"])
    def broken(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("secret-token-123 leaked?")

    @app.route(route="start", methods=["POST"])
    @app.durable_client_input(client_name="client")
    async def start(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        return func.HttpResponse(
            json.dumps(
                {
                    "status_uri": client.create_http_management_payload("abc")["statusQueryGetUri"],
                    "type": type(client).__name__,
                }
            ),
            mimetype="application/json",
        )

    @app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer", run_on_startup=False)
    def every_second(timer: func.TimerRequest) -> None:
        calls["timer"].append(timer)

    @app.timer_trigger(schedule="*/1 * * * * *", arg_name="tick", run_on_startup=True)
    async def flaky(tick: func.TimerRequest) -> None:
        calls["flaky_timer"].append(datetime.now(UTC))
        raise ValueError("a failing run must not stop the schedule")

    return app, calls


def durable_binding_json(binding: dict) -> str:
    """The client binding JSON shape the Functions host passes (what the Durable runtime gives)."""
    base = "http://127.0.0.1:1/runtime/webhooks/durabletask"
    return json.dumps(
        {
            "taskHubName": "TestHub",
            "creationUrls": {"createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}"},
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": f"{base}/instances/INSTANCEID",
            },
            "baseUrl": base,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": None,
        }
    )


@pytest.fixture
async def served():
    app, calls = build_test_app()
    options = LocalOptions(port=free_port())
    async with (
        start_host(
            options, functions_app=app, plugins=HostPlugins(durable_client=durable_binding_json)
        ) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        yield client, calls


def test_literal_routes_take_precedence_over_parameters():
    app, _ = build_test_app()
    routes = build_routes(list(index_app(app).values()), "api")
    first = next(r for r in routes if r.match("/api/items/new") is not None)
    assert first.entry.name == "new_item"
    timers = [r for r in routes if r.entry.trigger_type != "httpTrigger"]
    assert timers == []


async def test_sync_function_gets_route_query_headers_and_context(served):
    client, _ = served
    resp = await client.get("/api/items/42/blue?color=red&color=green", headers={"X-Custom": "abc"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["x-extra"] == "yes"
    assert resp.headers["x-request-id"]
    data = resp.json()
    assert data["method"] == "GET"
    assert data["route"] == {"item_id": "42", "label": "blue"}
    assert data["query"] == {"color": "red"}
    assert data["header"] == "abc"
    assert data["url"].endswith("/api/items/42/blue?color=red&color=green")
    assert data["function_name"] == "get_item"
    assert len(data["invocation_id"]) == 36
    assert data["thread"].startswith("fn")  # ran on the executor, not the event loop thread
    optional = (await client.get("/api/items/7")).json()
    assert optional["route"] == {"item_id": "7"}
    assert (await client.get("/api/items/new")).text == "literal route"
    assert (await client.get("/api/files/a/b/c.csv")).text == "a/b/c.csv"


async def test_async_function_gets_body_and_sets_status(served):
    client, _ = served
    resp = await client.put("/api/echo", json={"a": [1, 2]})
    assert resp.status_code == 201
    assert resp.json() == {"echo": {"a": [1, 2]}, "method": "PUT"}


async def test_sync_functions_run_concurrently_without_blocking_the_loop(served):
    client, _ = served
    first, second = await asyncio.gather(
        client.get("/api/rendezvous"), client.get("/api/rendezvous")
    )
    assert first.text == second.text == "met"


async def test_unknown_route_and_wrong_method_answer_error_responses(served):
    client, _ = served
    missing = await client.get("/api/items/not-a-number", headers={"x-request-id": "req-1"})
    assert missing.status_code == 404
    body = missing.json()
    assert set(body) == {"error_type", "message", "details", "suggestions", "request_id"}
    assert body["request_id"] == "req-1" and missing.headers["x-request-id"] == "req-1"
    wrong = await client.delete("/api/echo")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST, PUT"
    assert wrong.json()["details"]["allowed_methods"] == ["POST", "PUT"]


async def test_failing_function_is_a_500_error_response_without_internals(served):
    client, _ = served
    resp = await client.get("/api/broken")
    assert resp.status_code == 500
    body = resp.json()
    assert body == unexpected_error(resp.headers["x-request-id"]).model_dump()
    assert "secret-token" not in resp.text and "Traceback" not in resp.text


async def test_durable_client_binding_comes_from_the_provider(served):
    client, _ = served
    resp = await client.post("/api/start")
    assert resp.json() == {
        "status_uri": "http://127.0.0.1:1/runtime/webhooks/durabletask/instances/abc",
        "type": "DurableOrchestrationClient",
    }


async def test_durable_function_without_runtime_is_503():
    app, _ = build_test_app()
    async with (
        start_host(LocalOptions(port=free_port()), functions_app=app, run_timers=False) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        resp = await client.post("/api/start")
    assert resp.status_code == 503
    assert resp.json()["error_type"] == "DURABLE_RUNTIME_UNAVAILABLE"


async def test_console_page_is_served_at_root(served):
    client, _ = served
    index = await client.get("/")
    assert index.status_code == 200 and "<html" in index.text.lower()
    assert (await client.get("/console/app.js")).status_code == 200
    assert (await client.get("/console/../host.py")).status_code in (403, 404)


async def test_timers_fire_on_schedule_and_survive_failures(served):
    _, calls = served
    for _ in range(60):
        if len(calls["timer"]) >= 2 and len(calls["flaky_timer"]) >= 3:
            break
        await asyncio.sleep(0.1)
    assert len(calls["timer"]) >= 2
    assert len(calls["flaky_timer"]) >= 3  # runOnStartup + two scheduled runs despite raising
    timer = calls["timer"][0]
    assert isinstance(timer, TimerRequest)
    assert timer.past_due is False
    assert set(timer.schedule_status) == {"Last", "Next", "LastUpdated"}


async def test_services_start_before_and_stop_after_the_host_in_reverse_order():
    events: list[str] = []

    def service(name: str) -> Service:
        async def start() -> None:
            events.append(f"start {name}")

        async def stop() -> None:
            events.append(f"stop {name}")
            if name == "durable":
                raise RuntimeError("stop failure must not skip the others")

        return Service(name, start, stop)

    app, _ = build_test_app()
    plugins = HostPlugins(services=[service("seed"), service("durable"), service("pubsub")])
    async with start_host(
        LocalOptions(port=free_port()), functions_app=app, plugins=plugins, run_timers=False
    ):
        events.append("serving")
    assert events == [
        "start seed",
        "start durable",
        "start pubsub",
        "serving",
        "stop pubsub",
        "stop durable",
        "stop seed",
    ]
