"""The result endpoints (GET /api/forecasts|allocations|markdowns/{workflow_id},
GET /api/stores/clusters[?workflow_id=]), invoked as the host invokes them: from the index of the
real function_app with an azure.functions.HttpRequest.

What they serve is real: the three agents run on a small generated sample through the
ContextAssembler, and their results are saved with the store the activities use. A result is
served only once the orchestrator accepted it (its `complete` message is in the event log); a
result that a late attempt saved without being accepted is a 404.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from pydantic import BaseModel

import function_app
from activities.planning.demand import run_demand_agent
from activities.planning.inventory import run_inventory_agent
from activities.planning.pricing import PricingInputs, run_pricing_agent
from localdev.host.functions import index_app
from localdev.sample_data import generate_sample, load_sample
from orchestrator.http.dependencies import overridden
from shared.agents import AGENTS, AgentKey
from shared.data.context import ContextAssembler, clear_context_cache
from shared.data.db import dispose_engine, get_engine
from shared.data.events import record_events
from shared.data.ownership import record_workflow
from shared.data.results_store import save_result
from shared.results import DemandResult, InventoryResult, PricingResult
from shared.schemas import SeasonParameters
from shared.settings import Settings
from tests.support.errors import assert_error
from tests.support.functions import call_http

WORKFLOW = "0b6f2d0e-5d0c-4a59-9d43-2d1f6c1e7a10"
EARLIER = "wf-earlier"
LATE = "wf-late-attempt"
BEFORE_PLANS = "wf-before-season-plans"
OTHERS = "wf-of-another-planner"
DEVELOPER = "local-developer"  # who an in-process call without principal is (tests/conftest.py)
NAME_OF = {agent.key: agent.name for agent in AGENTS}
PARAMETERS = SeasonParameters(
    forecast_horizon_weeks=8,
    season_start_date=date(2025, 1, 1),
    replenishment_strategy="bi-weekly",
    dc_holdback_percentage=0.2,
)
ENDPOINTS = {
    "forecasts": ("get_forecast", "demand", DemandResult),
    "allocations": ("get_allocation", "inventory", InventoryResult),
    "markdowns": ("get_markdowns", "pricing", PricingResult),
}


@dataclass(frozen=True)
class Plan:
    database_url: str
    demand: DemandResult
    inventory: InventoryResult
    pricing: PricingResult


def run_agents(database_url: str) -> tuple[DemandResult, InventoryResult, PricingResult]:
    """The three real agents on the database's sample, as the activities chain them."""
    assembler = ContextAssembler(get_engine(database_url))
    category = assembler.default_category_id()
    demand = run_demand_agent(assembler.assemble_demand_context(category, PARAMETERS))
    inventory = run_inventory_agent(
        assembler.assemble_inventory_context(category, PARAMETERS, demand)
    )
    info = assembler.category_info(category)
    pricing = run_pricing_agent(
        assembler.assemble_pricing_context(category, PARAMETERS, demand, inventory),
        PricingInputs(
            full_price=info.full_price,
            unit_cost=info.unit_cost,
            salvage_fraction=info.salvage_fraction,
            elasticity=info.price_elasticity,
        ),
    )
    return demand, inventory, pricing


