"""The per-workflow log of every progress message, with gap-free sequence numbers.

Each message is written here before it is sent, so a client that missed frames (reconnect,
closed tab, service outage) can catch up from `GET .../events?after=<sequence>`.

Sequence numbers come from a one-row-per-workflow counter that is incremented with an UPDATE
as the transaction's first statement: on SQLite that takes the write lock before anything is
read (concurrent writers queue on the busy timeout instead of reading a stale maximum), on a
server database it row-locks the counter. Either way two writers never get the same number and
no number is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, session_scope

MAX_FETCH = 1000
_INSERT_ATTEMPTS = 3


class WorkflowEventCounter(Base):
    __tablename__ = "workflow_event_counters"

    workflow_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, nullable=False)


class WorkflowEvent(Base):
    __tablename__ = "workflow_events"
    __table_args__ = (UniqueConstraint("workflow_id", "sequence", name="uq_workflow_event_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    session_id: Mapped[str] = mapped_column(String(64), nullable=False)
    message_type: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class EventPage:
    """Events after a given sequence, and the highest sequence the workflow has (0 if none)."""

    events: list[dict[str, Any]]
    last_sequence: int


def record_event(
    engine: Engine,
    *,
    workflow_id: str,
    session_id: str,
    created_at: datetime,
    build: Callable[[int], dict[str, Any]],
) -> dict[str, Any]:
    """Store one message under the workflow's next sequence number and return it.

    `build(sequence) -> dict` makes the message once the number is known, so the stored payload
    and the one sent carry the same sequence.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            with session_scope(engine) as session:
                bumped = session.execute(
                    update(WorkflowEventCounter)
                    .where(WorkflowEventCounter.workflow_id == workflow_id)
                    .values(last_sequence=WorkflowEventCounter.last_sequence + 1)
                    .returning(WorkflowEventCounter.last_sequence)
                ).scalar_one_or_none()
                if bumped is None:
                    session.execute(
                        insert(WorkflowEventCounter).values(
                            workflow_id=workflow_id, last_sequence=1
                        )
                    )
                    bumped = 1
                message = build(bumped)
                session.add(
                    WorkflowEvent(
                        workflow_id=workflow_id,
                        sequence=bumped,
                        session_id=session_id,
                        message_type=message["type"],
                        payload=json.dumps(message, separators=(",", ":")),
                        created_at=created_at,
                    )
                )
            return message
        except IntegrityError:
            # Two first events of one workflow raced to create its counter (server databases
            # only; SQLite serialises them): the loser retries and now finds the row.
            if attempt >= _INSERT_ATTEMPTS:
                raise


def fetch_events(
    engine: Engine, workflow_id: str, after: int = 0, limit: int = MAX_FETCH
) -> EventPage:
    """Messages with sequence > `after`, oldest first, at most `limit` of them."""
    with session_scope(engine) as session:
        last = session.execute(
            select(WorkflowEventCounter.last_sequence).where(
                WorkflowEventCounter.workflow_id == workflow_id
            )
        ).scalar_one_or_none()
        rows = session.execute(
            select(WorkflowEvent.payload)
            .where(WorkflowEvent.workflow_id == workflow_id, WorkflowEvent.sequence > after)
            .order_by(WorkflowEvent.sequence)
            .limit(limit)
        ).scalars()
        events = [json.loads(payload) for payload in rows]
    return EventPage(events=events, last_sequence=last or 0)
