"""Live progress to the planner's browser: record every message first, then deliver it in the
background over Web PubSub.

A message is one of the five documented WebSocket messages. The publisher validates it against
the shared models, adds `session_id`, `workflow_id`, `timestamp` (UTC, ISO 8601 with `Z`) and the
workflow's next `sequence`, and records it (shared/data/events.py: each message once, progress never
backwards, nothing after the terminal message) — synchronously, so the log is always complete.
Delivery happens afterwards on a few sender threads per process ("lanes"; a session's messages
always take the same lane, so they leave in order), each fed by a bounded queue: an agent that
reports progress spends a database write and a queue append, never a network round trip, so a
slow, refusing or black-holed Web PubSub cannot hold it. The sender gives each message a
bounded number of tries with short timeouts (the service SDK's own retry policy), drops messages
that waited longer than they are useful live (the client catches up from the log), and, when the
queue is full, drops the new message with a log line. Nothing here ever fails a workflow.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import Engine

from shared.data.db import get_engine
from shared.data.events import record_events
from shared.data.schema import ensure_schema
from shared.schemas import (
    WEBSOCKET_MESSAGE,
    HeartbeatMessage,
    SessionId,
    WorkflowId,
)
from shared.settings import Settings, get_settings
from shared.telemetry import traced_send

if TYPE_CHECKING:
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

logger = logging.getLogger(__name__)

GROUP_PREFIX = "session-"
GROUP_DIGEST_CHARS = 32
ENVELOPE_FIELDS = frozenset({"session_id", "workflow_id", "timestamp", "sequence"})
_SESSION_ID = TypeAdapter(SessionId)
_WORKFLOW_ID = TypeAdapter(WorkflowId)

Clock = Callable[[], datetime]
SendCall = Callable[["WebPubSubServiceClient"], None]


def _send_to_group(group: str, message: dict[str, Any]) -> SendCall:
    """The SDK call that sends `message` to `group` as JSON (run later, on a sender lane)."""
    return lambda client: client.send_to_group(
        group, message=message, content_type="application/json"
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """`2025-11-04T10:30:00.123Z`: the documented timestamp form, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    """How the background sender treats one message (worst case per message well under 2 s).

    The first five go to the service SDK: its retry policy retries connection errors and
    408/429/5xx answers `retry_total` times with exponential backoff, and the timeouts bound
    each try. A message that waited in the queue longer than `max_age_seconds` is dropped
    unsent (the client catches up from the event log); `queue_size` (split over the `lanes`)
    bounds the memory a dead service can cost; `exit_flush_seconds` is how long process exit
    waits for the queues.
    """

    retry_total: int = 2
    retry_backoff_factor: float = 0.05
    retry_backoff_max: float = 0.2
    connection_timeout: float = 0.5
    read_timeout: float = 0.5
    queue_size: int = 1000
    lanes: int = 8
    max_age_seconds: float = 10.0
    exit_flush_seconds: float = 2.0


@dataclass(frozen=True)
class PublishedEvent:
    """What was recorded (with its envelope) and its sequence — or, for a message the log
    already had or no longer admits, `recorded=False` and no sequence — and whether it was
    queued for delivery."""

    message: dict[str, Any]
    sequence: int | None
    recorded: bool
    queued: bool


