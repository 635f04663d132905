"""The local Durable runtime itself: retry actions, compound tasks, clocks, terminate, errors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from localdev.durable import (
    DurableRuntime,
    InstanceExistsError,
    ManualClock,
    UnknownOrchestratorError,
)
from localdev.durable import history as h
from orchestrator.workflow import MAX_SUMMARY_BYTES, ORCHESTRATOR_NAME
from tests.support.durable_app import (
    SCRIPT,
    app,
    fast_settings,
    published_messages,
    season_input,
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
    events = await runtime.history("p-2")
    timers = [e for e in events if e["EventType"] == h.EventType.TIMER_CREATED]
    # DTFx keeps a timer after the last failed attempt (due at once) before the failure surfaces
    assert len(timers) == 3 and timers[-1]["FireAt"] == timers[-1]["Timestamp"]


async def test_task_failed_carries_the_extensions_reason_and_serialized_exception(runtime):
    SCRIPT.set("flaky_probe", "fail", times=1)
    await runtime.start_new("retry_probe", "p-3", json.dumps({"workflow_id": "p-3"}))
    await runtime.wait_for("p-3", 10)

    failed = next(
        e for e in await runtime.history("p-3") if e["EventType"] == h.EventType.TASK_FAILED
    )
    assert failed["Reason"] == (
        "Activity function 'flaky_probe' failed:  RuntimeError: flaky_probe failure #1"
    )
    details = json.loads(failed["Details"])
    assert details["ClassName"] == "System.Exception"
    assert details["Message"] == " RuntimeError: flaky_probe failure #1"
    remote = details["InnerException"]["Message"]
    assert remote.startswith("Result: Failure\nException: RuntimeError: flaky_probe failure #1")
    assert "\nStack: Traceback (most recent call last):" in remote
    assert "in flaky_probe" in remote


@pytest.mark.parametrize(
    ("characters", "outcome"),
    [(8000, "Completed"), (8690, "Completed"), (8710, "Failed"), (20_000, "Failed")],
)
async def test_custom_status_over_16_kb_of_utf16_fails_the_instance(runtime, characters, outcome):
    # {"text":"x...x"} is characters + 11 UTF-16 code units of 2 bytes; the extension rounds
    # the size down to whole KB and refuses more than 16 (so 17 KB = 17,408 bytes fails).
    await runtime.start_new("status_probe", "s-1", json.dumps(characters))
    status = await runtime.wait_for("s-1", 10)

    assert status["runtimeStatus"] == outcome
    if outcome == "Failed":
        assert status["output"] == (
            "Orchestrator function 'status_probe' failed: The UTF-16 size of the "
            "JSON-serialized payload must not exceed 16 KB. The current payload size is "
            f"{(characters + 11) * 2 // 1024} KB."
        )
        assert status["customStatus"] is None
        kinds = [e["EventType"] for e in await runtime.history("s-1")]
        assert h.EventType.TASK_SCHEDULED not in kinds
    else:
        assert status["customStatus"]["text"] == "x" * characters


async def wait_until(predicate, timeout=5.0):
    """Poll `predicate` (sync or async) until it is truthy; False when `timeout` passes."""
    for _ in range(int(timeout / 0.01)):
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        await asyncio.sleep(0.01)
    return False


def timeout_error_published(workflow_id):
    return any(
        m["type"] == "error" and m.get("error_type") == "AGENT_TIMEOUT"
        for m in published_messages(workflow_id)
    )


@pytest.fixture
def manual_clock():
    return ManualClock(datetime(2025, 1, 1, tzinfo=UTC))


@pytest.fixture
async def strict_runtime(tmp_path, manual_clock):
    """The runtime on a hand-driven clock; hung activities are released before it stops."""
    SCRIPT.reset()
    rt = DurableRuntime(app, f"sqlite:///{tmp_path}/hub.db", clock=manual_clock)
    await rt.start()
    yield rt
    SCRIPT.release.set()
    await rt.stop()
    SCRIPT.reset()


async def test_manual_clock_fires_a_30_second_deadline_without_waiting(
    strict_runtime, manual_clock
):
    rt = strict_runtime
    SCRIPT.set("demand_agent", "hang")
    await rt.start_new(ORCHESTRATOR_NAME, "wf-c", season_input("wf-c"))
    assert await wait_until(lambda: SCRIPT.calls_to("demand_agent", "wf-c"))
    manual_clock.advance(29)
    await asyncio.sleep(0.1)
    assert (await rt.get_status("wf-c"))["customStatus"]["status"] == "running"
    manual_clock.advance(2)

    assert await wait_until(lambda: timeout_error_published("wf-c"))
    # As on Azure: the orchestrator has moved on, but the hung attempt is an open task, and an
    # instance with an open task is not marked Failed until that task ends.
    assert (await rt.get_status("wf-c"))["runtimeStatus"] == "Running"
    SCRIPT.release.set()
    status = await rt.wait_for("wf-c", 5)

    assert status["runtimeStatus"] == "Failed"
    log = status["customStatus"]["execution_log"]
    assert log[0]["error_type"] == "AGENT_TIMEOUT" and log[0]["duration_ms"] == 31_000


async def test_a_retry_that_hangs_is_stopped_by_the_deadline(strict_runtime, manual_clock):
    """Regression (issue 14, item 1): attempt 1 fails, attempt 2 hangs. The extension awaits the
    top-level actions in order and the SDK leaves an already-scheduled timer out of a new
    task_any, so a deadline timer shared by the attempts would leave attempt 2 racing nothing:
    no timeout, no error message until the hung activity ends."""
    rt = strict_runtime
    SCRIPT.set("demand_agent", "fail", times=1)
    await rt.start_new(ORCHESTRATOR_NAME, "wf-rh", season_input("wf-rh"))
    assert await wait_until(lambda: SCRIPT.failures[("wf-rh", "demand_agent")] == 1)
    SCRIPT.set("demand_agent", "hang")  # attempt 2 starts only when the clock passes the pause
    await asyncio.sleep(0.1)
    manual_clock.advance(1)
    assert await wait_until(lambda: len(SCRIPT.calls_to("demand_agent", "wf-rh")) == 2)
    manual_clock.advance(30)  # past the 30 s deadline while attempt 2 hangs

    def kinds():
        return [(m["type"], m.get("status")) for m in published_messages("wf-rh")]

    assert await wait_until(lambda: ("agent_status", "failed") in kinds()), kinds()
    assert kinds()[-2:] == [("error", None), ("agent_status", "failed")]
    assert timeout_error_published("wf-rh")
    running = await rt.get_status("wf-rh")
    assert running["customStatus"]["status"] == "failed"
    assert running["customStatus"]["error"]["error_type"] == "AGENT_TIMEOUT"
    SCRIPT.release.set()
    status = await rt.wait_for("wf-rh", 5)

    assert status["runtimeStatus"] == "Failed"
    assert "did not finish within 30 s" in status["output"]
    assert status["customStatus"]["execution_log"][0]["attempts"] == 2
    assert SCRIPT.calls_to("inventory_agent", "wf-rh") == []


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


def utf16_kb(value):
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-16-le")) / 1024


async def test_worst_case_custom_status_fits_the_extensions_16_kb(runtime):
    """Three summaries of (almost) the largest size the orchestrator accepts, ten attempts
    each, and the longest error: the custom status stays under the real extension's limit.
    The test activities put the workflow id into their summaries, so a long workflow id in the
    orchestration input makes every summary that long."""
    long_id = "w" * (MAX_SUMMARY_BYTES - 80)
    settings = fast_settings(agent_max_attempts=10, agent_retry_interval_ms=1)
    SCRIPT.set("pricing_agent", "fail", times=1)
    await runtime.start_new(ORCHESTRATOR_NAME, "wf-big", season_input(long_id, settings))
    completed = await runtime.wait_for("wf-big", 20)

    SCRIPT.set("pricing_agent", "fail_always")
    await runtime.start_new(ORCHESTRATOR_NAME, "wf-big-f", season_input(long_id, settings))
    failed = await runtime.wait_for("wf-big-f", 20)

    assert completed["runtimeStatus"] == "Completed", completed["output"]
    sizes = [len(json.dumps(s)) for s in completed["customStatus"]["results"].values()]
    assert len(sizes) == 3
    assert all(MAX_SUMMARY_BYTES - 80 < size <= MAX_SUMMARY_BYTES for size in sizes), sizes
    assert failed["runtimeStatus"] == "Failed"
    assert failed["customStatus"]["error"]["error_type"] == "AGENT_EXECUTION_ERROR"
    assert failed["customStatus"]["execution_log"][-1]["attempts"] == 10
    assert len(failed["customStatus"]["results"]) == 2
    assert utf16_kb(completed["customStatus"]) < 15
    assert utf16_kb(failed["customStatus"]) < 15


async def test_every_hop_waits_the_configured_delay_as_azure_queues_do(tmp_path):
    """Each activity dispatch and each orchestrator episode waits `hop_delay_seconds`: an
    activity completes at least one delay after it was scheduled, and every episode starts at
    least one delay after the event that woke it."""
    delay = 0.05
    SCRIPT.reset()
    async with DurableRuntime(
        app, f"sqlite:///{tmp_path}/hub.db", hop_delay_seconds=delay
    ) as delayed:
        await delayed.start_new("retry_probe", "hop-1", json.dumps({"workflow_id": "hop-1"}))
        status = await delayed.wait_for("hop-1", 10)
        events = await delayed.history("hop-1")

    assert status is not None and status["runtimeStatus"] == "Completed"
    at = [datetime.fromisoformat(e["Timestamp"]) for e in events]
    scheduled = {
        e["EventId"]: at[i]
        for i, e in enumerate(events)
        if e["EventType"] == h.EventType.TASK_SCHEDULED
    }
    completions = [
        (at[i], scheduled[e["TaskScheduledId"]])
        for i, e in enumerate(events)
        if e["EventType"] == h.EventType.TASK_COMPLETED
    ]
    assert len(completions) == 3
    assert all((done - sent).total_seconds() >= delay for done, sent in completions)
    # An episode's events: OrchestratorStarted, then the message that woke it (stamped when it
    # was sent): the episode starts at least one delay later.
    woken = [
        (at[i] - at[i + 1]).total_seconds()
        for i, e in enumerate(events[:-1])
        if e["EventType"] == h.EventType.ORCHESTRATOR_STARTED
        and events[i + 1]["EventType"] == h.EventType.TASK_COMPLETED
    ]
    assert len(woken) >= 2 and min(woken) >= delay
