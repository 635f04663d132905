"""Live progress to the planner's browser: record every message, then send it over Web PubSub.

A message is one of the five documented WebSocket messages. The publisher validates it against
the shared models, adds `session_id`, `workflow_id`, `timestamp` (UTC, ISO 8601 with `Z`) and the
workflow's next `sequence`, stores it (shared/events.py) and only then sends it to the session's
group with the real `WebPubSubServiceClient`. Delivery is best effort: a failure is logged
without secrets, retried a bounded number of times by the SDK's own retry policy, and reported
as `delivered=False` — progress reporting never fails a workflow, and the stored copy lets the
browser catch up through the events endpoint.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Engine

from shared.db import ensure_schema, get_engine
from shared.events import record_event
from shared.schemas import (
    WEBSOCKET_MESSAGE,
    HeartbeatMessage,
    ProgressMessage,
    SessionId,
    WorkflowId,
)
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

logger = logging.getLogger(__name__)

GROUP_PREFIX = "session-"
GROUP_DIGEST_CHARS = 32
ENVELOPE_FIELDS = frozenset({"session_id", "workflow_id", "timestamp", "sequence"})
_SESSION_ID = TypeAdapter(SessionId)
_WORKFLOW_ID = TypeAdapter(WorkflowId)

Clock = Callable[[], datetime]
ProgressReporter = Callable[[int, str], None]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_z(moment: datetime) -> str:
    """`2025-11-04T10:30:00.123Z`: the documented timestamp form, to the millisecond."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group_for(session_id: str, *, owner_id: str) -> str:
    """The Web PubSub group an owner's session joins (and the only one its token allows).

    Derived from both, so two planners who pick the same session_id never share a group.
    """
    session = _SESSION_ID.validate_python(session_id)
    if not owner_id:
        raise ValueError("a group needs its owner")
    digest = hashlib.sha256(f"{owner_id}\x00{session}".encode()).hexdigest()
    return GROUP_PREFIX + digest[:GROUP_DIGEST_CHARS]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try to deliver one message before giving up (worst case well under 2 s).

    Passed to the service SDK: its retry policy retries connection errors and 408/429/5xx
    answers `retry_total` times with exponential backoff; the timeouts bound each attempt.
    """

    retry_total: int = 2
    retry_backoff_factor: float = 0.05
    retry_backoff_max: float = 0.2
    connection_timeout: float = 0.5
    read_timeout: float = 0.5


@dataclass(frozen=True)
class PublishedEvent:
    """What was sent (with its envelope), its sequence (None for heartbeats), and whether the
    service accepted it."""

    message: dict[str, Any]
    sequence: int | None
    delivered: bool


def _describe(exc: BaseException) -> str:
    """An error summary safe for logs: the type and the HTTP status, never URLs or headers."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


class Publisher:
    """Records and sends progress messages; one per process is enough (`get_publisher`)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        service_client: WebPubSubServiceClient | None = None,
        clock: Clock = utc_now,
        policy: DeliveryPolicy = DeliveryPolicy(),
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._client = service_client
        self._clock = clock
        self._policy = policy
        self._client_lock = threading.Lock()
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps;
        # queueing this process's writers on a lock instead keeps the latency tail short.
        self._record_lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )
        ensure_schema(engine)

    @property
    def service_client(self) -> WebPubSubServiceClient:
        with self._client_lock:
            if self._client is None:
                # The SDK (with azure-core, PyJWT, cryptography: ~0.1 s) loads with the first
                # delivery, not with the app: a fresh instance answers its first calls sooner.
                from azure.messaging.webpubsubservice import WebPubSubServiceClient

                self._client = WebPubSubServiceClient.from_connection_string(
                    self._settings.webpubsub_connection(),
                    hub=self._settings.webpubsub_hub,
                    retry_total=self._policy.retry_total,
                    retry_backoff_factor=self._policy.retry_backoff_factor,
                    retry_backoff_max=self._policy.retry_backoff_max,
                    connection_timeout=self._policy.connection_timeout,
                    read_timeout=self._policy.read_timeout,
                )
            return self._client

    def publish(
        self,
        message: Mapping[str, Any] | BaseModel,
        *,
        session_id: str,
        workflow_id: str,
        owner_id: str,
    ) -> PublishedEvent:
        """Validate, record (first), then send one message to the session's group.

        Raises pydantic.ValidationError for a message that is not one of the five documented
        ones or for malformed ids (a caller bug); never raises because delivery failed.
        """
        group = group_for(session_id, owner_id=owner_id)
        _WORKFLOW_ID.validate_python(workflow_id)
        body = self._validated(message)
        now = self._clock()

        def build(sequence: int) -> dict[str, Any]:
            envelope = {
                "session_id": session_id,
                "workflow_id": workflow_id,
                "timestamp": body.get("timestamp") or iso_z(now),
                "sequence": sequence,
            }
            return {**body, **envelope}

        with self._record_lock:
            stored = record_event(
                self._engine,
                workflow_id=workflow_id,
                session_id=session_id,
                created_at=now,
                build=build,
            )
        delivered = self._send(
            lambda client: client.send_to_group(
                group, message=stored, content_type="application/json"
            ),
            what=f"{stored['type']} #{stored['sequence']} of workflow {workflow_id}",
        )
        return PublishedEvent(message=stored, sequence=stored["sequence"], delivered=delivered)

    def heartbeat(self) -> PublishedEvent:
        """Send `{"type": "heartbeat", "timestamp": ...}` to every connection (not recorded)."""
        message = HeartbeatMessage(timestamp=iso_z(self._clock())).model_dump(exclude_none=True)
        delivered = self._send(
            lambda client: client.send_to_all(message=message, content_type="application/json"),
            what="heartbeat",
        )
        return PublishedEvent(message=message, sequence=None, delivered=delivered)

    def progress_reporter(
        self, workflow_id: str, session_id: str, agent_name: str, *, owner_id: str
    ) -> ProgressReporter:
        """`report(percent, text)` for an agent; it never raises, so reporting cannot fail an
        agent (a bad call or a database outage is logged and skipped)."""

        def report(progress: int, text: str) -> None:
            try:
                self.publish(
                    ProgressMessage(agent_name=agent_name, progress=progress, message=text),
                    session_id=session_id,
                    workflow_id=workflow_id,
                    owner_id=owner_id,
                )
            except Exception as exc:  # noqa: BLE001 - progress must never break the agent
                logger.warning(
                    "progress of %s for workflow %s not recorded: %s",
                    agent_name, workflow_id, _describe(exc),
                )

        return report

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @staticmethod
    def _validated(message: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        data = message.model_dump() if isinstance(message, BaseModel) else dict(message)
        model = WEBSOCKET_MESSAGE.validate_python(data)
        # A heartbeat's timestamp is its documented content; on other messages it is envelope.
        envelope = ENVELOPE_FIELDS - {"timestamp"} if model.type == "heartbeat" else ENVELOPE_FIELDS
        return model.model_dump(mode="json", exclude_none=True, exclude=set(envelope))

    def _send(self, call: Callable[[WebPubSubServiceClient], None], *, what: str) -> bool:
        try:
            call(self.service_client)
        except Exception as exc:  # noqa: BLE001 - delivery is best effort by design
            logger.warning("Web PubSub delivery of %s failed: %s", what, _describe(exc))
            return False
        return True


@lru_cache(maxsize=1)
def get_publisher() -> Publisher:
    """The process-wide publisher, on the app's settings and database."""
    settings = get_settings()
    return Publisher(settings, get_engine(settings.database_url))
