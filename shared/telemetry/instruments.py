"""The OpenTelemetry side of shared.telemetry: providers, the tracer, the agent metrics and the
spans of one plan. Imported only once telemetry is configured, because it loads the SDK.

The orchestration span is the one span no process can hold open: the orchestrator runs as a
series of short replays, possibly on different instances. So, as the Durable Task Framework does,
its ids are chosen when the plan starts (the HTTP starter writes them into the orchestration
input, see trace_context.py), every activity span names it as parent, and the span itself is
recorded once, when the orchestrator finishes outside replay, with the start and end moments of
the orchestration's own clock. `PresetIds` is what lets the SDK record a span under ids chosen
earlier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.telemetry.trace_context import TraceContext

SERVICE_NAME = "season-planner"
SCOPE = "shared.telemetry"
ORCHESTRATION_SPAN = "orchestration season_workflow"
EXPORT_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy", "azure.monitor.opentelemetry")

_preset: ContextVar[tuple[int, int] | None] = ContextVar("preset_trace_ids", default=None)


class PresetIds(IdGenerator):
    """Random ids, except for a span recorded under ids chosen before (`preset_ids`)."""

    def __init__(self, fallback: IdGenerator) -> None:
        self._fallback = fallback

    def generate_span_id(self) -> int:
        preset = _preset.get()
        return preset[1] if preset else self._fallback.generate_span_id()

    def generate_trace_id(self) -> int:
        preset = _preset.get()
        return preset[0] if preset else self._fallback.generate_trace_id()

    def is_trace_id_random(self) -> bool:
        return self._fallback.is_trace_id_random()


@contextmanager
def preset_ids(trace_id: int, span_id: int) -> Iterator[None]:
    token = _preset.set((trace_id, span_id))
    try:
        yield
    finally:
        _preset.reset(token)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


def _remote(trace_id: int, span_id: int, sampled: bool) -> otel_context.Context:
    """A context whose current span is the given remote one: the parent of what starts in it."""
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(parent))


def _plan_attributes(carried: TraceContext | None, **more: Any) -> dict[str, Any]:
    attributes = {f"planner.{k}": v for k, v in more.items() if v is not None}
    if carried is not None:
        if carried.request_id:
            attributes["planner.request_id"] = carried.request_id
        if carried.owner_hash:
            attributes["planner.owner_hash"] = carried.owner_hash
    return attributes


@dataclass
class Instruments:
    """What the app records with: one tracer and the two agent metrics."""

    tracer: trace.Tracer
    agent_duration: Histogram
    agent_runs: Counter
    close: Callable[[], None]

    # -- the HTTP request -------------------------------------------------------------------

    @contextmanager
    def http_span(
        self, method: str, function: str, path: str, headers: Mapping[str, str], request_id: str
    ) -> Iterator[Span]:
        """A server span for one request, under the caller's `traceparent` when it sent one."""
        parent = TraceContextTextMapPropagator().extract(carrier=dict(headers))
        attributes = {
            "http.request.method": method,
            "url.path": path,
            "code.function.name": function,
            "planner.request_id": request_id,
        }
        with self.tracer.start_as_current_span(
            f"{method} {function}", context=parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    # -- the orchestration ------------------------------------------------------------------

    def orchestration_trace(self, request_id: str | None, owner_hash: str) -> TraceContext:
        """Ids for the orchestration span, under the current (HTTP) span when there is one."""
        current = trace.get_current_span().get_span_context()
        ids = RandomIdGenerator()
        if current.is_valid:
            trace_id, parent, sampled = (
                current.trace_id,
                current.span_id,
                current.trace_flags.sampled,
            )
        else:
            trace_id, parent, sampled = ids.generate_trace_id(), None, True
        span_id = ids.generate_span_id()
        return TraceContext(
            traceparent=f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}",
            parent_span_id=f"{parent:016x}" if parent is not None else None,
            request_id=request_id,
            owner_hash=owner_hash,
        )

    def record_orchestration(
        self,
        carried: TraceContext,
        workflow_id: str,
        started: datetime,
        ended: datetime,
        error: BaseException | None,
    ) -> None:
        """The orchestration span, recorded once under the ids the plan carries."""
        trace_id, span_id = int(carried.trace_id, 16), int(carried.span_id, 16)
        parent = (
            _remote(trace_id, int(carried.parent_span_id, 16), carried.sampled)
            if carried.parent_span_id
            else otel_context.Context()
        )
        with preset_ids(trace_id, span_id):
            span = self.tracer.start_span(
                ORCHESTRATION_SPAN,
                context=parent,
                kind=SpanKind.INTERNAL,
                start_time=_ns(started),
                attributes=_plan_attributes(carried, workflow_id=workflow_id),
            )
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.set_attribute("planner.error_type", getattr(error, "error_type", "ERROR"))
        span.end(end_time=_ns(ended))

    # -- activities -------------------------------------------------------------------------

    @contextmanager
    def activity_span(
        self, name: str, carried: TraceContext | None, **attributes: Any
    ) -> Iterator[Span]:
        """A span for one activity invocation, the child of the orchestration span."""
        parent = (
            _remote(int(carried.trace_id, 16), int(carried.span_id, 16), carried.sampled)
            if carried is not None
            else None
        )
        with self.tracer.start_as_current_span(
            name,
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=_plan_attributes(carried, **attributes),
        ) as span:
            yield span

    def record_agent(self, agent: str, outcome: str, seconds: float) -> None:
        labels = {"planner.agent": agent, "planner.outcome": outcome}
        self.agent_duration.record(seconds, labels)
        self.agent_runs.add(1, labels)

    # -- Web PubSub sends -------------------------------------------------------------------

    def traced_send(
        self, call: Callable[[Any], Any], attributes: Mapping[str, Any]
    ) -> Callable[[Any], Any]:
        """`call`, run later on a sender thread, inside a client span under the span current
        now (the agent's or the publishing activity's); unchanged when no span is current."""
        captured = otel_context.get_current()
        if not trace.get_current_span(captured).get_span_context().is_valid:
            return call

        def send(client: Any) -> Any:
            with self.tracer.start_as_current_span(
                "webpubsub send", context=captured, kind=SpanKind.CLIENT, attributes=attributes
            ):
                return call(client)

        return send


