"""The command-line planner: message handling and rendering, and the whole flow over real HTTP and
a real WebSocket against the real app on the local stack (tests/support/live_stack.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import dataclasses
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from rich.console import Console

from localdev.cli import plan as plan_cli
from localdev.cli.planner import PlanBoard, PlanOutcome, default_connect, run_plan
from localdev.cli.result_pages import IncompletePagesError, fetch_paged, merge_pages
from localdev.host.server import free_port
from tests.support.live_stack import LiveStack, import_short_category, live_stack
from tests.support.lossy_pubsub import losing_one_message
from tests.support.planner import PLAN_DOCUMENT_KEYS

STRATEGY = "Spring denim, 12 weeks from March 3 2025, weekly replenishment, hold back 45%"
SHORT_CATEGORY = "trial_capsule"  # sorts after the sample's categories: never the default


def msg(seq: int | None, **fields):
    data = {"workflow_id": "w1", **fields}
    if seq is not None:
        data["sequence"] = seq
    return data


def test_board_applies_each_message_once_and_never_moves_backwards():
    board = PlanBoard()
    assert board.apply(msg(1, type="agent_status", agent_name="Demand Agent", status="running"))
    assert board.apply(
        msg(3, type="progress", agent_name="Demand Agent", progress=60, message="late")
    )
    assert board.gap  # 2 is missing
    assert board.apply(
        msg(2, type="progress", agent_name="Demand Agent", progress=30, message="early")
    )
    assert not board.gap
    assert not board.apply(
        msg(3, type="progress", agent_name="Demand Agent", progress=60, message="late")
    )
    demand = board.agents["Demand Agent"]
    assert (demand.status, demand.progress, demand.message) == ("running", 60, "late")
    board.apply(msg(4, type="complete", agent_name="Demand Agent", result={"total_demand": 10}))
    board.apply(msg(5, type="agent_status", agent_name="Demand Agent", status="running"))
    assert (demand.status, demand.progress, demand.result) == (
        "completed",
        100,
        {"total_demand": 10},
    )
    assert [m["sequence"] for m in board.messages] == [1, 3, 2, 4, 5]
    assert not board.finished


def test_board_heartbeats_invalid_messages_and_errors():
    board = PlanBoard()
    assert board.apply({"type": "heartbeat", "timestamp": "2025-11-04T10:30:00Z"})
    assert not board.apply(
        {"type": "progress", "agent_name": "Nobody", "progress": 5, "message": "x"}
    )
    assert not board.apply(
        {"type": "progress", "agent_name": "Demand Agent", "progress": 101, "message": "x"}
    )
    board.apply(
        msg(
            1,
            type="error",
            agent_name="Inventory Agent",
            error_message="Data not found",
            error_type="DATA_NOT_FOUND",
        )
    )
    assert board.failed_agent is not None
    assert board.finished and board.failed_agent.name == "Inventory Agent"
    assert board.failed_agent.error_type == "DATA_NOT_FOUND"
    assert len(board.messages) == 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("planner")) as running:
        import_short_category(running.database_url, SHORT_CATEGORY, weeks=30)
        yield running


class DroppingConnect:
    """Real WebSocket connections; the first one is cut after `after` frames, as a flaky
    network would, so the planner has to reconnect and catch up on what it missed.

    At the cut the database's write lock is taken for `hold` seconds: the plan stalls at its
    next message, so the planner certainly reconnects (after its 0.25 s back-off) while the plan
    still runs, however fast this machine finishes a plan."""

    def __init__(self, after: int, database: str, hold: float = 1.5) -> None:
        self.after = after
        self.database = database
        self.hold = hold
        self.opened = 0

    @contextlib.asynccontextmanager
    async def __call__(self, url: str) -> AsyncIterator[Any]:
        self.opened += 1
        async with default_connect(url) as ws:
            yield self._cut(ws) if self.opened == 1 else ws

    async def _cut(self, ws: Any) -> AsyncIterator[Any]:
        received = 0
        async for frame in ws:
            yield frame
            received += 1
            if received == self.after:
                lock = sqlite3.connect(self.database, timeout=30, isolation_level=None)
                lock.execute("BEGIN IMMEDIATE")
                asyncio.get_running_loop().call_later(self.hold, _release, lock)
                await ws.close()
                return


def _release(lock: sqlite3.Connection) -> None:
    lock.execute("ROLLBACK")
    lock.close()


@pytest.fixture(scope="module")
def dropped(stack: LiveStack) -> DroppingConnect:
    return DroppingConnect(after=6, database=stack.database_url.removeprefix("sqlite:///"))


@pytest.fixture(scope="module")
def planned(stack: LiveStack, dropped: DroppingConnect) -> tuple[PlanOutcome, list[int]]:
    updates: list[int] = []
    outcome = asyncio.run(
        run_plan(
            stack.base_url,
            STRATEGY,
            timeout=60,
            poll_interval=0.5,
            connect=dropped,
            on_update=lambda board: updates.append(len(board.messages)),
        )
    )
    return outcome, updates


def test_run_plan_streams_reconnects_catches_up_and_fetches_results(planned, dropped):
    outcome, updates = planned
    assert outcome.status == "completed", outcome.error
    assert dropped.opened >= 2  # the cut connection was replaced
    sequences = [m["sequence"] for m in outcome.board.messages if m["type"] != "heartbeat"]
    assert sorted(sequences) == list(range(1, len(sequences) + 1))  # every message exactly once
    assert all(a.status == "completed" and a.progress == 100 for a in outcome.board.agents.values())
    assert outcome.runtime_status == "completed"
    assert outcome.parameters["season_start_date"] == "2025-03-03"
    assert outcome.results["forecast"]["horizon_weeks"] == 12
    assert outcome.results["inventory"]["dc_holdback_total"] > 0
    assert outcome.results["pricing"]["full_price"] > 0
    assert updates and updates == sorted(updates)
    document = outcome.document()
    assert set(document) == PLAN_DOCUMENT_KEYS
    assert "field_sources" not in document["parameters"]  # what was sent to run-workflow
    assert document["field_sources"]["season_start_date"] == "stated"
    assert document["field_sources"]["unit_target"] == "not_mentioned"
    # The category the text names is the one planned, with its source.
    assert document["parameters"]["category_id"] == "denim"
    assert document["field_sources"]["category_id"] == "stated"
    assert outcome.results["forecast"]["category_id"] == "denim"
    assert set(document["results"]) == {"forecast", "inventory", "pricing"}
    json.dumps(document)


def test_plan_renders_forecast_clusters_allocations_and_markdowns(planned):
    outcome, _ = planned
    console = Console(record=True, width=160)
    console.print(plan_cli.render_plan(outcome, top=5))
    text = console.export_text()
    results = outcome.results
    forecast, inventory, pricing = results["forecast"], results["inventory"], results["pricing"]
    weeks = forecast["forecast_by_week"]
    assert weeks[0]["week_start"] == "2025-03-03" and weeks[-1]["week_start"] == "2025-05-19"
    assert "2025-03-03" in text and "2025-05-19" in text
    assert f"{weeks[0]['units']:,.0f}" in text and f"{weeks[0]['upper']:,.0f}" in text
    assert f"{forecast['total_demand']:,}" in text
    assert all(c["cluster_label"] in text for c in inventory["clusters"])
    stores = sum(len(c["stores"]) for c in inventory["clusters"])
    assert f"Store allocations (top 5 of {stores})" in text
    assert f"{inventory['manufacturing_qty']:,}" in text
    assert f"{inventory['dc_holdback_total']:,}" in text
    for step in pricing["markdowns"]:
        assert f"{step['markdown_pct']:.0%}" in text and f"{step['price']:.2f}" in text
    assert re.search(r"Category\s+.\s+denim\s+.\s+from your text", text)


def test_the_terminal_plan_shows_the_season_in_a_planners_terms_to_the_unit(planned):
    """Stock flow, weeks of supply, money, buy plan and last year: each total the same number
    as in the JSON."""
    outcome, _ = planned
    console = Console(record=True, width=160)
    console.print(plan_cli.render_plan(outcome, top=5))
    text = console.export_text()
    forecast, inventory = outcome.results["forecast"], outcome.results["inventory"]
    season = outcome.results["pricing"]["season_plan"]
    money = season["money"]
    stores = [s for c in inventory["clusters"] for s in c["stores"]]
    for title in (
        "Weekly stock flow at the stores",
        "Weekly stock flow at the DC",
        "Money (USD)",
        "Buy plan: vendor receipts into the DC",
        "Store deliveries (units)",
        f"Total over all {len(stores)} stores",
    ):
        assert title in text
    flat = " ".join(text.split())
    assert "GMROI (season)" in text and "GMROI (annualised)" in text
    assert f"{money['gmroi_annualised']:.2f}" in text
    assert inventory["replenishment_policy"] in flat
    assert all(b["order_by"] in text for b in season["buy_plan"])
    lost = sum(w["lost_sales"] for w in season["weeks"])
    assert lost == season["lost_sales"]
    top = max(stores, key=lambda s: s["initial_allocation"])
    assert top["store_name"] in text and top["region"] in text
    assert f"Season ({len(forecast['forecast_by_week'])} weeks)" in text
    assert f"{forecast['last_year_total']:,}" in text
    received = sum(w["stores"]["receipts"] for w in season["weeks"])
    season_row = next(line for line in text.splitlines() if "Season (" in line)
    assert f"{forecast['total_demand']:,}" in season_row
    stock_row = next(
        line
        for line in text.splitlines()
        if line.split()[:1] == ["Season"] and line.split()[1][0].isdigit()
    )
    assert f"{received:,}" in stock_row and f"{money['units_sold']:,}" in stock_row
    assert f"${money['revenue']:,.2f}" in text and f"${money['gross_margin']:,.2f}" in text
    assert f"Gross margin ({money['gross_margin_pct']:.1%})" in text
    assert f"{sum(b['units'] for b in season['buy_plan']):,}" in text
    assert forecast["model_description"] in " ".join(text.split())


def test_the_demand_agents_warnings_are_shown_under_the_forecast(planned):
    outcome, _ = planned
    warned = dataclasses.replace(outcome, results=copy.deepcopy(outcome.results))
    warned.results["forecast"]["warnings"] = ["Under two years of history: intervals widened."]
    console = Console(record=True, width=160)
    console.print(plan_cli.render_plan(warned, top=5))
    assert "Demand warning: Under two years of history: intervals widened." in console.export_text()


def test_after_a_failure_the_agents_that_did_not_run_say_so():
    board = PlanBoard()
    board.apply(msg(1, type="agent_status", agent_name="Demand Agent", status="running"))
    board.apply(msg(2, type="error", agent_name="Demand Agent", error_message="No sales history."))
    console = Console(record=True, width=160)
    console.print(plan_cli.render_board(board))
    lines = console.export_text().splitlines()
    assert "No sales history." in lines[0]
    assert all("did not run: Demand Agent failed first" in line for line in lines[1:3])


def test_board_rendering_shows_each_agent_status_and_progress():
    board = PlanBoard()
    board.apply(
        msg(
            1,
            type="progress",
            agent_name="Demand Agent",
            progress=45,
            message="Loading historical data...",
        )
    )
    board.apply(msg(2, type="error", agent_name="Pricing Agent", error_message="Data not found"))
    console = Console(record=True, width=140)
    console.print(plan_cli.render_board(board))
    lines = console.export_text().splitlines()
    assert "running" in lines[0] and "45%" in lines[0] and "Loading historical data" in lines[0]
    assert "pending" in lines[1] and "0%" in lines[1]
    assert "failed" in lines[2] and "Data not found" in lines[2]


async def test_run_plan_reports_a_failed_agent(stack):
    outcome = await run_plan(
        stack.base_url, STRATEGY, category_id=SHORT_CATEGORY, timeout=60, poll_interval=0.5
    )
    assert outcome.status == "failed"
    assert outcome.runtime_status == "failed"
    assert outcome.error is not None
    # A data error: its own type, in words, after one attempt (no worker text, no class names).
    assert outcome.error["error_type"] == "DATA_NOT_FOUND"
    assert outcome.error["details"] == {"agent_name": "Demand Agent"}
    assert "30 weeks of history" in outcome.error["message"]
    assert not outcome.error["message"].startswith("Demand Agent failed: Demand Agent")
    statuses = [
        (m["agent_name"], m["status"])
        for m in outcome.board.messages
        if m["type"] == "agent_status"
    ]
    assert statuses[-1] == ("Demand Agent", "failed")  # the final message, after the error
    assert "Error" not in outcome.error["message"]
    demand = outcome.board.agents["Demand Agent"]
    assert demand.error is not None
    assert demand.status == "failed" and "at least 52" in demand.error
    assert [a.status for a in outcome.board.agents.values()] == ["failed", "pending", "pending"]
    assert outcome.results == {"forecast": None, "inventory": None, "pricing": None}


async def test_run_plan_passes_the_api_error_response_through(stack):
    outcome = await run_plan(stack.base_url, "too short", timeout=10)
    assert outcome.status == "failed" and outcome.workflow_id is None
    assert outcome.error is not None
    assert outcome.error["error_type"] == "INVALID_PARAMETERS"
    assert "strategy_description" in json.dumps(outcome.error["details"])
    assert outcome.error["request_id"]


async def test_run_plan_reports_an_unknown_category_before_starting(stack):
    outcome = await run_plan(stack.base_url, STRATEGY, category_id="no_such_category", timeout=10)
    assert outcome.status == "failed" and outcome.workflow_id is None
    assert outcome.error is not None
    assert outcome.error["error_type"] == "DATA_NOT_FOUND"
    assert SHORT_CATEGORY in outcome.error["details"]["available_categories"]


def test_run_plan_unreachable_app_is_a_connection_error():
    outcome = asyncio.run(run_plan(f"http://127.0.0.1:{free_port()}", STRATEGY, timeout=5))
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["error_type"] == "CONNECTION_ERROR"


async def test_a_401_from_the_app_says_how_to_sign_in(stack):
    """The app's own 401 (here: a principal header that is not what Easy Auth writes) keeps its
    ErrorResponse and gains the sign-in steps for the URL the planner talks to."""
    tampered = {"X-MS-CLIENT-PRINCIPAL-ID": "bob", "X-MS-CLIENT-PRINCIPAL": "not base64 json"}
    async with httpx.AsyncClient(base_url=stack.base_url, headers=tampered) as client:
        outcome = await run_plan(stack.base_url, STRATEGY, timeout=10, http=client)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error["request_id"] != "-"
    steps = " ".join(outcome.error["suggestions"])
    assert f"{stack.base_url}/.auth/login/aad" in steps and "--token" in steps


def test_easy_auths_bare_401_says_how_to_sign_in():
    """Easy Auth (Return401) answers without a body; it cannot run here, so it is replaced at the
    wire."""

    def easy_auth(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401)

    async def go() -> PlanOutcome:
        transport = httpx.MockTransport(easy_auth)
        async with httpx.AsyncClient(
            base_url="https://func-planner.azurewebsites.net",
            transport=transport,
        ) as client:
            return await run_plan(
                "https://func-planner.azurewebsites.net", STRATEGY, timeout=5, http=client
            )

    outcome = asyncio.run(go())
    assert outcome.error is not None and outcome.error["error_type"] == "SIGN_IN_REQUIRED"
    assert "extract-parameters answered 401" in outcome.error["message"]
    steps = " ".join(outcome.error["suggestions"])
    assert "https://func-planner.azurewebsites.net/.auth/login/aad" in steps
    assert "/.auth/me" in steps and "PLANNER_TOKEN" in steps


def test_the_token_option_defaults_to_planner_token(monkeypatch):
    monkeypatch.setenv("PLANNER_TOKEN", "from-env")
    assert args_for("a strategy of ten chars").token == "from-env"
    assert args_for("a strategy of ten chars", "--token", "given").token == "given"


def args_for(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    plan_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_human_mode_shows_live_progress_and_the_error_on_stderr(stack, capsys):
    code = plan_cli.main(
        args_for(STRATEGY, "--category", SHORT_CATEGORY, "--url", stack.base_url, "--timeout", "60")
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "Demand Agent" in captured.out and "failed" in captured.out
    assert "Inventory Agent" in captured.out and "pending" in captured.out
    assert "DATA_NOT_FOUND: Category 'trial_capsule' has 30 weeks of history" in captured.err
    assert "before the season start 2025-03-03" in " ".join(captured.err.split())
    assert "- Start the season on or after" in captured.err  # the agent's suggestions
    assert "request id" in captured.err
    assert "DATA_NOT_FOUND" not in captured.out
    # What the failed run was asked to plan, before the error: the year and category to check.
    parameters = captured.out[captured.out.index("Season parameters") :]
    assert re.search(r"Category\s+.\s+trial_capsule\s+.\s+from --category", parameters)
    assert re.search(r"Season starts\s+.\s+2025-03-03\s+.\s+from your text", parameters)


def test_embedded_host_is_used_without_url(stack, capsys):
    @contextlib.asynccontextmanager
    async def running_stack() -> AsyncIterator[str]:
        yield stack.base_url

    code = plan_cli.main(args_for("too short", "--json"), embedded=running_stack)
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and document["error"]["error_type"] == "INVALID_PARAMETERS"


def test_json_holds_every_message_up_to_the_final_agent_status(stack, capsys):
    code = plan_cli.main(args_for(STRATEGY, "--url", stack.base_url, "--json", "--timeout", "60"))
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""
    document = json.loads(captured.out)
    messages = [m for m in document["messages"] if m["type"] != "heartbeat"]
    logged = asyncio.run(_events(stack.base_url, document["workflow_id"]))
    assert [m["sequence"] for m in messages] == [m["sequence"] for m in logged]
    last = messages[-1]
    assert (last["type"], last["agent_name"], last["status"]) == (
        "agent_status",
        "Pricing Agent",
        "completed",
    )


async def _events(base_url: str, workflow_id: str) -> list[dict[str, Any]]:
    import httpx

    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get(f"/api/orchestrator/workflows/{workflow_id}/events?after=0")
    return [m for m in response.json()["events"] if m["type"] != "heartbeat"]


def test_json_mode_writes_the_error_to_stderr_too(stack, capsys):
    code = plan_cli.main(args_for("too short", "--url", stack.base_url, "--json"))
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["error"]["error_type"] == "INVALID_PARAMETERS"
    error = json.loads(captured.err)
    assert error["error_type"] == "INVALID_PARAMETERS" and error["request_id"]


def test_no_agent_rows_when_nothing_ran(stack, capsys):
    code = plan_cli.main(
        args_for("Weekly replenishment with 10% held back.", "--url", stack.base_url)
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "Agent" not in captured.out and "pending" not in captured.out
    assert "PARAMETER_EXTRACTION_ERROR" in captured.err
    assert "missing: Season length (weeks)" in captured.err


def test_piped_output_is_plain_lines(stack):
    """Through a real pipe: no cursor movement or colour codes, every line ends with a newline."""
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-m", "localdev", "plan", STRATEGY, "--url", stack.base_url, "--top", "3"],
        capture_output=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[3],
    )
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    assert out.endswith("\n") and "\r" not in out and "\x1b[" not in out
    lines = out.splitlines()
    agent_rows = [
        line
        for line in lines
        if line.lstrip().startswith(("Demand Agent", "Inventory Agent", "Pricing Agent"))
    ]
    assert len(agent_rows) == 3 and all("completed" in row and "100%" in row for row in agent_rows)
    assert "Season parameters" in out and "from your text" in out and "USD" in out


def test_plan_warnings_show_the_unit_target_check_first():
    outcome = PlanOutcome(status="completed")
    outcome.board.agents["Inventory Agent"].result = {
        "warnings": ["Holdback asked for but nothing is replenished."],
        "target_check": {
            "verdict": "below_80",
            "message": "The unit target is below the forecast.",
        },
    }
    outcome.results["inventory"] = {"warnings": ["Holdback asked for but nothing is replenished."]}
    assert plan_cli.plan_warnings(outcome) == [
        "The unit target is below the forecast.",
        "Holdback asked for but nothing is replenished.",
    ]
    outcome.board.agents["Inventory Agent"].result = {"warnings": 0}  # older summaries: a count
    assert plan_cli.plan_warnings(outcome) == ["Holdback asked for but nothing is replenished."]


@pytest.mark.parametrize(
    ("key", "route"), [("forecast", "forecasts"), ("inventory", "allocations")]
)
def test_results_come_in_store_pages_and_are_put_back_whole(planned, stack, key, route):
    """The planner reads per-store tables page by page; put together they are the whole result
    the server holds, with every store once (checked against the server's totals)."""
    outcome, _ = planned
    path = f"/api/{route}/{outcome.workflow_id}"
    whole = httpx.get(stack.base_url + path, timeout=30).json()

    async def small_pages() -> Any:
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
            return await fetch_paged(client, path, page_size=7)

    assert outcome.results[key] == whole
    assert asyncio.run(small_pages()) == whole


def test_pages_that_miss_stores_are_refused():
    pages = [
        {
            "store_forecast": [{"store_id": "S1", "share": 1.0, "units": 5.0}],
            "store_page": {"total_stores": 2, "next_offset": None},
        }
    ]
    with pytest.raises(IncompletePagesError):
        merge_pages(pages)


def test_a_message_the_socket_never_got_is_fetched_as_soon_as_the_gap_shows(stack, monkeypatch):
    """The service drops message 3 between the publisher and the socket; message 4 reveals the
    gap, and the planner fetches 3 from the event log at once (before anything later), not at
    the end and not never."""
    with losing_one_message(monkeypatch, lambda body: body.get("sequence") == 3) as lost:
        outcome = asyncio.run(run_plan(stack.base_url, STRATEGY, timeout=60, poll_interval=30))

    assert outcome.status == "completed", outcome.error
    assert [body["sequence"] for body in lost] == [3]
    sequences = [m["sequence"] for m in outcome.board.messages if m["type"] != "heartbeat"]
    assert sorted(sequences) == list(range(1, len(sequences) + 1))
    assert sequences.index(3) == sequences.index(4) + 1
    assert lost[0] in outcome.board.messages
