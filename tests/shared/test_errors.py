"""The one exception → (status, ErrorResponse) mapping."""

import pytest

from shared import errors

SUBCLASSES = {
    errors.ParameterExtractionError: (400, "PARAMETER_EXTRACTION_ERROR"),
    errors.DataNotFoundError: (404, "DATA_NOT_FOUND"),
    errors.AgentTimeoutError: (504, "AGENT_TIMEOUT"),
    errors.AgentExecutionError: (500, "AGENT_EXECUTION_ERROR"),
    errors.ContextAssemblyError: (500, "CONTEXT_ASSEMBLY_ERROR"),
    errors.WebSocketConnectionError: (503, "WEBSOCKET_CONNECTION_ERROR"),
    errors.InvalidParametersError: (422, "INVALID_PARAMETERS"),
    errors.WorkflowTerminatedError: (409, "WORKFLOW_TERMINATED"),
}


@pytest.mark.parametrize("cls,expected", SUBCLASSES.items())
def test_each_error_maps_to_its_status_and_type(cls, expected):
    exc = cls("boom", details={"k": 1}, suggestions=["do x"])
    status, body, _ = errors.error_response(exc, "rid-1")
    assert (status, body.error_type) == expected
    assert body.details == {"k": 1} and body.suggestions == ["do x"] and body.request_id == "rid-1"


def test_only_data_and_validation_errors_are_not_worth_retrying():
    not_retryable = {cls for cls in SUBCLASSES if not cls.retryable}
    assert not_retryable == {
        errors.DataNotFoundError,
        errors.InvalidParametersError,
        errors.WorkflowTerminatedError,
    }


def test_unexpected_exception_reveals_nothing():
    status, body, _ = errors.error_response(RuntimeError("secret sk-123 in /etc/passwd"), "rid")
    assert status == 500 and body.error_type == "INTERNAL_ERROR"
    assert "secret" not in body.model_dump_json() and "passwd" not in body.model_dump_json()


def test_unexpected_error_body_names_only_the_request_id():
    body = errors.unexpected_error("rid-9")
    assert body.model_dump() == {
        "error_type": "INTERNAL_ERROR",
        "message": "An unexpected error occurred.",
        "details": {},
        "suggestions": ["Retry later; report request id rid-9 if it persists."],
        "request_id": "rid-9",
    }


@pytest.mark.parametrize("cls", [*SUBCLASSES, errors.DatabaseUnavailableError])
def test_a_restated_error_is_new_and_the_original_is_unchanged(cls):
    original = cls(
        "locked",
        details={"attempts": 1},
        suggestions=["Try again"],
        status_code=503,
        headers={"Retry-After": "2"},
    )

    restated = original.restated("failed after 3 attempts: locked")

    assert restated is not original
    assert type(restated) is cls
    assert (str(restated), restated.message) == ("failed after 3 attempts: locked",) * 2
    assert (restated.details, restated.suggestions) == ({"attempts": 1}, ["Try again"])
    assert (restated.status_code, restated.headers) == (503, {"Retry-After": "2"})
    assert (str(original), original.message) == ("locked", "locked")
