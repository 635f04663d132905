"""A local Functions host: the app's real HTTP and timer functions served by aiohttp.

Core Tools cannot be installed here, so this module does the part of its job the app relies on:
it indexes the app's functions (their function.json), routes `/{routePrefix}/{route}` requests
to the HTTP-triggered ones with the host's route-template rules, converts requests and responses
to and from `azure.functions` types, runs timer functions on their NCRONTAB schedules, and
serves the console page at `/`. Everything beyond that (the Durable runtime, the Web PubSub
emulator, database seeding) plugs in through `HostPlugins`, so the host stays one concern.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.timer import TimerRequest

from localdev.host.functions import FunctionEntry, index_app
from localdev.host.ncrontab import Schedule, parse_schedule
from localdev.host.routes import Route, build_routes, route_prefix_from
from shared.errors import RequestTooLargeError, unexpected_error
from shared.http import REQUEST_ID_HEADER, sane_request_id
from shared.identity import APP_ROLES, PRINCIPAL_HEADERS, principal_headers
from shared.schemas import ErrorResponse

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Also served in Azure, by orchestrator/http/console.py.
CONSOLE_DIR = PROJECT_ROOT / "orchestrator" / "http" / "console"
DEFAULT_PORT = 7071
DEFAULT_PUBSUB_PORT = 8080
DEFAULT_MAX_REQUEST_BODY_BYTES = 104_857_600
"""The Functions host's default request body limit (app setting FUNCTIONS_REQUEST_BODY_SIZE_LIMIT,
100 MB); Azure's front end also caps requests at 210 MB."""
BODY_SIZE_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
MAX_URL_CHARS = 8192
MAX_QUERY_CHARS = 4096
"""Azure's limits on the request URL and its query string; longer ones get a 414 ErrorResponse.
The HTTP parser accepts request lines up to PARSER_LINE_BYTES so that they reach the host (a
longer line is the parser's plain 400, as a front end's would be)."""
PARSER_LINE_BYTES = 32 * 1024
EASY_AUTH_HEADER_PREFIX = "x-ms-"
"""App Service Authentication removes every client-sent header with this prefix (README,
Identity, roles and ownership) and injects the signed-in caller's."""

DurableClientProvider = Callable[[dict[str, Any]], str]
"""Given the function's `durableClient` binding (from function.json), the client binding JSON
string the Functions host would pass (taskHubName, creationUrls, managementUrls, baseUrl, ...)."""


# --------------------------------------------------------------------------- plug-in seam


@dataclass(frozen=True)
class Service:
    """Something that runs beside the host (Durable runtime, Web PubSub emulator, seeding).

    `start` runs before the host accepts requests, `stop` after it stopped accepting them;
    services stop in reverse order.
    """

    name: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class LocalDeveloper:
    """Who the host signs a request in as when it carries no principal headers: the host plays
    App Service Authentication, which injects the signed-in caller's X-MS-CLIENT-PRINCIPAL-*."""

    user_id: str = "local-developer"
    name: str = "Local Developer"
    roles: tuple[str, ...] = APP_ROLES

    def headers(self) -> dict[str, str]:
        headers = principal_headers(self.user_id, self.name, self.roles)
        return {name.lower(): value for name, value in headers.items()}


@dataclass(frozen=True)
class LocalOptions:
    """Where the local stack listens, which database it uses (ports fixed before start), the
    host's body limit, an external Web PubSub (a real service, or an emulator started
    elsewhere) to use instead of starting the emulator on `pubsub_port`, who a request
    without principal headers is signed in as (None: nobody, 401), and where the sample history
    an empty database gets ends (tests pin it; None: the last full week before today)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    pubsub_port: int = DEFAULT_PUBSUB_PORT
    database_url: str | None = None
    developer: LocalDeveloper | None = field(default_factory=LocalDeveloper)
    max_request_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    pubsub_connection_string: str | None = field(default=None, repr=False)
    sample_end_date: date | None = None
    """The sample history loaded into an empty database ends before this day (None: today)."""
    hop_delay_ms: float | None = None  # None: the LOCAL_HOP_DELAY_MS setting
    sign_in_token: str | None = field(default=None, repr=False)
    """Set: the host plays Easy Auth as the template configures it (sign-in required,
    Return401): client-sent X-MS-* headers are dropped, only `Authorization: Bearer <this>`
    signs a request in (as `developer`), and anything else is a 401 before any function runs."""
    # The Durable runtime's worker threads for activities and orchestrator episodes (the local
    # counterparts of host.json's maxConcurrentActivityFunctions and
    # maxConcurrentOrchestratorFunctions); None: the runtime's defaults. bench/bench_flood.py
    # measures plans under load at several sizes.
    activity_workers: int | None = None
    orchestrator_workers: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class HostPlugins:
    """What the integrator adds to a bare host: services that run beside it, and the Durable
    client binding for functions that take one."""

    services: Sequence[Service] = ()
    durable_client: DurableClientProvider | None = None


PluginFactory = Callable[[LocalOptions], HostPlugins]


# --------------------------------------------------------------------------- invocation


class InvocationContext(func.Context):
    """The `context` argument: what the Python worker gives a function, minus tracing."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local_storage = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> threading.local:  # type: ignore[override]
        return self._thread_local_storage

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


