"""The command-line planner: message handling, rendering, and the whole flow over real HTTP and a
real WebSocket against the local host serving the contract test harness."""

from __future__ import annotations

import argparse
import contextlib
import json

import pytest
from rich.console import Console

from localdev import plan_cli
from localdev.host import HostPlugins, LocalOptions, free_port, start_host
from localdev.planner import PlanBoard, PlanOutcome, run_plan
from tests.contract_harness import Harness, realistic_results
from shared.schemas import SeasonParameters

STRATEGY = "Spring dresses, 12 weeks from March 3 2025, weekly replenishment, hold back 45%"


def msg(seq: int | None, **fields):
    data = {"workflow_id": "w1", **fields}
    if seq is not None:
        data["sequence"] = seq
    return data


def test_board_applies_each_message_once_and_never_moves_backwards():
    board = PlanBoard()
    assert board.apply(msg(1, type="agent_status", agent_name="Demand Agent", status="running"))
    assert board.apply(msg(3, type="progress", agent_name="Demand Agent", progress=60, message="late"))
    assert board.gap  # 2 is missing
    assert board.apply(msg(2, type="progress", agent_name="Demand Agent", progress=30, message="early"))
    assert not board.gap
    assert not board.apply(msg(3, type="progress", agent_name="Demand Agent", progress=60, message="late"))
    demand = board.agents["Demand Agent"]
    assert (demand.status, demand.progress, demand.message) == ("running", 60, "late")
    board.apply(msg(4, type="complete", agent_name="Demand Agent", result={"total_demand": 10}))
    board.apply(msg(5, type="agent_status", agent_name="Demand Agent", status="running"))
    assert (demand.status, demand.progress, demand.result) == ("completed", 100, {"total_demand": 10})
    assert [m["sequence"] for m in board.messages] == [1, 3, 2, 4, 5]
    assert not board.finished


def test_board_heartbeats_invalid_messages_and_errors():
    board = PlanBoard()
    assert board.apply({"type": "heartbeat", "timestamp": "2025-11-04T10:30:00Z"})
    assert not board.apply({"type": "progress", "agent_name": "Nobody", "progress": 5, "message": "x"})
    assert not board.apply({"type": "progress", "agent_name": "Demand Agent", "progress": 101, "message": "x"})
    board.apply(msg(1, type="error", agent_name="Inventory Agent", error_message="Data not found", error_type="DATA_NOT_FOUND"))
    assert board.finished and board.failed_agent.name == "Inventory Agent"
    assert board.failed_agent.error_type == "DATA_NOT_FOUND"
    assert len(board.messages) == 2


def outcome_with_results() -> PlanOutcome:
    params = SeasonParameters(
        forecast_horizon_weeks=12, season_start_date="2025-03-03",
        replenishment_strategy="weekly", dc_holdback_percentage=0.45,
    )
    results = {k: v.model_dump(mode="json") for k, v in realistic_results(params).items()}
    return PlanOutcome(
        status="completed", parameters=params.model_dump(mode="json"), workflow_id="w1", results=results
    )


def test_plan_renders_forecast_clusters_allocations_and_markdowns():
    outcome = outcome_with_results()
    console = Console(record=True, width=140)
    console.print(plan_cli.render_plan(outcome, top=5))
    text = console.export_text()
    forecast = outcome.results["forecast"]
    assert "2025-03-03" in text and "2025-05-19" in text  # first and 12th week
    first = forecast["forecast_by_week"][0]
    assert f"{first['units']:,.0f}" in text and f"{first['upper']:,.0f}" in text
    assert f"{forecast['total_demand']:,}" in text
    assert "Fashion-forward urban" in text and "Value rural" in text
    assert "Store allocations (top 5 of 50)" in text
    assert f"{outcome.results['inventory']['manufacturing_qty']:,}" in text
    assert "40%" in text and "47.40" in text  # week-12 markdown and its price


def test_board_rendering_shows_each_agent_status_and_progress():
    board = PlanBoard()
    board.apply(msg(1, type="progress", agent_name="Demand Agent", progress=45, message="Loading historical data..."))
    board.apply(msg(2, type="error", agent_name="Pricing Agent", error_message="Data not found"))
    console = Console(record=True, width=140)
    console.print(plan_cli.render_board(board))
    lines = console.export_text().splitlines()
    assert "running" in lines[0] and "45%" in lines[0] and "Loading historical data" in lines[0]
    assert "pending" in lines[1] and "0%" in lines[1]
    assert "failed" in lines[2] and "Data not found" in lines[2]