def _instruments(
    tracer_provider: trace.TracerProvider, meter_provider: MeterProvider, close: Callable[[], None]
) -> Instruments:
    if isinstance(tracer_provider, SdkTracerProvider):
        # The SDK types the attribute as its default generator; any IdGenerator serves.
        tracer_provider.id_generator = PresetIds(tracer_provider.id_generator)  # type: ignore[assignment]
    meter = meter_provider.get_meter(SCOPE)
    return Instruments(
        tracer=tracer_provider.get_tracer(SCOPE),
        agent_duration=meter.create_histogram(
            "planner.agent.duration", unit="s", description="One agent activity, start to end"
        ),
        agent_runs=meter.create_counter(
            "planner.agent.runs", unit="{run}", description="Agent activities by outcome"
        ),
        close=close,
    )


def build(
    span_processors: Sequence[SpanProcessor],
    metric_readers: Sequence[MetricReader],
    log_processors: Sequence[LogRecordProcessor],
    *,
    make_global: bool,
) -> Instruments:
    """Providers of the plain SDK (local runs, tests). The root logger gets a handler, so log
    records carry the trace and span of the code that logs them."""
    resource = Resource.create({"service.name": SERVICE_NAME})
    tracer_provider = SdkTracerProvider(resource=resource)
    for processor in span_processors:
        tracer_provider.add_span_processor(processor)
    meter_provider = SdkMeterProvider(resource=resource, metric_readers=list(metric_readers))
    logger_provider = LoggerProvider(resource=resource)
    for log_processor in log_processors:
        logger_provider.add_log_record_processor(log_processor)
    handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    logging.getLogger().addHandler(handler)
    if make_global:
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)

    def close() -> None:
        logging.getLogger().removeHandler(handler)
        tracer_provider.shutdown()
        meter_provider.shutdown()
        logger_provider.shutdown()

    return _instruments(tracer_provider, meter_provider, close)


def local(exporter: str) -> Instruments:
    """Traces, metrics and logs to the terminal (`console`) or an OTLP/HTTP collector (`otlp`,
    at OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318)."""
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        spans: Any = OTLPSpanExporter()
        metric_exporter: Any = OTLPMetricExporter()
        logs: Any = OTLPLogExporter()
    else:
        from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        spans, metric_exporter, logs = (
            ConsoleSpanExporter(),
            ConsoleMetricExporter(),
            ConsoleLogRecordExporter(),
        )
    return build(
        [BatchSpanProcessor(spans)],
        [PeriodicExportingMetricReader(metric_exporter)],
        [BatchLogRecordProcessor(logs)],
        make_global=True,
    )


def azure_monitor(connection_string: str) -> Instruments:
    """The Azure Monitor distro: traces, metrics and logs to Application Insights (keyless when
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING says Authorization=AAD, as the template sets)."""
    from azure.monitor.opentelemetry import configure_azure_monitor

    # The distro exports every log record of the root logger, and exporting logs at INFO itself
    # (the Azure SDK pipeline each request, the exporter each transmission): left on, every
    # export would log records that are exported in turn, for ever.
    for name in EXPORT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    configure_azure_monitor(
        connection_string=connection_string,
        resource=Resource.create({"service.name": SERVICE_NAME}),
        # Every plan's trace whole: the sampler decides by trace id, the same way in every
        # process a plan passes through (the distro's default, a rate limit of 5 traces a
        # second, drops spans on its own). OTEL_TRACES_SAMPLER still overrides it.
        sampling_ratio=1.0,
        # Web frameworks the app does not use; requests/urllib3 (the Azure SDKs) stay on.
        instrumentation_options={
            name: {"enabled": False} for name in ("django", "fastapi", "flask", "psycopg2")
        },
    )
    return _instruments(trace.get_tracer_provider(), metrics.get_meter_provider(), lambda: None)
