"""The emulator's HTTP surface: the REST API of `WebPubSubServiceClient` and the client endpoint.

REST routes live under `/api/hubs/{hub}` exactly as the service SDK (api-version 2024-12-01)
builds them and answer with the status codes the SDK expects (202 for sends, 200/204 for
membership, 200/404 for HEAD checks). Every REST call must carry the service JWT signed with the
access key, or, when the emulator is given an `EntraTrust`, a Microsoft Entra token (entra.py).
Clients connect to `/client/hubs/{hub}?access_token=...`; a bad token is refused at the
handshake with 401. `:generateToken` issues client tokens for keyless servers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from localdev.webpubsub.auth import (
    AuthError,
    bearer_token,
    sign_client_token,
    verify_client_token,
    verify_service_token,
)
from localdev.webpubsub.entra import (
    EntraAuthError,
    EntraForbidden,
    EntraTrust,
    authorize,
    is_entra_token,
)
from localdev.webpubsub.hub import Connection, Hub, close_connection, deliver_all
from localdev.webpubsub.odata import compile_filter
from localdev.webpubsub.protocol import (
    JOIN_LEAVE_GROUP,
    PERMISSION_ROLES,
    SEND_TO_GROUP,
    SUPPORTED_PROTOCOLS,
    Payload,
    ProtocolError,
    ack_frame,
    has_role,
    parse_upstream,
)

logger = logging.getLogger(__name__)

HUB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
MAX_BODY_BYTES = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


class Emulator:
    """All hubs of one emulated Web PubSub resource, keyed by the resource's access key."""

    def __init__(self, access_key: str, entra: EntraTrust | None = None) -> None:
        self.access_key = access_key
        self.entra = entra
        self.hubs: dict[str, Hub] = {}

    def hub(self, name: str) -> Hub:
        if name not in self.hubs:
            self.hubs[name] = Hub(name)
        return self.hubs[name]

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._rest_auth], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/client/hubs/{hub}", self.client_endpoint)
        base = "/api/hubs/{hub}"
        routes = [
            ("POST", "/:send", self.send_to_all),
            ("POST", "/:closeConnections", self.close_all),
            ("POST", "/:generateToken", self.generate_token),
            ("HEAD", "/connections/{conn}", self.connection_exists),
            ("DELETE", "/connections/{conn}", self.close_one),
            ("POST", "/connections/{conn}/:send", self.send_to_connection),
            ("DELETE", "/connections/{conn}/groups", self.remove_connection_from_all_groups),
            ("HEAD", "/groups/{group}", self.group_exists),
            ("POST", "/groups/{group}/:send", self.send_to_group),
            ("POST", "/groups/{group}/:closeConnections", self.close_group),
            ("GET", "/groups/{group}/connections", self.list_group),
            ("PUT", "/groups/{group}/connections/{conn}", self.add_connection_to_group),
            ("DELETE", "/groups/{group}/connections/{conn}", self.remove_connection_from_group),
            ("HEAD", "/users/{user}", self.user_exists),
            ("POST", "/users/{user}/:send", self.send_to_user),
            ("POST", "/users/{user}/:closeConnections", self.close_user),
            ("DELETE", "/users/{user}/groups", self.remove_user_from_all_groups),
            ("PUT", "/users/{user}/groups/{group}", self.add_user_to_group),
            ("DELETE", "/users/{user}/groups/{group}", self.remove_user_from_group),
            ("PUT", "/permissions/{perm}/connections/{conn}", self.grant_permission),
            ("DELETE", "/permissions/{perm}/connections/{conn}", self.revoke_permission),
            ("HEAD", "/permissions/{perm}/connections/{conn}", self.has_permission),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, base + path, handler)
        return app

    # --- REST plumbing -------------------------------------------------------------------

    @web.middleware
    async def _rest_auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        if request.match_info.http_exception is not None:
            return _error(request.match_info.http_exception.status, "NotFound", "No such API")
        try:
            token = bearer_token(request.headers.get("Authorization"))
            if self.entra is not None and is_entra_token(token):
                authorize(token, self.entra)
            else:
                verify_service_token(
                    token,
                    self.access_key,
                    host=request.host,
                    path=request.raw_path.split("?", 1)[0],
                    query=list(request.query.items()),
                )
        except (AuthError, EntraAuthError) as exc:
            return _error(401, "Unauthorized", str(exc))
        except EntraForbidden as exc:
            return _error(403, "Forbidden", str(exc))
        if "api-version" not in request.query:
            return _error(400, "BadRequest", "api-version query parameter is required")
        if not HUB_NAME.match(request.match_info.get("hub", "")):
            return _error(400, "BadRequest", "invalid hub name")
        try:
            return await handler(request)
        except ProtocolError as exc:
            return _error(400, "BadRequest", str(exc))

    def _hub(self, request: web.Request) -> Hub:
        return self.hub(request.match_info["hub"])

    @staticmethod
    async def _payload(request: web.Request) -> Payload:
        body = await request.read()
        content_type = request.headers.get("Content-Type", "application/octet-stream")
        try:
            return Payload.from_body(body, content_type)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(f"body does not match its content type: {exc}") from None

    @staticmethod
    def _targets(request: web.Request, connections: list[Connection]) -> list[Connection]:
        excluded = set(request.query.getall("excluded", []))
        keep = compile_filter(request.query.get("filter"))
        return [c for c in connections if c.id not in excluded and keep(c)]

    # --- sends ---------------------------------------------------------------------------

    async def send_to_all(self, request: web.Request) -> web.Response:
        payload = await self._payload(request)
        hub = self._hub(request)
        await deliver_all(self._targets(request, list(hub.connections.values())), payload)
        return web.Response(status=202)

    async def send_to_group(self, request: web.Request) -> web.Response:
        payload = await self._payload(request)
        group = request.match_info["group"]
        targets = self._targets(request, self._hub(request).group_connections(group))
        await deliver_all(targets, payload, group=group)
        return web.Response(status=202)

    async def send_to_user(self, request: web.Request) -> web.Response:
        payload = await self._payload(request)
        user = request.match_info["user"]
        targets = self._targets(request, self._hub(request).user_connections(user))
        await deliver_all(targets, payload)
        return web.Response(status=202)

    async def send_to_connection(self, request: web.Request) -> web.Response:
        payload = await self._payload(request)
        conn = self._hub(request).connections.get(request.match_info["conn"])
        if conn is not None:
            await deliver_all([conn], payload)
        return web.Response(status=202)

    # --- existence -----------------------------------------------------------------------

    @staticmethod
    def _exists(found: bool) -> web.Response:
        return web.Response(status=200 if found else 404)

    async def connection_exists(self, request: web.Request) -> web.Response:
        return self._exists(request.match_info["conn"] in self._hub(request).connections)

    async def group_exists(self, request: web.Request) -> web.Response:
        return self._exists(bool(self._hub(request).group_connections(request.match_info["group"])))

    async def user_exists(self, request: web.Request) -> web.Response:
        return self._exists(bool(self._hub(request).user_connections(request.match_info["user"])))

    async def list_group(self, request: web.Request) -> web.Response:
        members = self._hub(request).group_connections(request.match_info["group"])
        top = request.query.get("top")
        if top is not None and top.isdigit():
            members = members[: int(top)]
        value = [{"connectionId": c.id, "userId": c.user_id} for c in members]
        return web.json_response({"value": value})

    # --- membership ----------------------------------------------------------------------

    async def add_connection_to_group(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        conn = hub.connections.get(request.match_info["conn"])
        if conn is None:
            return _error(404, "NotFound", "connection does not exist")
        hub.join(conn, request.match_info["group"])
        return web.Response(status=200)

    async def remove_connection_from_group(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        conn = hub.connections.get(request.match_info["conn"])
        if conn is not None:
            hub.leave(conn, request.match_info["group"])
        return web.Response(status=204)

    async def remove_connection_from_all_groups(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        conn = hub.connections.get(request.match_info["conn"])
        if conn is not None:
            for group in list(conn.groups):
                hub.leave(conn, group)
        return web.Response(status=204)

    async def add_user_to_group(self, request: web.Request) -> web.Response:
        self._hub(request).add_user_to_group(
            request.match_info["user"], request.match_info["group"]
        )
        return web.Response(status=200)

    async def remove_user_from_group(self, request: web.Request) -> web.Response:
        self._hub(request).remove_user_from_group(
            request.match_info["user"], request.match_info["group"]
        )
        return web.Response(status=204)

    async def remove_user_from_all_groups(self, request: web.Request) -> web.Response:
        self._hub(request).remove_user_from_all_groups(request.match_info["user"])
        return web.Response(status=204)

    # --- permissions ---------------------------------------------------------------------

    def _permission(self, request: web.Request) -> tuple[Connection | None, str]:
        role = PERMISSION_ROLES.get(request.match_info["perm"])
        if role is None:
            raise ProtocolError("permission must be sendToGroup or joinLeaveGroup")
        target = request.query.get("targetName")
        conn = self._hub(request).connections.get(request.match_info["conn"])
        return conn, f"{role}.{target}" if target else role

    async def grant_permission(self, request: web.Request) -> web.Response:
        conn, role = self._permission(request)
        if conn is None:
            return _error(404, "NotFound", "connection does not exist")
        conn.roles.add(role)
        return web.Response(status=200)

    async def revoke_permission(self, request: web.Request) -> web.Response:
        conn, role = self._permission(request)
        if conn is not None:
            conn.roles.discard(role)
        return web.Response(status=204)

    async def has_permission(self, request: web.Request) -> web.Response:
        conn, role = self._permission(request)
        return self._exists(conn is not None and role in conn.roles)

    # --- closing and tokens --------------------------------------------------------------

    async def _close(self, request: web.Request, connections: list[Connection]) -> web.Response:
        excluded = set(request.query.getall("excluded", []))
        reason = request.query.get("reason")
        for conn in connections:
            if conn.id not in excluded:
                await close_connection(conn, reason)
        return web.Response(status=204)

    async def close_all(self, request: web.Request) -> web.Response:
        return await self._close(request, list(self._hub(request).connections.values()))

    async def close_one(self, request: web.Request) -> web.Response:
        conn = self._hub(request).connections.get(request.match_info["conn"])
        return await self._close(request, [conn] if conn else [])

    async def close_group(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        return await self._close(request, hub.group_connections(request.match_info["group"]))

    async def close_user(self, request: web.Request) -> web.Response:
        hub = self._hub(request)
        return await self._close(request, hub.user_connections(request.match_info["user"]))

    async def generate_token(self, request: web.Request) -> web.Response:
        minutes = request.query.get("minutesToExpire", "60")
        if not minutes.isdigit() or int(minutes) < 1:
            raise ProtocolError("minutesToExpire must be a positive integer")
        if request.query.get("clientType", "Default").lower() != "default":
            raise ProtocolError("the emulator serves the Default client protocol only")
        scheme = "https" if request.secure else "http"
        token = sign_client_token(
            self.access_key,
            audience=f"{scheme}://{request.host}/client/hubs/{request.match_info['hub']}",
            lifetime_seconds=int(minutes) * 60,
            now=time.time(),
            user_id=request.query.get("userId"),
            roles=request.query.getall("role", []),
            groups=request.query.getall("group", []),
        )
        return web.json_response({"token": token})

    # --- client connections --------------------------------------------------------------

    async def client_endpoint(self, request: web.Request) -> web.StreamResponse:
        hub_name = request.match_info["hub"]
        token = request.query.get("access_token")
        try:
            if not token:
                token = bearer_token(request.headers.get("Authorization"))
            claims = verify_client_token(token, self.access_key, host=request.host, hub=hub_name)
        except AuthError as exc:
            return _error(401, "Unauthorized", str(exc))
        ws = web.WebSocketResponse(protocols=SUPPORTED_PROTOCOLS, max_msg_size=MAX_BODY_BYTES)
        await ws.prepare(request)
        protocol = ws.ws_protocol if ws.ws_protocol in SUPPORTED_PROTOCOLS else None
        hub = self.hub(hub_name)
        conn = Connection(
            hub=hub_name, ws=ws, protocol=protocol, user_id=claims.user_id, roles=set(claims.roles)
        )
        hub.add(conn, claims.groups)
        try:
            if protocol is not None:
                await conn.send_text(conn.connected_frame())
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and protocol is not None:
                    await self._upstream(hub, conn, msg.data)
        finally:
            hub.remove(conn)
        return ws

    async def _upstream(self, hub: Hub, conn: Connection, text: str) -> None:
        """Handle one client frame of the JSON subprotocols and acknowledge it when asked."""
        try:
            frame = parse_upstream(text)
        except ProtocolError as exc:
            logger.debug("dropped an invalid client frame: %s", exc)
            return
        kind, ack_id = frame["type"], frame.get("ackId")
        if kind == "sequenceAck":
            conn.acked_sequence_id = max(conn.acked_sequence_id, frame["sequenceId"])
            return
        if ack_id is not None and ack_id in conn.seen_ack_ids:
            await conn.send_text(ack_frame(ack_id, ("Duplicate", f"ackId {ack_id} was processed")))
            return
        error = await self._apply(hub, conn, kind, frame)
        if ack_id is not None:
            conn.seen_ack_ids.add(ack_id)
            await conn.send_text(ack_frame(ack_id, error))

    @staticmethod
    async def _apply(hub: Hub, conn: Connection, kind: str, frame: dict) -> tuple[str, str] | None:
        group = frame.get("group", "")
        if kind in ("joinGroup", "leaveGroup"):
            if not has_role(conn.roles, JOIN_LEAVE_GROUP, group):
                return ("Forbidden", f"The connection has no permission to join or leave {group}")
            (hub.join if kind == "joinGroup" else hub.leave)(conn, group)
            return None
        if kind == "sendToGroup":
            if not has_role(conn.roles, SEND_TO_GROUP, group):
                return ("Forbidden", f"The connection has no permission to send to {group}")
            try:
                payload = Payload.from_frame(frame["dataType"], frame.get("data"))
            except (ProtocolError, ValueError) as exc:
                return ("InvalidData", str(exc))
            targets = [
                c for c in hub.group_connections(group) if not (frame.get("noEcho") and c is conn)
            ]
            await deliver_all(targets, payload, group=group, from_user_id=conn.user_id)
            return None
        if kind == "event":
            logger.info(
                "event %r accepted; the emulator has no upstream handler", frame.get("event")
            )
            return None
        return ("InvalidData", f"unknown frame type {kind!r}")
