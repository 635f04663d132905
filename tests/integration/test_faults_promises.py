"""Faults injected into the real local stack, driven from outside over HTTP and WebSocket: the
promises docs/api.md makes about messages, errors, deadlines and termination.

- a black-holed Web PubSub (accepts TCP, never answers) with 16 concurrent workflows: every
  workflow completes without an agent waiting on the service, every message is in the log;
- an agent past its deadline: Failed/AGENT_TIMEOUT, its late result is never served, and
  nothing the late attempt does is logged or sent after the terminal message;
- a season with too little history: DATA_NOT_FOUND after exactly one attempt, in words;
- terminate of a running plan: a final message on the WebSocket, no current agent.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from localdev.webpubsub.auth import ConnectionString
from shared.agents import AGENT_NAMES
from shared.data.db import get_engine
from shared.data.results_store import list_results
from shared.messaging.publisher import DeliveryPolicy, get_publisher
from shared.settings import get_settings
from tests.support.black_hole import BlackHole
from tests.support.live_stack import FAST_SETTINGS, LiveStack, import_short_category, live_stack
from tests.support.messages import assert_documented_order
from tests.support.workflow_http import events_of, wait_finished

PARAMETERS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
}
FINISH_SECONDS = 120.0
ERROR_KEYS = {"error_type", "message", "details", "suggestions", "request_id"}
# What the worker and host wrap around an exception; none of it may reach a client.
WORKER_TEXT = re.compile(
    r"Activity function|Orchestrator function|Traceback|\b[A-Z]\w*(Error|Exception)\b"
)
SHORT_CATEGORY = "trial_capsule"
CONCURRENT = 16


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    # Generous deadlines, so that a machine under load never makes an agent time out.
    settings = {
        **FAST_SETTINGS,
        **{f"{agent}_AGENT_TIMEOUT_SECONDS": "60" for agent in ("DEMAND", "INVENTORY", "PRICING")},
        # One planner starts CONCURRENT plans at once here: the runtime under load is tested,
        # not admission (tests/integration/test_admission.py).
        "MAX_RUNNING_PLANS_PER_USER": str(CONCURRENT),
    }
    with live_stack(tmp_path_factory.mktemp("faults"), settings) as running:
        import_short_category(running.database_url, SHORT_CATEGORY, weeks=30)
        yield running


def start(stack: LiveStack, session_id: str, category_id: str | None = None) -> str:
    body: dict[str, Any] = {"session_id": session_id, "parameters": PARAMETERS}
    if category_id is not None:
        body["category_id"] = category_id
    response = httpx.post(f"{stack.base_url}/api/orchestrator/run-workflow", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["workflow_id"]


@contextmanager
def browser(stack: LiveStack, session_id: str) -> Iterator[ClientConnection]:
    """A browser's WebSocket for the session, connected before the plan starts."""
    negotiated = httpx.get(
        f"{stack.base_url}/api/orchestrator/negotiate",
        params={"session_id": session_id},
        timeout=30,
    ).json()
    with connect(negotiated["url"], open_timeout=10) as ws:
        time.sleep(0.2)  # the emulator joins the token's group right after the handshake
        yield ws


