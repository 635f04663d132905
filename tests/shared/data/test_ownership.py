"""Every plan belongs to someone: two signed-in planners on the real local stack choose the same
session_id and the same Idempotency-Key, and each streams, reads and stops only their own plan.
Anyone else gets exactly the 404 of a workflow that does not exist."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from shared.data.db import get_engine
from shared.data.ownership import KeyedRun, is_owner, owner_of, record_workflow, request_fingerprint
from shared.errors import ContextAssemblyError
from shared.identity import principal_headers
from shared.schemas import RunWorkflowRequest
from tests.support.live_stack import LiveStack, live_stack
from tests.support.workflow_http import wait_finished

SESSION = "shared-session"
KEY = "spring-2025"
PARAMETERS = {
    "forecast_horizon_weeks": 8,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.2,
}
BODY = {"session_id": SESSION, "parameters": PARAMETERS}


@dataclass
class Planner:
    """A signed-in planner: the principal headers Easy Auth would inject, and what they saw."""

    user_id: str
    headers: dict[str, str]
    negotiated: dict[str, Any] | None = None
    started: dict[str, Any] | None = None
    received: list[dict[str, Any]] | None = None

    @property
    def negotiated_url(self) -> str:
        assert self.negotiated is not None
        return self.negotiated["url"]

    @property
    def workflow_id(self) -> str:
        assert self.started is not None
        return self.started["workflow_id"]


def planner(user_id: str, roles: tuple[str, ...] = ("planner",)) -> Planner:
    return Planner(user_id, principal_headers(user_id, user_id.title(), roles, "aad"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("ownership"), developer=None) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: LiveStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        yield http


def drain(ws: ClientConnection, idle: float = 1.5) -> list[dict[str, Any]]:
    """Every message that arrives until the socket stays quiet for `idle` seconds."""
    messages = []
    while True:
        try:
            messages.append(json.loads(ws.recv(timeout=idle)))
        except (TimeoutError, ConnectionClosed):
            return [m for m in messages if m["type"] != "heartbeat"]


@pytest.fixture(scope="module")
def alice_and_bob(stack: LiveStack, client: httpx.Client) -> tuple[Planner, Planner]:
    """Both negotiate the same session_id, connect, and run the same body under the same key."""
    alice, bob = planner("alice"), planner("bob")
    for who in (alice, bob):
        answer = client.get(
            "/api/orchestrator/negotiate", params={"session_id": SESSION}, headers=who.headers
        )
        assert answer.status_code == 200, answer.text
        who.negotiated = answer.json()
    with contextlib.ExitStack() as connections:
        sockets = [
            connections.enter_context(connect(who.negotiated_url, open_timeout=10))
            for who in (alice, bob)
        ]
        time.sleep(0.2)  # the emulator adds each connection to its group on connect
        for who in (alice, bob):
            answer = client.post(
                "/api/orchestrator/run-workflow",
                json=BODY,
                headers={**who.headers, "Idempotency-Key": KEY},
            )
            assert answer.status_code == 202, answer.text
            who.started = answer.json()
        for who in (alice, bob):
            status = wait_finished(stack.base_url, who.workflow_id, 60, headers=who.headers)
            assert status["runtime_status"] == "Completed"
        for who, ws in zip((alice, bob), sockets, strict=True):
            who.received = drain(ws)
    return alice, bob


def test_the_same_session_id_is_two_groups_and_each_token_names_its_user(alice_and_bob):
    alice, bob = alice_and_bob
    assert alice.negotiated["group"] != bob.negotiated["group"]
    for who in (alice, bob):
        claims = jwt.decode(who.negotiated["token"], options={"verify_signature": False})
        assert claims["sub"] == who.user_id
        assert claims["webpubsub.group"] == [who.negotiated["group"]] and "role" not in claims


def test_the_same_idempotency_key_is_two_workflows(alice_and_bob):
    alice, bob = alice_and_bob
    assert alice.workflow_id != bob.workflow_id


def test_each_planner_streams_only_their_own_plan(client, alice_and_bob):
    for who in alice_and_bob:
        assert who.received, f"{who.user_id} received nothing"
        assert {m["workflow_id"] for m in who.received} == {who.workflow_id}
        logged = client.get(
            f"/api/orchestrator/workflows/{who.workflow_id}/events", headers=who.headers
        ).json()["events"]
        assert sorted(m["sequence"] for m in who.received) == [m["sequence"] for m in logged]
        assert logged[-1] == {
            "type": "agent_status",
            "agent_name": "Pricing Agent",
            "status": "completed",
            **{k: logged[-1][k] for k in ("session_id", "workflow_id", "timestamp", "sequence")},
        }


def workflow_routes(workflow_id: str) -> list[tuple[str, str, dict[str, str]]]:
    """Every route that takes a workflow id (path or query)."""
    return [
        ("GET", f"/api/orchestrator/workflows/{workflow_id}", {}),
        ("GET", f"/api/orchestrator/workflows/{workflow_id}/events", {"after": "0"}),
        ("POST", f"/api/orchestrator/workflows/{workflow_id}/terminate", {}),
        ("GET", f"/api/forecasts/{workflow_id}", {}),
        ("GET", f"/api/allocations/{workflow_id}", {}),
        ("GET", f"/api/markdowns/{workflow_id}", {}),
        ("GET", f"/api/plans/{workflow_id}", {}),
        ("GET", "/api/stores/clusters", {"workflow_id": workflow_id}),
    ]


def test_every_route_with_a_workflow_id_is_404_to_anyone_else(client, alice_and_bob):
    alice, bob = alice_and_bob
    never = "0b6f2d0e-5d0c-4a59-9d43-000000000000"
    for (method, path, params), (_, unknown_path, unknown_params) in zip(
        workflow_routes(alice.workflow_id), workflow_routes(never), strict=True
    ):
        theirs = client.request(method, path, params=params, headers=bob.headers)
        unknown = client.request(method, unknown_path, params=unknown_params, headers=bob.headers)
        assert theirs.status_code == unknown.status_code == 404, (path, theirs.text)
        mine, other = theirs.json(), unknown.json()
        assert mine["error_type"] == other["error_type"] == "DATA_NOT_FOUND"
        assert mine["message"] == other["message"].replace(never, alice.workflow_id)
        assert "alice" not in theirs.text


def test_the_owner_reads_every_route(client, alice_and_bob):
    alice, _ = alice_and_bob
    for method, path, params in workflow_routes(alice.workflow_id):
        answer = client.request(method, path, params=params, headers=alice.headers)
        expected = 409 if path.endswith("/terminate") else 200  # finished: only the owner learns
        assert answer.status_code == expected, (path, answer.text)


def test_terminate_by_another_planner_is_refused_and_changes_nothing(client, alice_and_bob):
    alice, bob = alice_and_bob
    refused = client.post(
        f"/api/orchestrator/workflows/{alice.workflow_id}/terminate",
        json={"reason": "not yours"},
        headers=bob.headers,
    )
    assert refused.status_code == 404
    status = client.get(f"/api/orchestrator/workflows/{alice.workflow_id}", headers=alice.headers)
    assert status.json()["runtime_status"] == "Completed"


def test_the_latest_clusters_are_the_callers_own(client, alice_and_bob):
    for who in alice_and_bob:
        latest = client.get("/api/stores/clusters", headers=who.headers).json()
        assert latest["workflow_id"] == who.workflow_id
    carol = planner("carol")
    nothing = client.get("/api/stores/clusters", headers=carol.headers)
    assert nothing.status_code == 404 and nothing.json()["error_type"] == "DATA_NOT_FOUND"


def test_the_key_reused_with_another_body_is_422(client, alice_and_bob):
    alice, _ = alice_and_bob
    same = client.post(
        "/api/orchestrator/run-workflow",
        json=BODY,
        headers={**alice.headers, "Idempotency-Key": KEY},
    )
    assert same.status_code == 200 and same.json()["workflow_id"] == alice.workflow_id
    changed = {**BODY, "parameters": {**PARAMETERS, "forecast_horizon_weeks": 9}}
    reused = client.post(
        "/api/orchestrator/run-workflow",
        json=changed,
        headers={**alice.headers, "Idempotency-Key": KEY},
    )
    assert reused.status_code == 422
    error = reused.json()
    assert error["error_type"] == "INVALID_PARAMETERS"
    assert "different request body" in error["message"]
    assert error["request_id"] == reused.headers["x-request-id"]


def test_import_is_refused_to_a_planner(client, alice_and_bob):
    alice, _ = alice_and_bob
    answer = client.post(
        "/api/data/import",
        headers=alice.headers,
        files={"categories": ("c.csv", b"category_id,name\n", "text/csv")},
    )
    assert answer.status_code == 403 and answer.json()["error_type"] == "FORBIDDEN"


# ------------------------------------------------------------------ the records themselves


def test_a_concurrent_twin_with_the_same_key_gets_the_first_workflow(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'owners.db'}")
    first = record_workflow(
        engine, workflow_id="wf-1", owner_id="alice", session_id="s", key="k", fingerprint="f1"
    )
    twin = record_workflow(
        engine, workflow_id="wf-2", owner_id="alice", session_id="s", key="k", fingerprint="f1"
    )
    other = record_workflow(
        engine, workflow_id="wf-3", owner_id="bob", session_id="s", key="k", fingerprint="f1"
    )
    retried = record_workflow(
        engine, workflow_id="wf-1", owner_id="alice", session_id="s", key="k", fingerprint="f1"
    )
    assert first == twin == retried == KeyedRun("wf-1", "f1") and other.workflow_id == "wf-3"
    assert owner_of(engine, "wf-1") == "alice" and owner_of(engine, "wf-2") is None
    assert is_owner(engine, "wf-3", "bob") and not is_owner(engine, "wf-3", "alice")


def test_the_fingerprint_is_of_the_validated_request():
    def request(**body: Any) -> RunWorkflowRequest:
        return RunWorkflowRequest.model_validate(body)

    same = request(parameters=dict(reversed(PARAMETERS.items())), session_id=SESSION)
    assert request_fingerprint(request(**BODY)) == request_fingerprint(same)
    assert request_fingerprint(request(**BODY)) != request_fingerprint(
        request(**{**BODY, "category_id": "denim"})
    )


def test_an_unreachable_database_is_a_documented_error(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'owners.db'}")
    with pytest.raises(ContextAssemblyError) as failed:
        is_owner(engine, "wf-1", "alice")
    assert "missing-dir" not in str(failed.value.to_response("r").model_dump())
