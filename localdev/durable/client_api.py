"""The subset of the Durable extension's HTTP API that `DurableOrchestrationClient` calls.

The real client in the HTTP functions receives the `durableClient` binding as a JSON string and
talks HTTP to `rpcBaseUrl`; serving the same routes here lets the unchanged client code (and so
the unchanged HTTP functions) run against the local runtime:

    POST {rpc}orchestrators/{name}[/{instanceId}]   body: the input (a JSON string of JSON)
         202 management payload with "id"; 400 {"ExceptionMessage"} unknown function or an
         instance with that id still running
    GET  {rpc}instances/{instanceId}?showHistory=&showInput=
         200 finished, 202 pending/running, 404 (empty body) unknown
    POST {rpc}instances/{instanceId}/terminate?reason=
         202 accepted, 410 already finished, 404 unknown
    POST {rpc}instances/{instanceId}/raiseEvent/{eventName}   body: the event data as JSON
         202 accepted, 410 already finished, 404 unknown, 400 not application/json or not JSON;
         the event's Input is the body's JSON token written back as JSON, as the extension's
         converter does: the Python client's `json.dumps(data)` body is a JSON string, so the
         orchestrator receives the data as a str, exactly as on Azure

The same routes are also served under the public webhook prefix used by the management URLs.

Every route needs the runtime's system key, generated per start and never printed (the API runs
without an access log). On Azure the webhook routes need the Functions host's system key, which
the extension writes into the URLs it hands out as `code=` (the binding's
`requiredQueryStringParameters`, every creation and management URL); here the same `code=`
query parameter carries this runtime's key. The extension's RPC endpoint is a listener inside
the app's sandbox that no other tenant can reach; this runtime's loopback port is reachable by
every local process, so its RPC routes need the key too: it sits in the `rpcBaseUrl` path
(`.../durabletask/{key}/`), which the unchanged SDK client prefixes to every call and which
the host hands the function in memory, in the binding, never to a client.

The routes serve any `DurableBackend`, the protocol below that the runtime
(localdev/durable/runtime.py) satisfies: the client side never imports the worker side, and
the runtime imports this module to serve itself.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import quote

from aiohttp import web

from localdev.durable.store import InstanceExistsError, UnknownOrchestratorError


class DurableBackend(Protocol):
    """What the extension's HTTP API asks of a task hub: the operations the routes serve."""

    task_hub: str
    base_url: str
    """Where this API listens (`http://host:port`), the base of the management URLs."""

    async def start_new(
        self, name: str, instance_id: str | None = None, input_json: str | None = None
    ) -> str:
        """Start orchestrator `name` and return its instance id; raises
        UnknownOrchestratorError, or InstanceExistsError while that id still runs."""
        ...

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_input: bool = True
    ) -> dict[str, Any] | None:
        """The instance status in the extension's HTTP API shape, or None when unknown."""
        ...

    async def terminate(self, instance_id: str, reason: str) -> str:
        """'accepted' (it was running), 'gone' (it had finished) or 'not_found'."""
        ...

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> str:
        """'accepted' (queued for the running instance), 'gone' or 'not_found'."""
        ...


RPC_PREFIX = "/durabletask/"
WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/"
INSTANCE_PLACEHOLDER = "INSTANCEID"
RUNTIME_KEY = web.AppKey("durable_runtime", DurableBackend)
SYSTEM_KEY = web.AppKey("durable_system_key", str)
SYSTEM_KEY_PARAMETER = "code"


def generate_system_key() -> str:
    """A fresh key for one runtime start (256 bits from the OS's CSPRNG)."""
    return secrets.token_urlsafe(32)


def _query(task_hub: str, system_key: str) -> str:
    return (
        f"taskHub={quote(task_hub)}&connection=Storage&{SYSTEM_KEY_PARAMETER}={quote(system_key)}"
    )


def rpc_base_url(base_url: str, system_key: str) -> str:
    """Where the SDK client sends its calls: the RPC prefix with the key as a path segment."""
    return f"{base_url}{RPC_PREFIX}{quote(system_key, safe='')}/"


def management_urls(
    task_hub: str, webhook_base: str, instance_id: str, system_key: str
) -> dict[str, str]:
    instance = f"{webhook_base}/instances/{instance_id}"
    query = _query(task_hub, system_key)
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{instance}?{query}",
        "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{instance}?{query}",
        "restartPostUri": f"{instance}/restart?{query}",
        "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
    }


