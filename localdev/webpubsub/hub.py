"""Connections, groups and users of the hubs, and message delivery to them.

Everything runs on the emulator's one event loop, so the state needs no locks; each connection
serialises its own sends so that reliable sequence ids reach the client in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web

from localdev.webpubsub.protocol import (
    RELIABLE_PROTOCOL,
    Payload,
    connected_frame,
    disconnected_frame,
    message_frame,
)

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Connection:
    """One client WebSocket and what the service knows about it."""

    hub: str
    ws: web.WebSocketResponse
    protocol: str | None
    user_id: str | None
    roles: set[str]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    groups: set[str] = field(default_factory=set)
    seen_ack_ids: set[int] = field(default_factory=set)
    sequence_id: int = 0
    acked_sequence_id: int = 0
    reconnection_token: str | None = None
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def reliable(self) -> bool:
        return self.protocol == RELIABLE_PROTOCOL

    async def send_text(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send_str(text)

    async def deliver(
        self, payload: Payload, *, group: str | None = None, from_user_id: str | None = None
    ) -> None:
        """Send a server or group message in the form this connection's protocol expects."""
        async with self._send_lock:
            if self.ws.closed:
                return
            if self.protocol is None:
                if payload.data_type == "binary":
                    await self.ws.send_bytes(payload.raw)
                else:
                    await self.ws.send_str(payload.raw.decode())
                return
            sequence_id = None
            if self.reliable:
                self.sequence_id += 1
                sequence_id = self.sequence_id
            frame = message_frame(
                payload, group=group, from_user_id=from_user_id, sequence_id=sequence_id
            )
            await self.ws.send_str(frame)

    def connected_frame(self) -> str:
        return connected_frame(self.id, self.user_id, self.reconnection_token)


class Hub:
    """The state of one hub: who is connected, who is in which group."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connections: dict[str, Connection] = {}
        self.groups: dict[str, set[str]] = defaultdict(set)
        self.user_groups: dict[str, set[str]] = defaultdict(set)

    def add(self, conn: Connection, groups: Iterable[str]) -> None:
        if conn.reliable:
            conn.reconnection_token = secrets.token_urlsafe(24)
        self.connections[conn.id] = conn
        joined = list(groups) + sorted(self.user_groups.get(conn.user_id or "", ()))
        for group in joined:
            self.join(conn, group)

    def remove(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        for group in list(conn.groups):
            self.leave(conn, group)

    def join(self, conn: Connection, group: str) -> None:
        conn.groups.add(group)
        self.groups[group].add(conn.id)

    def leave(self, conn: Connection, group: str) -> None:
        conn.groups.discard(group)
        members = self.groups.get(group)
        if members is not None:
            members.discard(conn.id)
            if not members:
                del self.groups[group]

    def user_connections(self, user_id: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.user_id == user_id]

    def group_connections(self, group: str) -> list[Connection]:
        members = self.groups.get(group, ())
        return [self.connections[cid] for cid in members if cid in self.connections]

    def add_user_to_group(self, user_id: str, group: str) -> None:
        """Applies to the user's current connections and to the ones it opens later."""
        self.user_groups[user_id].add(group)
        for conn in self.user_connections(user_id):
            self.join(conn, group)

    def remove_user_from_group(self, user_id: str, group: str) -> None:
        self.user_groups.get(user_id, set()).discard(group)
        for conn in self.user_connections(user_id):
            self.leave(conn, group)

    def remove_user_from_all_groups(self, user_id: str) -> None:
        self.user_groups.pop(user_id, None)
        for conn in self.user_connections(user_id):
            for group in list(conn.groups):
                self.leave(conn, group)


async def deliver_all(
    targets: Iterable[Connection],
    payload: Payload,
    *,
    group: str | None = None,
    from_user_id: str | None = None,
) -> None:
    """Send to many connections at once; a connection that fails is simply skipped."""
    sends = [c.deliver(payload, group=group, from_user_id=from_user_id) for c in targets]
    for result in await asyncio.gather(*sends, return_exceptions=True):
        if isinstance(result, Exception):
            logger.debug("delivery to a closing connection failed: %s", type(result).__name__)


async def close_connection(conn: Connection, reason: str | None) -> None:
    """Tell JSON-protocol clients why, then close the socket."""
    if conn.protocol is not None and not conn.ws.closed:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.send_text(disconnected_frame(reason or "Connection closed by the server"))
    await conn.ws.close(message=(reason or "").encode()[:120])
