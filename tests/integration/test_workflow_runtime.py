"""The real season orchestrator, driven by the local Durable runtime with scripted activities."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from localdev.durable import DurableRuntime
from localdev.durable import history as h
from localdev.durable.runtime import invoke_orchestrator
from localdev.host.functions import index_app
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.agents import AGENT_NAMES, AGENTS
from shared.schemas import SeasonParameters
from tests.support.durable_app import PARAMETERS, SCRIPT, app, fast_settings, published_messages


async def run(rt, workflow_id="wf-1", settings=None, weeks=12, timeout=15.0, agents=AGENTS):
    parameters = SeasonParameters.model_validate({**PARAMETERS, "forecast_horizon_weeks": weeks})
    workflow_input = build_workflow_input(
        workflow_id,
        f"session-{workflow_id}",
        "CAT-1",
        parameters,
        settings or fast_settings(),
        owner_id="planner-1",
        agents=agents,
    )
    await rt.start_new(ORCHESTRATOR_NAME, workflow_id, json.dumps(workflow_input))
    return await rt.wait_for(workflow_id, timeout)


def published(workflow_id):
    return [(m["type"], m["agent_name"], m.get("status")) for m in published_messages(workflow_id)]


async def test_happy_path_runs_three_agents_in_order(runtime):
    status = await run(runtime)

    assert status["runtimeStatus"] == "Completed"
    output = status["output"]
    assert list(output["results"]) == ["Demand Agent", "Inventory Agent", "Pricing Agent"]
    assert output["results"]["Inventory Agent"]["manufacturing_qty"] == 1440
    assert output["results"]["Pricing Agent"]["leftover_units"] == 144
    assert published("wf-1") == [
        ("agent_status", "Demand Agent", "running"),
        ("complete", "Demand Agent", None),
        ("agent_status", "Demand Agent", "completed"),
        ("agent_status", "Inventory Agent", "running"),
        ("complete", "Inventory Agent", None),
        ("agent_status", "Inventory Agent", "completed"),
        ("agent_status", "Pricing Agent", "running"),
        ("complete", "Pricing Agent", None),
        ("agent_status", "Pricing Agent", "completed"),
    ]
    complete = published_messages("wf-1")[1]
    assert complete["result"] == output["results"]["Demand Agent"]
    # The agents announced the results before theirs; the orchestrator published only the last.
    assert len(SCRIPT.calls_to("publish_message", "wf-1")) == 1
    custom = status["customStatus"]
    assert custom["status"] == "completed" and custom["progress"] == 100
    assert custom["completed_agents"] == ["Demand Agent", "Inventory Agent", "Pricing Agent"]
    log = output["execution_log"]
    assert [e["agent_name"] for e in log] == list(AGENT_NAMES)
    assert all(e["status"] == "completed" and e["attempts"] == 1 for e in log)
    assert all(e["duration_ms"] >= 0 and e["started_at"] for e in log)
    pricing_input = SCRIPT.calls_to("pricing_agent", "wf-1")[0]
    assert set(pricing_input) == {
        "workflow_id",
        "session_id",
        "owner_id",
        "category_id",
        "parameters",
        "deadline",
        "accepted",
    }  # ids, parameters, the agent's deadline and the previous agent's summary to announce:
    # each activity reloads the earlier agents' full results itself
    assert pricing_input["accepted"] == {
        "type": "complete",
        "agent_name": "Inventory Agent",
        "result": output["results"]["Inventory Agent"],
    }
    assert pricing_input["category_id"] == "CAT-1"
    assert pricing_input["parameters"]["season_end_date"] == "2025-03-26"


@pytest.mark.parametrize("index", range(len(AGENTS)), ids=AGENT_NAMES)
async def test_agent_hanging_past_its_timeout_fails_the_workflow(runtime, index):
    agent = AGENTS[index]
    agent_name = agent.name
    SCRIPT.set(agent.activity, "hang")

    short = dataclasses.replace(agent, timeout=lambda settings: 0.3)
    status = await run(runtime, agents=[short if a is agent else a for a in AGENTS])

    assert status["runtimeStatus"] == "Failed"
    assert "did not finish within 0.3 s" in status["output"]
    custom = status["customStatus"]
    assert custom["error"] == {
        "error_type": "AGENT_TIMEOUT",
        "message": f"{agent_name} did not finish within 0.3 s",
        "agent_name": agent_name,
    }
    assert list(custom["results"]) == list(AGENT_NAMES[:index])
    assert custom["execution_log"][-1]["error_type"] == "AGENT_TIMEOUT"
    assert custom["execution_log"][-1]["duration_ms"] >= 300
    for later in AGENTS[index + 1 :]:
        assert SCRIPT.calls_to(later.activity) == []
    assert published("wf-1")[-2:] == [
        ("error", agent_name, None),
        ("agent_status", agent_name, "failed"),
    ]
    error = published_messages("wf-1")[-2]
    assert error["error_type"] == "AGENT_TIMEOUT"
    assert custom["current_agent"] is None


async def test_an_accepted_result_is_announced_when_the_next_agent_never_started(runtime):
    """Demand's `complete` is handed to Inventory's activity to announce; when no attempt of
    that activity gets to record anything before its deadline, the orchestrator's failure batch
    announces it, ahead of Inventory's error."""
    SCRIPT.set("inventory_agent", "stalled")

    status = await run(runtime, settings=fast_settings(inventory_agent_timeout_seconds=0.3))

    assert status["runtimeStatus"] == "Failed"
    assert published("wf-1") == [
        ("agent_status", "Demand Agent", "running"),
        ("complete", "Demand Agent", None),
        ("agent_status", "Demand Agent", "completed"),
        ("agent_status", "Inventory Agent", "running"),
        ("error", "Inventory Agent", None),
        ("agent_status", "Inventory Agent", "failed"),
    ]
    assert (
        published_messages("wf-1")[1]["result"] == status["customStatus"]["results"]["Demand Agent"]
    )
    assert len(SCRIPT.calls_to("publish_message", "wf-1")) == 1