def client_binding_json(task_hub: str, base_url: str, system_key: str) -> str:
    """The binding payload: task hub, creation/management URL templates (with the key as
    `code=`, as Azure's), and the RPC base (with the key in its path)."""
    webhook_base = base_url + WEBHOOK_PREFIX.rstrip("/")
    query = _query(task_hub, system_key)
    return json.dumps(
        {
            "taskHubName": task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{webhook_base}/orchestrators/{{functionName}}"
                f"[/{{instanceId}}]?{query}",
                "createAndWaitOnNewInstancePostUri": f"{webhook_base}/orchestrators/"
                f"{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}&{query}",
            },
            "managementUrls": management_urls(
                task_hub, webhook_base, INSTANCE_PLACEHOLDER, system_key
            ),
            "baseUrl": webhook_base,
            "requiredQueryStringParameters": query,
            "rpcBaseUrl": rpc_base_url(base_url, system_key),
            "httpBaseUrl": "",
        }
    )


def _runtime(request: web.Request) -> DurableBackend:
    return request.app[RUNTIME_KEY]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() == "true"


async def _read_input(request: web.Request) -> str | None:
    """The client posts `json=df_dumps(input)`: a JSON string holding the input's JSON text."""
    raw = await request.read()
    if not raw.strip():
        return None
    value: Any = json.loads(raw)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


async def start_orchestration(request: web.Request) -> web.Response:
    runtime = _runtime(request)
    name = request.match_info["name"]
    try:
        input_json = await _read_input(request)
    except ValueError:  # not UTF-8, not JSON, or an integer past Python's digit limit
        return web.json_response({"ExceptionMessage": "The request body is not JSON."}, status=400)
    try:
        instance_id = await runtime.start_new(
            name, request.match_info.get("instance_id"), input_json
        )
    except UnknownOrchestratorError:
        return web.json_response(
            {"ExceptionMessage": f"The function '{name}' doesn't exist or is not an orchestrator."},
            status=400,
        )
    except InstanceExistsError as exc:
        return web.json_response(
            {"ExceptionMessage": f"An orchestration with instance ID '{exc}' already exists."},
            status=400,
        )
    webhook_base = runtime.base_url + WEBHOOK_PREFIX.rstrip("/")
    payload = management_urls(runtime.task_hub, webhook_base, instance_id, request.app[SYSTEM_KEY])
    return web.json_response(
        payload, status=202, headers={"Location": payload["statusQueryGetUri"]}
    )


async def get_instance(request: web.Request) -> web.Response:
    status = await _runtime(request).get_status(
        request.match_info["instance_id"],
        show_history=_flag(request, "showHistory"),
        show_input=_flag(request, "showInput"),
    )
    if status is None:
        return web.Response(status=404)
    running = status["runtimeStatus"] in ("Pending", "Running")
    return web.json_response(status, status=202 if running else 200)


async def terminate_instance(request: web.Request) -> web.Response:
    outcome = await _runtime(request).terminate(
        request.match_info["instance_id"], request.query.get("reason", "")
    )
    return web.Response(status={"accepted": 202, "gone": 410, "not_found": 404}[outcome])


async def raise_event(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return web.Response(status=400)
    raw = await request.read()
    try:
        token: Any = json.loads(raw) if raw.strip() else None
    except ValueError:  # not UTF-8, not JSON, or an integer past Python's digit limit
        return web.Response(status=400)
    outcome = await _runtime(request).raise_event(
        request.match_info["instance_id"],
        request.match_info["event_name"],
        None if token is None else json.dumps(token),
    )
    return web.Response(status={"accepted": 202, "gone": 410, "not_found": 404}[outcome])


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _require_system_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 (no body, as the Functions host answers a missing or wrong key) unless the request
    carries the system key: as `code=` on the webhook routes, as the path segment on RPC."""
    if request.path.startswith(WEBHOOK_PREFIX):
        given = request.query.get(SYSTEM_KEY_PARAMETER, "")
    else:
        given = request.match_info.get("system_key", "")
    if not hmac.compare_digest(given.encode(), request.app[SYSTEM_KEY].encode()):
        return web.Response(status=401)
    return await handler(request)


def create_api_app(runtime: DurableBackend, system_key: str) -> web.Application:
    app = web.Application(middlewares=[_require_system_key])
    app[RUNTIME_KEY] = runtime
    app[SYSTEM_KEY] = system_key
    for prefix in (RPC_PREFIX + "{system_key}/", WEBHOOK_PREFIX):
        app.router.add_post(prefix + "orchestrators/{name}", start_orchestration)
        app.router.add_post(prefix + "orchestrators/{name}/{instance_id}", start_orchestration)
        app.router.add_get(prefix + "instances/{instance_id}", get_instance)
        app.router.add_post(prefix + "instances/{instance_id}/terminate", terminate_instance)
        app.router.add_post(prefix + "instances/{instance_id}/raiseEvent/{event_name}", raise_event)
    return app
