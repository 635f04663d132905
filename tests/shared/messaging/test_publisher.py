"""The publisher: validate, record first (each message once, progress never backwards, nothing
after the terminal message), deliver in the background to the session's group, never fail or
hold the caller."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from websockets.sync.client import connect

from activities.publishing import HEARTBEAT_SCHEDULE
from localdev.webpubsub import EmulatorThread
from orchestrator.http.negotiate import negotiate_response
from shared.data.db import dispose_engine, get_engine
from shared.data.events import fetch_events
from shared.messaging.publisher import DeliveryPolicy, Publisher, group_for
from shared.settings import Settings
from tests.support.black_hole import BlackHole

KEY = "publisher-test-access-key-0123456789abcdefgh"
FIXED = datetime(2025, 11, 4, 10, 30, 0, 123000, tzinfo=UTC)
RUNNING = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}
OWNER = "planner-1"


def progress_reporter(publisher, workflow_id, session_id, agent_name, *, owner_id):
    """`report(percent, text)` publishing one progress message of `agent_name` per call."""

    def report(progress, text):
        publisher.publish(
            {"type": "progress", "agent_name": agent_name, "progress": progress, "message": text},
            session_id=session_id,
            workflow_id=workflow_id,
            owner_id=owner_id,
        )

    return report


@pytest.fixture(scope="module")
def emu():
    with EmulatorThread(access_key=KEY) as running:
        yield running


@pytest.fixture
def db_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    yield url
    dispose_engine(url)


def _settings(db_url, connection_string):
    return Settings(
        database_url=db_url, webpubsub_connection_string=connection_string, webpubsub_hub="progress"
    )


@pytest.fixture
def publisher(emu, db_url):
    settings = _settings(db_url, emu.connection_string)
    pub = Publisher(settings, get_engine(db_url), clock=lambda: FIXED)
    yield pub
    pub.close()


def _browser(publisher, session_id, owner_id=OWNER):
    """What the browser does: negotiate, then open a plain WebSocket (no subprotocol)."""
    url = negotiate_response(session_id, owner_id, publisher._settings)["url"]
    return connect(url, open_timeout=5)


def _wait_for_member(emu, group):
    hub = emu.emulator.hub("progress")
    deadline = time.monotonic() + 2
    while not hub.group_connections(group) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_browser_receives_exactly_the_documented_messages(emu, publisher):
    with _browser(publisher, "sess-1") as ws:
        _wait_for_member(emu, group_for("sess-1", owner_id=OWNER))
        messages: list[dict[str, Any]] = [
            RUNNING,
            {
                "type": "progress",
                "agent_name": "Demand Agent",
                "progress": 45,
                "message": "Loading historical data...",
            },
            {"type": "complete", "agent_name": "Demand Agent", "result": {"total_units": 1200}},
            {"type": "error", "agent_name": "Pricing Agent", "error_message": "Data not found"},
        ]
        for i, message in enumerate(messages, start=1):
            event = publisher.publish(
                message, session_id="sess-1", workflow_id="wf-1", owner_id=OWNER
            )
            assert event.recorded and event.queued and event.sequence == i
            envelope = {
                "session_id": "sess-1",
                "workflow_id": "wf-1",
                "timestamp": "2025-11-04T10:30:00.123Z",
                "sequence": i,
            }
            assert json.loads(ws.recv(timeout=2)) == {**message, **envelope}


def test_a_session_receives_nothing_of_another_session(emu, publisher):
    with _browser(publisher, "A") as a, _browser(publisher, "B") as b:
        _wait_for_member(emu, group_for("A", owner_id=OWNER))
        _wait_for_member(emu, group_for("B", owner_id=OWNER))
        publisher.publish(RUNNING, session_id="B", workflow_id="wf-b", owner_id=OWNER)
        assert json.loads(b.recv(timeout=2))["session_id"] == "B"
        with pytest.raises(TimeoutError):
            a.recv(timeout=0.3)


def test_the_same_session_id_of_another_owner_receives_nothing(emu, publisher):
    with _browser(publisher, "S", "planner-a") as a, _browser(publisher, "S", "planner-b") as b:
        assert group_for("S", owner_id="planner-a") != group_for("S", owner_id="planner-b")
        _wait_for_member(emu, group_for("S", owner_id="planner-a"))
        _wait_for_member(emu, group_for("S", owner_id="planner-b"))
        publisher.publish(RUNNING, session_id="S", workflow_id="wf-s", owner_id="planner-b")
        assert json.loads(b.recv(timeout=2))["workflow_id"] == "wf-s"
        with pytest.raises(TimeoutError):
            a.recv(timeout=0.3)


def test_each_session_receives_its_messages_in_order_while_others_publish(emu, publisher):
    sessions = [f"lane-{n}" for n in range(6)]
    with contextlib.ExitStack() as stack:
        browsers = [stack.enter_context(_browser(publisher, session)) for session in sessions]
        for session in sessions:
            _wait_for_member(emu, group_for(session, owner_id=OWNER))

        def publish(session):
            report = progress_reporter(
                publisher, f"wf-{session}", session, "Demand Agent", owner_id=OWNER
            )
            for percent in range(1, 16):
                report(percent, "step")

        threads = [threading.Thread(target=publish, args=(s,)) for s in sessions]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for session, ws in zip(sessions, browsers, strict=True):
            got = [json.loads(ws.recv(timeout=5)) for _ in range(15)]
            assert {m["session_id"] for m in got} == {session}
            assert [m["sequence"] for m in got] == list(range(1, 16))


def test_heartbeat_goes_to_every_connection_and_is_not_recorded(emu, publisher, db_url):
    with _browser(publisher, "H1") as one, _browser(publisher, "H2") as two:
        _wait_for_member(emu, group_for("H2", owner_id=OWNER))
        event = publisher.heartbeat()
        expected = {"type": "heartbeat", "timestamp": "2025-11-04T10:30:00.123Z"}
        assert event.queued and not event.recorded and event.sequence is None
        assert json.loads(one.recv(timeout=2)) == expected == json.loads(two.recv(timeout=2))
    assert HEARTBEAT_SCHEDULE == "*/30 * * * * *"


def test_service_down_records_the_event_and_returns_quickly(db_url):
    down = "Endpoint=http://127.0.0.1:9;AccessKey=" + KEY + ";Version=1.0;"
    pub = Publisher(_settings(db_url, down), get_engine(db_url), policy=DeliveryPolicy())
    started = time.monotonic()
    first = pub.publish(RUNNING, session_id="s", workflow_id="wf-down", owner_id=OWNER)
    second = pub.heartbeat()
    elapsed = time.monotonic() - started
    assert first.recorded and first.queued and second.queued
    assert elapsed < 0.5
    assert pub.flush(5)  # the sender gives up within its bounded retries
    pub.close()
    page = fetch_events(get_engine(db_url), "wf-down")
    assert [e["sequence"] for e in page.events] == [1] and page.events[0]["status"] == "running"


def test_a_black_holed_service_never_holds_the_publisher(db_url):
    with BlackHole() as hole:
        pub = Publisher(_settings(db_url, hole.connection_string(KEY)), get_engine(db_url))
        report = progress_reporter(pub, "wf-hole", "sess-hole", "Demand Agent", owner_id=OWNER)
        durations = []
        for percent in range(1, 31):
            started = time.perf_counter()
            report(percent, f"step {percent}")
            durations.append(time.perf_counter() - started)
        # A database write and a queue append: no call waited even one read timeout of the
        # service, as every one would have if publishing held its caller.
        read_timeout = DeliveryPolicy().read_timeout
        assert max(durations) < read_timeout and sum(durations) < 6 * read_timeout, durations
        assert not pub.flush(0.2)  # the sender is stuck on the service's read timeout
        time.sleep(0.5)
        assert hole.accepted >= 1  # the sender really did try
        pub.close()
    page = fetch_events(get_engine(db_url), "wf-hole")
    assert [e["progress"] for e in page.events] == list(range(1, 31))


def test_a_full_queue_drops_the_delivery_with_a_log_line_not_the_record(db_url, caplog):
    policy = DeliveryPolicy(queue_size=1, read_timeout=0.3, retry_total=0)
    with BlackHole() as hole, caplog.at_level(logging.WARNING, logger="shared.messaging.publisher"):
        pub = Publisher(
            _settings(db_url, hole.connection_string(KEY)), get_engine(db_url), policy=policy
        )
        events = [
            pub.publish(
                {"type": "progress", "agent_name": "Pricing Agent", "progress": p, "message": "x"},
                session_id="s",
                workflow_id="wf-full",
                owner_id=OWNER,
            )
            for p in range(1, 6)
        ]
        pub.close()
    assert all(e.recorded for e in events) and not all(e.queued for e in events)
    assert "queue is full" in caplog.text and KEY not in caplog.text
    assert fetch_events(get_engine(db_url), "wf-full").last_sequence == 5


def test_stale_messages_are_skipped_not_sent(db_url, caplog):
    policy = DeliveryPolicy(read_timeout=0.3, retry_total=0, max_age_seconds=0.2)
    with BlackHole() as hole, caplog.at_level(logging.WARNING, logger="shared.messaging.publisher"):
        pub = Publisher(
            _settings(db_url, hole.connection_string(KEY)), get_engine(db_url), policy=policy
        )
        for p in range(1, 6):
            pub.publish(
                {"type": "progress", "agent_name": "Pricing Agent", "progress": p, "message": "x"},
                session_id="s",
                workflow_id="wf-stale",
                owner_id=OWNER,
            )
        assert pub.flush(3)  # one try times out (0.3 s); the rest are too old and skipped
        pub.close()
    # At most the first was tried (a loaded machine may start the thread late enough to find it
    # stale too); the others waited behind its 0.3 s timeout and went unsent.
    assert hole.accepted <= 1
    assert caplog.text.count("skipped after") >= 4


def test_each_message_is_recorded_and_sent_once(emu, publisher, db_url):
    """A re-run activity publishes the same messages again: the log keeps each identity once,
    progress never goes backwards, and the browser receives nothing twice."""
    progress = {"type": "progress", "agent_name": "Demand Agent", "message": "m"}
    with _browser(publisher, "sess-once") as ws:
        _wait_for_member(emu, group_for("sess-once", owner_id=OWNER))
        for _ in range(2):  # the attempt, then its re-run
            for message in (RUNNING, {**progress, "progress": 5}, {**progress, "progress": 25}):
                publisher.publish(
                    message, session_id="sess-once", workflow_id="wf-once", owner_id=OWNER
                )
        again = publisher.publish(
            {**progress, "progress": 15},
            session_id="sess-once",
            workflow_id="wf-once",
            owner_id=OWNER,
        )
        assert not again.recorded and again.sequence is None
        received = [json.loads(ws.recv(timeout=2)) for _ in range(3)]
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)
    assert [(m["type"], m.get("progress")) for m in received] == [
        ("agent_status", None),
        ("progress", 5),
        ("progress", 25),
    ]
    page = fetch_events(get_engine(db_url), "wf-once")
    assert page.events == received and page.last_sequence == 3


def test_nothing_is_recorded_after_the_terminal_message(publisher, db_url):
    failed = [
        {
            "type": "error",
            "agent_name": "Inventory Agent",
            "error_message": "too slow",
            "error_type": "AGENT_TIMEOUT",
        },
        {"type": "agent_status", "agent_name": "Inventory Agent", "status": "failed"},
    ]
    recorded = publisher.publish_all(failed, session_id="s", workflow_id="wf-end", owner_id=OWNER)
    assert [e.sequence for e in recorded] == [1, 2]
    late = [
        {"type": "progress", "agent_name": "Inventory Agent", "progress": 90, "message": "late"},
        {"type": "complete", "agent_name": "Inventory Agent", "result": {}},
        {"type": "agent_status", "agent_name": "Inventory Agent", "status": "completed"},
    ]
    assert publisher.publish_all(late, session_id="s", workflow_id="wf-end", owner_id=OWNER) == []
    assert fetch_events(get_engine(db_url), "wf-end").last_sequence == 2


def test_a_closing_batch_ends_the_stream(publisher, db_url):
    done = [
        {"type": "complete", "agent_name": "Pricing Agent", "result": {"x": 1}},
        {"type": "agent_status", "agent_name": "Pricing Agent", "status": "completed"},
    ]
    publisher.publish_all(done, session_id="s", workflow_id="wf-done", owner_id=OWNER, close=True)
    late = publisher.publish(
        {"type": "error", "agent_name": "Pricing Agent", "error_message": "terminated"},
        session_id="s",
        workflow_id="wf-done",
        owner_id=OWNER,
    )
    assert not late.recorded
    assert [e["type"] for e in fetch_events(get_engine(db_url), "wf-done").events] == [
        "complete",
        "agent_status",
    ]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "chat", "text": "hi"},
        {"type": "progress", "agent_name": "Demand Agent", "progress": 101, "message": "x"},
        {"type": "agent_status", "agent_name": "Unknown Agent", "status": "running"},
        {"type": "agent_status", "agent_name": "Demand Agent", "state": "running"},
    ],
)
def test_undocumented_messages_are_refused_and_not_recorded(publisher, db_url, message):
    with pytest.raises(ValidationError):
        publisher.publish(message, session_id="s", workflow_id="wf-bad", owner_id=OWNER)
    assert fetch_events(get_engine(db_url), "wf-bad").last_sequence == 0


def test_bad_ids_are_refused(publisher):
    with pytest.raises(ValidationError):
        publisher.publish(RUNNING, session_id="has space", workflow_id="wf", owner_id=OWNER)
    with pytest.raises(ValidationError):
        publisher.publish(RUNNING, session_id="s", workflow_id="a/b", owner_id=OWNER)


def test_sequences_are_gap_free_under_concurrent_publishing(publisher, db_url):
    """Three agents report at once while a fourth thread re-publishes the first agent's
    messages (a re-run): every identity is recorded once, numbers are gap-free, and each
    agent's messages keep their order."""
    errors = []
    agents = ["Demand Agent", "Inventory Agent", "Pricing Agent", "Demand Agent"]

    def worker(n):
        report = progress_reporter(publisher, "wf-c", "sess-c", agents[n], owner_id=OWNER)
        try:
            for i in range(1, 51):
                report(i, f"step {i}")
        # Blind on purpose: any failure on the thread is kept for the assertion below to report.
        except Exception as exc:  # noqa: BLE001  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    page = fetch_events(get_engine(db_url), "wf-c")
    assert [e["sequence"] for e in page.events] == list(range(1, 151))
    assert page.last_sequence == 150
    for agent in agents[:3]:
        steps = [e["progress"] for e in page.events if e["agent_name"] == agent]
        assert steps == list(range(1, 51)), agent
