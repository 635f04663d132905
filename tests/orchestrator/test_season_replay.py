"""The season orchestrator under the real Durable SDK (azure-functions-durable 1.7.0) and on the
local runtime: the same decisions. The runtime drives the real `season_orchestrator` with a
scripted `season_sync` activity (its body needs a database; the orchestration does not), events
are raised through the runtime's raiseEvent API, and each generation's recorded history is
replayed through the SDK's orchestrator handle, which must decide exactly what the runtime
recorded: the sync activity, the timer, then continue-as-new with the season id only."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from localdev.durable import DurableRuntime, ManualClock
from localdev.durable import history as h
from localdev.durable.runtime import invoke_orchestrator
from localdev.host.functions import functions_of_type
from orchestrator.season import (
    ACTUALS_EVENT,
    SEASON_ORCHESTRATOR,
    SEASON_SYNC_ACTIVITY,
    season_input,
)
from orchestrator.season import bp as season_bp
from tests.localdev.durable.test_runtime import wait_until

START = datetime(2025, 3, 3, tzinfo=UTC)
app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(season_bp)
SYNCS: list[dict[str, Any]] = []
GATE = threading.Event()
FINISH_AFTER = {"syncs": 99}


@app.activity_trigger(input_name="payload", activity=SEASON_SYNC_ACTIVITY)
def season_sync(payload: dict[str, Any]) -> dict[str, Any]:
    """Records the call, waits for the test's gate, answers like the real activity."""
    SYNCS.append(payload)
    GATE.wait(10)
    now = datetime.fromisoformat(payload["now"])
    if len(SYNCS) >= FINISH_AFTER["syncs"]:
        return {"finished": True, "version": len(SYNCS), "closing": {"syncs": len(SYNCS)}}
    wake_at = (now + timedelta(days=1)).isoformat()
    return {"finished": False, "version": len(SYNCS), "wake_at": wake_at, "closing": None}


@pytest.fixture
async def season_runtime(tmp_path):
    SYNCS.clear()
    GATE.clear()
    FINISH_AFTER["syncs"] = 99
    clock = ManualClock(START)
    runtime = DurableRuntime(app, f"sqlite:///{tmp_path}/hub.db", clock=clock)
    await runtime.start()
    yield runtime, clock
    GATE.set()
    await runtime.stop()


def replayed_by_the_sdk(instance_id: str, recorded: list[dict[str, Any]]) -> dict[str, Any]:
    entry = next(
        e for e in functions_of_type(app, "orchestrationTrigger") if e.name == SEASON_ORCHESTRATOR
    )
    started = next(e for e in recorded if e["EventType"] == h.EventType.EXECUTION_STARTED)
    context = h.orchestration_context_json(instance_id, recorded, len(recorded), started["Input"])
    state, error = invoke_orchestrator(entry, context)
    assert error is None
    return state


async def test_doorbells_before_the_wait_give_one_generation_and_the_sdk_agrees(season_runtime):
    runtime, _ = season_runtime
    await runtime.start_new(SEASON_ORCHESTRATOR, "season-1", json.dumps(season_input("season-1")))
    assert await wait_until(lambda: len(SYNCS) == 1)
    # Two doorbells while the generation's sync runs (no wait open): the extension buffers
    # both, the SDK keeps one; the generation's single wait takes it and continues as new,
    # and the other is dropped with the generation. The next generation syncs once and waits.
    for upload in ("u1", "u2"):
        assert await runtime.raise_event("season-1", ACTUALS_EVENT, json.dumps(upload)) == (
            "accepted"
        )
    GATE.set()
    assert await wait_until(lambda: len(SYNCS) == 2)
    assert await wait_until(lambda: _waiting_in_generation(runtime, "season-1"))
    assert not await wait_until(lambda: len(SYNCS) > 2, timeout=0.5)
    recorded = await runtime.history("season-1")

    state = replayed_by_the_sdk("season-1", recorded)

    assert len(SYNCS) == 2
    scheduled = [
        (e["EventType"], e.get("Name"))
        for e in recorded
        if e["EventType"] in (h.EventType.TASK_SCHEDULED, h.EventType.TIMER_CREATED)
    ]
    assert scheduled == [
        (h.EventType.TASK_SCHEDULED, SEASON_SYNC_ACTIVITY),
        (h.EventType.TIMER_CREATED, None),
    ]
    actions = h.flatten_actions(state["actions"])
    assert [a.get("functionName") for a in actions] == [SEASON_SYNC_ACTIVITY, None, None]
    assert state["isDone"] is False
    assert json.loads(next(e for e in recorded if e["EventType"] == 0)["Input"]) == {
        "season_id": "season-1",
        "schema_version": 1,
    }


async def test_a_generation_woken_by_its_timer_continues_as_new_as_the_sdk_decides(
    season_runtime,
):
    runtime, clock = season_runtime
    GATE.set()
    await runtime.start_new(SEASON_ORCHESTRATOR, "season-2", json.dumps(season_input("season-2")))
    assert await wait_until(lambda: _waiting_in_generation(runtime, "season-2"))
    before = await runtime.history("season-2")
    fired = [*before, h.orchestrator_started(START + timedelta(days=1))]
    timer = next(e for e in before if e["EventType"] == h.EventType.TIMER_CREATED)
    fired.append(h.timer_fired(START + timedelta(days=1), timer["EventId"], timer["FireAt"]))

    decided = replayed_by_the_sdk("season-2", fired)
    clock.advance(86400 + 1)
    assert await wait_until(lambda: len(SYNCS) == 2)

    assert decided["isDone"] is True
    assert h.flatten_actions(decided["actions"])[-1] == {
        "actionType": h.ActionType.CONTINUE_AS_NEW,
        "input": json.dumps({"season_id": "season-2", "schema_version": 1}),
    }
    assert [s["season_id"] for s in SYNCS] == ["season-2", "season-2"]


async def test_a_finished_season_completes_with_its_closing_summary(season_runtime):
    runtime, _ = season_runtime
    FINISH_AFTER["syncs"] = 1
    GATE.set()
    await runtime.start_new(SEASON_ORCHESTRATOR, "season-3", json.dumps(season_input("season-3")))

    status = await runtime.wait_for("season-3", 10)

    assert status is not None and status["runtimeStatus"] == "Completed"
    assert status["output"] == {"syncs": 1}
    recorded = [
        e
        for e in await runtime.history("season-3")
        if e["EventType"] != h.EventType.EXECUTION_COMPLETED
    ]
    assert replayed_by_the_sdk("season-3", recorded)["output"] == {"syncs": 1}


async def _waiting_in_generation(runtime: DurableRuntime, instance_id: str) -> bool:
    events = await runtime.history(instance_id)
    return any(e["EventType"] == h.EventType.TIMER_CREATED for e in events)