class Invoker:
    """Calls user functions the way the Python worker does: arguments bound by binding name,
    sync functions on a thread pool (so a slow one never blocks the event loop), async ones
    awaited."""

    def __init__(
        self,
        durable_client: DurableClientProvider | None,
        executor: ThreadPoolExecutor,
        function_directory: str,
    ) -> None:
        self._durable_client = durable_client
        self._executor = executor
        self._function_directory = function_directory

    def arguments(self, entry: FunctionEntry, trigger_value: Any) -> tuple[dict[str, Any], str]:
        """Keyword arguments for `entry` and the invocation id."""
        context = InvocationContext(entry.name, self._function_directory)
        kwargs: dict[str, Any] = {}
        for binding in entry.function_json["bindings"]:
            if binding.get("direction", "").upper() != "IN":
                continue
            if binding["type"] == entry.trigger_type:
                kwargs[binding["name"]] = trigger_value
            elif binding["type"] == "durableClient":
                if self._durable_client is None:
                    raise DurableRuntimeMissing(entry.name)
                kwargs[binding["name"]] = self._durable_client(binding)
        if "context" in inspect.signature(entry.user_function).parameters:
            kwargs["context"] = context
        return kwargs, context.invocation_id

    async def call(self, entry: FunctionEntry, kwargs: dict[str, Any]) -> Any:
        fn = entry.user_function
        if inspect.iscoroutinefunction(fn):
            return await fn(**kwargs)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, lambda: fn(**kwargs))
        if inspect.isawaitable(result):
            return await result
        return result


class DurableRuntimeMissing(Exception):
    """A function takes a durable client but no Durable runtime is plugged into the host."""


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed `limit` bytes: from the
    Content-Length header before reading anything, else while streaming a chunked body, so an
    oversized body is never held in memory."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_any():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


def too_large(request_id: str, limit: int) -> web.Response:
    """The 413 ErrorResponse. The connection closes after it, so the rest of the body is only
    drained (aiohttp's lingering close) and the socket is never reused."""
    response = error_json(
        RequestTooLargeError.status_code,
        RequestTooLargeError.error_type,
        f"Request body exceeds the host's limit of {limit} bytes",
        request_id,
        details={"max_bytes": limit},
        suggestions=["Send a smaller body; large data sets go through several imports."],
    )
    response.force_close()
    return response


def to_http_request(
    request: web.Request,
    body: bytes,
    route_params: dict[str, str],
    developer: LocalDeveloper | None = None,
    *,
    strip_client_principal: bool = False,
) -> func.HttpRequest:
    """The request as the worker hands it over. Principal headers the client sent are kept
    (that is the user); without any, `developer` is signed in, as Easy Auth would sign in a
    user with a session. `strip_client_principal` drops every X-MS-* header the client sent
    first, as Easy Auth does in Azure, so only `developer` can be the caller."""
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        lower = key.lower()
        if strip_client_principal and lower.startswith(EASY_AUTH_HEADER_PREFIX):
            continue
        headers[lower] = f"{headers[lower]}, {value}" if lower in headers else value
    if developer is not None and not any(name in headers for name in PRINCIPAL_HEADERS):
        headers.update(developer.headers())
    params: dict[str, str] = {}
    for key, value in request.query.items():
        params.setdefault(key, value)
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=headers,
        params=params,
        route_params=route_params,
        body=body,
    )


def to_web_response(result: Any) -> web.Response:
    """An HttpResponse (or the str/bytes the worker also accepts) as an aiohttp response."""
    if isinstance(result, (str, bytes)):
        result = func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"HTTP function returned {type(result).__name__}, not HttpResponse")
    headers = dict(result.headers.items())
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    headers = {
        k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")
    }
    if content_type is None:
        content_type = result.mimetype or "text/plain"
        if result.charset and "charset" not in content_type:
            content_type += f"; charset={result.charset}"
    headers["Content-Type"] = content_type
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers)