async def test_agent_failing_once_succeeds_on_retry(runtime):
    SCRIPT.set("inventory_agent", "fail", times=1)

    status = await run(runtime)

    assert status["runtimeStatus"] == "Completed"
    attempts = {e["agent_name"]: e["attempts"] for e in status["output"]["execution_log"]}
    assert attempts == {"Demand Agent": 1, "Inventory Agent": 2, "Pricing Agent": 1}
    assert len(SCRIPT.calls_to("inventory_agent")) == 2


async def test_retries_exhausted_is_an_execution_error(runtime):
    SCRIPT.set("demand_agent", "fail_always")

    status = await run(runtime, settings=fast_settings(agent_max_attempts=2))

    assert status["runtimeStatus"] == "Failed"
    custom = status["customStatus"]
    assert custom["error"]["error_type"] == "AGENT_EXECUTION_ERROR"
    # The worker's text (exception class, "Activity function ... failed") never reaches a client.
    assert custom["error"]["message"] == (
        "Demand Agent failed after 2 attempt(s): it stopped with an unexpected error "
        "(the function log has the details)"
    )
    assert custom["execution_log"] == [
        {**custom["execution_log"][0], "status": "failed", "attempts": 2}
    ]
    assert custom["results"] == {}
    assert len(SCRIPT.calls_to("demand_agent")) == 2
    assert SCRIPT.calls_to("inventory_agent") == []


async def test_a_data_error_fails_on_the_first_attempt_with_its_own_type(runtime):
    SCRIPT.set("inventory_agent", "data_error")

    status = await run(runtime)

    assert status["runtimeStatus"] == "Failed"
    custom = status["customStatus"]
    assert custom["error"] == {
        "error_type": "DATA_NOT_FOUND",
        "message": "inventory_agent found too little history",
        "agent_name": "Inventory Agent",
        "suggestions": ["Load more history."],  # the agent's own, for the console and the CLI
    }
    assert custom["execution_log"][-1]["attempts"] == 1
    assert custom["execution_log"][-1]["error_type"] == "DATA_NOT_FOUND"
    assert len(SCRIPT.calls_to("inventory_agent")) == 1
    assert SCRIPT.calls_to("pricing_agent") == []
    error = published_messages("wf-1")[-2]
    assert error == {
        "type": "error",
        "agent_name": "Inventory Agent",
        "error_message": "inventory_agent found too little history",
        "error_type": "DATA_NOT_FOUND",
        "suggestions": ["Load more history."],  # the agent's own, for the planner to act on
    }


