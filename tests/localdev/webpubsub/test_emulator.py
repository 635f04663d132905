"""The Web PubSub emulator against the real SDKs and plain WebSocket clients.

What matters: the app's real `WebPubSubServiceClient` code works against it unchanged, clients
receive exactly the frames the service documents, and tokens are enforced like the service does.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import jwt
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.messaging.webpubsubclient import WebPubSubClient
from azure.messaging.webpubsubclient.models import CallbackType, WebPubSubProtocolType
from azure.messaging.webpubsubservice import WebPubSubServiceClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from localdev.webpubsub import EmulatorThread

KEY = "emulator-test-access-key-0123456789abcdefghij"
HUB = "test_hub"
JSON_V1 = "json.webpubsub.azure.v1"
RELIABLE_V1 = "json.reliable.webpubsub.azure.v1"


@pytest.fixture(scope="module")
def emu():
    with EmulatorThread(access_key=KEY) as running:
        yield running


@pytest.fixture(scope="module")
def service(emu):
    client = WebPubSubServiceClient.from_connection_string(emu.connection_string, hub=HUB)
    yield client
    client.close()


def _ws(service, subprotocol=None, **token_kwargs):
    url = service.get_client_access_token(**token_kwargs)["url"]
    return connect(url, subprotocols=[subprotocol] if subprotocol else None, open_timeout=5)


def _recv_json(ws, timeout=2.0):
    return json.loads(ws.recv(timeout=timeout))


def _nothing_arrives(ws, wait=0.2):
    with pytest.raises(TimeoutError):
        ws.recv(timeout=wait)
    return True


def _connected(ws):
    frame = _recv_json(ws)
    assert frame["type"] == "system" and frame["event"] == "connected"
    return frame


def test_service_sdk_sends_reach_raw_clients_as_the_body(service):
    with _ws(service, user_id="alice", groups=["g1"]) as alice, _ws(service, user_id="bob") as bob:
        service.send_to_all({"to": "all"}, content_type="application/json")
        assert _recv_json(alice) == {"to": "all"} and _recv_json(bob) == {"to": "all"}

        service.send_to_group("g1", {"to": "g1"}, content_type="application/json")
        assert _recv_json(alice) == {"to": "g1"}
        service.send_to_user("bob", "plain text", content_type="text/plain")
        assert bob.recv(timeout=2) == "plain text"
        assert _nothing_arrives(alice)

        service.send_to_all(b"\x00\x01", content_type="application/octet-stream")
        assert alice.recv(timeout=2) == b"\x00\x01"
        assert bob.recv(timeout=2) == b"\x00\x01"


def test_membership_and_exists_checks(service):
    with _ws(service, JSON_V1, user_id="carol") as carol:
        conn_id = _connected(carol)["connectionId"]
        assert service.connection_exists(conn_id) and not service.connection_exists("nope")
        assert service.user_exists("carol") and not service.user_exists("nobody")
        assert not service.group_exists("room")

        service.add_connection_to_group("room", conn_id)
        assert service.group_exists("room")
        assert [m.connection_id for m in service.list_connections(group="room")] == [conn_id]
        service.send_to_connection(conn_id, {"direct": 1}, content_type="application/json")
        assert _recv_json(carol) == {
            "type": "message",
            "from": "server",
            "dataType": "json",
            "data": {"direct": 1},
        }
        service.send_to_group("room", "hello", content_type="text/plain", excluded=[conn_id])
        assert _nothing_arrives(carol)
        service.remove_connection_from_group("room", conn_id)
        assert not service.group_exists("room")

        service.add_user_to_group("team", "carol")
        service.send_to_group("team", {"n": 2}, content_type="application/json")
        assert _recv_json(carol) == {
            "type": "message",
            "from": "group",
            "group": "team",
            "dataType": "json",
            "data": {"n": 2},
        }
        service.remove_user_from_group("team", "carol")
        assert not service.group_exists("team")

        service.close_connection(conn_id, reason="bye")
        assert _recv_json(carol) == {"type": "system", "event": "disconnected", "message": "bye"}
    deadline = time.monotonic() + 2
    while service.connection_exists(conn_id) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not service.connection_exists(conn_id)


def test_odata_filter_selects_recipients(service):
    with _ws(service, user_id="u1", groups=["vip"]) as u1, _ws(service, user_id="u2") as u2:
        service.send_to_all({"x": 1}, filter="userId eq 'u2'")
        assert _recv_json(u2) == {"x": 1} and _nothing_arrives(u1)
        service.send_to_all({"x": 2}, filter="'vip' in groups and not(userId eq 'u2')")
        assert _recv_json(u1) == {"x": 2} and _nothing_arrives(u2)


def test_json_protocol_roles_acks_and_group_messages(service):
    with _ws(
        service,
        JSON_V1,
        user_id="sender",
        roles=["webpubsub.joinLeaveGroup.chat", "webpubsub.sendToGroup.chat"],
    ) as ws:
        assert _connected(ws)["userId"] == "sender"
        ws.send(json.dumps({"type": "joinGroup", "group": "other", "ackId": 1}))
        ack = _recv_json(ws)
        assert ack["ackId"] == 1 and ack["success"] is False and ack["error"]["name"] == "Forbidden"

        ws.send(json.dumps({"type": "joinGroup", "group": "chat", "ackId": 2}))
        assert _recv_json(ws) == {"type": "ack", "ackId": 2, "success": True}
        ws.send(json.dumps({"type": "joinGroup", "group": "chat", "ackId": 2}))
        assert _recv_json(ws)["error"]["name"] == "Duplicate"

        ws.send(
            json.dumps(
                {
                    "type": "sendToGroup",
                    "group": "chat",
                    "dataType": "text",
                    "data": "hi",
                    "ackId": 3,
                }
            )
        )
        frames = [_recv_json(ws), _recv_json(ws)]
        assert {"type": "ack", "ackId": 3, "success": True} in frames
        assert {
            "type": "message",
            "from": "group",
            "group": "chat",
            "fromUserId": "sender",
            "dataType": "text",
            "data": "hi",
        } in frames

        ws.send(
            json.dumps(
                {
                    "type": "sendToGroup",
                    "group": "elsewhere",
                    "dataType": "json",
                    "data": {},
                    "ackId": 4,
                }
            )
        )
        assert _recv_json(ws)["error"]["name"] == "Forbidden"


def test_reliable_protocol_numbers_messages(service):
    with _ws(service, RELIABLE_V1, groups=["r"]) as ws:
        connected = _connected(ws)
        assert connected["reconnectionToken"]
        service.send_to_group("r", {"i": 1})
        service.send_to_all(b"\x07", content_type="application/octet-stream")
        first, second = _recv_json(ws), _recv_json(ws)
        assert (first["sequenceId"], second["sequenceId"]) == (1, 2)
        assert second["dataType"] == "binary" and base64.b64decode(second["data"]) == b"\x07"
        ws.send(json.dumps({"type": "sequenceAck", "sequenceId": 2}))


def test_webpubsubclient_sdk_receives_through_the_json_protocol(service):
    received, got = [], threading.Event()
    url = service.get_client_access_token(groups=["sdk"])["url"]
    client = WebPubSubClient(url, protocol_type=WebPubSubProtocolType.JSON, reconnect_retry_total=0)

    def on_group(args):
        received.append((args.group, args.data))
        got.set()

    client.subscribe(CallbackType.GROUP_MESSAGE, on_group)
    client.open()
    try:
        service.send_to_group("sdk", {"type": "progress", "progress": 5})
        assert got.wait(5)
        assert received == [("sdk", {"type": "progress", "progress": 5})]
    finally:
        client.close()


def _post(url, token):
    return requests.post(url, json={}, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def _token(aud, key=KEY, exp_in=60, **claims):
    now = int(time.time())
    payload = {"aud": aud, "iat": now, "exp": now + exp_in, **claims}
    return jwt.encode(payload, key, algorithm="HS256")


@pytest.mark.parametrize("case", ["forged", "expired", "wrong_hub", "wrong_host", "missing"])
def test_bad_client_tokens_are_refused_at_the_handshake(emu, case):
    aud = f"{emu.endpoint}/client/hubs/{HUB}"
    token = {
        "forged": _token(aud, key="another-key-another-key-another-key-1234"),
        "expired": _token(aud, exp_in=-60),
        "wrong_hub": _token(f"{emu.endpoint}/client/hubs/other_hub"),
        "wrong_host": _token(f"http://evil.example:1/client/hubs/{HUB}"),
        "missing": None,
    }[case]
    url = f"ws://{emu.host}:{emu.port}/client/hubs/{HUB}"
    if token:
        url += f"?access_token={token}"
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=5)
    assert info.value.response.status_code == 401


def test_rest_calls_need_a_valid_service_token(emu):
    forged = WebPubSubServiceClient.from_connection_string(
        emu.connection_string.replace(KEY, "x" * len(KEY)), hub=HUB
    )
    with pytest.raises(ClientAuthenticationError):
        forged.send_to_all({"a": 1})

    url = f"{emu.endpoint}/api/hubs/{HUB}/:send?api-version=2024-12-01"
    for token in (
        _token(f"{emu.endpoint}/api/hubs/{HUB}/groups/g/:send?api-version=2024-12-01"),
        _token(url, exp_in=-60),
    ):
        assert _post(url, token).status_code == 401
    assert _post(url, _token(url)).status_code == 202
