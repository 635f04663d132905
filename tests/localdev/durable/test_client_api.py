"""The Durable runtime's HTTP API (the webhooks the Durable SDK's client calls), over real HTTP."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from localdev.durable.client_api import WEBHOOK_PREFIX, create_api_app
from orchestrator.workflow import ORCHESTRATOR_NAME


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe", b"9" * 5000], ids=["malformed", "not-utf8", "huge-integer"]
)
async def test_the_start_webhook_answers_an_unreadable_body_with_400(runtime, body):
    async with TestClient(TestServer(create_api_app(runtime))) as client:
        response = await client.post(
            f"{WEBHOOK_PREFIX}orchestrators/{ORCHESTRATOR_NAME}", data=body
        )
        assert response.status == 400
        assert (await response.json())["ExceptionMessage"] == "The request body is not JSON."
