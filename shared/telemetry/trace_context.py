"""The trace context a plan carries across the Durable boundary.

Durable Functions runs the orchestrator and each activity as separate invocations (on Azure,
through storage queues), so no ambient span reaches them. The HTTP starter therefore writes a
`TraceContext` into the orchestration input, and the orchestrator copies it, unchanged, into every
activity input: a value from the input is replay-safe, and the orchestrator itself never creates a
span while it replays. Imports nothing from OpenTelemetry: the models that carry it stay light.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

# W3C Trace Context: version-traceid-parentid-flags (www.w3.org/TR/trace-context/).
TRACEPARENT_PATTERN = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


class TraceContext(BaseModel):
    """Where a plan's spans hang: `traceparent` is the orchestration span's own context (every
    activity span is its child); `parent_span_id` is the HTTP request span the orchestration
    span belongs under. The request id and the owner's hash are attributes of every span."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    traceparent: str = Field(pattern=TRACEPARENT_PATTERN)
    parent_span_id: str | None = Field(None, pattern=r"^[0-9a-f]{16}$")
    request_id: str | None = Field(None, max_length=128)
    owner_hash: str | None = Field(None, pattern=r"^[0-9a-f]{16}$")

    @property
    def trace_id(self) -> str:
        return self.traceparent.split("-")[1]

    @property
    def span_id(self) -> str:
        return self.traceparent.split("-")[2]

    @property
    def sampled(self) -> bool:
        return int(self.traceparent.split("-")[3], 16) & 1 == 1


def owner_hash(owner_id: str) -> str:
    """The owner as telemetry may name them: a SHA-256 prefix, the same for every plan of one
    owner and useless for finding out who it is."""
    return hashlib.sha256(owner_id.encode("utf-8")).hexdigest()[:16]
