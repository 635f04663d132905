"""The real agent activities, driven by the local Durable runtime over the real function_app: the
real orchestrator schedules them, they load their context from a seeded SQLite database, run the
agents, persist the full results, publish progress to the Web PubSub emulator, and hand back
summaries. The failure path uses real data too: a category whose history is too short to
forecast."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

import function_app
from localdev.durable import DurableRuntime
from localdev.host.server import free_port
from localdev.sample_data import ensure_sample_data
from localdev.webpubsub.launch import RunningEmulator, start_emulator
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.activity_inputs import AgentTask
from shared.agents import AGENT_NAMES
from shared.data.db import get_engine
from shared.data.events import complete_key, fetch_events, has_event, message_key
from shared.data.results_store import list_results, load_result
from shared.results import DemandResult, InventoryResult, PricingResult
from shared.schemas import SeasonParameters
from shared.settings import Settings
from tests.support.live_stack import import_short_category, reset_app_caches
from tests.support.messages import assert_documented_order

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACCESS_KEY = "AgentActivitiesTestKey0123456789ABCDEFGHIJKLMN"
WEBPUBSUB_SETTING = "WebPubSubConnectionString"  # the app setting, spelled as on Azure
SHORT_CATEGORY = "trial_capsule"
SHORT_WEEKS = 30
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TIMER_CREATED = 10
ORCHESTRATOR_STARTED = 12
PARAMETERS = SeasonParameters(
    forecast_horizon_weeks=10,
    season_start_date="2025-01-01",
    replenishment_strategy="weekly",
    dc_holdback_percentage=0.25,
)
# Test-sized pauses between attempts; the policy (3 attempts) and the timeouts stay as shipped.
SETTINGS = Settings(agent_retry_interval_ms=20)


@dataclass(frozen=True)
class Hub:
    runtime: DurableRuntime
    database_url: str


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('activities') / 'app.db'}"
    ensure_sample_data(get_engine(url), stores=20, weeks=104, categories=2)
    import_short_category(url, SHORT_CATEGORY, weeks=SHORT_WEEKS, stores=20)
    return url


@pytest.fixture(scope="module")
def app_settings(database_url: str) -> Iterator[None]:
    """The activities read DATABASE_URL and the Web PubSub connection from app settings."""
    names = ("DATABASE_URL", "WebPubSubConnectionString")
    saved = {name: os.environ.get(name) for name in names}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_app_caches(database_url)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hub(database_url: str, app_settings: None) -> AsyncIterator[Hub]:
    emulator: RunningEmulator = await start_emulator(access_key=ACCESS_KEY)
    os.environ["DATABASE_URL"] = database_url
    os.environ[WEBPUBSUB_SETTING] = emulator.connection_string
    reset_app_caches(database_url)
    runtime = DurableRuntime(function_app.app, database_url)
    await runtime.start()
    try:
        yield Hub(runtime, database_url)
    finally:
        await runtime.stop()
        await emulator.stop()


async def run_workflow(hub: Hub, category_id: str) -> tuple[str, dict[str, Any]]:
    workflow_id = str(uuid.uuid4())
    workflow_input = build_workflow_input(
        workflow_id,
        f"session-{workflow_id[:8]}",
        category_id,
        PARAMETERS,
        SETTINGS,
        owner_id="planner-1",
    )
    await hub.runtime.start_new(ORCHESTRATOR_NAME, workflow_id, json.dumps(workflow_input))
    status = await hub.runtime.wait_for(workflow_id, 60)
    assert status is not None
    return workflow_id, status


async def scheduled_activities(hub: Hub, workflow_id: str) -> list[str]:
    history = await hub.runtime.history(workflow_id)
    return [e["Name"] for e in history if e["EventType"] == TASK_SCHEDULED]


async def timers_created(hub: Hub, workflow_id: str) -> int:
    history = await hub.runtime.history(workflow_id)
    return sum(1 for e in history if e["EventType"] == TIMER_CREATED)


async def publish_results(hub: Hub, workflow_id: str) -> list[dict[str, Any]]:
    """What each publish_message activity returned ({"sequences": [...]})."""
    history = await hub.runtime.history(workflow_id)
    publishes = {
        e["EventId"]
        for e in history
        if e["EventType"] == TASK_SCHEDULED and e["Name"] == "publish_message"
    }
    return [
        json.loads(e["Result"])
        for e in history
        if e["EventType"] == TASK_COMPLETED and e["TaskScheduledId"] in publishes
    ]


async def test_the_agents_run_persist_and_summarise(hub: Hub):
    workflow_id, status = await run_workflow(hub, "outerwear")

    assert status["runtimeStatus"] == "Completed", status["output"]
    output = status["output"]
    assert output["status"] == "completed" and output["category_id"] == "outerwear"
    assert list(output["results"]) == list(AGENT_NAMES)
    custom = status["customStatus"]
    assert custom["results"] == output["results"]
    assert [(e["agent_name"], e["status"], e["attempts"]) for e in custom["execution_log"]] == [
        (name, "completed", 1) for name in AGENT_NAMES
    ]

    engine = get_engine(hub.database_url)
    assert list(list_results(engine, workflow_id)) == ["demand", "inventory", "pricing"]
    demand = load_result(engine, workflow_id, "demand", DemandResult)
    inventory = load_result(engine, workflow_id, "inventory", InventoryResult)
    pricing = load_result(engine, workflow_id, "pricing", PricingResult)
    assert demand is not None and inventory is not None and pricing is not None
    # What went through the orchestrator is exactly each persisted result's summary.
    assert output["results"]["Demand Agent"] == demand.summary().model_dump(mode="json")
    assert output["results"]["Inventory Agent"] == inventory.summary().model_dump(mode="json")
    assert output["results"]["Pricing Agent"] == pricing.summary().model_dump(mode="json")
    assert demand.category_id == "outerwear" and len(demand.forecast_by_week) == 10
    assert inventory.manufacturing_qty == demand.total_demand + demand.safety_stock_units
    assert sum(len(c.stores) for c in inventory.clusters) == 20
    assert len(json.dumps(output)) < 4096  # summaries, never per-row data

    messages = fetch_events(engine, workflow_id).events
    assert_documented_order(messages, list(AGENT_NAMES))
    assert [m["agent_name"] for m in messages if m["type"] == "complete"] == list(AGENT_NAMES)
    # One agent after another: an agent's complete + completed (recorded by the next agent's
    # activity) come before that agent's running, and carry the summary the orchestrator accepted.
    names = [m["agent_name"] for m in messages]
    assert names == sorted(names, key=list(AGENT_NAMES).index)
    completes = {m["agent_name"]: m["result"] for m in messages if m["type"] == "complete"}
    assert completes == output["results"]
    # Per agent: its activity and its deadline timer; each agent's activity announces the one
    # before it, so the orchestrator publishes only the last agent's result.
    scheduled = await scheduled_activities(hub, workflow_id)
    assert scheduled == ["demand_agent", "inventory_agent", "pricing_agent", "publish_message"]
    assert await timers_created(hub, workflow_id) == 3
    history = await hub.runtime.history(workflow_id)
    # Episodes: the start, one per agent's result, one after the publish.
    assert sum(1 for e in history if e["EventType"] == ORCHESTRATOR_STARTED) == 5
    published = await publish_results(hub, workflow_id)
    assert [len(p["sequences"]) for p in published] == [2]  # Pricing's complete + completed


async def test_a_too_short_history_fails_the_demand_agent_once_with_data_not_found(hub: Hub):
    workflow_id, status = await run_workflow(hub, SHORT_CATEGORY)

    assert status["runtimeStatus"] == "Failed"
    custom = status["customStatus"]
    assert custom["status"] == "failed" and custom["results"] == {}
    error = custom["error"]
    assert error["error_type"] == "DATA_NOT_FOUND" and error["agent_name"] == "Demand Agent"
    assert error["message"].startswith(
        f"Category '{SHORT_CATEGORY}' has {SHORT_WEEKS} weeks of history before the season "
        "start 2025-01-01; at least 52 are needed (history: the weeks of "
    )
    assert error["suggestions"][0].startswith("Start the season on or after ")
    assert error["message"] in status["output"]
    assert custom["execution_log"] == [
        {
            **custom["execution_log"][0],
            "agent_name": "Demand Agent",
            "status": "failed",
            "attempts": 1,
            "error_type": "DATA_NOT_FOUND",
        }
    ]

    scheduled = await scheduled_activities(hub, workflow_id)
    assert [name for name in scheduled if name != "publish_message"] == ["demand_agent"]
    assert list_results(get_engine(hub.database_url), workflow_id) == {}
    messages = fetch_events(get_engine(hub.database_url), workflow_id).events
    assert_documented_order(messages, ["Demand Agent"], failed="Demand Agent")
    errors = [m for m in messages if m["type"] == "error"]
    assert len(errors) == 1 and errors[0]["error_type"] == "DATA_NOT_FOUND"
    assert errors[0]["error_message"] == error["message"]


async def test_an_unknown_category_fails_with_the_categories_that_exist(hub: Hub):
    workflow_id, status = await run_workflow(hub, "no_such_category")

    assert status["runtimeStatus"] == "Failed"
    error = status["customStatus"]["error"]
    assert "Unknown category 'no_such_category'" in error["message"]
    assert "outerwear" in error["message"]
    assert error["error_type"] == "DATA_NOT_FOUND"
    assert status["customStatus"]["execution_log"][0]["attempts"] == 1
    assert list_results(get_engine(hub.database_url), workflow_id) == {}


async def test_a_deadline_that_passes_while_the_host_is_down(hub: Hub):
    """The host stops while the Inventory agent runs and comes back after its deadline: the
    workflow fails with AGENT_TIMEOUT, and neither the abandoned attempt nor its re-run is
    visible (no result accepted, nothing logged after the terminal message). Both stop at
    their next deadline check (shared/deadline.py) instead of working on: nothing is stored."""
    engine = get_engine(hub.database_url)
    settings = Settings(agent_retry_interval_ms=20, inventory_agent_timeout_seconds=1.5)
    workflow_id = str(uuid.uuid4())
    workflow_input = build_workflow_input(
        workflow_id,
        f"session-{workflow_id[:8]}",
        "outerwear",
        PARAMETERS,
        settings,
        owner_id="planner-1",
    )
    first = DurableRuntime(function_app.app, hub.database_url)
    await first.start()
    await first.start_new(ORCHESTRATOR_NAME, workflow_id, json.dumps(workflow_input))
    running = message_key(
        {"type": "agent_status", "agent_name": "Inventory Agent", "status": "running"}
    )
    for _ in range(3000):
        if has_event(engine, workflow_id, running):
            break
        await asyncio.sleep(0.005)
    # The write lock stalls the Inventory agent at its next progress message while the host
    # goes down; it stays down past the deadline, then the abandoned attempt runs on.
    lock = sqlite3.connect(hub.database_url.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    await first.stop()
    await asyncio.sleep(2.0)
    lock.execute("ROLLBACK")
    lock.close()
    async with DurableRuntime(function_app.app, hub.database_url) as second:
        status = await second.wait_for(workflow_id, 60)
        await asyncio.sleep(2.0)  # time enough for a late attempt to have finished

    assert status is not None and status["runtimeStatus"] == "Failed"
    error = status["customStatus"]["error"]
    assert error["error_type"] == "AGENT_TIMEOUT" and error["agent_name"] == "Inventory Agent"
    assert "inventory" not in list_results(engine, workflow_id)  # the late attempts stopped
    assert not has_event(engine, workflow_id, complete_key("Inventory Agent"))
    messages = fetch_events(engine, workflow_id).events
    assert_documented_order(messages, ["Demand Agent", "Inventory Agent"], failed="Inventory Agent")


async def test_the_workflow_completes_while_web_pubsub_is_down(hub: Hub):
    emulator_connection = os.environ[WEBPUBSUB_SETTING]
    os.environ[WEBPUBSUB_SETTING] = (
        f"Endpoint=http://127.0.0.1:{free_port()};AccessKey={ACCESS_KEY};Version=1.0;"
    )
    reset_app_caches(hub.database_url)
    try:
        workflow_id, status = await run_workflow(hub, "outerwear")
    finally:
        os.environ[WEBPUBSUB_SETTING] = emulator_connection
        reset_app_caches(hub.database_url)

    assert status["runtimeStatus"] == "Completed", status["output"]
    # Nothing is lost: every message is in the event log for clients to catch up from.
    messages = fetch_events(get_engine(hub.database_url), workflow_id).events
    assert_documented_order(messages, list(AGENT_NAMES))


async def test_a_task_started_by_an_earlier_version_still_validates():
    """Orchestrations started before `previous` was dropped still pass it: it is ignored."""
    task = AgentTask.model_validate(
        {
            "workflow_id": "wf-1",
            "session_id": "s",
            "owner_id": "planner-1",
            "category_id": "outerwear",
            "parameters": PARAMETERS.model_dump(mode="json"),
            "previous": {"Demand Agent": {"total_demand": 1200}},
        }
    )
    assert task.workflow_id == "wf-1" and task.parameters == PARAMETERS
    assert "previous" not in task.model_dump()


def test_pricing_takes_the_categorys_own_vendor_lead_time_in_a_plan_and_a_live_season_alike():
    from activities.agent_runs import pricing_inputs
    from shared.data.context import CategoryInfo

    category = CategoryInfo(
        category_id="denim",
        name="Denim",
        full_price=69.0,
        unit_cost=24.0,
        salvage_fraction=0.3,
        price_elasticity=-2.0,
        currency="EUR",
        vendor_lead_weeks=5,
    )
    inputs = pricing_inputs(category)
    assert (inputs.full_price, inputs.unit_cost, inputs.salvage_fraction) == (69.0, 24.0, 0.3)
    assert (inputs.elasticity, inputs.currency, inputs.vendor_lead_weeks) == (-2.0, "EUR", 5)