async def test_a_retryable_error_is_retried_and_keeps_its_type_when_attempts_run_out(runtime):
    SCRIPT.set("demand_agent", "db_locked", times=1, workflow_id="wf-once")
    SCRIPT.set("demand_agent", "db_locked", workflow_id="wf-always")

    once, always = await asyncio.gather(
        run(runtime, "wf-once"),
        run(runtime, "wf-always", settings=fast_settings(agent_max_attempts=2)),
    )

    assert once["runtimeStatus"] == "Completed"
    assert once["output"]["execution_log"][0]["attempts"] == 2
    assert always["runtimeStatus"] == "Failed"
    assert always["customStatus"]["error"] == {
        "error_type": "CONTEXT_ASSEMBLY_ERROR",
        "message": "Demand Agent failed after 2 attempt(s): "
        "The database stayed locked by another writer.",
        "agent_name": "Demand Agent",
    }
    assert len(SCRIPT.calls_to("demand_agent", "wf-always")) == 2


async def test_publishing_failures_never_fail_the_workflow(runtime):
    SCRIPT.set("publish_message", "fail_always")

    status = await run(runtime)

    assert status["runtimeStatus"] == "Completed"
    assert len(status["output"]["results"]) == 3


async def test_twenty_concurrent_workflows_do_not_cross_talk(runtime):
    ids = [f"wf-{n}" for n in range(20)]
    statuses = await asyncio.gather(
        *(run(runtime, wid, weeks=4 + n, timeout=30) for n, wid in enumerate(ids))
    )

    for n, (wid, status) in enumerate(zip(ids, statuses, strict=True)):
        assert status["runtimeStatus"] == "Completed", status
        results = status["output"]["results"]
        assert {r["workflow_id"] for r in results.values()} == {wid}
        assert results["Demand Agent"]["total_demand"] == 100 * (4 + n)
        assert status["output"]["session_id"] == f"session-{wid}"
        assert len(published(wid)) == 9


async def test_replaying_a_recorded_history_gives_the_same_decisions(runtime):
    SCRIPT.set("pricing_agent", "fail", times=1)
    status = await run(runtime)
    assert status["runtimeStatus"] == "Completed"
    recorded = await runtime.history("wf-1")
    started = next(e for e in recorded if e["EventType"] == h.EventType.EXECUTION_STARTED)
    entry = index_app(app)[ORCHESTRATOR_NAME]
    replay = [e for e in recorded if e["EventType"] != h.EventType.EXECUTION_COMPLETED]
    context = h.orchestration_context_json("wf-1", replay, len(replay), started["Input"])

    first, error = invoke_orchestrator(entry, context)
    second, _ = invoke_orchestrator(entry, context)

    assert error is None and first == second
    assert first["isDone"] is True and first["output"] == status["output"]
    scheduled = [
        (e["EventId"], e.get("Name"))
        for e in recorded
        if e["EventType"] in (h.EventType.TASK_SCHEDULED, h.EventType.TIMER_CREATED)
    ]
    actions = h.flatten_actions(first["actions"])
    assert len(actions) == len(scheduled)
    assert [a.get("functionName") for a in actions] == [name for _, name in scheduled]
    assert [task_id for task_id, _ in scheduled] == list(range(len(scheduled)))


async def test_restart_mid_workflow_resumes_without_repeating_agent_one(tmp_path):
    SCRIPT.reset()
    url = f"sqlite:///{tmp_path}/hub.db"
    SCRIPT.set("inventory_agent", "hang")
    parameters = SeasonParameters.model_validate(PARAMETERS)
    workflow_input = json.dumps(
        build_workflow_input(
            "wf-r", "session-r", "CAT-1", parameters, fast_settings(), owner_id="planner-1"
        )
    )
    first = DurableRuntime(app, url)
    await first.start()
    await first.start_new(ORCHESTRATOR_NAME, "wf-r", workflow_input)
    for _ in range(500):
        status = await first.get_status("wf-r")
        assert status is not None
        if (status["customStatus"] or {}).get("completed_agents") == ["Demand Agent"] and (
            SCRIPT.calls_to("inventory_agent", "wf-r")
        ):
            break
        await asyncio.sleep(0.01)
    await first.stop()
    SCRIPT.set("inventory_agent", "ok")

    try:
        async with DurableRuntime(app, url) as second:
            status = await second.wait_for("wf-r", 15)
        assert status is not None and status["runtimeStatus"] == "Completed"
        assert len(status["output"]["results"]) == 3
        assert len(SCRIPT.calls_to("demand_agent", "wf-r")) == 1
        assert len(SCRIPT.calls_to("inventory_agent", "wf-r")) == 2
    finally:
        SCRIPT.reset()
