"""An agent attempt's own messages (`agent_status running` and its progress), none ever dropped.

The event log is what clients catch up from, so a message that cannot be written now (the
database is locked past its busy timeout, or the connection dropped) is kept, in order, and
written again later with the same content: its identity comes from its content
(shared/data/events.py), so a write that did land before the error is never doubled. While
anything is pending, later messages queue behind it (written after it, never before, so
progress never appears to go backwards) and the agent keeps computing: a report retries the
queue only after a back-off, never blocking the agent on every report. `settle` writes what is
left before the attempt reports success, retrying until the attempt's deadline; if the
database is still unavailable then, the attempt fails retryably instead of claiming a success
whose messages no client could ever see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from shared.errors import DatabaseUnavailableError
from shared.messaging.publisher import Publisher

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 2.0

Monotonic = Callable[[], float]
Sleep = Callable[[float], None]


class AttemptMessages:
    """Records one attempt's messages for `(workflow, session, owner)`, queueing and retrying
    the ones the database cannot take now, until `deadline` (UTC)."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        workflow_id: str,
        session_id: str,
        owner_id: str,
        deadline: datetime,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._publisher = publisher
        self._workflow_id = workflow_id
        self._session_id = session_id
        self._owner_id = owner_id
        self._monotonic = monotonic
        self._sleep = sleep
        if deadline.tzinfo is None:  # the Durable SDK's clock is naive UTC
            deadline = deadline.replace(tzinfo=UTC)
        remaining = (deadline - datetime.now(UTC)).total_seconds()
        self._deadline = monotonic() + max(0.0, remaining)
        self._pending: list[dict[str, Any]] = []
        self._backoff = FIRST_BACKOFF_SECONDS
        self._next_try = 0.0

    @property
    def pending(self) -> int:
        """How many messages wait to be written."""
        return len(self._pending)

    def publish(self, message: dict[str, Any] | BaseModel) -> None:
        """Record `message` after any still pending; a database failure queues it. Never
        raises: a message that is not one of the documented ones is logged and skipped."""
        try:
            body = Publisher.validated(message)
        except (ValidationError, ValueError) as exc:
            logger.warning(
                "message for workflow %s not recorded: %s", self._workflow_id, type(exc).__name__
            )
            return
        self._pending.append(body)
        if self._monotonic() >= self._next_try:
            self._write_pending()

    def report(self, progress: int, text: str, *, agent_name: str) -> None:
        """One progress message of `agent_name` (the ProgressReporter shape, bound by the
        caller)."""
        self.publish(
            {"type": "progress", "agent_name": agent_name, "progress": progress, "message": text}
        )

    def settle(self) -> None:
        """Write every pending message, retrying with back-off until the deadline; raise
        DatabaseUnavailableError if some are still unwritten then."""
        while self._pending:
            if self._write_pending():
                return
            left = self._deadline - self._monotonic()
            if left <= 0:
                raise DatabaseUnavailableError(
                    f"{len(self._pending)} progress message(s) of workflow {self._workflow_id} "
                    "could not be recorded before the agent's deadline",
                    details={"workflow_id": self._workflow_id, "unrecorded": len(self._pending)},
                    suggestions=["Retry when the database accepts writes again."],
                )
            self._sleep(min(self._backoff, left))

    def _write_pending(self) -> bool:
        """Try to write the whole queue in one transaction; True when it is empty after."""
        try:
            self._publisher.publish_all(
                self._pending,
                session_id=self._session_id,
                workflow_id=self._workflow_id,
                owner_id=self._owner_id,
            )
        except SQLAlchemyError as exc:
            logger.warning(
                "%d message(s) for workflow %s not recorded yet (%s); retrying",
                len(self._pending),
                self._workflow_id,
                type(exc).__name__,
            )
            self._next_try = self._monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
            return False
        self._pending.clear()
        self._backoff = FIRST_BACKOFF_SECONDS
        self._next_try = 0.0
        return True