def error_json(
    status: int,
    error_type: str,
    message: str,
    request_id: str,
    *,
    details: dict[str, Any] | None = None,
    suggestions: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = ErrorResponse(
        error_type=error_type,
        message=message,
        details=details or {},
        suggestions=suggestions or [],
        request_id=request_id,
    )
    return error_body_json(status, body, headers)


def error_body_json(
    status: int, body: ErrorResponse, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=body.model_dump_json(),
        content_type="application/json",
        headers={REQUEST_ID_HEADER: body.request_id, **(headers or {})},
    )


# --------------------------------------------------------------------------- the host


@dataclass
class FunctionsHost:
    """The HTTP app and timer loops for one Functions app."""

    functions_app: func.FunctionApp
    plugins: HostPlugins = field(default_factory=HostPlugins)
    route_prefix: str = "api"
    console_dir: Path = CONSOLE_DIR
    run_timers: bool = True
    max_workers: int = 8
    developer: LocalDeveloper | None = None
    max_body_bytes: int = DEFAULT_MAX_REQUEST_BODY_BYTES
    sign_in_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.sign_in_token is not None and self.developer is None:
            raise ValueError("a sign-in token signs in the local developer: give one")
        entries = list(index_app(self.functions_app).values())
        self.routes = build_routes(entries, self.route_prefix)
        self.timers = [
            (e, parse_schedule(e.trigger["schedule"]))
            for e in entries
            if e.trigger_type == "timerTrigger"
        ]
        self._executor = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="fn")
        self.invoker = Invoker(self.plugins.durable_client, self._executor, os.getcwd())
        self._timer_tasks: list[asyncio.Task[None]] = []

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body_bytes)
        if self.sign_in_token is not None:
            app.middlewares.append(self._require_sign_in)
        app.router.add_get("/", self._console_index)
        app.router.add_get("/.auth/login/{provider}", self._sign_in)
        app.router.add_static("/console/", self.console_dir, show_index=False)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._dispatch)
        app.on_startup.append(self._start_timers)
        app.on_cleanup.append(self._stop_timers)
        return app

    @web.middleware
    async def _require_sign_in(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Easy Auth with sign-in required and Return401: every route but `/.auth/` needs a
        signed-in caller; forged principal headers sign nobody in. Easy Auth's own 401 carries
        no ErrorResponse body, so neither does this one."""
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        token = self.sign_in_token or ""
        signed_in = scheme.lower() == "bearer" and hmac.compare_digest(
            credential.strip().encode(), token.encode()
        )
        if signed_in or request.path.startswith("/.auth/"):
            return await handler(request)
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or str(uuid.uuid4())
        return web.Response(
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="localdev"', REQUEST_ID_HEADER: request_id},
        )

    async def _console_index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self.console_dir / "index.html")

    async def _sign_in(self, request: web.Request) -> web.Response:
        """Where the console sends a browser after a 401, as on Azure. Signing in is App Service
        Authentication's, which the local host only plays: it says how to be someone here."""
        return error_json(
            404,
            "SIGN_IN_NOT_AVAILABLE",
            "This local host has no sign-in page: on Azure, App Service Authentication signs "
            "you in here",
            str(uuid.uuid4()),
            suggestions=[
                "Start `python -m localdev serve` without --no-default-user to be the local "
                "developer (both roles).",
                "Or send X-MS-CLIENT-PRINCIPAL-* headers to act as someone else "
                "(docs/identity.md).",
            ],
        )

    async def _dispatch(self, request: web.Request) -> web.Response:
        """Route one request to its function; one log line per request: INFO for changes and
        errors, DEBUG for successful reads (status polls would drown everything else)."""
        started = time.monotonic()
        response = await self._route(request)
        level = logging.DEBUG if request.method == "GET" and response.status < 400 else logging.INFO
        logger.log(
            level,
            "%s %s -> %d in %.0f ms (request %s)",
            request.method,
            request.path,
            response.status,
            (time.monotonic() - started) * 1000,
            response.headers.get(REQUEST_ID_HEADER, "-"),
        )
        return response

    async def _route(self, request: web.Request) -> web.Response:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or str(uuid.uuid4())
        if len(request.raw_path) > MAX_URL_CHARS or len(request.query_string) > MAX_QUERY_CHARS:
            return error_json(
                414,
                "URI_TOO_LONG",
                "The request URL or its query string is too long",
                request_id,
                details={"max_url_chars": MAX_URL_CHARS, "max_query_chars": MAX_QUERY_CHARS},
                suggestions=["Send long values in the request body."],
            )
        path = "/" + request.match_info["tail"].strip("/")
        matched = [
            (route, params) for route in self.routes if (params := route.match(path)) is not None
        ]
        if not matched:
            return error_json(
                404,
                "NOT_FOUND",
                f"No function serves {request.method} {request.path}",
                request_id,
                suggestions=[f"HTTP functions are under /{self.route_prefix}/; see docs/api.md."],
            )
        allowed = [(r, p) for r, p in matched if r.methods is None or request.method in r.methods]
        if not allowed:
            methods = sorted({m for r, _ in matched for m in (r.methods or ())})
            return error_json(
                405,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {request.path}",
                request_id,
                details={"allowed_methods": methods},
                headers={"Allow": ", ".join(methods)},
            )
        route, params = allowed[0]
        return await self._invoke_http(route, params, request, request_id)

    async def _invoke_http(
        self, route: Route, params: dict[str, str], request: web.Request, request_id: str
    ) -> web.Response:
        body = await read_body(request, self.max_body_bytes)
        if body is None:
            return too_large(request_id, self.max_body_bytes)
        http_request = to_http_request(
            request,
            body,
            params,
            self.developer,
            strip_client_principal=self.sign_in_token is not None,
        )
        try:
            kwargs, invocation_id = self.invoker.arguments(route.entry, http_request)
        except DurableRuntimeMissing:
            return error_json(
                503,
                "DURABLE_RUNTIME_UNAVAILABLE",
                f"{route.entry.name} needs the Durable runtime, "
                "which this host was started without",
                request_id,
                suggestions=["Start the app with `python -m localdev serve`."],
            )
        try:
            result = await self.invoker.call(route.entry, kwargs)
            response = to_web_response(result)
        except Exception:  # a failing function becomes a 500, never a crash
            logger.exception("Function %s failed (invocation %s)", route.entry.name, invocation_id)
            return error_body_json(500, unexpected_error(request_id))
        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
        return response

    async def _start_timers(self, _: web.Application) -> None:
        if self.run_timers:
            self._timer_tasks = [
                asyncio.create_task(self._timer_loop(entry, schedule), name=f"timer:{entry.name}")
                for entry, schedule in self.timers
            ]

    async def _stop_timers(self, _: web.Application) -> None:
        for task in self._timer_tasks:
            task.cancel()
        for task in self._timer_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _timer_loop(self, entry: FunctionEntry, schedule: Schedule) -> None:
        last: datetime | None = None
        if entry.trigger.get("runOnStartup"):
            await self.fire_timer(entry, schedule, last, past_due=False)
            last = datetime.now(UTC)
        while True:
            due = schedule.next_after(datetime.now(UTC))
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            late = datetime.now(UTC) - due > timedelta(seconds=1)
            await self.fire_timer(entry, schedule, last, past_due=late)
            last = due

    async def fire_timer(
        self, entry: FunctionEntry, schedule: Schedule, last: datetime | None, past_due: bool
    ) -> None:
        now = datetime.now(UTC)
        timer = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": (last or now).isoformat(),
                "Next": schedule.next_after(now).isoformat(),
                "LastUpdated": now.isoformat(),
            },
            schedule={"AdjustForDST": True},
        )
        try:
            kwargs, _ = self.invoker.arguments(entry, timer)
            await self.invoker.call(entry, kwargs)
        except Exception:  # one failed run must not stop the schedule
            logger.exception("Timer function %s failed", entry.name)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (for embedded hosts and tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def default_app() -> func.FunctionApp:
    """The project's app, imported lazily so that importing the host stays cheap."""
    from function_app import app

    return app


@contextlib.asynccontextmanager
async def start_host(
    options: LocalOptions,
    *,
    functions_app: func.FunctionApp | None = None,
    plugins: HostPlugins | None = None,
    route_prefix: str | None = None,
    run_timers: bool = True,
) -> AsyncIterator[str]:
    """Start the services, then the host; yield its base URL; stop everything on exit."""
    plugins = plugins or HostPlugins()
    app = functions_app if functions_app is not None else default_app()
    if route_prefix is None:
        route_prefix = route_prefix_from(PROJECT_ROOT / "host.json")
    host = FunctionsHost(
        app,
        plugins=plugins,
        route_prefix=route_prefix,
        run_timers=run_timers,
        developer=options.developer,
        max_body_bytes=options.max_request_body_bytes,
        sign_in_token=options.sign_in_token,
    )
    started: list[Service] = []
    runner = web.AppRunner(host.web_app(), access_log=None, max_line_size=PARSER_LINE_BYTES)
    try:
        for service in plugins.services:
            await service.start()
            started.append(service)
        await runner.setup()
        await web.TCPSite(runner, options.host, options.port).start()
        logger.info("Functions host listening on %s", options.base_url)
        yield options.base_url
    finally:
        await runner.cleanup()
        for service in reversed(started):
            try:
                await service.stop()
            except Exception:  # keep stopping the others
                logger.exception("Stopping %s failed", service.name)


async def serve_forever(
    options: LocalOptions,
    *,
    functions_app: func.FunctionApp | None = None,
    plugins: HostPlugins | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM, then stop everything cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with start_host(options, functions_app=functions_app, plugins=plugins) as url:
            if ready is not None:
                ready(url)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
