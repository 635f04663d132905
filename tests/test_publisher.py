"""The publisher: validate, record first, deliver to the session's group, never fail the caller."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError
from websockets.sync.client import connect

from activities.publish import HEARTBEAT_SCHEDULE, publish_payload
from localdev.webpubsub import EmulatorThread
from orchestrator.api_negotiate import negotiate_response
from shared.db import dispose_engine, get_engine
from shared.events import fetch_events
from shared.progress import DeliveryPolicy, Publisher, group_for
from shared.settings import Settings

KEY = "publisher-test-access-key-0123456789abcdefgh"
FIXED = datetime(2025, 11, 4, 10, 30, 0, 123000, tzinfo=timezone.utc)
RUNNING = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}
OWNER = "planner-1"


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
        messages = [
            RUNNING,
            {"type": "progress", "agent_name": "Demand Agent", "progress": 45,
             "message": "Loading historical data..."},
            {"type": "complete", "agent_name": "Demand Agent", "result": {"total_units": 1200}},
            {"type": "error", "agent_name": "Pricing Agent", "error_message": "Data not found"},
        ]
        for i, message in enumerate(messages, start=1):
            event = publisher.publish(
                message, session_id="sess-1", workflow_id="wf-1", owner_id=OWNER
            )
            assert event.delivered and event.sequence == i
            envelope = {"session_id": "sess-1", "workflow_id": "wf-1",
                        "timestamp": "2025-11-04T10:30:00.123Z", "sequence": i}
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


def test_heartbeat_goes_to_every_connection_and_is_not_recorded(emu, publisher, db_url):
    with _browser(publisher, "H1") as one, _browser(publisher, "H2") as two:
        _wait_for_member(emu, group_for("H2", owner_id=OWNER))
        event = publisher.heartbeat()
        expected = {"type": "heartbeat", "timestamp": "2025-11-04T10:30:00.123Z"}
        assert event.delivered and event.sequence is None
        assert json.loads(one.recv(timeout=2)) == expected == json.loads(two.recv(timeout=2))
    assert HEARTBEAT_SCHEDULE == "*/30 * * * * *"


def test_service_down_records_the_event_and_returns_quickly(db_url):
    down = "Endpoint=http://127.0.0.1:9;AccessKey=" + KEY + ";Version=1.0;"
    pub = Publisher(_settings(db_url, down), get_engine(db_url), policy=DeliveryPolicy())
    started = time.monotonic()
    first = pub.publish(RUNNING, session_id="s", workflow_id="wf-down", owner_id=OWNER)
    second = pub.heartbeat()
    elapsed = time.monotonic() - started
    assert first.delivered is False and second.delivered is False
    assert elapsed < 2.0
    page = fetch_events(get_engine(db_url), "wf-down")
    assert [e["sequence"] for e in page.events] == [1] and page.events[0]["status"] == "running"


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
    errors = []

    def worker(n):
        report = publisher.progress_reporter("wf-c", "sess-c", "Inventory Agent", owner_id=OWNER)
        try:
            for i in range(50):
                report(i, f"thread {n} step {i}")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    page = fetch_events(get_engine(db_url), "wf-c")
    assert [e["sequence"] for e in page.events] == list(range(1, 201))
    assert page.last_sequence == 200
    per_thread = {}
    for event in page.events:
        n, step = event["message"].split()[1], int(event["message"].split()[3])
        per_thread.setdefault(n, []).append(step)
    assert all(steps == list(range(50)) for steps in per_thread.values())


def test_progress_reporter_never_raises(publisher, db_url):
    report = publisher.progress_reporter("wf-r", "sess-r", "Pricing Agent", owner_id=OWNER)
    report(150, "out of range is logged, not raised")
    report(60, "fine")
    page = fetch_events(get_engine(db_url), "wf-r")
    assert [(e["progress"], e["message"]) for e in page.events] == [(60, "fine")]


def test_publish_activity_contract(publisher):
    result = publish_payload(
        {"workflow_id": "wf-act", "session_id": "sess-act", "owner_id": OWNER, "message": RUNNING},
        publisher,
    )
    assert result == {"sequence": 1, "delivered": True}
    as_json = json.dumps({"workflow_id": "wf-act", "session_id": "sess-act", "owner_id": OWNER,
                          "message": {**RUNNING, "status": "completed"}})
    assert publish_payload(as_json, publisher) == {"sequence": 2, "delivered": True}
    with pytest.raises(ValidationError):
        publish_payload({"workflow_id": "wf-act", "message": RUNNING}, publisher)
