"""External events and continue-as-new on the local runtime, driven by the real Durable SDK
(azure-functions-durable 1.7.0) on both sides: its client raises the events through the
runtime's raiseEvent webhook, its orchestrator context waits for them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.durable_functions as df
import pytest
from aiohttp.test_utils import TestClient, TestServer

from localdev.durable import DurableRuntime, ManualClock
from localdev.durable import history as h
from localdev.durable.client_api import WEBHOOK_PREFIX, create_api_app
from tests.localdev.durable.test_runtime import wait_until
from tests.support.durable_app import SCRIPT, app


def client_of(runtime: DurableRuntime) -> df.DurableOrchestrationClient:
    return df.DurableOrchestrationClient(runtime.client_binding_json())


async def test_an_event_raised_by_the_sdk_client_arrives_as_a_string_as_on_azure(runtime):
    await runtime.start_new("doorbell_probe", "d-1", json.dumps({"waits": 1}))
    await client_of(runtime).raise_event("d-1", "ring", {"upload_id": "u1"})

    status = await runtime.wait_for("d-1", 10)

    assert status["runtimeStatus"] == "Completed"
    # The client double-encodes (json.dumps, then aiohttp json=); the extension keeps the JSON
    # string token, so the orchestrator gets the text, not the dict.
    assert status["output"] == ['{"upload_id": "u1"}']


async def test_an_event_name_in_another_case_never_reaches_the_python_wait(runtime):
    # The extension matches names without case, but the SDK completes waits by exact name:
    # on Azure with SDK 1.7.0 "ring" never completes a wait for "Ring". Event names are
    # constants in one place for that reason.
    await runtime.start_new("doorbell_probe", "d-2", json.dumps({"waits": 1, "name": "Ring"}))
    await runtime.raise_event("d-2", "ring", json.dumps(7))
    assert await wait_until(lambda: _raised_count(runtime, "d-2", 1))

    status = await runtime.get_status("d-2")

    assert status["runtimeStatus"] == "Running"


async def test_events_while_waiting_are_delivered_one_per_wait_in_order(runtime):
    await runtime.start_new("doorbell_probe", "d-3", json.dumps({"waits": 2}))
    for number in (1, 2):
        assert await wait_until(lambda: _waiting(runtime, "d-3"))
        await runtime.raise_event("d-3", "ring", json.dumps(number))
        await wait_until(lambda n=number: _raised_count(runtime, "d-3", n))

    assert (await runtime.wait_for("d-3", 10))["output"] == [1, 2]


async def test_two_early_events_collapse_into_the_last_under_sdk_1_7_0(runtime):
    # Raised while the orchestrator waits for an activity: the extension queues both and hands
    # them over in order, but the 1.7.0 SDK keeps one deferred slot per name and never clears
    # it (azure-functions-durable-python#507), so both waits see the second event. The local
    # runtime reproduces what Azure does with this SDK: the season waits once per generation.
    await runtime.start_new("doorbell_probe", "d-4", json.dumps({"waits": 2, "gate": True}))
    await runtime.raise_event("d-4", "ring", json.dumps("first"))
    await runtime.raise_event("d-4", "ring", json.dumps("second"))
    assert await wait_until(lambda: _raised_count(runtime, "d-4", 2))
    SCRIPT.release.set()

    status = await runtime.wait_for("d-4", 10)

    assert status["output"] == ["second", "second"]


async def test_raise_event_answers_404_for_an_unknown_and_410_for_a_finished_instance(runtime):
    client = client_of(runtime)
    with pytest.raises(Exception, match="No instance with ID nobody found"):
        await client.raise_event("nobody", "ring", {})
    await runtime.start_new("doorbell_probe", "d-5", json.dumps({"waits": 1}))
    await client.raise_event("d-5", "ring", None)
    await runtime.wait_for("d-5", 10)
    with pytest.raises(Exception, match="is gone"):
        await client.raise_event("d-5", "ring", {})


async def test_the_raise_event_webhook_refuses_a_body_that_is_not_json(runtime):
    await runtime.start_new("doorbell_probe", "d-6", json.dumps({"waits": 1}))
    url = f"{WEBHOOK_PREFIX}instances/d-6/raiseEvent/ring?code=k"
    async with TestClient(TestServer(create_api_app(runtime, "k"))) as client:
        as_text = await client.post(url, data=b"{}", headers={"Content-Type": "text/plain"})
        as_json = {"Content-Type": "application/json"}
        malformed = await client.post(url, data=b"{no", headers=as_json)
        accepted = await client.post(url, json={"upload_id": "u9"})
    assert (as_text.status, malformed.status, accepted.status) == (400, 400, 202)
    assert (await runtime.wait_for("d-6", 10))["output"] == [{"upload_id": "u9"}]


@pytest.fixture
async def clocked_runtime(tmp_path):
    SCRIPT.reset()
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    rt = DurableRuntime(app, f"sqlite:///{tmp_path}/hub.db", clock=clock)
    await rt.start()
    yield rt, clock
    SCRIPT.release.set()
    await rt.stop()
    SCRIPT.reset()


async def test_continue_as_new_starts_a_fresh_history_and_ignores_the_old_timers(clocked_runtime):
    runtime, clock = clocked_runtime
    start = json.dumps({"generations": 3, "seen": []})
    await runtime.start_new("generation_probe", "g-1", start)
    assert await wait_until(lambda: _waiting(runtime, "g-1"))
    clock.advance(12 * 3600)
    await runtime.raise_event("g-1", "ring", json.dumps("a"))
    assert await wait_until(lambda: _input_has(runtime, "g-1", 1))
    # The first generation's cancelled timer (task id 0, due at hour 24) still fires, as
    # Azure's do; the second generation's timer has the same id but is due at hour 36: the
    # stale one must not complete it.
    clock.advance(13 * 3600)
    assert not await wait_until(lambda: _input_has(runtime, "g-1", 2), timeout=0.5)
    clock.advance(12 * 3600)
    assert await wait_until(lambda: _input_has(runtime, "g-1", 2))
    await runtime.raise_event("g-1", "ring", json.dumps("c"))

    status = await runtime.wait_for("g-1", 10)

    assert status["output"] == ["a", "timer", "c"]
    events = await runtime.history("g-1")
    assert [e["EventType"] for e in events].count(h.EventType.EXECUTION_STARTED) == 1
    assert len(events) < 15


async def test_continue_as_new_drops_events_the_generation_did_not_consume(clocked_runtime):
    runtime, clock = clocked_runtime
    # Two events arrive during the gate: the first generation's wait takes one (the SDK hands
    # it the last); the other is unconsumed and dropped at continue-as-new, as the extension
    # does for Python (preserveUnprocessedEvents=false), so generation two waits for its timer.
    start = json.dumps({"generations": 2, "seen": [], "gate": True})
    await runtime.start_new("generation_probe", "g-2", start)
    await runtime.raise_event("g-2", "ring", json.dumps("early-1"))
    await runtime.raise_event("g-2", "ring", json.dumps("early-2"))
    assert await wait_until(lambda: _raised_count(runtime, "g-2", 2))
    SCRIPT.release.set()
    assert await wait_until(lambda: _input_has(runtime, "g-2", 1))
    clock.advance(2 * 86400)

    status = await runtime.wait_for("g-2", 10)

    assert status["output"] == ["early-2", "timer"]


async def test_an_accepted_event_survives_a_runtime_restart(tmp_path):
    url = f"sqlite:///{tmp_path}/hub.db"
    SCRIPT.reset()
    first = DurableRuntime(app, url)
    await first.start()
    await first.start_new("doorbell_probe", "d-7", json.dumps({"waits": 1}))
    assert await wait_until(lambda: _waiting(first, "d-7"))
    await first.stop()
    # Accepted while no runtime drives the instance (as between a crash and the restart):
    # the queue row is the durable message; the next runtime delivers it.
    first.store.add_pending_event("d-7", "ring", json.dumps("kept"))
    second = DurableRuntime(app, url)
    await second.start()
    try:
        status = await second.wait_for("d-7", 10)
        assert status is not None and status["output"] == ["kept"]
        assert second.store.pending_events("d-7") == []
    finally:
        await second.stop()


async def _waiting(runtime: DurableRuntime, instance_id: str) -> bool:
    events = await runtime.history(instance_id)
    return any(e["EventType"] == h.EventType.EXECUTION_STARTED for e in events)


async def _raised_count(runtime: DurableRuntime, instance_id: str, count: int) -> bool:
    events = await runtime.history(instance_id)
    return sum(e["EventType"] == h.EventType.EVENT_RAISED for e in events) >= count


async def _input_has(runtime: DurableRuntime, instance_id: str, seen: int) -> bool:
    status = await runtime.get_status(instance_id)
    return status is not None and len(json.loads(status["input"])["seen"]) >= seen
