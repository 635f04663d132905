"""The route table: every HTTP operation the app registers, with the models it reads and answers.

The OpenAPI document (openapi.py) is built from this table and the models it names; nothing
here restates a schema. One operation per registered (route, method): tests prove the table,
the document and the app's index list the same operations, so a function registered without
an entry here (or an entry left behind) fails `tests/orchestrator/http/contract/`.

Adding to an operation is one line: a query parameter is one `Param` in `query` (its type is
the one the function validates with), an error status is one entry in `errors`. Statuses every
route can answer are added by the builder: 401, 414, 500 and 503 everywhere, 403 where a role
is needed, 413 where there is a body, 422 where there is any input.

This module imports the data layer's models (pandas-backed modules), so only the document
builder imports it, on the first request for the document, never the function app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orchestrator.http.contract import examples
from orchestrator.http.data import UPLOAD_FIELDS, ImportMode
from orchestrator.http.events import EventsQuery
from orchestrator.http.negotiate import NegotiateQuery
from orchestrator.http.runs import IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY
from orchestrator.http.seasons import LaunchSeasonRequest
from orchestrator.http.store_pages import (
    LIMIT_PARAM,
    MAX_STORE_LIMIT,
    MAX_STORE_OFFSET,
    OFFSET_PARAM,
)
from shared.agents import DEMAND, INVENTORY, PRICING
from shared.data.context import CategoryInfo
from shared.data.csv_import import ImportReport
from shared.identity import DATA_ADMIN, PLANNER
from shared.responses import (
    AllocationPage,
    EventsPage,
    ExtractionAnswer,
    ForecastPage,
    Identity,
    NegotiateAnswer,
    SeasonPlanAnswer,
    StoreClusters,
    TerminateAccepted,
    WorkflowStarted,
    WorkflowStatusAnswer,
)
from shared.schemas import ExtractionRequest, RunWorkflowRequest, TerminateRequest, WorkflowId
from shared.season_report import (
    ActualsAccepted,
    ActualsUpload,
    SeasonClosed,
    SeasonDetail,
    SeasonItem,
    SeasonList,
)

ROUTE_PREFIX = "api"

# The type of each route parameter any route template names (`{workflow_id}`, `{*path}`).
PATH_PARAMETERS: dict[str, Any] = {"workflow_id": WorkflowId, "season_id": WorkflowId, "path": str}

# The two API documents: JSON objects whose own specifications define them.
JsonDocument = dict[str, Any]

HTML = "text/html"
JAVASCRIPT = "text/javascript"
CSS = "text/css"
PNG = "image/png"


@dataclass(frozen=True)
class Param:
    """A query parameter or request header: its type is what the function validates it as."""

    name: str
    annotation: Any
    required: bool = False
    description: str = ""
    example: Any = None


@dataclass(frozen=True)
class Answer:
    """A documented success: its body model (None: no JSON body), media types and example."""

    description: str
    model: Any = None
    media_types: tuple[str, ...] = ("application/json",)
    headers: tuple[str, ...] = ()
    example: Any = None


@dataclass(frozen=True)
class Operation:
    """One registered (route, method): `function` is its registered name (the operationId)."""

    function: str
    method: str
    route: str
    summary: str
    tag: str
    role: str | None
    answers: Mapping[int, Answer]
    errors: Mapping[int, str] = field(default_factory=dict)
    error_examples: Mapping[int, Any] = field(default_factory=dict)
    body: Any = None
    body_required: bool = True
    body_example: Any = None
    upload: tuple[str, ...] = ()
    query: tuple[Param, ...] = ()
    query_model: type[BaseModel] | None = None
    headers: tuple[Param, ...] = ()
    description: str = ""


class CategoryList(BaseModel):
    """`GET /api/categories`: what run-workflow accepts, and the category it plans by default."""

    model_config = ConfigDict(extra="forbid")

    default_category_id: str | None
    categories: list[CategoryInfo]


# Statuses and the error types they carry, as every operation may answer them.
UNKNOWN_WORKFLOW = "DATA_NOT_FOUND: no such workflow, or not the caller's (the same answer)"
NOT_ACCEPTED = (
    "DATA_NOT_FOUND: no such workflow, not the caller's, or the agent's result is not accepted "
    "yet (its `complete` message is not in the event log)"
)
UNKNOWN_SEASON = "DATA_NOT_FOUND: no such season, or not the caller's (the same answer)"
IDEMPOTENCY_KEY_PATTERN = rf"^[!-~]([ -~]{{0,{MAX_IDEMPOTENCY_KEY - 2}}}[!-~])?$"


def _result(
    function: str,
    route: str,
    what: str,
    model: type[BaseModel],
    page: type[BaseModel] | None = None,
) -> Operation:
    """A result route; with `page`, one that also serves its stores a page at a time."""
    if page is None:
        return Operation(
            function=function,
            method="GET",
            route=route,
            summary=what,
            tag="Results",
            role=PLANNER,
            answers={200: Answer(f"The full {model.__name__}", model)},
            errors={404: NOT_ACCEPTED},
        )
    return Operation(
        function=function,
        method="GET",
        route=route,
        summary=what,
        tag="Results",
        role=PLANNER,
        query=STORE_PAGE_QUERY,
        answers={
            200: Answer(
                f"The full {model.__name__}, or with {LIMIT_PARAM} a {page.__name__}: one page of "
                "its stores and the totals over every store",
                model | page,
            )
        },
        errors={404: NOT_ACCEPTED, 422: f"INVALID_PARAMETERS: a bad {LIMIT_PARAM}/{OFFSET_PARAM}"},
    )


STORE_PAGE_QUERY = (
    Param(
        LIMIT_PARAM,
        Annotated[int, Field(ge=1, le=MAX_STORE_LIMIT)],
        description="serve this many stores (default: every store, no store_page block)",
        example=1000,
    ),
    Param(
        OFFSET_PARAM,
        Annotated[int, Field(ge=0, le=MAX_STORE_OFFSET)],
        description=f"the first store of the page (needs {LIMIT_PARAM}; default 0)",
        example=0,
    ),
)


(FORECASTS,) = DEMAND.routes
ALLOCATIONS, STORE_CLUSTERS = INVENTORY.routes
MARKDOWNS, SEASON_PLANS = PRICING.routes

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        function="me",
        method="GET",
        route="me",
        summary="Who the app takes the caller to be",
        tag="Identity",
        role=None,
        answers={200: Answer("The signed-in caller", Identity, example=examples.ME)},
    ),
    Operation(
        function="extract_parameters",
        method="POST",
        route="orchestrator/extract-parameters",
        summary="Season parameters from the planner's words",
        tag="Planning",
        role=PLANNER,
        body=ExtractionRequest,
        body_example=examples.EXTRACTION_REQUEST,
        answers={
            200: Answer(
                "The parameters and where each came from",
                ExtractionAnswer,
                example=examples.EXTRACTED,
            )
        },
        errors={
            400: "PARAMETER_EXTRACTION_ERROR: the text misses required parameters "
            "(`details.missing_parameters`, one suggestion per missing field)",
            422: "INVALID_PARAMETERS: a value out of range, or a product the database has no "
            "category for (`details.product` as written, `details.available_categories`)",
            503: "PARAMETER_EXTRACTION_ERROR: the language model is unavailable (Retry-After)",
        },
        error_examples={400: examples.INCOMPLETE},
    ),
    Operation(
        function="negotiate",
        method="GET",
        route="orchestrator/negotiate",
        summary="A Web PubSub URL for the caller's session (the WebSocket messages: asyncapi.json)",
        tag="Live updates",
        role=PLANNER,
        query_model=NegotiateQuery,
        answers={
            200: Answer("A client URL and token", NegotiateAnswer, example=examples.NEGOTIATED)
        },
        errors={
            503: "WEBSOCKET_CONNECTION_ERROR: no Web PubSub is configured or it issued no token"
        },
    ),
    Operation(
        function="run_workflow",
        method="POST",
        route="orchestrator/run-workflow",
        summary="Start the season workflow",
        tag="Planning",
        role=PLANNER,
        body=RunWorkflowRequest,
        body_example=examples.RUN_REQUEST,
        headers=(
            Param(
                IDEMPOTENCY_HEADER,
                Annotated[str, StringConstraints(pattern=IDEMPOTENCY_KEY_PATTERN)],
                description="Repeat the same key and body to get the same workflow back (200); "
                "the key with a different body is a 422. Keys belong to their caller.",
                example=examples.IDEMPOTENCY_KEY,
            ),
        ),
        answers={
            202: Answer(
                "Started", WorkflowStarted, headers=("Location",), example=examples.STARTED
            ),
            200: Answer(
                "The workflow this Idempotency-Key already started",
                WorkflowStarted,
                headers=("Location",),
            ),
        },
        errors={
            404: "DATA_NOT_FOUND: unknown category (naming those that exist)",
            429: "TOO_MANY_RUNNING_PLANS: the caller already has MAX_RUNNING_PLANS_PER_USER "
            "plans running; nothing was started (Retry-After)",
        },
    ),
    Operation(
        function="get_workflow",
        method="GET",
        route="orchestrator/workflows/{workflow_id}",
        summary="Status, progress, execution log and summaries of a workflow",
        tag="Planning",
        role=PLANNER,
        answers={200: Answer("The workflow's status", WorkflowStatusAnswer)},
        errors={404: UNKNOWN_WORKFLOW},
    ),
    Operation(
        function="terminate_workflow",
        method="POST",
        route="orchestrator/workflows/{workflow_id}/terminate",
        summary="Stop a running workflow",
        tag="Planning",
        role=PLANNER,
        body=TerminateRequest,
        body_required=False,
        answers={202: Answer("Terminating", TerminateAccepted)},
        errors={
            404: UNKNOWN_WORKFLOW,
            409: "WORKFLOW_ALREADY_FINISHED: the workflow has already finished",
        },
    ),
    Operation(
        function="workflow_events",
        method="GET",
        route="orchestrator/workflows/{workflow_id}/events",
        summary="The workflow's WebSocket messages after a sequence number (catch up)",
        tag="Live updates",
        role=PLANNER,
        query_model=EventsQuery,
        answers={200: Answer("The recorded messages, oldest first", EventsPage)},
        errors={404: UNKNOWN_WORKFLOW},
    ),
    Operation(
        function="launch_season",
        method="POST",
        route="seasons",
        summary="Launch a completed plan into a live season (docs/seasons.md)",
        tag="Seasons",
        role=PLANNER,
        body=LaunchSeasonRequest,
        answers={
            201: Answer("The new season (plan version 1 is the plan as launched)", SeasonItem),
            200: Answer("The season this plan was already launched into", SeasonItem),
        },
        errors={
            404: UNKNOWN_WORKFLOW,
            422: "INVALID_PARAMETERS: a bad body, or a plan that has not completed",
        },
    ),
    Operation(
        function="list_my_seasons",
        method="GET",
        route="seasons",
        summary="The caller's live seasons",
        tag="Seasons",
        role=PLANNER,
        answers={200: Answer("Newest first", SeasonList)},
    ),
    Operation(
        function="get_season",
        method="GET",
        route="seasons/{season_id}",
        summary="A season's versions, working plan and plan against actual by week",
        tag="Seasons",
        role=PLANNER,
        answers={200: Answer("The season", SeasonDetail)},
        errors={404: UNKNOWN_SEASON},
    ),
    Operation(
        function="upload_actuals",
        method="POST",
        route="seasons/{season_id}/actuals",
        summary="Weekly actuals (JSON as here, or the same columns as text/csv), recorded once",
        tag="Seasons",
        role=PLANNER,
        body=ActualsUpload,
        answers={
            202: Answer("Recorded (or already recorded) and the season told", ActualsAccepted)
        },
        errors={
            404: UNKNOWN_SEASON,
            409: "WORKFLOW_ALREADY_FINISHED: the season is closed or completed",
            422: "INVALID_PARAMETERS: the refused rows (`details.refused_rows`: outside the "
            "season, another category, unknown store, bad units); nothing was recorded",
        },
    ),
    Operation(
        function="close_season",
        method="POST",
        route="seasons/{season_id}/close",
        summary="Close a season early",
        tag="Seasons",
        role=PLANNER,
        body_required=False,
        answers={202: Answer("Closing: it completes with its closing summary", SeasonClosed)},
        errors={
            404: UNKNOWN_SEASON,
            409: "WORKFLOW_ALREADY_FINISHED: the season is already closed or completed",
        },
    ),
    _result(
        "get_forecast", FORECASTS, "The Demand agent's forecast", DEMAND.result_model, ForecastPage
    ),
    _result(
        "get_allocation",
        ALLOCATIONS,
        "The Inventory agent's plan",
        INVENTORY.result_model,
        AllocationPage,
    ),
    _result("get_markdowns", MARKDOWNS, "The Pricing agent's markdowns", PRICING.result_model),
    Operation(
        function="get_season_plan",
        method="GET",
        route=SEASON_PLANS,
        summary="The season plan: weekly stock flow, weeks of supply, money and the buy plan",
        tag="Results",
        role=PLANNER,
        answers={200: Answer("The plan in a planner's terms, reconciled", SeasonPlanAnswer)},
        errors={404: NOT_ACCEPTED + "; or a plan made before season plans existed"},
    ),
    Operation(
        function="get_store_clusters",
        method="GET",
        route=STORE_CLUSTERS,
        summary="Store clusters of a plan (default: the caller's latest)",
        tag="Results",
        role=PLANNER,
        query=(Param("workflow_id", WorkflowId, description="default: the caller's latest plan"),),
        answers={200: Answer("The plan's store groups", StoreClusters)},
        errors={404: NOT_ACCEPTED + "; or no plan yet"},
    ),
    Operation(
        function="list_categories",
        method="GET",
        route="categories",
        summary="The categories that can be planned",
        tag="Data",
        role=None,
        answers={200: Answer("Categories with sales history", CategoryList)},
        errors={404: "DATA_NOT_FOUND: no data loaded yet (says how to load it)"},
    ),
    Operation(
        function="import_data",
        method="POST",
        route="data/import",
        summary="Import stores, sales and categories CSV files (all or nothing)",
        tag="Data",
        role=DATA_ADMIN,
        upload=UPLOAD_FIELDS,
        query=(Param("mode", ImportMode, description="replace (default) or append"),),
        answers={200: Answer("What was imported", ImportReport)},
        errors={422: "INVALID_PARAMETERS: the offending rows (nothing changed), or a bad request"},
    ),
    Operation(
        function="console",
        method="GET",
        route="console/{*path}",
        summary="The planner console page and its script and stylesheet",
        tag="Console",
        role=None,
        answers={200: Answer("The file", media_types=(HTML, JAVASCRIPT, CSS))},
        errors={404: "DATA_NOT_FOUND: no such console file"},
    ),
    Operation(
        function="openapi_json",
        method="GET",
        route="openapi.json",
        summary="This document",
        tag="API description",
        role=None,
        answers={200: Answer("The OpenAPI 3.1 document", JsonDocument)},
    ),
    Operation(
        function="asyncapi_json",
        method="GET",
        route="asyncapi.json",
        summary="The WebSocket messages, as an AsyncAPI 3.0 document",
        tag="API description",
        role=None,
        answers={200: Answer("The AsyncAPI 3.0 document", JsonDocument)},
    ),
    Operation(
        function="api_docs",
        method="GET",
        route="docs/{*path}",
        summary="This document rendered by Swagger UI, and the page's files",
        tag="API description",
        role=None,
        answers={200: Answer("The file", media_types=(HTML, JAVASCRIPT, CSS, PNG))},
        errors={404: "DATA_NOT_FOUND: no such docs file"},
    ),
)
