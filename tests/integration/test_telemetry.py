"""One trace per plan, on the local stack: a plan started over HTTP is one trace holding the
request span, the orchestration span under it, the three agent spans and the publishing spans
under that, and the Web PubSub sends under whoever published; the agents' durations and
outcomes are metrics, and the agents' log records carry their span. Exported in memory: the
same SDK pipeline the console and OTLP exporters use (shared/telemetry/instruments.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared import telemetry
from shared.agents import AGENT_NAMES
from shared.telemetry import instruments
from shared.telemetry.trace_context import owner_hash
from tests.support.live_stack import LiveStack, live_stack
from tests.support.workflow_http import wait_finished

STRATEGY = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)
REQUEST_ID = "trace-test-1"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


class Exported:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.logs = InMemoryLogRecordExporter()


@pytest.fixture
def exported(tmp_path, caplog) -> Iterator[tuple[Exported, LiveStack]]:
    caplog.set_level(logging.INFO)  # as the Functions worker and `localdev serve` log
    out = Exported()
    telemetry.install(
        instruments.build(
            [SimpleSpanProcessor(out.spans)],
            [out.metrics],
            [SimpleLogRecordProcessor(out.logs)],
            make_global=False,
        )
    )
    try:
        with live_stack(tmp_path) as stack:
            yield out, stack
    finally:
        telemetry.uninstall()


def _run_plan(stack: LiveStack) -> str:
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        extracted = client.post(
            "/api/orchestrator/extract-parameters", json={"strategy_description": STRATEGY}
        )
        assert extracted.status_code == 200, extracted.text
        parameters = {k: v for k, v in extracted.json().items() if k != "field_sources"}
        started = client.post(
            "/api/orchestrator/run-workflow",
            json={"session_id": "trace-session", "parameters": parameters},
            headers={
                "x-request-id": REQUEST_ID,
                # The caller's own trace: the plan joins it.
                "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
            },
        )
        assert started.status_code == 202, started.text
        workflow_id = started.json()["workflow_id"]
    status = wait_finished(stack.base_url, workflow_id, 90, poll=0.3)
    assert status["runtime_status"] == "Completed", status
    return workflow_id


def _wait_for(spans: InMemorySpanExporter, name: str) -> None:
    """The orchestration span is recorded when the orchestrator's last episode ends, which may
    be a moment after the status says Completed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(s.name == name for s in spans.get_finished_spans()):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {name} span")


def _by_id(spans: list[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in spans}


def _window(span: ReadableSpan) -> tuple[int, int]:
    assert span.start_time is not None and span.end_time is not None
    return span.start_time, span.end_time


def _metric_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_a_plan_is_one_trace_from_request_to_the_last_send(exported):
    out, stack = exported
    workflow_id = _run_plan(stack)
    _wait_for(out.spans, instruments.ORCHESTRATION_SPAN)
    spans = [
        s for s in out.spans.get_finished_spans() if s.context.trace_id == int(CALLER_TRACE, 16)
    ]
    by_id = _by_id(spans)

    def parent_of(span: ReadableSpan) -> ReadableSpan | None:
        return by_id.get(span.parent.span_id) if span.parent else None

    [request] = [s for s in spans if s.name == "POST run_workflow"]
    assert request.kind == SpanKind.SERVER
    assert request.parent is not None and request.parent.span_id == int(CALLER_SPAN, 16)
    assert request.attributes["planner.request_id"] == REQUEST_ID
    assert request.attributes["http.response.status_code"] == 202

    [orchestration] = [s for s in spans if s.name == instruments.ORCHESTRATION_SPAN]
    assert parent_of(orchestration) is request
    assert orchestration.attributes["planner.workflow_id"] == workflow_id
    assert orchestration.attributes["planner.request_id"] == REQUEST_ID
    assert orchestration.attributes["planner.owner_hash"] == owner_hash("local-developer")
    assert orchestration.status.status_code != StatusCode.ERROR
    begin, end = _window(orchestration)
    assert begin < end

    agents = [s for s in spans if s.name in AGENT_NAMES]
    assert sorted(s.name for s in agents) == sorted(AGENT_NAMES)  # one attempt each
    for agent in agents:
        assert parent_of(agent) is orchestration, agent.name
        assert agent.attributes["planner.agent"] == agent.name
        assert agent.attributes["planner.workflow_id"] == workflow_id
        assert agent.attributes["planner.request_id"] == REQUEST_ID
        assert agent.attributes["planner.owner_hash"] == owner_hash("local-developer")
        assert agent.attributes["planner.outcome"] == "completed"
        # Inside the orchestration's time (its clock is the runtime's, to the millisecond).
        assert begin - 5_000_000 <= _window(agent)[0] and _window(agent)[1] <= end + 5_000_000
    assert [s.name for s in sorted(agents, key=lambda s: _window(s)[0])] == list(AGENT_NAMES)

    publishes = [s for s in spans if s.name == "publish"]
    assert len(publishes) == 1  # the orchestrator's own: the last agent's result
    assert all(parent_of(s) is orchestration for s in publishes)
    assert all(s.attributes["planner.workflow_id"] == workflow_id for s in publishes)

    sends = [s for s in spans if s.name == "webpubsub send"]
    assert all(s.kind == SpanKind.CLIENT for s in sends)
    senders = {parent_of(s).name for s in sends}  # type: ignore[union-attr]
    assert senders == {*AGENT_NAMES, "publish"}  # running/progress; complete + completed
    types = {s.attributes["planner.message_type"] for s in sends}
    assert {"agent_status", "progress", "complete"} <= types
    # Each accepted result goes out from the next agent's activity, the last from the publish.
    completes = [s for s in sends if s.attributes["planner.message_type"] == "complete"]
    complete_senders = [parent_of(s).name for s in completes]  # type: ignore[union-attr]
    assert sorted(complete_senders) == sorted([*AGENT_NAMES[1:], "publish"])

    # Nothing of the plan sits outside its trace.
    strays = [
        s
        for s in out.spans.get_finished_spans()
        if s.attributes and s.attributes.get("planner.workflow_id") == workflow_id
    ]
    assert all(s.context.trace_id == int(CALLER_TRACE, 16) for s in strays)

    runs = _metric_points(out.metrics, "planner.agent.runs")
    assert {(p.attributes["planner.agent"], p.attributes["planner.outcome"]) for p in runs} == {
        (name, "completed") for name in AGENT_NAMES
    }
    durations = _metric_points(out.metrics, "planner.agent.duration")
    assert sum(p.count for p in durations) == 3 and all(p.sum > 0 for p in durations)

    agent_ids = {s.context.span_id: s.name for s in agents}
    correlated = {
        agent_ids[record.log_record.span_id]
        for record in out.logs.get_finished_logs()
        if record.log_record.trace_id == int(CALLER_TRACE, 16)
        and record.log_record.span_id in agent_ids
    }
    assert correlated == set(AGENT_NAMES)


def test_a_replay_records_no_span_and_the_orchestration_span_once(exported):
    """The orchestrator is replayed once per finished task; its span appears once, and no
    orchestration span exists for a run whose orchestrator has not finished."""
    out, stack = exported
    _run_plan(stack)
    _wait_for(out.spans, instruments.ORCHESTRATION_SPAN)
    time.sleep(0.5)
    orchestrations = [
        s for s in out.spans.get_finished_spans() if s.name == instruments.ORCHESTRATION_SPAN
    ]
    assert len(orchestrations) == 1
