"""The error hierarchy and the ONE mapping from an exception to (HTTP status, ErrorResponse).

Every HTTP function answers failures through `error_response`, so an error looks the same
whichever endpoint raised it, and nothing internal (stack traces, secrets) reaches a client.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import ValidationError

from shared.field_words import field_sentence
from shared.schemas import ErrorResponse

# What a 503 for an unavailable database tells the client to wait before retrying.
DATABASE_RETRY_AFTER_SECONDS = 2


class AppError(Exception):
    """Base of every error the app reports to a client on purpose."""

    error_type: ClassVar[str] = "ORCHESTRATOR_ERROR"
    # The class's status; an instance may override it (`status_code=` below).
    status_code: int = 500
    # Whether running the same step again may succeed: a locked or unreachable database may
    # recover, missing data or invalid parameters will not (an agent fails on its first try).
    retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        suggestions: list[str] | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.suggestions = suggestions or []
        self.headers = headers or {}
        if status_code is not None:
            self.status_code = status_code

    def restated(self, message: str, *, details: dict[str, Any] | None = None) -> Self:
        """A new error of this class saying `message` (and `details`, when given), with this
        one's suggestions, status and headers: an error, once raised or reported, is never
        changed in place."""
        return type(self)(
            message,
            details=self.details if details is None else details,
            suggestions=self.suggestions,
            status_code=self.status_code,
            headers=self.headers,
        )

    def to_response(self, request_id: str) -> ErrorResponse:
        return ErrorResponse(
            error_type=self.error_type,
            message=self.message,
            details=self.details,
            suggestions=self.suggestions,
            request_id=request_id,
        )


class ParameterExtractionError(AppError):
    """The strategy text did not yield complete parameters (400) or the LLM failed (503)."""

    error_type = "PARAMETER_EXTRACTION_ERROR"
    status_code = 400


class DataNotFoundError(AppError):
    error_type = "DATA_NOT_FOUND"
    status_code = 404
    retryable = False


class AgentTimeoutError(AppError):
    error_type = "AGENT_TIMEOUT"
    status_code = 504


class AgentExecutionError(AppError):
    error_type = "AGENT_EXECUTION_ERROR"
    status_code = 500


class ContextAssemblyError(AppError):
    error_type = "CONTEXT_ASSEMBLY_ERROR"
    status_code = 500


class DatabaseUnavailableError(ContextAssemblyError):
    """The database is locked past the wait a request may spend, or unreachable: a fast,
    honest 503 the client can retry after `Retry-After` seconds (never a 500, never a hang)."""

    error_type = "DATABASE_UNAVAILABLE"
    status_code = 503

    def __init__(self, message: str, **kwargs: Any) -> None:
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS), **kwargs.pop("headers", {})}
        super().__init__(message, headers=headers, **kwargs)


class TooManyRunningPlansError(AppError):
    """The planner already has as many plans running as one planner may
    (MAX_RUNNING_PLANS_PER_USER): a 429 with Retry-After; nothing was started."""

    error_type = "TOO_MANY_RUNNING_PLANS"
    status_code = 429

    def __init__(self, message: str, retry_after_seconds: int, **kwargs: Any) -> None:
        headers = {"Retry-After": str(retry_after_seconds), **kwargs.pop("headers", {})}
        super().__init__(message, headers=headers, **kwargs)


class WebSocketConnectionError(AppError):
    error_type = "WEBSOCKET_CONNECTION_ERROR"
    status_code = 503


class InvalidParametersError(AppError):
    error_type = "INVALID_PARAMETERS"
    status_code = 422
    retryable = False


class UnauthenticatedError(AppError):
    """No signed-in caller (or a principal header that is not what App Service sends)."""

    error_type = "UNAUTHENTICATED"
    status_code = 401


class ForbiddenError(AppError):
    """The caller is signed in but lacks the app role the route needs."""

    error_type = "FORBIDDEN"
    status_code = 403


class RequestTooLargeError(AppError):
    """The request body is over a limit: refused before anything parses it."""

    error_type = "REQUEST_TOO_LARGE"
    status_code = 413


class DurableUnavailableError(AppError):
    """The Durable task hub could not be reached or refused the request."""

    error_type = "ORCHESTRATION_UNAVAILABLE"
    status_code = 503


class WorkflowFinishedError(AppError):
    """The workflow already reached a final state (it cannot be terminated)."""

    error_type = "WORKFLOW_ALREADY_FINISHED"
    status_code = 409


class WorkflowTerminatedError(AppError):
    """The workflow was stopped on request; its running agent's work is discarded."""

    error_type = "WORKFLOW_TERMINATED"
    status_code = 409
    retryable = False


class LanguageModelUnavailableError(ParameterExtractionError):
    """The language model could not be reached; the client should retry later."""

    status_code = 503


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """A client-safe summary of a pydantic error: field path, message, offending input type."""
    errors = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        errors.append(
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        )
    return {"validation_errors": errors}


def invalid_from_validation(exc: ValidationError, what: str = "request") -> InvalidParametersError:
    """422 in sentences a person reads ('The description should have at least 10
    characters.'); the field paths stay in details.validation_errors for programs."""
    details = validation_details(exc)
    sentences = [field_sentence(e["field"], e["message"]) for e in details["validation_errors"][:5]]
    return InvalidParametersError(
        " ".join(sentences) if sentences else f"Invalid {what}.",
        details=details,
        suggestions=["Correct that and try again."],
    )


def error_response(
    exc: BaseException, request_id: str
) -> tuple[int, ErrorResponse, dict[str, str]]:
    """Map any exception to (HTTP status, ErrorResponse, extra headers).

    Unexpected exceptions become a generic 500 whose body names only the request id, so the
    operator can find the logged traceback without the client seeing internals.
    """
    if isinstance(exc, AppError):
        return exc.status_code, exc.to_response(request_id), dict(exc.headers)
    if isinstance(exc, ValidationError):
        err = invalid_from_validation(exc)
        return err.status_code, err.to_response(request_id), {}
    if database_unavailable(exc):
        busy = unavailable_database(exc)
        return busy.status_code, busy.to_response(request_id), dict(busy.headers)
    return 500, unexpected_error(request_id), {}


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be used now (locked, timed out waiting for a
    lock, connection refused or dropped) rather than that the request or the schema is wrong:
    the one test every layer uses to answer 503 and to retry."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig).lower()
    # SQLite reports schema problems as OperationalError too; those are not an outage.
    return not any(word in text for word in ("no such", "syntax error", "has no column"))


def unavailable_database(exc: BaseException) -> DatabaseUnavailableError:
    """The 503 for an unavailable database, naming only the driver's error class."""
    orig = getattr(exc, "orig", None) or exc
    return DatabaseUnavailableError(
        "The database is busy or unreachable; retry shortly.",
        details={"driver_error": type(orig).__name__},
        suggestions=[f"Retry after {DATABASE_RETRY_AFTER_SECONDS} s (the Retry-After header)."],
    )


def unexpected_error(request_id: str) -> ErrorResponse:
    """The body of every 500 for an exception nobody anticipated: the app's HTTP functions and
    the local host (a function that raised) both answer with it, so clients see one shape."""
    return ErrorResponse(
        error_type="INTERNAL_ERROR",
        message="An unexpected error occurred.",
        details={},
        suggestions=[f"Retry later; report request id {request_id} if it persists."],
        request_id=request_id,
    )
