"""The negotiate and events endpoints, called the way the Functions host calls them."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlencode

import azure.functions as func
import jwt
import pytest
from aiohttp import web
from websockets.sync.client import connect

from function_app import app
from localdev.functions import index_app
from localdev.webpubsub import EmulatorThread
from shared.db import dispose_engine, get_engine
from shared.progress import Publisher
from shared.settings import DEFAULT_WEBPUBSUB_CONNECTION_STRING, get_settings

KEY = "negotiate-test-access-key-0123456789abcdefgh"
HUB = "season_planning"
RUNNING = {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"}


@pytest.fixture
def configured(monkeypatch, tmp_path):
    """App settings as the host supplies them: environment variables."""
    db_url = f"sqlite:///{tmp_path / 'app.db'}"

    def configure(connection_string=DEFAULT_WEBPUBSUB_CONNECTION_STRING, minutes=15):
        monkeypatch.setenv("WebPubSubConnectionString", connection_string)
        monkeypatch.setenv("WebPubSubHub", HUB)
        monkeypatch.setenv("NEGOTIATE_TOKEN_MINUTES", str(minutes))
        monkeypatch.setenv("DATABASE_URL", db_url)
        get_settings.cache_clear()
        return get_settings()

    yield configure
    get_settings.cache_clear()
    dispose_engine(db_url)


def _request(url, params, route_params=None):
    """The HttpRequest the host builds: query already decoded into `params`."""
    return func.HttpRequest("GET", f"{url}?{urlencode(params)}", body=b"", params=params,
                            route_params=route_params or {})


def _negotiate(params):
    req = _request("http://localhost/api/orchestrator/negotiate", params)
    return index_app(app)["negotiate"].user_function(req=req)


@pytest.mark.parametrize(
    "params", [{}, {"session_id": ""}, {"session_id": "has space"}, {"session_id": "x" * 65},
               {"session_id": "caf\u00e9"}, {"session_id": "../x"}],
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
    assert body["hub"] == HUB and body["group"] == "session-sess_42-a"
    assert body["url"] == f"ws://localhost:8080/client/hubs/{HUB}?access_token={body['token']}"
    connection_string = settings.webpubsub_connection_string.get_secret_value()
    key = connection_string.split("AccessKey=")[1].split(";")[0]
    claims = jwt.decode(body["token"], key, algorithms=["HS256"],
                        audience=f"http://localhost:8080/client/hubs/{HUB}")
    assert claims["webpubsub.group"] == ["session-sess_42-a"]
    assert "role" not in claims and "sub" not in claims
    assert started + 15 * 60 - 5 <= claims["exp"] <= int(time.time()) + 15 * 60 + 5
    assert body["expires_at"].endswith("Z")
    assert KEY not in response.get_body().decode()


def test_negotiated_connection_can_only_listen(configured):
    with EmulatorThread(access_key=KEY) as emu:
        configured(emu.connection_string)
        url = json.loads(_negotiate({"session_id": "listener"}).get_body())["url"]
        with connect(url, subprotocols=["json.webpubsub.azure.v1"], open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=2))["event"] == "connected"
            for ack_id, frame in enumerate(
                [{"type": "joinGroup", "group": "session-other"},
                 {"type": "sendToGroup", "group": "session-listener", "dataType": "text",
                  "data": "x"}],
                start=1,
            ):
                ws.send(json.dumps({**frame, "ackId": ack_id}))
                ack = json.loads(ws.recv(timeout=2))
                assert ack["success"] is False and ack["error"]["name"] == "Forbidden"


class DurableRuntimeStub:
    """The Durable extension's instance-status endpoint, answering from a dict of instances."""

    def __init__(self, known):
        self.known = known
        self.runner = None

    async def status(self, request):
        instance = request.match_info["instance"]
        if instance in self.known:
            body = {"instanceId": instance, "runtimeStatus": self.known[instance]}
            return web.json_response(body)
        return web.Response(status=404)

    async def start(self):
        application = web.Application()
        application.router.add_get(
            "/runtime/webhooks/durabletask/instances/{instance}", self.status
        )
        self.runner = web.AppRunner(application)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        return json.dumps({
            "taskHubName": "TestHub", "creationUrls": {}, "managementUrls": {},
            "rpcBaseUrl": f"http://127.0.0.1:{port}/runtime/webhooks/durabletask/",
        })


async def _events(workflow_id, query, client_json):
    url = f"http://localhost/api/orchestrator/workflows/{workflow_id}/events"
    req = _request(url, dict(parse_qsl(query)), {"workflow_id": workflow_id})
    response = await index_app(app)["workflow_events"].user_function(req=req, client=client_json)
    return response.status_code, json.loads(response.get_body())


async def test_events_endpoint(configured):
    settings = configured("Endpoint=http://127.0.0.1:9;AccessKey=" + KEY + ";Version=1.0;")
    publisher = Publisher(settings, get_engine(settings.database_url))
    publisher.publish(RUNNING, session_id="s", workflow_id="wf-1")
    for percent in (10, 50, 90):
        publisher.publish({"type": "progress", "agent_name": "Demand Agent", "progress": percent,
                           "message": "working"}, session_id="s", workflow_id="wf-1")
    publisher.publish({**RUNNING, "status": "completed"}, session_id="s", workflow_id="wf-1")
    publisher.close()
    stub = DurableRuntimeStub({"wf-new": "Running"})
    client_json = await stub.start()
    try:
        status, body = await _events("wf-1", "after=2", client_json)
        assert status == 200 and body["workflow_id"] == "wf-1" and body["last_sequence"] == 5
        assert [e["sequence"] for e in body["events"]] == [3, 4, 5]
        assert body["events"][-1] == {**RUNNING, "status": "completed", "session_id": "s",
                                      "workflow_id": "wf-1", "sequence": 5,
                                      "timestamp": body["events"][-1]["timestamp"]}
        status, body = await _events("wf-1", "", client_json)
        assert [e["sequence"] for e in body["events"]] == [1, 2, 3, 4, 5]
        status, body = await _events("wf-1", "after=5", client_json)
        assert status == 200 and body["events"] == [] and body["last_sequence"] == 5

        for bad in ("after=-1", "after=abc", "after=1.5", "after=99999999999999999999"):
            status, body = await _events("wf-1", bad, client_json)
            assert status == 422 and body["error_type"] == "INVALID_PARAMETERS", bad
        status, body = await _events("bad id", "", client_json)
        assert status == 422

        status, body = await _events("wf-new", "", client_json)
        assert status == 200 and body == {"workflow_id": "wf-new", "events": [],
                                          "last_sequence": 0, "has_more": False}
        status, body = await _events("wf-unknown", "", client_json)
        assert status == 404 and body["error_type"] == "DATA_NOT_FOUND" and body["request_id"]
    finally:
        await stub.runner.cleanup()