@contextlib.asynccontextmanager
async def harness_host(harness: Harness):
    plugins = HostPlugins(configure=[harness.configure])
    async with start_host(
        LocalOptions(port=free_port()), functions_app=harness.function_app(), plugins=plugins, run_timers=False
    ) as url:
        yield url


async def test_run_plan_streams_reconnects_catches_up_and_fetches_results():
    harness = Harness(message_delay=0.02, drop_after=6)
    updates: list[int] = []
    async with harness_host(harness) as url:
        outcome = await run_plan(
            url, STRATEGY, category_id="womens_dresses", timeout=30, poll_interval=0.5,
            on_update=lambda board: updates.append(len(board.messages)),
        )
    assert outcome.status == "completed", outcome.error
    assert harness.drops == 1
    sequences = [m["sequence"] for m in outcome.board.messages]
    assert sorted(sequences) == list(range(1, 3 * 6 + 1))  # every message once, despite the drop
    assert all(a.status == "completed" for a in outcome.board.agents.values())
    assert outcome.runtime_status == "completed"
    assert outcome.results["forecast"]["horizon_weeks"] == 12
    assert len(outcome.results["inventory"]["clusters"]) == 3
    assert outcome.results["pricing"]["full_price"] == 79.0
    assert updates and updates == sorted(updates)
    document = outcome.document()
    assert set(document) == {"parameters", "workflow_id", "status", "messages", "results", "error"}
    assert set(document["results"]) == {"forecast", "inventory", "pricing"}
    json.dumps(document)


async def test_run_plan_reports_a_failed_agent_and_keeps_finished_results():
    harness = Harness(message_delay=0.01, fail_agent="Inventory Agent")
    async with harness_host(harness) as url:
        outcome = await run_plan(url, STRATEGY, timeout=30, poll_interval=0.5)
    assert outcome.status == "failed"
    assert outcome.error["error_type"] == "DATA_NOT_FOUND"
    assert outcome.error["details"] == {"agent_name": "Inventory Agent"}
    assert outcome.results["forecast"] is not None and outcome.results["inventory"] is None


async def test_run_plan_passes_the_api_error_response_through():
    async with harness_host(Harness()) as url:
        outcome = await run_plan(url, "too short", timeout=10)
    assert outcome.status == "failed" and outcome.workflow_id is None
    assert outcome.error["error_type"] == "INVALID_PARAMETERS"
    assert outcome.error["request_id"]


def test_run_plan_unreachable_app_is_a_connection_error():
    import asyncio

    outcome = asyncio.run(run_plan(f"http://127.0.0.1:{free_port()}", STRATEGY, timeout=5))
    assert outcome.status == "failed" and outcome.error["error_type"] == "CONNECTION_ERROR"


def args_for(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    plan_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("fail_agent", [None, "Pricing Agent"])
def test_json_mode_prints_one_document_and_sets_the_exit_code(capsys, fail_agent):
    harness = Harness(message_delay=0.01, fail_agent=fail_agent)
    code = plan_cli.main(args_for(STRATEGY, "--json", "--timeout", "30"), embedded=lambda: harness_host(harness))
    out = capsys.readouterr().out
    document = json.loads(out)  # exactly one JSON document, nothing else
    assert out.count("\n") == 1
    assert code == (0 if fail_agent is None else 1)
    assert document["status"] == ("completed" if fail_agent is None else "failed")
    assert document["messages"][0]["type"] == "agent_status"
    assert document["parameters"]["forecast_horizon_weeks"] == 12


def test_human_mode_shows_progress_then_tables_and_errors_on_stderr(capsys):
    harness = Harness(message_delay=0.01, fail_agent="Pricing Agent")
    code = plan_cli.main(args_for(STRATEGY, "--timeout", "30"), embedded=lambda: harness_host(harness))
    captured = capsys.readouterr()
    assert code == 1
    assert "Demand Agent" in captured.out and "completed" in captured.out
    assert "Demand forecast" in captured.out and "Store clusters" in captured.out
    assert "DATA_NOT_FOUND" in captured.err and "DATA_NOT_FOUND" not in captured.out
