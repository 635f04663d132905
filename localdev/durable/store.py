"""The local task hub: orchestration instances and their history, in the app's database.

Its tables have a declarative base of their own (`DurableBase`) and the store creates them
itself (`DurableStore.create_tables`), as the Durable extension keeps its task hub apart from
the app: the app's schema (shared/data/schema.py) is the same whether or not this module was
imported.

Everything the runtime needs to resume after a restart is the history: task ids and retry state
are re-derived by replaying it every episode, as the extension does. Work in flight (running
activities, armed timers) is rebuilt from the history too: a scheduled task without a result
runs again, a created timer without a TimerFired is re-armed — the at-least-once contract
Durable Functions gives activities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, ForeignKey, Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.data.db import session_scope

RUNNING_STATES = ("Pending", "Running")


class DurableBase(DeclarativeBase):
    """The metadata of the task hub's tables, and of nothing else."""


class InstanceRow(DurableBase):
    __tablename__ = "durable_instances"

    instance_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    runtime_status: Mapped[str] = mapped_column(String(20), index=True)
    input: Mapped[str | None] = mapped_column(Text, nullable=True)
    output: Mapped[str | None] = mapped_column(Text, nullable=True)
    custom_status: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Written as "{}" and never read: databases created before the runtime re-derived its state
    # from the history have this NOT NULL column.
    bookkeeping: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HistoryRow(DurableBase):
    __tablename__ = "durable_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("durable_instances.instance_id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(Text)


class PendingEventRow(DurableBase):
    """An external event accepted by the API and not yet in the history: the durable queue
    message Azure keeps until an episode has processed it, so a crash loses no event."""

    __tablename__ = "durable_pending_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("durable_instances.instance_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    input: Mapped[str | None] = mapped_column(Text, nullable=True)


@dataclass(frozen=True)
class PendingEvent:
    """An accepted external event waiting for its episode."""

    event_id: int
    name: str
    input: str | None


@dataclass
class Instance:
    """One orchestration instance as the runtime works on it."""

    instance_id: str
    name: str
    runtime_status: str
    input: str | None
    created_at: datetime
    updated_at: datetime
    output: Any = None
    custom_status: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    execution: int = 0
    """Which execution (continue-as-new generation) this runtime is driving; in memory only:
    work of an older execution is dropped, and after a restart none is left."""

    @property
    def running(self) -> bool:
        return self.runtime_status in RUNNING_STATES


class InstanceExistsError(Exception):
    """An instance with this id is still pending or running."""


class UnknownOrchestratorError(Exception):
    """No orchestrator function with this name is registered."""


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were written as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class DurableStore:
    """Instances and history over one SQLAlchemy engine; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_tables(self) -> None:
        """Create the task hub's tables that are missing; safe on every start."""
        DurableBase.metadata.create_all(self.engine)

    def create(self, instance_id: str, name: str, input_json: str | None, now: datetime) -> None:
        """A new Pending instance; a finished instance with the same id is replaced, a running
        one is not (the extension's default for non-running states). Callers racing to create
        one id: the first creates it, the others find it created (InstanceExistsError), as the
        extension answers, never the database's unique-key error."""
        try:
            self._create(instance_id, name, input_json, now)
        except IntegrityError:
            raise InstanceExistsError(instance_id) from None

    def _create(self, instance_id: str, name: str, input_json: str | None, now: datetime) -> None:
        with session_scope(self.engine) as session:
            row = session.get(InstanceRow, instance_id)
            if row is not None and row.runtime_status in RUNNING_STATES:
                raise InstanceExistsError(instance_id)
            if row is not None:
                session.execute(delete(HistoryRow).where(HistoryRow.instance_id == instance_id))
                session.execute(
                    delete(PendingEventRow).where(PendingEventRow.instance_id == instance_id)
                )
                session.delete(row)
                session.flush()
            session.add(
                InstanceRow(
                    instance_id=instance_id,
                    name=name,
                    runtime_status="Pending",
                    input=input_json,
                    bookkeeping="{}",
                    created_at=now,
                    updated_at=now,
                )
            )

    def load(self, instance_id: str, with_history: bool = True) -> Instance | None:
        with session_scope(self.engine) as session:
            row = session.get(InstanceRow, instance_id)
            if row is None:
                return None
            history = []
            if with_history:
                history = [
                    json.loads(text)
                    for text in session.scalars(
                        select(HistoryRow.event)
                        .where(HistoryRow.instance_id == instance_id)
                        .order_by(HistoryRow.seq)
                    )
                ]
            return Instance(
                instance_id=row.instance_id,
                name=row.name,
                runtime_status=row.runtime_status,
                input=row.input,
                created_at=_aware(row.created_at),
                updated_at=_aware(row.updated_at),
                output=_loads(row.output),
                custom_status=_loads(row.custom_status),
                history=history,
            )

    def save(
        self,
        instance: Instance,
        new_events: list[dict[str, Any]],
        *,
        consumed_event: int | None = None,
        replace_history: bool = False,
    ) -> None:
        """Append `new_events` and write the instance's status, output and custom status; with
        `replace_history` the history is `new_events` alone (a new execution after
        continue-as-new), and `consumed_event` leaves the pending queue in the same transaction.
        """
        with session_scope(self.engine) as session:
            row = session.get(InstanceRow, instance.instance_id)
            if row is None:
                return
            if consumed_event is not None:
                session.execute(delete(PendingEventRow).where(PendingEventRow.id == consumed_event))
            if replace_history:
                session.execute(
                    delete(HistoryRow).where(HistoryRow.instance_id == instance.instance_id)
                )
                row.input = instance.input
            start = len(instance.history) - len(new_events)
            session.add_all(
                HistoryRow(instance_id=instance.instance_id, seq=start + i, event=json.dumps(e))
                for i, e in enumerate(new_events)
            )
            row.runtime_status = instance.runtime_status
            row.output = _dumps(instance.output)
            row.custom_status = _dumps(instance.custom_status)
            row.updated_at = instance.updated_at

    def unfinished(self) -> list[str]:
        with session_scope(self.engine) as session:
            return list(
                session.scalars(
                    select(InstanceRow.instance_id)
                    .where(InstanceRow.runtime_status.in_(RUNNING_STATES))
                    .order_by(InstanceRow.created_at)
                )
            )

    def add_pending_event(self, instance_id: str, name: str, input_json: str | None) -> int:
        """Queue an external event durably; returns its id."""
        with session_scope(self.engine) as session:
            event = PendingEventRow(instance_id=instance_id, name=name, input=input_json)
            session.add(event)
            session.flush()
            return event.id

    def pending_events(self, instance_id: str) -> list[PendingEvent]:
        """The instance's accepted events not yet in its history, oldest first."""
        with session_scope(self.engine) as session:
            rows = session.scalars(
                select(PendingEventRow)
                .where(PendingEventRow.instance_id == instance_id)
                .order_by(PendingEventRow.id)
            )
            return [PendingEvent(row.id, row.name, row.input) for row in rows]
