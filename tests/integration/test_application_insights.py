"""The Azure Monitor path at the wire: with APPLICATIONINSIGHTS_CONNECTION_STRING set, importing
the app configures the Azure Monitor distro, and an agent's span, its metrics and its correlated
log record reach the ingestion endpoint as Application Insights envelopes. Application Insights
cannot run here, so a local HTTP server stands in for its ingestion endpoint (the connection
string's IngestionEndpoint and LiveEndpoint point at it). The app runs in a fresh interpreter:
the distro sets the process-wide providers."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

APP = """
import logging
from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider

import function_app  # configures telemetry from the environment
from shared import telemetry

assert telemetry.enabled()
logging.getLogger().setLevel(logging.INFO)
payload = {"workflow_id": "wf-ai", "trace": {
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
    "request_id": "req-ai", "owner_hash": "1985aec260a1b651"}}
with telemetry.agent_span("Demand Agent", payload) as finished:
    logging.getLogger("activities.agent_triggers").info("Demand Agent completed (workflow wf-ai)")
    finished({"summary": {"total_demand": 1}})
for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), get_logger_provider()):
    provider.force_flush()
"""


class Ingestion(ThreadingHTTPServer):
    envelopes: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: Ingestion

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path.endswith("/v2.1/track"):
            received = json.loads(body)
            self.server.envelopes.extend(received if isinstance(received, list) else [received])
            answer = {"itemsReceived": len(received), "itemsAccepted": len(received), "errors": []}
        else:  # live metrics pings and posts
            answer = {}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def ingestion() -> Iterator[Ingestion]:
    server = Ingestion(("127.0.0.1", 0), _Handler)
    server.envelopes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_distro_sends_the_agent_span_metrics_and_logs_to_application_insights(
    ingestion, tmp_path
):
    endpoint = f"http://127.0.0.1:{ingestion.server_address[1]}/"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp_path / 'ai.db'}",
        APPLICATIONINSIGHTS_CONNECTION_STRING=(
            "InstrumentationKey=00000000-0000-0000-0000-000000000001;"
            f"IngestionEndpoint={endpoint};LiveEndpoint={endpoint}"
        ),
        # Nothing leaves this machine: no SDK self-telemetry, no remote configuration, no
        # cloud metadata lookups.
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
        APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED="true",
        OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel",
        TMPDIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-c", APP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]

    by_type: dict[str, list[dict[str, Any]]] = {}
    for envelope in ingestion.envelopes:
        by_type.setdefault(envelope["data"]["baseType"], []).append(envelope)
    [span] = [
        e
        for e in by_type["RemoteDependencyData"]
        if e["data"]["baseData"]["name"] == "Demand Agent"
    ]
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    assert span["tags"]["ai.operation.id"] == trace_id
    assert span["tags"]["ai.operation.parentId"] == "00f067aa0ba902b7"  # the orchestration span
    properties = span["data"]["baseData"]["properties"]
    assert properties["planner.workflow_id"] == "wf-ai"
    assert properties["planner.request_id"] == "req-ai"
    assert properties["planner.outcome"] == "completed"
    [log] = [
        e
        for e in by_type["MessageData"]
        if e["data"]["baseData"]["message"].startswith("Demand Agent completed")
    ]
    assert log["tags"]["ai.operation.id"] == trace_id
    assert log["tags"]["ai.operation.parentId"] == span["data"]["baseData"]["id"]
    metric_names = {
        point["name"] for e in by_type["MetricData"] for point in e["data"]["baseData"]["metrics"]
    }
    assert {"planner.agent.runs", "planner.agent.duration"} <= metric_names
