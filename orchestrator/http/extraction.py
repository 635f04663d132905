"""POST /api/orchestrator/extract-parameters: the planner's words -> SeasonParameters, plus
`field_sources` (which values the text stated, which were inferred, computed or not mentioned).

Thin binding: parse the body, call shared.extraction, shape the answer. Settings are read at
call time (get_settings() is cached per process), and the language model client behind
`extract_parameters` is created once per process and reused across requests.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.extraction import extract_with_sources
from shared.http import http_endpoint, json_response, parse_body
from shared.identity import PLANNER, authorize
from shared.schemas import ExtractionRequest
from shared.settings import get_settings

bp = df.Blueprint()


@bp.function_name("extract_parameters")
@bp.route(
    route="orchestrator/extract-parameters",
    methods=["POST"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
@http_endpoint
def extract_parameters_http(req: func.HttpRequest) -> func.HttpResponse:
    """200 SeasonParameters + `field_sources`; 400 incomplete; 422 bad body or out-of-range
    values; 503 LLM down. Planners only: every call may spend language-model tokens."""
    settings = get_settings()
    authorize(req, PLANNER, settings)
    body = parse_body(req, ExtractionRequest)
    params, sources = extract_with_sources(body.strategy_description, settings)
    return json_response({**params.model_dump(mode="json"), "field_sources": sources})