def accept(engine, workflow_id: str, *agents: AgentKey) -> None:
    """What the orchestrator's publishing does when it accepts agents: log their `complete`."""
    record_events(
        engine,
        workflow_id=workflow_id,
        session_id="s",
        created_at=datetime.now(UTC),
        messages=[{"type": "complete", "agent_name": NAME_OF[a], "result": {}} for a in agents],
        build=lambda message, sequence: {**message, "sequence": sequence},
    )


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plan]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('results') / 'results.db'}"
    engine = get_engine(database_url)
    load_sample(engine, generate_sample(stores=16, weeks=80, categories=1))
    demand, inventory, pricing = run_agents(database_url)
    earlier = datetime(2024, 12, 1, tzinfo=UTC)
    one_cluster = inventory.model_copy(update={"clusters": inventory.clusters[:1]})
    save_result(engine, EARLIER, "inventory", one_cluster, now=earlier)
    accept(engine, EARLIER, "inventory")
    # A plan stored before season plans existed: its markdowns are served, its season plan not.
    save_result(engine, BEFORE_PLANS, "pricing", pricing.model_copy(update={"season_plan": None}))
    accept(engine, BEFORE_PLANS, "pricing")
    plans: tuple[tuple[AgentKey, BaseModel], ...] = (
        ("demand", demand),
        ("inventory", inventory),
        ("pricing", pricing),
    )
    for agent, result in plans:
        save_result(engine, WORKFLOW, agent, result)
        save_result(engine, OTHERS, agent, result, now=datetime.now(UTC) + timedelta(days=1))
    accept(engine, WORKFLOW, "demand", "inventory", "pricing")
    accept(engine, OTHERS, "demand", "inventory", "pricing")
    # A timed-out attempt that finished after its deadline: saved last, never accepted.
    save_result(engine, LATE, "demand", demand)
    save_result(engine, LATE, "inventory", inventory)
    accept(engine, LATE, "demand")
    for workflow_id in (WORKFLOW, EARLIER, LATE, BEFORE_PLANS):
        record_workflow(engine, workflow_id=workflow_id, owner_id=DEVELOPER, session_id="s")
    record_workflow(engine, workflow_id=OTHERS, owner_id="another-planner", session_id="s")
    yield Plan(database_url, demand, inventory, pricing)
    clear_context_cache(engine)
    dispose_engine(database_url)


