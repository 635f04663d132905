"""The Durable runtime's HTTP API (the webhooks the Durable SDK's client calls), over real HTTP."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from localdev.durable.client_api import (
    RPC_PREFIX,
    WEBHOOK_PREFIX,
    client_binding_json,
    create_api_app,
)
from orchestrator.workflow import ORCHESTRATOR_NAME


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe", b"9" * 5000], ids=["malformed", "not-utf8", "huge-integer"]
)
async def test_the_start_webhook_answers_an_unreadable_body_with_400(runtime, body):
    async with TestClient(TestServer(create_api_app(runtime, "the-key"))) as client:
        response = await client.post(
            f"{WEBHOOK_PREFIX}orchestrators/{ORCHESTRATOR_NAME}?code=the-key", data=body
        )
        assert response.status == 400
        assert (await response.json())["ExceptionMessage"] == "The request body is not JSON."


@pytest.mark.parametrize(
    "code", [None, "", "wrong-key", "the-key "], ids=["none", "empty", "wrong", "padded"]
)
async def test_every_route_refuses_a_call_without_the_system_key(runtime, code):
    query = "" if code is None else f"?code={code}"
    async with TestClient(TestServer(create_api_app(runtime, "the-key"))) as client:
        calls = [
            client.post(f"{WEBHOOK_PREFIX}orchestrators/{ORCHESTRATOR_NAME}{query}", json="{}"),
            client.get(f"{WEBHOOK_PREFIX}instances/some-id{query}"),
            client.post(f"{WEBHOOK_PREFIX}instances/some-id/terminate{query}"),
            client.get(f"{RPC_PREFIX}{code or 'x'}/instances/some-id"),
            client.post(f"{RPC_PREFIX}{code or 'x'}/instances/some-id/terminate"),
        ]
        for call in calls:
            response = await call
            assert response.status == 401
            assert await response.read() == b""


async def test_the_management_urls_carry_the_key_as_azure_does(runtime):
    binding = json.loads(client_binding_json("Hub", "http://127.0.0.1:9", "k3y"))
    assert binding["requiredQueryStringParameters"] == "taskHub=Hub&connection=Storage&code=k3y"
    urls = [*binding["creationUrls"].values(), *binding["managementUrls"].values()]
    assert all("code=k3y" in url for url in urls if url != binding["managementUrls"]["id"])
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:9/durabletask/k3y/"
    async with TestClient(TestServer(create_api_app(runtime, "k3y"))) as client:
        response = await client.get(f"{RPC_PREFIX}k3y/instances/unknown")
        assert response.status == 404


async def test_a_create_race_answers_instance_exists_never_a_500(runtime):
    """Issue 32 case 9: 20 callers start one instance id at once (run-workflow with one
    Idempotency-Key): one 202, the others the extension's "already exists" 400."""
    async with TestClient(TestServer(create_api_app(runtime, "the-key"))) as client:
        for round_number in range(5):
            url = f"{WEBHOOK_PREFIX}orchestrators/{ORCHESTRATOR_NAME}/race-{round_number}"
            responses = await asyncio.gather(
                *(client.post(f"{url}?code=the-key", json={}) for _ in range(20))
            )
            statuses = sorted(response.status for response in responses)
            assert statuses.count(202) == 1 and set(statuses) <= {202, 400}, statuses
            for response in responses:
                if response.status == 400:
                    message = (await response.json())["ExceptionMessage"]
                    assert message.endswith("already exists.")
