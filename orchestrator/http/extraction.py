"""POST /api/orchestrator/extract-parameters: the planner's words -> SeasonParameters, plus
`category_id` (the category the text names, checked against the database, or null),
`field_sources` (which values the text stated, which were inferred, computed or not mentioned)
and `field_notes` (why an inferred value is what it is, in words).

Thin binding: parse the body, call shared.extraction, shape the answer. Settings are read at
call time through the HTTP dependency seam (orchestrator/http/dependencies.py; the app's are
cached per process), and the language model client behind `extract_parameters` is created once
per process and reused across requests.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from orchestrator.http.dependencies import dependencies
from shared.data.catalog import known_categories
from shared.extraction import read_strategy
from shared.http import http_endpoint, json_response, parse_body
from shared.identity import PLANNER, authorize
from shared.schemas import ExtractionRequest

bp = df.Blueprint()


@bp.function_name("extract_parameters")
@bp.route(
    route="orchestrator/extract-parameters",
    methods=["POST"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
@http_endpoint
def extract_parameters_http(req: func.HttpRequest) -> func.HttpResponse:
    """200 SeasonParameters + `category_id` + `field_sources`; 400 incomplete; 422 bad body,
    out-of-range values or a product the database has no category for; 503 LLM down. Planners
    only: every call may spend language-model tokens."""
    settings = dependencies().settings()
    authorize(req, PLANNER, settings)
    body = parse_body(req, ExtractionRequest)
    reading = read_strategy(
        body.strategy_description,
        settings,
        categories=known_categories(settings.database_url),
    )
    return json_response(
        {
            **reading.parameters.model_dump(mode="json"),
            "category_id": reading.category_id,
            "field_sources": reading.field_sources,
            "field_notes": reading.field_notes,
        }
    )
