"""Result endpoints: the full plans the agents persisted under each workflow id, and the
season plan (stock flow, money, buy plan) the Pricing agent built from them.

They read the database only. Every route needs the `planner` role and serves only the caller's
own plans: another planner's workflow id gets the same 404 as an unknown one, and "the latest
plan" is the caller's latest. An agent's activity persists its result before the orchestrator
has decided to accept it (its deadline may already have passed, or the workflow may have been
terminated), so a result is served only once the orchestrator has published the agent's
`complete` message: the event log is the record of what the orchestrator accepted. A result is
available as soon as its agent was accepted, even while later agents still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from orchestrator.http.dependencies import dependencies
from orchestrator.http.store_pages import (
    StorePage,
    allocation_page,
    forecast_page,
    requested_page,
)
from shared.agents import DEMAND, INVENTORY, PRICING, Agent, ResultT
from shared.data.events import complete_key, has_event
from shared.data.ownership import is_owner
from shared.data.results_store import latest_workflow_with, load_result
from shared.errors import (
    ContextAssemblyError,
    DataNotFoundError,
    database_unavailable,
    unavailable_database,
)
from shared.http import http_endpoint, json_response, parse_workflow_id, route_workflow_id
from shared.identity import PLANNER, authorize
from shared.responses import SeasonPlanAnswer

# Each agent's routes, as the registry lists them (the first serves the whole result).
(FORECASTS,) = DEMAND.routes
ALLOCATIONS, STORE_CLUSTERS = INVENTORY.routes
MARKDOWNS, SEASON_PLANS = PRICING.routes

bp = df.Blueprint()


@contextmanager
def _reading_results() -> Iterator[None]:
    """A database failure is a documented error without URLs, never a 500 with a traceback."""
    try:
        yield
    except SQLAlchemyError as exc:
        if database_unavailable(exc):
            raise unavailable_database(exc) from None
        raise ContextAssemblyError(
            "The results database cannot be read",
            suggestions=["Check DATABASE_URL and that the database is reachable."],
        ) from None


def _stored(workflow_id: str, owner_id: str, agent: Agent[ResultT]) -> ResultT:
    """The caller's agent result, if the orchestrator accepted it (404 DATA_NOT_FOUND
    otherwise, and for another planner's workflow)."""
    engine = dependencies().engine()
    with _reading_results():
        accepted = is_owner(engine, workflow_id, owner_id) and has_event(
            engine, workflow_id, complete_key(agent.name)
        )
        result = (
            load_result(engine, workflow_id, agent.key, agent.result_model) if accepted else None
        )
    if result is None:
        raise DataNotFoundError(
            f"No {agent.key} result for workflow {workflow_id}",
            details={"workflow_id": workflow_id, "agent": agent.key},
            suggestions=[
                "Check the workflow id, or wait until the agent completes: "
                f"GET /api/orchestrator/workflows/{workflow_id} shows its progress."
            ],
        )
    return result


def _result_response(req: func.HttpRequest, agent: Agent[Any]) -> func.HttpResponse:
    principal = authorize(req, PLANNER, dependencies().settings())
    workflow_id = route_workflow_id(req)
    return json_response(_stored(workflow_id, principal.user_id, agent))


def _paged_response(
    req: func.HttpRequest,
    agent: Agent[ResultT],
    paged: Callable[[ResultT, StorePage], BaseModel],
) -> func.HttpResponse:
    """The result, or with `?store_limit=` one page of its stores (see store_pages)."""
    principal = authorize(req, PLANNER, dependencies().settings())
    workflow_id = route_workflow_id(req)
    page = requested_page(req)
    result = _stored(workflow_id, principal.user_id, agent)
    return json_response(result if page is None else paged(result, page))


@bp.route(route=FORECASTS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def get_forecast(req: func.HttpRequest) -> func.HttpResponse:
    """The Demand agent's forecast: by week with 80/95 % intervals, by store, backtest metrics;
    `?store_limit=&store_offset=` serves a page of its stores with all-store totals."""
    return _paged_response(req, DEMAND, forecast_page)


@bp.route(route=ALLOCATIONS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def get_allocation(req: func.HttpRequest) -> func.HttpResponse:
    """The Inventory agent's plan: clusters, per-store allocation, DC holdback, replenishment;
    `?store_limit=&store_offset=` serves a page of its stores with all-store totals."""
    return _paged_response(req, INVENTORY, allocation_page)


@bp.route(route=MARKDOWNS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def get_markdowns(req: func.HttpRequest) -> func.HttpResponse:
    """The Pricing agent's markdown plan."""
    return _result_response(req, PRICING)


@bp.route(route=SEASON_PLANS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def get_season_plan(req: func.HttpRequest) -> func.HttpResponse:
    """The season in a planner's terms, built from the Inventory and Pricing agents' plans:
    the weekly stock flow at the stores and the DC, weeks of supply, money and the buy plan."""
    principal = authorize(req, PLANNER, dependencies().settings())
    workflow_id = route_workflow_id(req)
    pricing = _stored(workflow_id, principal.user_id, PRICING)
    if pricing.season_plan is None:
        raise DataNotFoundError(
            f"The plan of workflow {workflow_id} was made before season plans existed",
            details={"workflow_id": workflow_id},
            suggestions=["Run the plan again to see its weekly stock flow and money."],
        )
    return json_response(
        SeasonPlanAnswer(workflow_id=workflow_id, **pricing.season_plan.model_dump())
    )


@bp.route(route=STORE_CLUSTERS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def get_store_clusters(req: func.HttpRequest) -> func.HttpResponse:
    """Store clusters of `?workflow_id=` (default: the caller's most recent inventory plan)."""
    principal = authorize(req, PLANNER, dependencies().settings())
    requested = req.params.get("workflow_id")
    if requested is None:
        with _reading_results():
            requested = latest_workflow_with(
                dependencies().engine(),
                INVENTORY.key,
                principal.user_id,
                accepted_by=complete_key(INVENTORY.name),
            )
        if requested is None:
            raise DataNotFoundError(
                "No inventory plan has been made yet",
                suggestions=["Run a workflow: POST /api/orchestrator/run-workflow."],
            )
    workflow_id = parse_workflow_id(requested)
    plan = _stored(workflow_id, principal.user_id, INVENTORY)
    clusters = [
        {
            "cluster_id": c.cluster_id,
            "cluster_label": c.cluster_label,
            "store_count": len(c.stores),
            "allocation_percentage": c.allocation_percentage,
            "total_units": c.total_units,
            "store_ids": [s.store_id for s in c.stores],
        }
        for c in plan.clusters
    ]
    return json_response(
        {
            "workflow_id": workflow_id,
            "silhouette_score": plan.silhouette_score,
            "clusters": clusters,
        }
    )
