"""End to end on the real stack: the real app served by the local host with the `local_stack`
plug-ins (seeded SQLite database, Web PubSub emulator, Durable runtime) on free ports, planned by
the real planner over HTTP and WebSocket, and by the command line as a user runs it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from localdev.cli import plan as plan_cli
from localdev.cli.planner import PlanOutcome, run_plan
from shared.agents import AGENT_NAMES, AgentKey
from shared.data.db import get_engine
from shared.data.results_store import load_result
from shared.results import DemandResult, InventoryResult, PricingResult
from tests.support.errors import ERROR_KEYS
from tests.support.extraction import SPEC
from tests.support.live_stack import FAST_SETTINGS, LiveStack, live_stack, pin_sample
from tests.support.planner import PLAN_DOCUMENT_KEYS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCOMPLETE_STRATEGY = "Plan the spring dresses season for our stores please."


def cli(*argv: str, cwd: Path, database_url: str) -> subprocess.Popen[str]:
    """`python -m localdev plan ...` as a user runs it, on its own database, rules extraction."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("WebPubSubConnectionString", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY")
    }
    env.update(FAST_SETTINGS, DATABASE_URL=database_url, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "localdev", "plan", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def embedded_cli(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """The command line with its own embedded stack, started before anything else in this
    module so that its process (imports, stack start, plan) overlaps the in-process tests."""
    directory = tmp_path_factory.mktemp("cli")
    pin_sample(f"sqlite:///{directory / 'cli.db'}")
    process = cli(
        SPEC,
        "--json",
        "--timeout",
        "60",
        cwd=directory,
        database_url=f"sqlite:///{directory / 'cli.db'}",
    )
    yield process, directory
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, embedded_cli: tuple[subprocess.Popen[str], Path]
) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest.fixture(scope="module")
def planned(stack: LiveStack) -> PlanOutcome:
    """One plan of the specification's example, run once for the whole module."""
    return asyncio.run(run_plan(stack.base_url, SPEC, timeout=60, poll_interval=0.5))


def get_json(stack: LiveStack, path: str, **params: str) -> tuple[int, Any]:
    response = httpx.get(stack.base_url + path, params=params, timeout=30)
    assert response.headers["x-request-id"]
    return response.status_code, response.json()


def agent_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workflow's messages in publishing order (heartbeats carry no sequence)."""
    numbered = [m for m in messages if m["type"] != "heartbeat"]
    return sorted(numbered, key=lambda m: m["sequence"])


def assert_agent_timeline(messages: list[dict[str, Any]], agent: str) -> None:
    """agent_status running -> progress (non-decreasing) -> complete [-> agent_status completed]."""
    own = [m for m in messages if m["agent_name"] == agent]
    assert (own[0]["type"], own[0].get("status")) == ("agent_status", "running"), own[0]
    tail = own[-1]
    if tail["type"] == "agent_status":
        assert tail["status"] == "completed", tail
        own = own[:-1]
    assert own[-1]["type"] == "complete", own[-1]
    middle = own[1:-1]
    assert middle and all(m["type"] == "progress" for m in middle), [m["type"] for m in middle]
    values = [m["progress"] for m in middle]
    assert values == sorted(values) and all(0 <= v <= 100 for v in values), values


def test_the_plan_completes_with_every_agent_in_order(planned: PlanOutcome):
    assert planned.status == "completed", planned.error
    assert planned.error is None and planned.runtime_status == "completed"
    params = planned.parameters
    assert params is not None
    assert params["forecast_horizon_weeks"] == 12 and params["season_start_date"] == "2025-01-01"
    assert params["season_end_date"] == "2025-03-26"
    assert params["replenishment_strategy"] == "weekly"
    assert params["dc_holdback_percentage"] == 0.15 and params["unit_target"] == 8000

    messages = agent_messages(planned.board.messages)
    assert [m["sequence"] for m in messages] == list(range(1, len(messages) + 1))
    assert {m["workflow_id"] for m in messages} == {planned.workflow_id}
    assert {m["session_id"] for m in messages} == {planned.session_id}
    agents_in_order = list(dict.fromkeys(m["agent_name"] for m in messages))
    assert agents_in_order == list(AGENT_NAMES)
    for agent in AGENT_NAMES:
        assert_agent_timeline(messages, agent)
    assert all(a.status == "completed" for a in planned.board.agents.values())
    complete = {m["agent_name"]: m["result"] for m in messages if m["type"] == "complete"}
    assert complete["Demand Agent"]["weeks"] == 12
    assert complete["Inventory Agent"]["manufacturing_qty"] == 8000


def test_result_endpoints_return_the_persisted_plan(stack: LiveStack, planned: PlanOutcome):
    workflow_id = planned.workflow_id
    assert workflow_id is not None
    engine = get_engine(stack.database_url)
    routes: list[tuple[str, AgentKey, type[BaseModel], str]] = [
        ("forecasts", "demand", DemandResult, "forecast"),
        ("allocations", "inventory", InventoryResult, "inventory"),
        ("markdowns", "pricing", PricingResult, "pricing"),
    ]
    for path, agent, model, key in routes:
        status, body = get_json(stack, f"/api/{path}/{workflow_id}")
        assert status == 200, body
        stored = load_result(engine, workflow_id, agent, model)
        assert stored is not None
        assert body == stored.model_dump(mode="json")
        assert planned.results[key] == body

    forecast = DemandResult.model_validate(planned.results["forecast"])
    assert forecast.horizon_weeks == 12 and len(forecast.forecast_by_week) == 12
    starts = [w.week_start for w in forecast.forecast_by_week]
    assert starts == [date(2025, 1, 1) + timedelta(weeks=i) for i in range(12)]
    assert all(w.lower <= w.units <= w.upper for w in forecast.forecast_by_week)
    assert forecast.total_demand > 0 and len(forecast.store_forecast) == 50

    inventory = InventoryResult.model_validate(planned.results["inventory"])
    allocated = sum(s.initial_allocation for c in inventory.clusters for s in c.stores)
    assert allocated == inventory.initial_allocation_total
    assert allocated + inventory.dc_holdback_total == inventory.manufacturing_qty == 8000
    assert inventory.dc_holdback_total == 1200  # 15 % held back at the DC
    # The policy delivers what the stores need, never more than the DC holds.
    assert sum(s.units for s in inventory.replenishment_schedule) <= inventory.dc_holdback_total
    assert "topped up" in inventory.replenishment_policy
    assert sum(len(c.stores) for c in inventory.clusters) == 50

    pricing = PricingResult.model_validate(planned.results["pricing"])
    assert all(1 <= m.week_number <= 12 for m in pricing.markdowns)
    assert 0 <= pricing.expected_sell_through <= 1


def test_store_clusters_are_the_plans_clusters(stack: LiveStack, planned: PlanOutcome):
    inventory = planned.results["inventory"]
    expected = [
        (c["cluster_id"], c["cluster_label"], [s["store_id"] for s in c["stores"]])
        for c in inventory["clusters"]
    ]
    assert planned.workflow_id is not None
    for params in ({"workflow_id": planned.workflow_id}, {}):
        status, body = get_json(stack, "/api/stores/clusters", **params)
        assert status == 200, body
        assert body["workflow_id"] == planned.workflow_id
        served = [(c["cluster_id"], c["cluster_label"], c["store_ids"]) for c in body["clusters"]]
        assert served == expected
        assert [c["total_units"] for c in body["clusters"]] == [
            c["total_units"] for c in inventory["clusters"]
        ]


def test_workflow_status_shows_completed_with_its_execution_log(
    stack: LiveStack, planned: PlanOutcome
):
    status, body = get_json(stack, f"/api/orchestrator/workflows/{planned.workflow_id}")
    assert status == 200, body
    assert body["runtime_status"] == "Completed" and body["status"] == "completed"
    assert body["session_id"] == planned.session_id and body["progress"] == 100
    log = body["execution_log"]
    assert [(e["agent_name"], e["status"], e["attempts"]) for e in log] == [
        (name, "completed", 1) for name in AGENT_NAMES
    ]
    assert all(e["duration_ms"] >= 0 for e in log)
    assert body["output"]["status"] == "completed"
    assert set(body["output"]["results"]) == set(AGENT_NAMES)
    assert body["output"]["results"]["Inventory Agent"]["manufacturing_qty"] == 8000


def test_command_line_json_mode_prints_one_document_of_the_plan(
    embedded_cli: tuple[subprocess.Popen[str], Path],
):
    process, directory = embedded_cli
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    document = json.loads(out)  # one JSON document and nothing else on stdout
    assert out.strip().count("\n") == 0
    assert set(document) == PLAN_DOCUMENT_KEYS
    assert document["status"] == "completed" and document["error"] is None
    assert set(document["results"]) == {"forecast", "inventory", "pricing"}
    assert document["results"]["inventory"]["manufacturing_qty"] == 8000
    assert document["results"]["forecast"]["horizon_weeks"] == 12
    messages = agent_messages(document["messages"])
    assert [m["sequence"] for m in messages] == list(range(1, len(messages) + 1))
    assert (directory / "cli.db").exists() and not (directory / "fashion_forecast.db").exists()


def test_command_line_reports_a_failed_plan_with_the_error_response(
    stack: LiveStack, capsys: pytest.CaptureFixture[str]
):
    parser = argparse.ArgumentParser()
    plan_cli.add_arguments(parser)
    args = parser.parse_args([INCOMPLETE_STRATEGY, "--json", "--url", stack.base_url])

    assert plan_cli.main(args) == 1

    out = capsys.readouterr().out
    document = json.loads(out)
    assert set(document) == PLAN_DOCUMENT_KEYS
    assert document["status"] == "failed" and document["workflow_id"] is None
    error = document["error"]
    assert set(error) == ERROR_KEYS
    assert error["error_type"] == "PARAMETER_EXTRACTION_ERROR"
    assert "forecast_horizon_weeks" in json.dumps(error["details"])
    assert error["request_id"] and error["request_id"] != "-"
