"""The publishing functions. The `publish_message` activity records and sends a batch once (a re-run
sends nothing again). The heartbeat timer sends only while someone may be listening: a negotiate
or a workflow start opens the window, an idle app makes no Web PubSub call, and recording the
window never fails the request that records it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest
from pydantic import ValidationError
from websockets.sync.client import connect

from activities.publishing import publish_payload, send_heartbeat
from function_app import app
from localdev.host.functions import index_app
from localdev.webpubsub import EmulatorThread
from orchestrator.http.dependencies import overridden
from shared.data.db import dispose_engine, get_engine
from shared.messaging.listeners import expect_listeners, listeners_expected
from shared.messaging.publisher import Publisher, get_publisher, utc_now
from shared.settings import Settings, get_settings
from tests.support.functions import call_http

KEY = "heartbeat-test-access-key-0123456789abcdefgh"
NOW = datetime(2025, 11, 4, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
RUNNING_MESSAGE = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'listeners.db'}"
    yield get_engine(url)
    dispose_engine(url)


@pytest.fixture(scope="module")
def emu():
    with EmulatorThread(access_key=KEY) as running:
        yield running


@pytest.fixture
def app_settings(monkeypatch, tmp_path, emu):
    """The app configured as the host configures it (environment), on a fresh database."""
    db_url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("WebPubSubConnectionString", emu.connection_string)
    monkeypatch.setenv("WebPubSubHub", "season_planning")
    get_settings.cache_clear()
    get_publisher.cache_clear()
    yield get_settings()
    if get_publisher.cache_info().currsize:
        get_publisher().close()
    get_publisher.cache_clear()
    get_settings.cache_clear()
    dispose_engine(db_url)


def _negotiate(session_id):
    response = call_http(app, "negotiate", params={"session_id": session_id})
    return response.status_code, json.loads(response.get_body())


def _fire_heartbeat_timer():
    index_app(app)["heartbeat"].user_function(timer=TimerRequest(past_due=False))


class _PublisherSpy:
    """Stands in for the publisher factory: counts how often the timer asked for one."""

    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        raise AssertionError("an idle app must not build a publisher")


def test_a_fresh_database_expects_no_listeners(engine):
    spy = _PublisherSpy()
    assert not listeners_expected(engine, NOW)
    assert send_heartbeat(engine, NOW, spy) is None
    assert spy.calls == 0


def test_the_window_opens_then_closes(engine):
    expect_listeners(engine, NOW + HOUR)
    assert listeners_expected(engine, NOW)
    assert listeners_expected(engine, NOW + HOUR - timedelta(seconds=1))
    assert not listeners_expected(engine, NOW + HOUR)
    spy = _PublisherSpy()
    assert send_heartbeat(engine, NOW + 2 * HOUR, spy) is None
    assert spy.calls == 0


def test_idle_timer_sends_nothing_then_negotiate_brings_heartbeats(app_settings, emu):
    engine = get_engine(app_settings.database_url)
    assert send_heartbeat(engine, utc_now(), _PublisherSpy()) is None

    status, body = _negotiate("hb-browser")
    assert status == 200
    assert listeners_expected(engine, utc_now() + timedelta(minutes=59))
    with connect(body["url"], open_timeout=5) as browser:
        _fire_heartbeat_timer()
        message = json.loads(browser.recv(timeout=5))
    assert message["type"] == "heartbeat" and set(message) == {"type", "timestamp"}
    later = utc_now() + timedelta(minutes=app_settings.heartbeat_window_minutes + 1)
    assert send_heartbeat(engine, later, _PublisherSpy()) is None


def test_negotiate_answers_even_when_the_window_cannot_be_recorded(tmp_path, emu):
    unwritable = Settings(
        database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'app.db'}",
        webpubsub_connection_string=emu.connection_string,
    )
    with overridden(settings=unwritable):
        status, body = _negotiate("hb-no-db")
    assert status == 200 and body["url"].startswith("ws")


async def test_starting_a_workflow_opens_the_window(runtime, tmp_path):
    from tests.support.durable_app import PARAMETERS, fast_settings
    from tests.support.durable_app import app as test_app

    database_url = f"sqlite:///{tmp_path / 'listeners.db'}"
    try:
        with overridden(
            settings=fast_settings(database_url=database_url),
            check_category=lambda category_id: category_id or "CAT-1",
        ):
            assert not listeners_expected(get_engine(database_url), utc_now())
            body = json.dumps({"session_id": "hb-run", "parameters": PARAMETERS}).encode()
            response = await call_http(
                test_app, "run_workflow", body=body, client=runtime.client_binding_json()
            )
            assert response.status_code == 202
            assert listeners_expected(get_engine(database_url), utc_now() + timedelta(minutes=59))
            await runtime.wait_for(json.loads(response.get_body())["workflow_id"], 30)
    finally:
        dispose_engine(database_url)


@pytest.fixture
def publisher(emu, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'events.db'}"
    settings = Settings(database_url=db_url, webpubsub_connection_string=emu.connection_string)
    pub = Publisher(settings, get_engine(db_url))
    yield pub
    pub.close()
    dispose_engine(db_url)


def test_publish_activity_contract(publisher):
    batch = {
        "workflow_id": "wf-act",
        "session_id": "sess-act",
        "owner_id": "planner-1",
        "messages": [RUNNING_MESSAGE, {**RUNNING_MESSAGE, "status": "completed"}],
    }
    assert publish_payload(batch, publisher) == {"sequences": [1, 2]}
    assert publish_payload(json.dumps(batch), publisher) == {"sequences": []}  # a re-run
    with pytest.raises(ValidationError):
        publish_payload({"workflow_id": "wf-act", "messages": [RUNNING_MESSAGE]}, publisher)
    with pytest.raises(ValidationError):
        publish_payload(
            {"workflow_id": "wf-act", "session_id": "s", "owner_id": "planner-1", "messages": []},
            publisher,
        )
