"""GET /api/orchestrator/workflows/{workflow_id}/events: the owner's recorded messages after a
sequence number, oldest first; 422 for a bad `after` or id, 404 for anyone else's workflow."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from function_app import app
from orchestrator.http.dependencies import overridden
from shared.data.db import dispose_engine, get_engine
from shared.data.ownership import record_workflow
from shared.messaging.publisher import Publisher
from shared.settings import Settings
from tests.support.functions import call_http

KEY = "events-test-access-key-0123456789abcdefghij"
DEVELOPER = "local-developer"  # LOCAL_DEVELOPER_ID of the suite (tests/conftest.py)
RUNNING = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}


@pytest.fixture
def configured(monkeypatch, tmp_path):
    """App settings as the host supplies them: environment variables (a Web PubSub service
    that is not there: the publisher records the messages, delivery fails in the background)."""
    db_url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv(
        "WebPubSubConnectionString", f"Endpoint=http://127.0.0.1:9;AccessKey={KEY};Version=1.0;"
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    settings = Settings()
    with overridden(settings=settings):
        yield settings
    dispose_engine(db_url)


def _events(workflow_id, query):
    params = dict(parse_qsl(query))
    response = call_http(
        app, "workflow_events", params=params, route_params={"workflow_id": workflow_id}
    )
    return response.status_code, json.loads(response.get_body())


def test_events_endpoint(configured):
    settings = configured
    engine = get_engine(settings.database_url)
    publisher = Publisher(settings, engine)
    for workflow_id, owner in (("wf-1", DEVELOPER), ("wf-new", DEVELOPER), ("wf-2", "other")):
        record_workflow(engine, workflow_id=workflow_id, owner_id=owner, session_id="s")
    mine = {"session_id": "s", "workflow_id": "wf-1", "owner_id": DEVELOPER}
    publisher.publish(RUNNING, **mine)
    for percent in (10, 50, 90):
        publisher.publish(
            {
                "type": "progress",
                "agent_name": "Demand Agent",
                "progress": percent,
                "message": "working",
            },
            **mine,
        )
    publisher.publish({**RUNNING, "status": "completed"}, **mine)
    publisher.publish(RUNNING, session_id="s", workflow_id="wf-2", owner_id="other")
    publisher.close()

    status, body = _events("wf-1", "after=2")
    assert status == 200 and body["workflow_id"] == "wf-1" and body["last_sequence"] == 5
    assert [e["sequence"] for e in body["events"]] == [3, 4, 5]
    assert body["events"][-1] == {
        **RUNNING,
        "status": "completed",
        "session_id": "s",
        "workflow_id": "wf-1",
        "sequence": 5,
        "timestamp": body["events"][-1]["timestamp"],
    }
    status, body = _events("wf-1", "")
    assert [e["sequence"] for e in body["events"]] == [1, 2, 3, 4, 5]
    status, body = _events("wf-1", "after=5")
    assert status == 200 and body["events"] == [] and body["last_sequence"] == 5

    for bad in ("after=-1", "after=abc", "after=1.5", "after=99999999999999999999"):
        status, body = _events("wf-1", bad)
        assert status == 422 and body["error_type"] == "INVALID_PARAMETERS", bad
    status, body = _events("bad id", "")
    assert status == 422

    status, body = _events("wf-new", "")
    assert status == 200 and body == {
        "workflow_id": "wf-new",
        "events": [],
        "last_sequence": 0,
        "has_more": False,
    }
    unknown = _events("wf-unknown", "")
    not_mine = _events("wf-2", "")
    assert unknown[0] == not_mine[0] == 404
    assert unknown[1]["error_type"] == not_mine[1]["error_type"] == "DATA_NOT_FOUND"
    assert not_mine[1]["request_id"] and "other" not in json.dumps(not_mine[1])
