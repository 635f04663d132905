"""`python -m localdev serve`: run as a user runs it, it stops cleanly on Ctrl-C; with
`WebPubSubConnectionString` set it publishes to that service and starts no emulator (checked
against a Web PubSub emulator started separately, the stand-in for the real service, with a
browser-like WebSocket client receiving a workflow's messages from that service), without the
setting it starts its own; its log has one line per event, the SDKs' wire logs only when
verbose."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest
import websockets

from localdev.__main__ import build_parser
from localdev.__main__ import main as localdev_main
from localdev.cli import serve as serve_cli
from localdev.cli.planner import run_plan
from localdev.cli.serve import describe_pubsub, options_from
from localdev.host.server import free_port
from localdev.stack import STACK_ENVIRONMENT, hop_delay_seconds, local_stack
from localdev.webpubsub import EmulatorThread
from shared.messaging.publisher import get_publisher
from shared.settings import Settings, get_settings
from tests.support.live_stack import LiveStack, live_stack
from tests.support.serve_process import start_serve

ACCESS_KEY = "external-service-key-0123456789abcdefghijk"
PARAMETERS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
}
AGENTS = ("Demand Agent", "Inventory Agent", "Pricing Agent")
STRATEGY = "Spring denim, 12 weeks from March 3 2025, weekly replenishment, hold back 45%"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def run_and_listen(base_url: str, session_id: str) -> tuple[str, list[dict]]:
    """Negotiate, connect the WebSocket, start a workflow and collect its messages until every
    agent completed; returns the negotiated URL and the messages."""
    async with httpx.AsyncClient(base_url=f"{base_url}/api", timeout=30) as http:
        negotiated = await http.get("/orchestrator/negotiate", params={"session_id": session_id})
        assert negotiated.status_code == 200, negotiated.text
        url = negotiated.json()["url"]
        messages: list[dict] = []
        async with websockets.connect(url, open_timeout=10) as ws:
            started = await http.post(
                "/orchestrator/run-workflow",
                json={"session_id": session_id, "parameters": PARAMETERS},
            )
            assert started.status_code == 202, started.text
            finished: set[str] = set()
            while finished != set(AGENTS):
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                messages.append(message)
                if message["type"] == "agent_status" and message["status"] != "running":
                    finished.add(message["agent_name"])
        return url, messages


@pytest.fixture
def external() -> Iterator[str]:
    """A Web PubSub emulator started on its own, as a real service would be: its connection
    string."""
    with EmulatorThread(access_key=ACCESS_KEY) as emulator:
        yield emulator.connection_string


def test_serve_publishes_to_the_configured_service_and_starts_no_emulator(tmp_path, external):
    endpoint = external.split(";")[0].removeprefix("Endpoint=")
    unused_port = free_port()
    served = start_serve(
        tmp_path,
        f"sqlite:///{tmp_path / 'app.db'}",
        environment={"WebPubSubConnectionString": external},
        pubsub_port=unused_port,
    )
    try:
        lines = served.printed()
        assert lines[0].startswith("Functions host")
        assert lines[1].strip() == (
            f"Web PubSub: {endpoint} (WebPubSubConnectionString from the environment; "
            "the emulator is not started)"
        )
        assert not listening(unused_port)
        url, messages = asyncio.run(run_and_listen(served.base_url, "external-session"))
    finally:
        served.stop()
    printed = served.log_text()

    assert url.startswith(endpoint.replace("http://", "ws://") + "/client/hubs/")
    statuses = [(m["agent_name"], m["status"]) for m in messages if m["type"] == "agent_status"]
    assert statuses == [(agent, s) for agent in AGENTS for s in ("running", "completed")]
    assert [m["agent_name"] for m in messages if m["type"] == "complete"] == list(AGENTS)
    assert ACCESS_KEY not in printed


def test_serve_stops_cleanly_on_sigint(tmp_path):
    served = start_serve(tmp_path, f"sqlite:///{tmp_path / 'app.db'}")
    try:
        assert served.base_url in served.printed()[0]
        assert httpx.get(f"{served.base_url}/api/none", timeout=5).status_code == 404
    finally:
        exit_code = served.stop()
    assert exit_code == 0


@pytest.fixture
def stack_environment(monkeypatch) -> Iterator[None]:
    """`local_stack` writes the app's settings into the environment: restore them afterwards."""
    for name in STACK_ENVIRONMENT:
        monkeypatch.setenv(name, "")  # recorded, so whatever the stack writes is undone
        monkeypatch.delenv(name)
    yield
    get_settings.cache_clear()
    get_publisher.cache_clear()


