"""Admission on the real local stack (issue 32 case 2): a planner with as many plans running
as MAX_RUNNING_PLANS_PER_USER allows gets 429 TOO_MANY_RUNNING_PLANS with Retry-After; the
command-line planner says so in words and retries as told until a slot frees, then completes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest

from localdev.cli.planner import run_plan
from tests.support.errors import assert_error
from tests.support.live_stack import FAST_SETTINGS, LiveStack, live_stack

STRATEGY = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[LiveStack]:
    settings = {**FAST_SETTINGS, "MAX_RUNNING_PLANS_PER_USER": "1", "LOCAL_HOP_DELAY_MS": "300"}
    with live_stack(tmp_path_factory.mktemp("admission"), settings) as running:
        yield running


def _start(client: httpx.Client) -> httpx.Response:
    parameters = client.post(
        "/api/orchestrator/extract-parameters", json={"strategy_description": STRATEGY}
    ).json()
    return client.post(
        "/api/orchestrator/run-workflow", json={"session_id": "s1", "parameters": parameters}
    )


def test_a_second_running_plan_is_refused_then_the_planner_retries_and_completes(
    stack: LiveStack, caplog
):
    with httpx.Client(base_url=stack.base_url, timeout=60) as client:
        first = _start(client)
        assert first.status_code == 202, first.text
        refused = _start(client)
        error = assert_error(refused, 429)
        assert error.error_type == "TOO_MANY_RUNNING_PLANS"
        assert int(refused.headers["Retry-After"]) > 0

        with caplog.at_level(logging.WARNING, logger="localdev.cli.retry"):
            outcome = asyncio.run(run_plan(stack.base_url, STRATEGY, timeout=120))
    assert outcome.status == "completed", outcome.error
    words = [r.getMessage() for r in caplog.records if r.name == "localdev.cli.retry"]
    assert any("1 plan running" in w and "Retrying in" in w for w in words), words
