"""The local Durable runtime itself: retry actions, compound tasks, clocks, terminate, errors."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

from localdev.durable import (
    DurableRuntime,
    InstanceExistsError,
    ManualClock,
    UnknownOrchestratorError,
)
from localdev.durable import history as h
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.schemas import SeasonParameters
from tests.durable_app import PARAMETERS, SCRIPT, app, fast_settings


def season_input(workflow_id, settings=None):
    parameters = SeasonParameters.model_validate(PARAMETERS)
    return json.dumps(
        build_workflow_input(
            workflow_id, "s", "CAT-1", parameters, settings or fast_settings(), owner_id="p"
        )
    )


async def test_call_activity_with_retry_and_task_all(runtime):
    SCRIPT.set("flaky_probe", "fail", times=2)

    await runtime.start_new("retry_probe", "p-1", json.dumps({"workflow_id": "p-1"}))
    status = await runtime.wait_for("p-1", 10)

    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == {"first": {"attempt": 3}, "both": [10, 20]}
    kinds = [e["EventType"] for e in await runtime.history("p-1")]
    assert kinds.count(h.EventType.TASK_FAILED) == 2
    assert kinds.count(h.EventType.TIMER_CREATED) == 2


async def test_call_activity_with_retry_exhausted_fails_the_instance(runtime):
    SCRIPT.set("flaky_probe", "fail_always")

    await runtime.start_new("retry_probe", "p-2", json.dumps({"workflow_id": "p-2"}))
    status = await runtime.wait_for("p-2", 10)

    assert status["runtimeStatus"] == "Failed"
    assert "flaky_probe failure #3" in status["output"]
    assert len(SCRIPT.calls_to("flaky_probe", "p-2")) == 3


async def test_manual_clock_fires_a_30_second_deadline_without_waiting(tmp_path):
    SCRIPT.reset()
    SCRIPT.set("demand_agent", "hang")
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=timezone.utc))
    try:
        async with DurableRuntime(app, f"sqlite:///{tmp_path}/hub.db", clock=clock) as rt:
            await rt.start_new(ORCHESTRATOR_NAME, "wf-c", season_input("wf-c"))
            while not SCRIPT.calls_to("demand_agent", "wf-c"):
                await asyncio.sleep(0.01)
            clock.advance(29)
            await asyncio.sleep(0.1)
            assert (await rt.get_status("wf-c"))["runtimeStatus"] == "Running"
            clock.advance(2)
            status = await rt.wait_for("wf-c", 5)
    finally:
        SCRIPT.reset()

    assert status["runtimeStatus"] == "Failed"
    log = status["customStatus"]["execution_log"]
    assert log[0]["error_type"] == "AGENT_TIMEOUT" and log[0]["duration_ms"] == 31_000


async def test_terminate_stops_a_running_instance_and_ignores_late_results(runtime):
    SCRIPT.set("demand_agent", "hang")
    await runtime.start_new(ORCHESTRATOR_NAME, "wf-t", season_input("wf-t"))
    while not SCRIPT.calls_to("demand_agent", "wf-t"):
        await asyncio.sleep(0.01)

    assert await runtime.terminate("wf-t", "operator") == "accepted"
    status = await runtime.wait_for("wf-t", 5)
    SCRIPT.release.set()
    await asyncio.sleep(0.1)

    assert status["runtimeStatus"] == "Terminated" and status["output"] == "operator"
    after = await runtime.get_status("wf-t", show_history=True)
    assert after["runtimeStatus"] == "Terminated"
    assert after["historyEvents"][-1]["EventType"] == h.EventType.EXECUTION_TERMINATED
    assert await runtime.terminate("wf-t", "again") == "gone"
    assert await runtime.terminate("nobody", "x") == "not_found"


async def test_start_new_refuses_unknown_orchestrators_and_running_duplicates(runtime):
    SCRIPT.set("demand_agent", "hang")
    with pytest.raises(UnknownOrchestratorError):
        await runtime.start_new("no_such_orchestrator", "x", None)
    await runtime.start_new(ORCHESTRATOR_NAME, "wf-d", season_input("wf-d"))
    with pytest.raises(InstanceExistsError):
        await runtime.start_new(ORCHESTRATOR_NAME, "wf-d", season_input("wf-d"))
    assert await runtime.get_status("missing") is None


async def test_bad_orchestration_input_fails_the_instance_cleanly(runtime):
    await runtime.start_new(ORCHESTRATOR_NAME, "wf-bad", json.dumps({"workflow_id": "wf-bad"}))
    status = await runtime.wait_for("wf-bad", 5)

    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Orchestrator function 'season_workflow' failed:")
    assert SCRIPT.calls_to("demand_agent") == []


async def test_history_events_have_the_fields_the_sdk_reads(runtime):
    await runtime.start_new(ORCHESTRATOR_NAME, "wf-h", season_input("wf-h"))
    await runtime.wait_for("wf-h", 10)

    events = await runtime.history("wf-h")
    assert all({"EventType", "EventId", "IsPlayed", "Timestamp"} <= set(e) for e in events)
    started = events[1]
    assert started["EventType"] == h.EventType.EXECUTION_STARTED and "Version" in started
    assert events[0]["EventType"] == h.EventType.ORCHESTRATOR_STARTED
    fired = [e for e in events if e["EventType"] == h.EventType.TIMER_FIRED]
    assert fired == []
