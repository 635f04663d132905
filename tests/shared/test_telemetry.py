"""shared.telemetry without the stack: off, every helper does nothing; on, the orchestration
span is recorded once, outside replay, under the ids the plan carried."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from shared import telemetry
from shared.errors import AgentTimeoutError
from shared.settings import Settings
from shared.telemetry import instruments
from shared.telemetry.trace_context import TraceContext, owner_hash

START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
CARRIED = TraceContext(
    traceparent="00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
    parent_span_id="b7ad6b7169203331",
    request_id="req-1",
    owner_hash=owner_hash("alice"),
)


@dataclass
class FakeContext:
    """What traced_orchestration reads of a DurableOrchestrationContext."""

    current_utc_datetime: datetime
    is_replaying: bool


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.install(instruments.build([SimpleSpanProcessor(exporter)], [], [], make_global=False))
    try:
        yield exporter
    finally:
        telemetry.uninstall()


def _chain(context: FakeContext, fail: bool = False) -> Any:
    yield "an activity"
    context.current_utc_datetime += timedelta(seconds=3)
    if fail:
        raise AgentTimeoutError("Demand Agent did not finish within 30 s")
    return {"status": "completed"}


def _drive(context: FakeContext, carried: TraceContext | None, fail: bool = False) -> Any:
    generator = telemetry.traced_orchestration(context, carried, "wf-1", _chain(context, fail))
    assert next(generator) == "an activity"
    with pytest.raises(StopIteration) as done:
        generator.send(None)
    return done.value.value


def test_off_every_helper_does_nothing():
    assert not telemetry.enabled()
    assert not telemetry.configure(Settings(otel_traces_exporter="none"))
    assert not telemetry.configure(Settings(otel_traces_exporter="zipkin"))  # not ours: off
    assert telemetry.orchestration_trace("alice") is None
    call = object()
    assert telemetry.traced_send(call) is call  # type: ignore[arg-type]
    with telemetry.agent_span("Demand Agent", {"trace": CARRIED.model_dump()}) as finished:
        finished({"summary": {}})
    context = FakeContext(START, is_replaying=False)
    assert _drive(context, CARRIED) == {"status": "completed"}


def test_the_orchestration_span_is_recorded_once_under_the_carried_ids(spans):
    replayed = FakeContext(START, is_replaying=True)
    assert _drive(replayed, CARRIED) == {"status": "completed"}
    assert spans.get_finished_spans() == ()  # a replay records nothing

    assert _drive(FakeContext(START, is_replaying=False), CARRIED) == {"status": "completed"}
    [span] = spans.get_finished_spans()
    assert span.name == instruments.ORCHESTRATION_SPAN
    assert f"{span.context.trace_id:032x}" == CARRIED.trace_id
    assert f"{span.context.span_id:016x}" == CARRIED.span_id
    assert span.parent is not None and f"{span.parent.span_id:016x}" == CARRIED.parent_span_id
    assert span.start_time == int(START.timestamp() * 1e9)
    assert span.end_time == int((START + timedelta(seconds=3)).timestamp() * 1e9)
    assert span.attributes == {
        "planner.workflow_id": "wf-1",
        "planner.request_id": "req-1",
        "planner.owner_hash": owner_hash("alice"),
    }


def test_a_failed_orchestration_is_an_error_span_and_still_raises(spans):
    generator = telemetry.traced_orchestration(
        FakeContext(START, is_replaying=False),
        CARRIED,
        "wf-1",
        _chain(FakeContext(START, False), fail=True),
    )
    next(generator)
    with pytest.raises(AgentTimeoutError):
        generator.send(None)
    [span] = spans.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["planner.error_type"] == "AGENT_TIMEOUT"


def test_an_invalid_carried_context_is_ignored_not_fatal(spans):
    with telemetry.agent_span("Demand Agent", {"trace": {"traceparent": "garbage"}}) as finished:
        finished({"failure": {"error_type": "DATA_NOT_FOUND", "message": "too little history"}})
    [span] = spans.get_finished_spans()
    assert span.parent is None and span.attributes["planner.outcome"] == "DATA_NOT_FOUND"
    assert span.status.status_code == StatusCode.ERROR


def test_the_owner_is_hashed_never_named():
    assert owner_hash("alice") == owner_hash("alice") != owner_hash("bob")
    assert "alice" not in owner_hash("alice") and len(owner_hash("alice")) == 16
    with pytest.raises(ValueError):
        TraceContext(traceparent="00-xyz-1-01")