def test_without_the_setting_serve_starts_its_own_emulator_and_says_where(stack_environment):
    args = build_parser().parse_args(["serve", "--pubsub-port", "8123"])
    options = options_from(args, {"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "2048"})
    assert options.pubsub_connection_string is None
    assert options.max_request_body_bytes == 2048
    assert describe_pubsub(options) == "Web PubSub: emulator on http://127.0.0.1:8123"
    services = [service.name for service in local_stack(options).services]
    assert "web-pubsub-emulator" in services


def test_hop_delay_comes_from_the_flag_else_the_setting(stack_environment):
    flagged = options_from(build_parser().parse_args(["serve", "--hop-delay-ms", "200"]), {})
    unflagged = options_from(build_parser().parse_args(["serve"]), {})
    from_setting = Settings(LOCAL_HOP_DELAY_MS=150)

    assert hop_delay_seconds(flagged, from_setting) == pytest.approx(0.2)
    assert hop_delay_seconds(unflagged, from_setting) == pytest.approx(0.15)
    assert hop_delay_seconds(unflagged, Settings()) == 0


@pytest.mark.parametrize("value", ["-1", "10001", "fast"])
def test_a_hop_delay_out_of_range_is_refused_before_anything_starts(value, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--hop-delay-ms", value])
    assert "--hop-delay-ms" in capsys.readouterr().err


def test_with_the_setting_no_emulator_service_is_planned(stack_environment, external):
    args = build_parser().parse_args(["serve"])
    options = options_from(args, {"WebPubSubConnectionString": external})
    assert ACCESS_KEY not in repr(options)
    services = [service.name for service in local_stack(options).services]
    assert services == ["database", "durable-runtime"]


@pytest.mark.parametrize(
    "environment",
    [
        {"WebPubSubConnectionString": "not-a-connection-string-secret"},
        {"WebPubSubConnectionString": "Endpoint=ftp://x;AccessKey=secret-key-value"},
        {"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "-1secret"},
    ],
)
def test_an_unusable_setting_stops_serve_without_showing_its_value(
    monkeypatch, capsys, environment
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert localdev_main(["serve", "--port", str(free_port())]) == 2
    shown = capsys.readouterr()
    assert next(iter(environment)) in shown.err
    assert "secret" not in shown.out + shown.err


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("serve-logging")) as running:
        yield running


def test_serve_logs_one_line_per_event_and_wire_logs_only_when_verbose(stack, caplog):
    wire = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    saved = {name: logging.getLogger(name).level for name in serve_cli.WIRE_LOGGERS}
    root = logging.getLogger()
    saved_root = root.level
    parser = argparse.ArgumentParser()
    serve_cli.add_arguments(parser)
    assert parser.parse_args(["--verbose"]).verbose
    handlers = []
    try:
        handlers.append(serve_cli.configure_logging(verbose=True))
        assert wire.isEnabledFor(logging.DEBUG)
        root.removeHandler(handlers[-1])
        handlers.append(serve_cli.configure_logging(verbose=False))
        assert not wire.isEnabledFor(logging.INFO)
        with caplog.at_level(logging.INFO):
            outcome = asyncio.run(run_plan(stack.base_url, STRATEGY, timeout=60, poll_interval=0.5))
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(saved_root)
    assert outcome.status == "completed"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    workflow = outcome.workflow_id
    assert f"Workflow season_workflow started (instance {workflow})" in lines
    assert any(
        line.startswith("Workflow season_workflow completed in") and workflow in line
        for line in lines
    )
    for agent in ("demand_agent", "inventory_agent", "pricing_agent"):
        assert sum(line.startswith(f"Activity {agent} completed") for line in lines) == 1
    assert any(line.startswith("POST /api/orchestrator/run-workflow -> 202") for line in lines)
    assert not any("publish_message" in line for line in lines)  # routine: DEBUG only
    assert not any(line.startswith("GET ") for line in lines)  # successful polls: DEBUG only
    assert not [
        r for r in caplog.records if r.name.startswith("azure.core") and r.levelno >= logging.INFO
    ]


def test_require_sign_in_makes_a_fresh_token_per_start_for_the_developer():
    args = build_parser().parse_args(["serve", "--require-sign-in"])
    first, second = options_from(args, {}), options_from(args, {})
    assert first.sign_in_token and second.sign_in_token
    assert first.sign_in_token != second.sign_in_token
    assert first.developer is not None
    assert first.sign_in_token not in repr(first)
    refused = build_parser().parse_args(["serve", "--require-sign-in", "--no-default-user"])
    with pytest.raises(serve_cli.ConfigurationError, match="drop --no-default-user"):
        options_from(refused, {})
