"""The API's description (orchestrator/http/contract/): a valid OpenAPI 3.1 document that lists
exactly the operations the app registers, the documented examples (docs/api.md, docs/identity.md)
holding to their models, the WebSocket messages described from their models, and all of it built
on the first request, not when the app is imported. What the live app answers is checked against
it by Schemathesis (tests/integration/test_schemathesis.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

import function_app
from localdev.host.functions import index_app
from orchestrator.http.contract import examples
from orchestrator.http.contract.asyncapi import asyncapi_document, message_models, message_type
from orchestrator.http.contract.openapi import documented_paths, openapi_document
from orchestrator.http.contract.routes import OPERATIONS
from shared.responses import ExtractionAnswer, Identity, NegotiateAnswer, WorkflowStarted
from shared.schemas import WEBSOCKET_MESSAGE, ErrorResponse, RunWorkflowRequest
from tests.support.fresh_interpreter import modules_loaded_after

ROOT = Path(function_app.__file__).resolve().parent
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def registered_operations() -> set[tuple[str, str, str]]:
    """(function name, route template, METHOD) of every HTTP function the app registers."""
    return {
        (entry.name, entry.trigger["route"], method.upper())
        for entry in index_app(function_app.app).values()
        if entry.trigger_type == "httpTrigger"
        for method in entry.trigger.get("methods") or ()
    }


def documented_operations() -> set[tuple[str, str]]:
    """(path, METHOD) of every operation in the document."""
    return {
        (path, method.upper())
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_the_document_is_valid_openapi_3_1():
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_registered_operation_is_in_the_route_table_and_nothing_else():
    table = {(op.function, op.route, op.method) for op in OPERATIONS}
    registered = registered_operations()
    assert registered - table == set(), "registered but not documented: add them to routes.py"
    assert table - registered == set(), "documented but not registered"


def test_the_document_lists_exactly_the_registered_routes():
    expected = {
        (path, method)
        for _, route, method in registered_operations()
        for path in documented_paths(route)
    }
    assert documented_operations() == expected


def test_operation_ids_are_the_registered_function_names():
    ids = [
        operation["operationId"]
        for item in openapi_document()["paths"].values()
        for operation in item.values()
    ]
    assert len(ids) == len(set(ids))
    assert {name for name, _, _ in registered_operations()} <= set(ids)


def test_every_operation_documents_401_503_and_500_as_error_responses_with_request_ids():
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("401", "414", "500", "503"):
                assert responses[status]["content"]["application/json"]["schema"] == error_ref
            assert "Retry-After" in responses["503"]["headers"], (path, method)
            for status, response in responses.items():
                assert response["headers"]["x-request-id"]["required"], (path, method, status)
            assert ("403" in responses) == (operation["x-required-role"] is not None)


def test_run_workflow_documents_the_idempotency_key_and_its_location_header():
    operation = openapi_document()["paths"]["/api/orchestrator/run-workflow"]["post"]
    (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert re.fullmatch(header["schema"]["pattern"], examples.IDEMPOTENCY_KEY)
    assert not re.fullmatch(header["schema"]["pattern"], " padded ")
    assert not re.fullmatch(header["schema"]["pattern"], "k" * 129)
    assert "Location" in operation["responses"]["202"]["headers"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunWorkflowRequest"
    }


def test_query_parameters_come_from_the_models_the_functions_validate_with():
    paths = openapi_document()["paths"]
    events = paths["/api/orchestrator/workflows/{workflow_id}/events"]["get"]["parameters"]
    after = next(p for p in events if p["name"] == "after")
    assert after["in"] == "query" and after["schema"]["minimum"] == 0
    negotiate = paths["/api/orchestrator/negotiate"]["get"]["parameters"]
    assert [(p["name"], p["required"]) for p in negotiate] == [("session_id", True)]
    workflow_id = paths["/api/forecasts/{workflow_id}"]["get"]["parameters"][0]
    assert workflow_id["schema"]["pattern"] == "^[A-Za-z0-9_.:-]{1,128}$"


def test_the_security_schemes_are_easy_auths():
    document = openapi_document()
    schemes = document["components"]["securitySchemes"]
    assert schemes["appServiceSession"]["name"] == "AppServiceAuthSession"
    assert schemes["entraBearer"]["scheme"] == "bearer"
    assert document["security"] == [{"appServiceSession": []}, {"entraBearer": []}]


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


# The pages that show the examples: the API's (extraction, negotiate, run, messages) and
# identity's (who am I, forbidden).
DOCS = squashed("".join((ROOT / "docs" / page).read_text() for page in ("api.md", "identity.md")))


@pytest.mark.parametrize(
    ("example", "model"),
    [
        (examples.EXTRACTION_REQUEST, None),
        (examples.EXTRACTED, ExtractionAnswer),
        (examples.INCOMPLETE, ErrorResponse),
        (examples.FORBIDDEN, ErrorResponse),
        (examples.NEGOTIATED, NegotiateAnswer),
        (examples.STARTED, WorkflowStarted),
        (examples.ME, Identity),
        *[(message, None) for message in examples.MESSAGES.values()],
    ],
    ids=lambda value: "" if isinstance(value, dict) else getattr(value, "__name__", "-"),
)
def test_each_example_is_the_docs_and_holds_to_its_model(example: dict[str, Any], model):
    assert squashed(json.dumps(example, ensure_ascii=False, separators=(",", ":"))) in DOCS
    if model is not None:
        model.model_validate(example)


def test_the_run_workflow_example_is_a_valid_request():
    RunWorkflowRequest.model_validate(examples.RUN_REQUEST)
    assert examples.IDEMPOTENCY_KEY in DOCS


def test_the_asyncapi_document_describes_every_websocket_message_from_its_model():
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    messages = document["components"]["messages"]
    assert set(messages) == {message_type(model) for model in message_models()}
    assert set(examples.MESSAGES) == set(messages)
    for name, message in messages.items():
        schema = {**message["payload"], "components": document["components"]}
        jsonschema.validate(message["examples"][0]["payload"], schema)
        WEBSOCKET_MESSAGE.validate_python(examples.MESSAGES[name])
    operation = document["operations"]["receiveUpdates"]
    assert len(operation["messages"]) == len(messages)


def test_the_openapi_document_links_the_websocket_messages():
    document = openapi_document()
    union = document["components"]["schemas"]["WebSocketMessage"]
    refs = {choice["$ref"].rsplit("/", 1)[-1] for choice in union["oneOf"]}
    assert refs == {model.__name__ for model in message_models()}
    assert "asyncapi.json" in document["info"]["description"]
    events = document["components"]["schemas"]["EventsPage"]["properties"]["events"]
    assert "oneOf" in json.dumps(events)


def test_a_real_message_validates_against_the_openapi_schema():
    document = openapi_document()
    record = {
        **examples.MESSAGES["progress"],
        "session_id": "demo-1",
        "workflow_id": "w-1",
        "timestamp": "2025-11-04T10:30:00.123Z",
        "sequence": 3,
    }
    schema = {**document["components"]["schemas"]["WebSocketMessage"], **document}
    jsonschema.validate(record, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "progress": 101}, schema)


def test_the_app_imports_none_of_it_and_builds_it_on_the_first_request():
    documents = ("orchestrator.http.contract", "swagger_ui_bundle", "openapi_spec_validator")
    assert modules_loaded_after("import function_app", documents) == set()