def _describe(exc: BaseException) -> str:
    """An error summary safe for logs: the type and the HTTP status, never URLs or headers."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


@dataclass(frozen=True)
class _Outgoing:
    what: str
    call: SendCall
    queued_at: float


class _Lane:
    """A bounded queue drained by one daemon thread, started on first use; messages leave in
    the order they were queued."""

    def __init__(
        self, deliver: Callable[[_Outgoing], None], policy: DeliveryPolicy, capacity: int
    ) -> None:
        self._deliver = deliver
        self._policy = policy
        self._capacity = capacity
        self._items: deque[_Outgoing] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, what: str, call: SendCall) -> bool:
        with self._cond:
            if self._closed:
                return False
            if len(self._items) >= self._capacity:
                logger.warning(
                    "Web PubSub delivery queue is full (%d); %s dropped "
                    "(it stays in the event log)",
                    self._capacity,
                    what,
                )
                return False
            self._items.append(_Outgoing(what, call, time.monotonic()))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="webpubsub-sender", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return
                item = self._items.popleft()
                self._busy = True
            try:
                waited = time.monotonic() - item.queued_at
                if waited > self._policy.max_age_seconds:
                    logger.warning(
                        "Web PubSub delivery of %s skipped after %.1f s in the queue "
                        "(it stays in the event log)",
                        item.what,
                        waited,
                    )
                else:
                    self._deliver(item)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, deadline: float) -> bool:
        """Wait until nothing is queued or being sent, or the monotonic `deadline`."""
        with self._cond:
            while self._items or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self) -> None:
        """Stop the thread; what is still queued is dropped."""
        with self._cond:
            if self._items:
                logger.warning(
                    "%d Web PubSub deliveries dropped at shutdown (they stay in the event log)",
                    len(self._items),
                )
            self._items.clear()
            self._closed = True
            self._cond.notify_all()


class _Sender:
    """The lanes of one publisher: a message goes to the lane of its `key` (the group), so a
    session's messages leave in order while sessions do not wait for one another. `flush`
    waits (bounded) for every lane; process exit flushes through `atexit`, bounded the same.

    Under the Functions host the worker process outlives each invocation, so deliveries go on
    after the activity returned; a process the host freezes or recycles loses at most live
    deliveries (daemon threads), never a log entry, and clients catch up from the log."""

    def __init__(self, deliver: Callable[[_Outgoing], None], policy: DeliveryPolicy) -> None:
        capacity = max(1, -(-policy.queue_size // policy.lanes))
        self._lanes = [_Lane(deliver, policy, capacity) for _ in range(policy.lanes)]
        self._policy = policy
        atexit.register(self.close)

    def submit(self, key: str, what: str, call: SendCall) -> bool:
        lane = self._lanes[zlib.crc32(key.encode()) % len(self._lanes)]
        return lane.submit(what, call)

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until no lane has anything queued or in flight."""
        deadline = time.monotonic() + timeout
        # Every lane flushes (no short-circuit): one late lane must not leave the others queued.
        flushed = [lane.flush(deadline) for lane in self._lanes]
        return all(flushed)

    def close(self) -> None:
        """Flush (bounded by the policy), then stop every lane."""
        self.flush(self._policy.exit_flush_seconds)
        for lane in self._lanes:
            lane.stop()
        atexit.unregister(self.close)


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
        self._sender = _Sender(self._deliver, policy)
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
                from shared.messaging.webpubsub_client import (
                    build_service_client,
                    pooled_transport,
                )

                self._client = build_service_client(
                    self._settings,
                    retry_total=self._policy.retry_total,
                    retry_backoff_factor=self._policy.retry_backoff_factor,
                    retry_backoff_max=self._policy.retry_backoff_max,
                    transport=pooled_transport(
                        self._policy.lanes,
                        connection_timeout=self._policy.connection_timeout,
                        read_timeout=self._policy.read_timeout,
                    ),
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
        """Validate, record (first), then queue one message for the session's group.

        Raises pydantic.ValidationError for a message that is not one of the five documented
        ones or for malformed ids (a caller bug); never raises because delivery failed. A
        message the log already holds or no longer admits comes back with `recorded=False`.
        """
        events = self.publish_all(
            [message], session_id=session_id, workflow_id=workflow_id, owner_id=owner_id
        )
        if events:
            return events[0]
        return PublishedEvent(
            message=self.validated(message), sequence=None, recorded=False, queued=False
        )

    def publish_all(
        self,
        messages: Sequence[Mapping[str, Any] | BaseModel],
        *,
        session_id: str,
        workflow_id: str,
        owner_id: str,
        close: bool = False,
    ) -> list[PublishedEvent]:
        """`publish` for several messages recorded in one transaction (nothing can come between
        them); `close=True` ends the workflow's stream after them. Returns the recorded ones.
        They go to the group of the owner's session (`group_for`)."""
        group = group_for(session_id, owner_id=owner_id)
        _WORKFLOW_ID.validate_python(workflow_id)
        bodies = [self.validated(message) for message in messages]
        if any(body["type"] == "heartbeat" for body in bodies):
            raise ValueError("heartbeats belong to no workflow; send them with heartbeat()")
        now = self._clock()

        def build(body: Mapping[str, Any], sequence: int) -> dict[str, Any]:
            envelope = {
                "session_id": session_id,
                "workflow_id": workflow_id,
                "timestamp": body.get("timestamp") or iso_z(now),
                "sequence": sequence,
            }
            return {**body, **envelope}

        with self._record_lock:
            stored = record_events(
                self._engine,
                workflow_id=workflow_id,
                session_id=session_id,
                created_at=now,
                messages=bodies,
                build=build,
                close=close,
            )
        return [
            PublishedEvent(
                message=record,
                sequence=record["sequence"],
                recorded=True,
                queued=self._sender.submit(
                    group,
                    f"{record['type']} #{record['sequence']} of workflow {workflow_id}",
                    traced_send(
                        _send_to_group(group, record),
                        workflow_id=workflow_id,
                        message_type=record["type"],
                        sequence=record["sequence"],
                    ),
                ),
            )
            for record in stored
        ]

    def heartbeat(self) -> PublishedEvent:
        """Queue `{"type": "heartbeat", "timestamp": ...}` for every connection (not recorded)."""
        message = HeartbeatMessage(timestamp=iso_z(self._clock())).model_dump(exclude_none=True)
        queued = self._sender.submit(
            "heartbeat",
            "heartbeat",
            lambda client: client.send_to_all(message=message, content_type="application/json"),
        )
        return PublishedEvent(message=message, sequence=None, recorded=False, queued=queued)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to `timeout` s for queued deliveries to be handled; True if all were."""
        return self._sender.flush(timeout)

    def close(self) -> None:
        """Flush (bounded by the policy), stop the sender and close the service client."""
        self._sender.close()
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @staticmethod
    def validated(message: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
        """`message` as it would be recorded (without envelope); raises ValidationError for
        anything but the five documented messages."""
        data = message.model_dump() if isinstance(message, BaseModel) else dict(message)
        model = WEBSOCKET_MESSAGE.validate_python(data)
        # A heartbeat's timestamp is its documented content; on other messages it is envelope.
        envelope = ENVELOPE_FIELDS - {"timestamp"} if model.type == "heartbeat" else ENVELOPE_FIELDS
        return model.model_dump(mode="json", exclude_none=True, exclude=set(envelope))

    def _deliver(self, item: _Outgoing) -> None:
        try:
            item.call(self.service_client)
        except Exception as exc:  # noqa: BLE001 - delivery is best effort by design
            logger.warning("Web PubSub delivery of %s failed: %s", item.what, _describe(exc))


@lru_cache(maxsize=1)
def get_publisher() -> Publisher:
    """The process-wide publisher, on the app's settings and database."""
    settings = get_settings()
    return Publisher(settings, get_engine(settings.database_url))
