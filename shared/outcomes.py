"""What an agent activity hands back to the orchestrator: its summary, or a typed failure.

On the real Durable extension a failed activity reaches the orchestrator as
`Exception("Activity function 'x' failed: <the worker's text> \\n <serialized exception>")`: the
error's type and its human message are buried in host-specific text. So an agent activity never
raises for an error it understands (missing data, invalid parameters, a locked database): it
returns the failure as data, which every host carries unchanged, and the orchestrator decides
from `retryable` whether another attempt can help. Only unexpected exceptions (bugs, a killed
worker, the host's function timeout) still arrive as failed tasks; the orchestrator treats those
as transient and never shows their text to a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from shared.errors import (
    AgentExecutionError,
    AppError,
    ContextAssemblyError,
    DatabaseUnavailableError,
    DataNotFoundError,
    InvalidParametersError,
)

logger = logging.getLogger(__name__)

_ERROR_CLASSES: dict[str, type[AppError]] = {
    cls.error_type: cls
    for cls in (
        DataNotFoundError,
        InvalidParametersError,
        ContextAssemblyError,
        DatabaseUnavailableError,
        AgentExecutionError,
    )
}


class AgentFailure(BaseModel):
    """An error the agent understood, as the client will see it."""

    model_config = ConfigDict(extra="forbid")

    error_type: str
    message: str
    details: dict[str, Any] = {}
    suggestions: list[str] = []
    retryable: bool

    def to_error(self) -> AppError:
        """The app error for this failure, of its own error_type."""
        cls = _ERROR_CLASSES.get(self.error_type, AgentExecutionError)
        return cls(self.message, details=self.details, suggestions=self.suggestions)


class AgentOutcome(BaseModel):
    """Exactly one of `summary` (the agent finished) and `failure` (it understood why not)."""

    model_config = ConfigDict(extra="forbid")

    summary: dict[str, Any] | None = None
    failure: AgentFailure | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AgentOutcome:
        if (self.summary is None) == (self.failure is None):
            raise ValueError("an agent outcome has either a summary or a failure")
        return self


def failure_of(exc: AppError) -> AgentFailure:
    return AgentFailure(
        error_type=exc.error_type,
        message=exc.message,
        details=exc.details,
        suggestions=exc.suggestions,
        retryable=exc.retryable,
    )


def run_agent_step(name: str, step: Callable[[], BaseModel]) -> dict[str, Any]:
    """Run an agent activity's body and return its outcome as JSON-ready data: the summary
    model the body returns, as JSON, or the failure it raised.

    An AppError becomes a typed failure; anything else propagates, so the host records
    the activity as failed (with its traceback in the function log)."""
    try:
        summary = step()
    except AppError as exc:
        logger.warning("%s failed: %s (%s)", name, exc.message, exc.error_type)
        return AgentOutcome(failure=failure_of(exc)).model_dump(mode="json")
    return AgentOutcome(summary=summary.model_dump(mode="json")).model_dump(mode="json")
