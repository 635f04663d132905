"""Frames of the Web PubSub client protocols, as the service writes and reads them.

Three ways a client can talk to a hub:

* no subprotocol ("simple" WebSocket): what a server sends arrives as is — JSON or text as a
  text frame, binary as a binary frame; nothing else is ever sent to the client.
* `json.webpubsub.azure.v1`: every downstream frame is a JSON envelope (`system/connected`,
  `message` from `server` or `group`, `ack`); the client may send `joinGroup`, `leaveGroup`,
  `sendToGroup` and `event` frames, each optionally with an `ackId`.
* `json.reliable.webpubsub.azure.v1`: the same plus a per-connection `sequenceId` on every
  message frame, acknowledged by the client with `sequenceAck`, and a `reconnectionToken` in the
  connected frame.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Literal

JSON_PROTOCOL = "json.webpubsub.azure.v1"
RELIABLE_PROTOCOL = "json.reliable.webpubsub.azure.v1"
SUPPORTED_PROTOCOLS = (RELIABLE_PROTOCOL, JSON_PROTOCOL)

SEND_TO_GROUP = "webpubsub.sendToGroup"
JOIN_LEAVE_GROUP = "webpubsub.joinLeaveGroup"
PERMISSION_ROLES = {"sendToGroup": SEND_TO_GROUP, "joinLeaveGroup": JOIN_LEAVE_GROUP}

DataType = Literal["json", "text", "binary"]
CONTENT_TYPES: dict[str, DataType] = {
    "application/json": "json",
    "text/plain": "text",
    "application/octet-stream": "binary",
}


class ProtocolError(ValueError):
    """An upstream frame the service would refuse."""


@dataclass(frozen=True)
class Payload:
    """A message body once, in the form every kind of connection needs it."""

    data_type: DataType
    raw: bytes

    @classmethod
    def from_body(cls, body: bytes, content_type: str) -> Payload:
        data_type = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
        if data_type is None:
            raise ProtocolError(f"unsupported content type {content_type!r}")
        if data_type == "json":
            json.loads(body.decode("utf-8"))
        elif data_type == "text":
            body.decode("utf-8")
        return cls(data_type, body)

    @classmethod
    def from_frame(cls, data_type: str, data: Any) -> Payload:
        """The `data` of a client's sendToGroup frame."""
        if data_type == "json":
            return cls("json", json.dumps(data, separators=(",", ":")).encode())
        if data_type == "text" and isinstance(data, str):
            return cls("text", data.encode())
        if data_type == "binary" and isinstance(data, str):
            return cls("binary", base64.b64decode(data, validate=True))
        raise ProtocolError(f"unsupported dataType {data_type!r} for this data")

    def frame_data(self) -> Any:
        if self.data_type == "json":
            return json.loads(self.raw)
        if self.data_type == "text":
            return self.raw.decode()
        return base64.b64encode(self.raw).decode()


def connected_frame(connection_id: str, user_id: str | None, reconnection_token: str | None) -> str:
    frame: dict[str, Any] = {
        "type": "system",
        "event": "connected",
        "userId": user_id,
        "connectionId": connection_id,
    }
    if reconnection_token is not None:
        frame["reconnectionToken"] = reconnection_token
    return json.dumps(frame)


def disconnected_frame(message: str) -> str:
    return json.dumps({"type": "system", "event": "disconnected", "message": message})


def message_frame(
    payload: Payload,
    *,
    group: str | None,
    from_user_id: str | None = None,
    sequence_id: int | None = None,
) -> str:
    frame: dict[str, Any] = {"type": "message", "from": "group" if group is not None else "server"}
    if group is not None:
        frame["group"] = group
        if from_user_id is not None:
            frame["fromUserId"] = from_user_id
    frame["dataType"] = payload.data_type
    frame["data"] = payload.frame_data()
    if sequence_id is not None:
        frame["sequenceId"] = sequence_id
    return json.dumps(frame, separators=(",", ":"))


def ack_frame(ack_id: int, error: tuple[str, str] | None = None) -> str:
    frame: dict[str, Any] = {"type": "ack", "ackId": ack_id, "success": error is None}
    if error is not None:
        frame["error"] = {"name": error[0], "message": error[1]}
    return json.dumps(frame)


def has_role(roles: frozenset[str] | set[str], role: str, group: str) -> bool:
    """A role applies to every group, or to one group with the `.<group>` suffix."""
    return role in roles or f"{role}.{group}" in roles


def parse_upstream(text: str) -> dict[str, Any]:
    """Decode a client frame and check the fields its type needs."""
    try:
        frame = json.loads(text)
    except ValueError:  # not JSON, or an integer over Python's 4,300-digit limit
        raise ProtocolError("frame is not JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise ProtocolError("frame has no type")
    ack_id = frame.get("ackId")
    if ack_id is not None and (not isinstance(ack_id, int) or isinstance(ack_id, bool)):
        raise ProtocolError("ackId must be an integer")
    kind = frame["type"]
    if kind in ("joinGroup", "leaveGroup", "sendToGroup"):
        group = frame.get("group")
        if not isinstance(group, str) or not 0 < len(group) <= 1024:
            raise ProtocolError("group must be a non-empty string")
    if kind in ("sendToGroup", "event") and "dataType" not in frame:
        raise ProtocolError("dataType is required")
    if kind == "sequenceAck" and not isinstance(frame.get("sequenceId"), int):
        raise ProtocolError("sequenceId must be an integer")
    return frame
