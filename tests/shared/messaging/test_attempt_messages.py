"""An attempt's messages survive a database write lock: queued in order, written again with
the same identity, and settled before the attempt may report success.

Real SQLite: another connection holds the write lock (BEGIN IMMEDIATE), and the publisher's
engine waits only 0.1 s for it, as it would wait its 15 s busy timeout in production."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from shared.data.events import fetch_events
from shared.data.schema import create_schema
from shared.errors import DatabaseUnavailableError
from shared.messaging.attempt_messages import AttemptMessages
from shared.messaging.publisher import DeliveryPolicy, Publisher
from shared.settings import Settings
from tests.support.sqlite_lock import write_locked

AGENT = "Demand Agent"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def publisher(database: Path) -> Iterator[Publisher]:
    engine = create_engine(
        f"sqlite:///{database}", connect_args={"timeout": 0.1, "check_same_thread": False}
    )
    create_schema(engine)
    pub = Publisher(
        Settings(database_url=f"sqlite:///{database}"), engine, policy=DeliveryPolicy(lanes=1)
    )
    yield pub
    pub.close()
    engine.dispose()


def messages_for(publisher: Publisher, seconds: float) -> AttemptMessages:
    return AttemptMessages(
        publisher,
        workflow_id="wf-1",
        session_id="s-1",
        owner_id="alice",
        deadline=datetime.now(UTC) + timedelta(seconds=seconds),
    )


def logged(publisher: Publisher) -> list[tuple[str, int | None, int]]:
    page = fetch_events(publisher._engine, "wf-1")
    return [(e["type"], e.get("progress"), e["sequence"]) for e in page.events]


def test_messages_that_hit_a_lock_are_written_later_in_order_each_once(publisher, database):
    messages = messages_for(publisher, 30)
    with write_locked(database):
        messages.publish({"type": "agent_status", "agent_name": AGENT, "status": "running"})
        messages.report(5, "Loading historical data...", agent_name=AGENT)
        messages.report(25, "Backtesting...", agent_name=AGENT)
        assert messages.pending == 3
    messages.settle()
    messages.report(25, "Backtesting...", agent_name=AGENT)  # a repeat: its identity is logged
    messages.settle()

    assert messages.pending == 0
    assert logged(publisher) == [("agent_status", None, 1), ("progress", 5, 2), ("progress", 25, 3)]


def test_an_attempt_cannot_settle_while_the_lock_outlasts_its_deadline(publisher, database):
    messages = messages_for(publisher, 0.5)
    with write_locked(database):
        messages.report(50, "Half way", agent_name=AGENT)
        with pytest.raises(DatabaseUnavailableError) as caught:
            messages.settle()
    assert caught.value.retryable
    assert caught.value.status_code == 503
    assert messages.pending == 1
    assert logged(publisher) == []


def test_a_message_that_is_not_documented_is_skipped_not_queued(publisher):
    messages = messages_for(publisher, 5)
    messages.publish({"type": "progress", "agent_name": AGENT, "progress": "lots"})
    messages.settle()
    assert messages.pending == 0
    assert logged(publisher) == []
