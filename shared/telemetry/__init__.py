"""OpenTelemetry for the app: one trace per plan, agent metrics, correlated logs.

One plan is one trace: the run-workflow request's span, the orchestration span under it, and
under that one span per agent activity and per publishing activity, with the Web PubSub sends
under whoever published. Spans carry the workflow id, the request id and the owner's hash.

Off unless configured (`configure`): with APPLICATIONINSIGHTS_CONNECTION_STRING set the Azure
Monitor distro exports to Application Insights; otherwise OTEL_TRACES_EXPORTER=console or otlp
exports locally. While off, this module imports nothing from OpenTelemetry's SDK (a fresh
instance's cold start stays as it was, tests/test_function_app_import_cost.py) and every helper
below does nothing. The orchestrator stays deterministic: its span is recorded once, after it
finished, never while it replays (`traced_orchestration`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from shared.telemetry.trace_context import TraceContext, owner_hash

if TYPE_CHECKING:
    from shared.settings import Settings
    from shared.telemetry.instruments import Instruments

__all__ = [
    "TraceContext",
    "agent_span",
    "configure",
    "enabled",
    "http_span",
    "install",
    "orchestration_trace",
    "publish_span",
    "traced_orchestration",
    "traced_send",
    "uninstall",
]

logger = logging.getLogger(__name__)

LOCAL_EXPORTERS = ("console", "otlp")

T = TypeVar("T")

_instruments: Instruments | None = None
_request_id: ContextVar[str | None] = ContextVar("telemetry_request_id", default=None)


def configure(settings: Settings) -> bool:
    """Turn telemetry on as the settings say (once per process); True when it is on."""
    global _instruments
    if _instruments is not None:
        return True
    connection = settings.applicationinsights_connection_string
    exporter = settings.otel_traces_exporter.strip().lower()
    if connection is not None and connection.get_secret_value().strip():
        from shared.telemetry import instruments

        _instruments = instruments.azure_monitor(connection.get_secret_value())
    elif exporter in LOCAL_EXPORTERS:
        from shared.telemetry import instruments

        _instruments = instruments.local(exporter)
    elif exporter not in ("", "none"):
        logger.warning(
            "OTEL_TRACES_EXPORTER=%s is not console or otlp: telemetry stays off", exporter
        )
    return _instruments is not None


def install(instruments: Instruments) -> None:
    """Record with `instruments` (built by shared.telemetry.instruments.build, e.g. with
    in-memory exporters) instead of what `configure` would build."""
    global _instruments
    _instruments = instruments


def uninstall() -> None:
    """Telemetry off again; the instruments' providers are shut down."""
    global _instruments
    if _instruments is not None:
        _instruments.close()
    _instruments = None


def enabled() -> bool:
    return _instruments is not None


@contextmanager
def http_span(
    method: str, function: str, path: str, headers: Mapping[str, str], request_id: str
) -> Iterator[Callable[[int], None]]:
    """A server span around one HTTP function; yields a callback taking the response status."""
    if _instruments is None:
        yield _ignore_status
        return
    token = _request_id.set(request_id)
    try:
        with _instruments.http_span(method, function, path, headers, request_id) as span:

            def answered(status: int) -> None:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    from opentelemetry.trace import Status, StatusCode

                    span.set_status(Status(StatusCode.ERROR))

            yield answered
    finally:
        _request_id.reset(token)


def _ignore_status(status: int) -> None:
    """No span to record the status on."""


def orchestration_trace(owner_id: str) -> TraceContext | None:
    """The trace context a new plan carries (None while telemetry is off): the orchestration
    span's ids under the current request's span, its request id and the owner's hash."""
    if _instruments is None:
        return None
    return _instruments.orchestration_trace(_request_id.get(), owner_hash(owner_id))


def traced_orchestration(
    context: Any,
    carried: TraceContext | None,
    workflow_id: str,
    chain: Generator[Any, Any, T],
) -> Generator[Any, Any, T]:
    """Run the orchestrator's `chain` unchanged; when it ends outside replay, record the
    orchestration span from the orchestration's own clock (the first and last
    `current_utc_datetime`), failed when the chain raised."""
    started: datetime = context.current_utc_datetime
    try:
        result = yield from chain
    except Exception as exc:
        _record_orchestration(context, carried, workflow_id, started, exc)
        raise
    _record_orchestration(context, carried, workflow_id, started, None)
    return result


def _record_orchestration(
    context: Any,
    carried: TraceContext | None,
    workflow_id: str,
    started: datetime,
    error: BaseException | None,
) -> None:
    if _instruments is None or carried is None or context.is_replaying:
        return
    _instruments.record_orchestration(
        carried, workflow_id, started, context.current_utc_datetime, error
    )


def _carried(payload: Any) -> TraceContext | None:
    raw = payload.get("trace") if isinstance(payload, Mapping) else None
    try:
        return TraceContext.model_validate(raw) if raw else None
    except ValueError:
        logger.warning("ignoring an invalid trace context in an activity input")
        return None


@contextmanager
def agent_span(agent_name: str, payload: Any) -> Iterator[Callable[[Mapping[str, Any]], None]]:
    """A span named after the agent around one agent activity (under the orchestration span
    its input carries), and the agent metrics: its duration and outcome. Yields a callback
    taking the activity's AgentOutcome; an exception counts as outcome `exception`."""
    if _instruments is None:
        yield _ignore_outcome
        return
    instruments = _instruments
    data = payload if isinstance(payload, Mapping) else {}
    outcome = "exception"
    started = time.monotonic()

    with instruments.activity_span(
        agent_name,
        _carried(payload),
        agent=agent_name,
        workflow_id=data.get("workflow_id"),
    ) as span:

        def finished(result: Mapping[str, Any]) -> None:
            nonlocal outcome
            failure = result.get("failure")
            outcome = failure.get("error_type", "failed") if failure else "completed"
            span.set_attribute("planner.outcome", outcome)
            if failure:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, str(failure.get("message", ""))[:200]))

        try:
            yield finished
        finally:
            instruments.record_agent(agent_name, outcome, time.monotonic() - started)


def _ignore_outcome(result: Mapping[str, Any]) -> None:
    """No span to record the outcome on."""


@contextmanager
def publish_span(payload: Any, messages: int) -> Iterator[None]:
    """A span around one publishing activity (the orchestrator's decision about an agent)."""
    if _instruments is None:
        yield
        return
    data = payload if isinstance(payload, Mapping) else {}
    with _instruments.activity_span(
        "publish", _carried(payload), workflow_id=data.get("workflow_id"), messages=messages
    ):
        yield


def traced_send(call: Callable[[Any], T], **attributes: Any) -> Callable[[Any], T]:
    """`call` (a Web PubSub send, run later on a sender thread) inside a client span under the
    span current now; `call` itself while telemetry is off."""
    if _instruments is None:
        return call
    return _instruments.traced_send(
        call, {f"planner.{k}": v for k, v in attributes.items() if v is not None}
    )