@pytest.fixture(autouse=True)
def database(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The app reads DATABASE_URL from its settings, as from an app setting."""
    monkeypatch.setenv("DATABASE_URL", plan.database_url)
    # Settings read from the environment at every call: a test may point it elsewhere.
    with overridden(settings=Settings):
        yield monkeypatch


def call(
    function_name: str,
    *,
    route_params: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[func.HttpResponse, Any]:
    response = call_http(
        function_app.app,
        function_name,
        headers=headers,
        params=params,
        route_params=route_params,
    )
    return response, json.loads(response.get_body())


def test_routes_are_registered_as_documented():
    index = index_app(function_app.app)
    routes = {
        name: (index[name].trigger["route"], index[name].trigger["methods"])
        for name in (
            "get_forecast",
            "get_allocation",
            "get_markdowns",
            "get_season_plan",
            "get_store_clusters",
        )
    }
    assert routes == {
        "get_forecast": ("forecasts/{workflow_id}", ["GET"]),
        "get_allocation": ("allocations/{workflow_id}", ["GET"]),
        "get_markdowns": ("markdowns/{workflow_id}", ["GET"]),
        "get_season_plan": ("plans/{workflow_id}", ["GET"]),
        "get_store_clusters": ("stores/clusters", ["GET"]),
    }


@pytest.mark.parametrize("route", sorted(ENDPOINTS))
def test_a_saved_result_is_served_whole(plan: Plan, route: str):
    function_name, agent, _ = ENDPOINTS[route]
    response, body = call(function_name, route_params={"workflow_id": WORKFLOW})
    assert response.status_code == 200, body
    assert response.mimetype == "application/json"
    assert response.headers["x-request-id"]
    assert body == getattr(plan, agent).model_dump(mode="json")


def test_the_served_plan_is_consistent(plan: Plan):
    _, forecast = call("get_forecast", route_params={"workflow_id": WORKFLOW})
    assert len(forecast["forecast_by_week"]) == forecast["horizon_weeks"] == 8
    assert forecast["forecast_by_week"][0]["week_start"] == "2025-01-01"
    assert len(forecast["store_forecast"]) == 16
    _, allocation = call("get_allocation", route_params={"workflow_id": WORKFLOW})
    stores = [s for c in allocation["clusters"] for s in c["stores"]]
    assert len(stores) == 16
    assert sum(s["initial_allocation"] for s in stores) == allocation["initial_allocation_total"]
    assert (
        allocation["initial_allocation_total"] + allocation["dc_holdback_total"]
        == allocation["manufacturing_qty"]
    )
    _, markdowns = call("get_markdowns", route_params={"workflow_id": WORKFLOW})
    assert all(1 <= m["week_number"] <= 8 for m in markdowns["markdowns"])


def _pages(function_name: str, limit: int) -> list[dict[str, Any]]:
    """Every page of a result, following `next_offset` as a client does."""
    pages, offset = [], 0
    while offset is not None:
        response, body = call(
            function_name,
            route_params={"workflow_id": WORKFLOW},
            params={"store_limit": str(limit), "store_offset": str(offset)},
        )
        assert response.status_code == 200, body
        pages.append(body)
        offset = body["store_page"]["next_offset"]
    return pages


def test_forecast_pages_hold_every_store_once_and_all_store_totals(plan: Plan):
    pages = _pages("get_forecast", limit=5)
    stores = [s for page in pages for s in page["store_forecast"]]

    whole = plan.demand.model_dump(mode="json")["store_forecast"]
    assert [len(page["store_forecast"]) for page in pages] == [5, 5, 5, 1]
    assert stores == whole
    for page in pages:  # every page carries the same totals, over every store
        block = page["store_page"]
        assert block["total_stores"] == 16
        assert block["units_total"] == pytest.approx(sum(s["units"] for s in whole), abs=0.01)
        assert block["share_total"] == pytest.approx(1.0, abs=1e-6)
        assert page["forecast_by_week"] == pages[0]["forecast_by_week"]
    assert [p["store_page"]["offset"] for p in pages] == [0, 5, 10, 15]


def test_allocation_pages_split_the_stores_across_clusters_and_keep_cluster_counts(plan: Plan):
    pages = _pages("get_allocation", limit=3)
    served = [s for page in pages for c in page["clusters"] for s in c["stores"]]

    whole = [s.model_dump(mode="json") for c in plan.inventory.clusters for s in c.stores]
    assert served == whole and len(pages) == 6
    counts = {c.cluster_id: len(c.stores) for c in plan.inventory.clusters}
    for page in pages:
        assert {c["cluster_id"]: c["store_count"] for c in page["clusters"]} == counts
        assert page["store_page"]["initial_allocation_total"] == sum(
            s["initial_allocation"] for s in whole
        )
        assert page["store_page"]["initial_allocation_total"] == page["initial_allocation_total"]


def test_without_a_limit_the_whole_result_is_served_and_a_page_past_the_end_is_empty():
    _, whole = call("get_forecast", route_params={"workflow_id": WORKFLOW})
    assert "store_page" not in whole and len(whole["store_forecast"]) == 16
    _, past = call(
        "get_forecast",
        route_params={"workflow_id": WORKFLOW},
        params={"store_limit": "10", "store_offset": "40"},
    )
    assert past["store_forecast"] == [] and past["store_page"]["next_offset"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"store_limit": "0"},
        {"store_limit": "10001"},
        {"store_limit": "-5"},
        {"store_limit": "ten"},
        {"store_limit": "1e3"},
        {"store_limit": "10", "store_offset": "-1"},
        {"store_offset": "10"},
    ],
)
def test_bad_page_parameters_are_a_422(params: dict[str, str]):
    response, _ = call("get_allocation", route_params={"workflow_id": WORKFLOW}, params=params)
    assert_error(response, 422, "INVALID_PARAMETERS")


def test_large_results_are_gzipped_for_clients_that_accept_it(plan: Plan):
    plain = call_http(function_app.app, "get_forecast", route_params={"workflow_id": WORKFLOW})
    zipped = call_http(
        function_app.app,
        "get_forecast",
        route_params={"workflow_id": WORKFLOW},
        headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"},
    )
    refused = call_http(
        function_app.app,
        "get_forecast",
        route_params={"workflow_id": WORKFLOW},
        headers={"Accept-Encoding": "*, gzip;q=0"},
    )

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding" and zipped.headers["x-request-id"]
    assert gzip.decompress(zipped.get_body()) == plain.get_body()
    assert len(zipped.get_body()) < len(plain.get_body()) / 2
    assert "Content-Encoding" not in plain.headers and "Content-Encoding" not in refused.headers


def test_the_season_plan_route_reconciles_with_every_agent_route_to_the_unit(plan: Plan):
    """The same figure wherever a planner reads it in JSON: weeks, stores and season."""
    ids = {"workflow_id": WORKFLOW}
    response, season = call("get_season_plan", route_params=ids)
    assert response.status_code == 200, season
    _, forecast = call("get_forecast", route_params=ids)
    _, allocation = call("get_allocation", route_params=ids)
    _, markdowns = call("get_markdowns", route_params=ids)
    assert season == {"workflow_id": WORKFLOW, **markdowns["season_plan"]}
    weeks = season["weeks"]
    total = forecast["total_demand"]
    assert sum(w["units"] for w in forecast["forecast_by_week"]) == total
    assert sum(s["units"] for s in forecast["store_forecast"]) == total
    assert sum(w["forecast_units"] for w in weeks) == total
    assert sum(w["stores"]["sales"] for w in weeks) == season["money"]["units_sold"]
    assert season["money"]["units_sold"] == markdowns["expected_units_sold"]
    assert season["money"]["revenue"] == markdowns["expected_revenue"]
    assert season["money"]["leftover_units"] == markdowns["leftover_units"]
    assert weeks[0]["stores"]["receipts"] == allocation["initial_allocation_total"]
    assert sum(w["stores"]["receipts"] for w in weeks) == sum(
        d["units"] for d in season["store_deliveries"]
    )
    assert sum(w["dc"]["sales"] for w in weeks) == sum(w["stores"]["receipts"] for w in weeks)
    assert sum(b["units"] for b in season["buy_plan"]) == allocation["manufacturing_qty"]
    assert sum(w["dc"]["receipts"] for w in weeks) == allocation["manufacturing_qty"]
    assert season["launch_weeks_of_supply"] == allocation["launch_weeks_of_supply"]


def test_a_plan_made_before_season_plans_existed_says_so():
    response, _ = call("get_season_plan", route_params={"workflow_id": BEFORE_PLANS})
    error = assert_error(response, 404, "DATA_NOT_FOUND")
    assert "Run the plan again" in error.suggestions[0]


@pytest.mark.parametrize("route", sorted(ENDPOINTS))
def test_unknown_workflow_is_a_404_error_response(route: str):
    function_name, agent, _ = ENDPOINTS[route]
    response, body = call(
        function_name,
        route_params={"workflow_id": "no-such-workflow"},
        headers={"x-request-id": "req-404"},
    )
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions
    assert body["request_id"] == "req-404"
    assert body["details"] == {"workflow_id": "no-such-workflow", "agent": agent}


@pytest.mark.parametrize("route", sorted(ENDPOINTS))
def test_another_planners_result_is_the_same_404_as_an_unknown_one(route: str):
    function_name, _, _ = ENDPOINTS[route]
    response, body = call(function_name, route_params={"workflow_id": OTHERS})
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions
    _, unknown = call(function_name, route_params={"workflow_id": "wf-never-started"})
    assert body["message"] == unknown["message"].replace("wf-never-started", OTHERS)
    response, body = call("get_store_clusters", params={"workflow_id": OTHERS})
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions


def test_a_result_the_orchestrator_did_not_accept_is_not_served(plan: Plan):
    response, body = call("get_allocation", route_params={"workflow_id": LATE})
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions
    response, body = call("get_forecast", route_params={"workflow_id": LATE})
    assert response.status_code == 200 and body == plan.demand.model_dump(mode="json")
    response, body = call("get_store_clusters", params={"workflow_id": LATE})
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions


def test_a_result_of_another_agent_is_not_served():
    response, _ = call("get_markdowns", route_params={"workflow_id": EARLIER})
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions


@pytest.mark.parametrize(
    "workflow_id", ["", "has space", "semi;colon", "../../etc/passwd", "x" * 129, "ünïcode"]
)
@pytest.mark.parametrize("route", sorted(ENDPOINTS))
def test_malformed_workflow_id_is_a_422(route: str, workflow_id: str):
    response, body = call(ENDPOINTS[route][0], route_params={"workflow_id": workflow_id})
    assert assert_error(response, 422, "INVALID_PARAMETERS").suggestions
    assert len(body["details"]["workflow_id"]) <= 140


def test_clusters_of_a_workflow(plan: Plan):
    response, body = call("get_store_clusters", params={"workflow_id": WORKFLOW})
    assert response.status_code == 200, body
    assert body["workflow_id"] == WORKFLOW
    assert body["silhouette_score"] == plan.inventory.silhouette_score
    assert body["clusters"] == [
        {
            "cluster_id": c.cluster_id,
            "cluster_label": c.cluster_label,
            "store_count": len(c.stores),
            "allocation_percentage": c.allocation_percentage,
            "total_units": c.total_units,
            "store_ids": [s.store_id for s in c.stores],
        }
        for c in plan.inventory.clusters
    ]
    assert sum(c["store_count"] for c in body["clusters"]) == 16


def test_clusters_default_to_the_callers_latest_accepted_inventory_plan():
    """Another planner's plan and an unaccepted late attempt are newer; the latest is still
    the caller's own accepted plan."""
    _, latest = call("get_store_clusters")
    _, explicit = call("get_store_clusters", params={"workflow_id": WORKFLOW})
    assert latest == explicit
    _, earlier = call("get_store_clusters", params={"workflow_id": EARLIER})
    assert earlier["workflow_id"] == EARLIER and len(earlier["clusters"]) == 1


def test_clusters_errors():
    response, _ = call("get_store_clusters", params={"workflow_id": "not here"})
    assert assert_error(response, 422, "INVALID_PARAMETERS").suggestions
    response, _ = call("get_store_clusters", params={"workflow_id": "unknown-workflow"})
    assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions


def test_clusters_before_any_plan_is_a_404(tmp_path: Path, database: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    load_sample(get_engine(url), generate_sample(stores=4, weeks=4, categories=1))
    database.setenv("DATABASE_URL", url)
    try:
        response, body = call("get_store_clusters")
        assert assert_error(response, 404, "DATA_NOT_FOUND").suggestions
        assert "No inventory plan" in body["message"]
    finally:
        dispose_engine(url)


@pytest.mark.parametrize(
    ("function_name", "params", "route_params"),
    [
        ("get_forecast", {}, {"workflow_id": WORKFLOW}),
        ("get_store_clusters", {}, {}),
        ("get_store_clusters", {"workflow_id": WORKFLOW}, {}),
    ],
)
def test_an_unreadable_database_is_a_documented_error(
    tmp_path: Path, database: pytest.MonkeyPatch, function_name, params, route_params
):
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'app.db'}"
    database.setenv("DATABASE_URL", url)
    try:
        response, body = call(function_name, params=params, route_params=route_params)
        # The database cannot be opened: the retryable 503, never a 500.
        assert assert_error(response, 503, "DATABASE_UNAVAILABLE").suggestions
        assert response.headers["Retry-After"] == "2"
        assert "missing-dir" not in json.dumps(body)  # no paths or URLs leak
    finally:
        dispose_engine(url)
