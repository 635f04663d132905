"""The negotiate and events endpoints, called the way the Functions host calls them."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from function_app import app
from localdev.webpubsub import EmulatorThread
from orchestrator.http.dependencies import overridden
from shared.data.db import dispose_engine
from shared.messaging.publisher import group_for
from shared.settings import Settings
from tests.support.functions import call_http

KEY = "negotiate-test-access-key-0123456789abcdefgh"
LOCAL = f"Endpoint=http://localhost:8080;AccessKey={KEY};Version=1.0;"
HUB = "season_planning"
DEVELOPER = "local-developer"  # LOCAL_DEVELOPER_ID of the suite (tests/conftest.py)
RUNNING = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}


@pytest.fixture
def configured(monkeypatch, tmp_path):
    """App settings as the host supplies them: environment variables."""
    db_url = f"sqlite:///{tmp_path / 'app.db'}"

    def configure(connection_string=LOCAL, minutes=15):
        if connection_string is None:
            monkeypatch.delenv("WebPubSubConnectionString", raising=False)
        else:
            monkeypatch.setenv("WebPubSubConnectionString", connection_string)
        monkeypatch.setenv("WebPubSubHub", HUB)
        monkeypatch.setenv("NEGOTIATE_TOKEN_MINUTES", str(minutes))
        monkeypatch.setenv("DATABASE_URL", db_url)
        return Settings()

    # Settings read from the environment at every call: `configure` changes it.
    with overridden(settings=Settings):
        yield configure
    dispose_engine(db_url)


def _negotiate(params):
    return call_http(app, "negotiate", params=params)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"session_id": ""},
        {"session_id": "has space"},
        {"session_id": "x" * 65},
        {"session_id": "caf\u00e9"},
        {"session_id": "../x"},
    ],
)
def test_negotiate_refuses_bad_session_ids(configured, params):
    configured()
    response = _negotiate(params)
    body = json.loads(response.get_body())
    assert response.status_code == 422 and body["error_type"] == "INVALID_PARAMETERS"
    assert body["request_id"] == response.headers["x-request-id"]


def test_negotiate_token_claims_without_the_service(configured):
    settings = configured(minutes=15)
    started = int(time.time())
    response = _negotiate({"session_id": "sess_42-a"})
    assert response.status_code == 200 and response.headers["x-request-id"]
    body = json.loads(response.get_body())
    group = group_for("sess_42-a", owner_id=DEVELOPER)
    assert body["hub"] == HUB and body["group"] == group
    assert body["url"] == f"ws://localhost:8080/client/hubs/{HUB}?access_token={body['token']}"
    connection_string = settings.webpubsub_connection_string.get_secret_value()
    key = connection_string.split("AccessKey=")[1].split(";")[0]
    claims = jwt.decode(
        body["token"],
        key,
        algorithms=["HS256"],
        audience=f"http://localhost:8080/client/hubs/{HUB}",
    )
    assert claims["webpubsub.group"] == [group] and claims["sub"] == DEVELOPER
    assert "role" not in claims
    assert started + 15 * 60 - 5 <= claims["exp"] <= int(time.time()) + 15 * 60 + 5
    assert body["expires_at"].endswith("Z")
    assert KEY not in response.get_body().decode()


def test_negotiated_connection_can_only_listen(configured):
    with EmulatorThread(access_key=KEY) as emu:
        configured(emu.connection_string)
        negotiated = json.loads(_negotiate({"session_id": "listener"}).get_body())
        other = group_for("listener", owner_id="another-planner")
        with connect(
            negotiated["url"], subprotocols=[Subprotocol("json.webpubsub.azure.v1")], open_timeout=5
        ) as ws:
            assert json.loads(ws.recv(timeout=2))["event"] == "connected"
            for ack_id, frame in enumerate(
                [
                    {"type": "joinGroup", "group": other},
                    {
                        "type": "sendToGroup",
                        "group": negotiated["group"],
                        "dataType": "text",
                        "data": "x",
                    },
                ],
                start=1,
            ):
                ws.send(json.dumps({**frame, "ackId": ack_id}))
                ack = json.loads(ws.recv(timeout=2))
                assert ack["success"] is False and ack["error"]["name"] == "Forbidden"


def test_negotiate_without_a_configured_service_is_503(configured):
    configured(None)
    response = _negotiate({"session_id": "s1"})
    body = json.loads(response.get_body())
    assert response.status_code == 503 and body["error_type"] == "WEBSOCKET_CONNECTION_ERROR"