def next_message(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    """The next workflow message (the heartbeat timer may speak in between)."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["type"] != "heartbeat":
            return message


def receive_until_terminal(ws: ClientConnection, timeout: float = 60) -> list[dict[str, Any]]:
    """Workflow messages until an `agent_status failed` (or the last agent's completed)."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if message["type"] == "heartbeat":
            continue
        received.append(message)
        if message["type"] == "agent_status" and (
            message["status"] == "failed"
            or (message["status"] == "completed" and message["agent_name"] == AGENT_NAMES[-1])
        ):
            return received
    raise AssertionError(f"no terminal message within {timeout} s: {received}")


def assert_nothing_more(ws: ClientConnection, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        while True:
            message = json.loads(ws.recv(timeout=seconds))
            assert message["type"] == "heartbeat", f"a message after the terminal one: {message}"


@contextmanager
def app_setting(name: str, value: str) -> Iterator[None]:
    """Change one app setting of the running app (the publisher is rebuilt on it)."""
    previous = os.environ[name]

    def switch(new: str) -> None:
        get_publisher().close()
        get_publisher.cache_clear()
        os.environ[name] = new
        get_settings.cache_clear()

    switch(value)
    try:
        yield
    finally:
        switch(previous)


def test_a_black_holed_web_pubsub_never_holds_an_agent(stack: LiveStack):
    key = ConnectionString.parse(stack.pubsub_connection_string).access_key
    with BlackHole() as hole, app_setting("WebPubSubConnectionString", hole.connection_string(key)):
        alone = wait_finished(stack.base_url, start(stack, "hole-alone"), FINISH_SECONDS)
        ids = [start(stack, f"hole-{n}") for n in range(CONCURRENT)]
        statuses = [
            wait_finished(stack.base_url, workflow_id, FINISH_SECONDS) for workflow_id in ids
        ]
        assert hole.accepted >= 1  # the publisher really did try the black hole

    # Had the agents waited on the service, every message would have cost at least one read
    # timeout; the whole chain took less than that for all its messages together.
    assert alone["runtime_status"] == "Completed", alone["error"]
    events_alone = events_of(stack.base_url, alone["workflow_id"])
    waiting = len(events_alone) * DeliveryPolicy().read_timeout * 1000
    assert sum(entry["duration_ms"] for entry in alone["execution_log"]) < waiting, alone
    for workflow_id, status in zip(ids, statuses, strict=True):
        assert status["runtime_status"] == "Completed", status["error"]
        assert all(entry["attempts"] == 1 for entry in status["execution_log"]), status
        events = events_of(stack.base_url, workflow_id)
        assert_documented_order(events, list(AGENT_NAMES))
        assert [e["result"] for e in events if e["type"] == "complete"] == [
            status["results"][name] for name in AGENT_NAMES
        ]


def test_a_short_history_fails_once_with_data_not_found_in_words(stack: LiveStack):
    with browser(stack, "short-history") as ws:
        workflow_id = start(stack, "short-history", SHORT_CATEGORY)
        received = receive_until_terminal(ws)
        status = wait_finished(stack.base_url, workflow_id, FINISH_SECONDS)

    assert status["runtime_status"] == "Failed" and status["current_agent"] is None
    error = status["error"]
    assert error["error_type"] == "DATA_NOT_FOUND" and error["agent_name"] == "Demand Agent"
    assert "30 weeks of history" in error["message"] and "at least 52" in error["message"]
    assert not WORKER_TEXT.search(json.dumps(status)), status
    assert status["execution_log"] == [
        {
            **status["execution_log"][0],
            "status": "failed",
            "attempts": 1,
            "error_type": "DATA_NOT_FOUND",
        }
    ]
    assert_documented_order(received, ["Demand Agent"], failed="Demand Agent")
    sent = next(m for m in received if m["type"] == "error")
    assert sent["error_type"] == "DATA_NOT_FOUND" and sent["error_message"] == error["message"]
    assert events_of(stack.base_url, workflow_id) == received


def test_terminate_sends_a_final_message_and_clears_the_current_agent(stack: LiveStack):
    database = stack.database_url.removeprefix("sqlite:///")
    with browser(stack, "terminate") as ws:
        workflow_id = start(stack, "terminate")
        first = next_message(ws)
        assert (first["type"], first["status"]) == ("agent_status", "running")
        # Hold the database's write lock: the running agent stalls at its next progress
        # message, so the plan is certainly still running when the terminate arrives.
        lock = sqlite3.connect(database, timeout=30, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        answer: list[httpx.Response] = []
        terminate = threading.Thread(
            target=lambda: answer.append(
                httpx.post(
                    f"{stack.base_url}/api/orchestrator/workflows/{workflow_id}/terminate",
                    json={"reason": "Planner cancelled the run"},
                    timeout=60,
                )
            )
        )
        terminate.start()
        time.sleep(0.5)
        lock.execute("ROLLBACK")
        lock.close()
        terminate.join(60)
        received = [first, *receive_until_terminal(ws)]
        assert_nothing_more(ws, 1.0)

    assert answer and answer[0].status_code == 202, answer
    status = wait_finished(stack.base_url, workflow_id, FINISH_SECONDS)
    assert status["runtime_status"] == "Terminated" and status["status"] == "terminated"
    assert status["current_agent"] is None
    assert not WORKER_TEXT.search(json.dumps(status)), status
    error, failed = received[-2:]
    assert (error["type"], error["error_type"]) == ("error", "WORKFLOW_TERMINATED")
    assert "Planner cancelled the run" in error["error_message"]
    assert (failed["type"], failed["status"]) == ("agent_status", "failed")
    assert failed["agent_name"] == error["agent_name"]
    assert error["agent_name"] not in status["completed_agents"]
    time.sleep(1.0)  # whatever the stopped agent still does is neither logged nor sent
    assert events_of(stack.base_url, workflow_id) == received


def test_a_late_attempt_is_never_visible(stack: LiveStack):
    # 10 ms for the Inventory agent: it always runs past its deadline, and stops at its next
    # deadline check (shared/deadline.py) instead of finishing: it never saves a result.
    with app_setting("INVENTORY_AGENT_TIMEOUT_SECONDS", "0.01"), browser(stack, "late") as ws:
        workflow_id = start(stack, "late")
        received = receive_until_terminal(ws)
        status = wait_finished(stack.base_url, workflow_id, FINISH_SECONDS)
        assert_nothing_more(ws, 1.0)
    assert "inventory" not in list_results(get_engine(stack.database_url), workflow_id)

    assert status["runtime_status"] == "Failed" and status["current_agent"] is None
    assert status["error"]["error_type"] == "AGENT_TIMEOUT"
    assert status["error"]["agent_name"] == "Inventory Agent"
    assert not WORKER_TEXT.search(json.dumps(status)), status
    assert status["completed_agents"] == ["Demand Agent"]
    assert_documented_order(received, ["Demand Agent", "Inventory Agent"], failed="Inventory Agent")
    assert events_of(stack.base_url, workflow_id) == received

    late = httpx.get(f"{stack.base_url}/api/allocations/{workflow_id}", timeout=30)
    assert late.status_code == 404 and set(late.json()) == ERROR_KEYS
    assert late.json()["error_type"] == "DATA_NOT_FOUND"
    clusters = httpx.get(
        f"{stack.base_url}/api/stores/clusters", params={"workflow_id": workflow_id}, timeout=30
    )
    assert clusters.status_code == 404
    accepted = httpx.get(f"{stack.base_url}/api/forecasts/{workflow_id}", timeout=30)
    assert accepted.status_code == 200 and accepted.json()["category_id"]


def test_the_black_hole_accepts_and_never_answers():
    """The fault is real: a client connects and then waits for an answer."""
    with BlackHole() as hole:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"http://127.0.0.1:{hole.port}/", timeout=httpx.Timeout(0.3))
        assert time.monotonic() - started >= 0.3 and hole.accepted == 1
