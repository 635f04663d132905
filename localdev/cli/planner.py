"""The planning flow over the app's public API, as any client would run it.

extract -> negotiate -> WebSocket -> run-workflow -> stream agent messages until the three agents
finish or one fails -> fetch the results. It talks HTTP and WebSocket only, never calls functions
directly, so it exercises exactly what a browser does. Rendering lives in localdev.cli.plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from pydantic import ValidationError

from localdev.cli.result_pages import fetch_paged
from localdev.cli.retry import RetryAfterTransport
from shared.agents import AGENT_NAMES, AGENTS, DEMAND, INVENTORY, PRICING, AgentKey
from shared.runtime_status import FINISHED
from shared.schemas import (
    WEBSOCKET_MESSAGE,
    ActualsLateMessage,
    ErrorResponse,
    HeartbeatMessage,
    PlanUpdatedMessage,
)

logger = logging.getLogger(__name__)

API = "/api/orchestrator"
PAGED_AGENTS: frozenset[AgentKey] = frozenset({DEMAND.key, INVENTORY.key})
# runtime_status_of lowercases what the API answers.
TERMINAL_RUNTIME = {status.lower() for status in FINISHED}
# What the --json document calls each agent's result (the agent's first route serves it whole).
RESULT_KEYS: dict[AgentKey, str] = {
    DEMAND.key: "forecast",
    INVENTORY.key: "inventory",
    PRICING.key: "pricing",
}
_STATUS_RANK = {"pending": 0, "running": 1, "completed": 2, "failed": 2}


@dataclass
class AgentState:
    name: str
    status: str = "pending"
    progress: int = 0
    message: str = ""
    result: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None
    suggestions: list[str] = field(default_factory=list)


@dataclass
class PlanBoard:
    """What the messages received so far say about the three agents.

    Messages may repeat (a catch-up overlaps the live stream) or arrive late, so each one is
    applied once (by `sequence`) and state only moves forward: progress never drops and a
    finished agent never goes back to running.
    """

    agents: dict[str, AgentState] = field(
        default_factory=lambda: {name: AgentState(name) for name in AGENT_NAMES}
    )
    messages: list[dict[str, Any]] = field(default_factory=list)
    last_sequence: int = 0
    gap: bool = False
    _seen: set[int] = field(default_factory=set)

    @property
    def delivered_through(self) -> int:
        """The highest sequence with every earlier one received: where a catch-up starts, so
        a message the socket skipped (a gap) is fetched, not passed over."""
        through = 0
        while through + 1 in self._seen:
            through += 1
        return through

    def apply(self, raw: dict[str, Any]) -> bool:
        """Apply one message; False when it is a duplicate or not a valid message."""
        try:
            message = WEBSOCKET_MESSAGE.validate_python(raw)
        except ValidationError:
            logger.warning("ignoring an invalid message: %.200s", json.dumps(raw, default=str))
            return False
        sequence = message.sequence
        if sequence is not None:
            if sequence in self._seen:
                return False
            self._seen.add(sequence)
            if sequence > self.last_sequence + 1:
                self.gap = True
            self.last_sequence = max(self.last_sequence, sequence)
            self.gap = self.gap and len(self._seen) < self.last_sequence
        self.messages.append(raw)
        if isinstance(message, HeartbeatMessage | PlanUpdatedMessage | ActualsLateMessage):
            return True
        agent = self.agents[message.agent_name]
        if message.type == "agent_status":
            self._advance(agent, message.status)
        elif message.type == "progress":
            if agent.status == "pending":
                agent.status = "running"
            if message.progress >= agent.progress:
                agent.progress = message.progress
                agent.message = message.message
        elif message.type == "complete":
            self._advance(agent, "completed")
            agent.progress = 100
            agent.result = message.result
        elif message.type == "error":
            self._advance(agent, "failed", force=True)
            agent.error = message.error_message
            agent.error_type = message.error_type
            agent.suggestions = message.suggestions or []
        return True

    @staticmethod
    def _advance(agent: AgentState, status: str, force: bool = False) -> None:
        if force or _STATUS_RANK[status] > _STATUS_RANK[agent.status]:
            agent.status = status
        if status == "completed" and agent.result is None:
            agent.progress = 100

    @property
    def failed_agent(self) -> AgentState | None:
        return next((a for a in self.agents.values() if a.status == "failed"), None)

    @property
    def all_completed(self) -> bool:
        return all(a.status == "completed" for a in self.agents.values())

    @property
    def finished(self) -> bool:
        return self.all_completed or self.failed_agent is not None


@dataclass
class PlanOutcome:
    """Everything a run produced; `document()` is the `--json` output."""

    status: str
    parameters: dict[str, Any] | None = None
    field_sources: dict[str, str] = field(default_factory=dict)
    field_notes: dict[str, str] = field(default_factory=dict)
    currency: str = "USD"
    session_id: str | None = None
    workflow_id: str | None = None
    runtime_status: str | None = None
    board: PlanBoard = field(default_factory=PlanBoard)
    results: dict[str, Any] = field(default_factory=lambda: dict.fromkeys(RESULT_KEYS.values()))
    workflow: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def document(self) -> dict[str, Any]:
        return {
            "parameters": self.parameters,
            "field_sources": self.field_sources,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "messages": self.board.messages,
            "results": self.results,
            "error": self.error,
        }


class PlanFailed(Exception):
    """A step failed with an ErrorResponse (from the API or built here)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "failed"))
        self.error = error


def _error(
    error_type: str,
    message: str,
    request_id: str = "",
    suggestions: list[str] | None = None,
    **details: Any,
) -> dict[str, Any]:
    return ErrorResponse(
        error_type=error_type,
        message=message,
        details=details,
        suggestions=suggestions or [],
        request_id=request_id or "-",
    ).model_dump()


def sign_in_steps(base_url: str) -> list[str]:
    """How to get past a 401: the deployed app sits behind Easy Auth, which answers API calls
    without a valid session with 401 and accepts a signed-in user's token as a bearer token."""
    return [
        f"Sign in in a browser at {base_url}/.auth/login/aad, then open {base_url}/.auth/me "
        "and copy your id_token.",
        "Pass it with --token <id_token> (or set PLANNER_TOKEN); it is sent as "
        "'Authorization: Bearer'.",
        "Against `python -m localdev serve`, leave out --no-default-user to act as the "
        "local developer.",
    ]


def _error_from(response: httpx.Response, step: str) -> dict[str, Any]:
    """The ErrorResponse the API answered, or one describing the unexpected answer; a 401 (Easy
    Auth's has no body) says how to sign in."""
    try:
        error = ErrorResponse.model_validate(response.json()).model_dump()
    except (ValueError, ValidationError):
        if response.status_code == 401:
            error = _error(
                "SIGN_IN_REQUIRED",
                f"{step} answered 401: you are not signed in",
                response.headers.get("x-request-id", ""),
            )
        else:
            return _error(
                "UNEXPECTED_RESPONSE",
                f"{step} answered HTTP {response.status_code}",
                response.headers.get("x-request-id", ""),
                body=response.text[:500],
            )
    if response.status_code == 401:
        url = response.request.url
        error["suggestions"] = [
            *error["suggestions"],
            *sign_in_steps(f"{url.scheme}://{url.netloc.decode()}"),
        ]
    return error


def runtime_status_of(workflow: dict[str, Any]) -> str | None:
    status = workflow.get("runtime_status") or workflow.get("runtimeStatus")
    return str(status).lower() if status else None


Connect = Callable[[str], Any]
Update = Callable[[PlanBoard], None]


class _Stream:
    """Keeps one WebSocket open for the session: reconnects with backoff (negotiating again, as
    tokens expire) and tells the flow when it reconnected so it can catch up."""

    CONNECTED = object()

    def __init__(self, negotiate: Callable[[], Awaitable[str]], connect: Connect) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self._negotiate = negotiate
        self._connect = connect
        self.connections = 0

    async def run(self) -> None:
        backoff = 0.25
        while True:
            try:
                url = await self._negotiate()
                async with self._connect(url) as ws:
                    self.connections += 1
                    backoff = 0.25
                    await self.queue.put(self.CONNECTED)
                    async for frame in ws:
                        await self.queue.put(frame)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any drop means: reconnect
                logger.info("WebSocket dropped (%s); reconnecting in %.1fs", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


def default_connect(url: str) -> Any:
    return websockets.connect(url, open_timeout=10, max_size=4 * 1024**2, ping_interval=20)


async def run_plan(
    base_url: str,
    strategy: str,
    *,
    category_id: str | None = None,
    timeout: float = 300.0,
    poll_interval: float = 2.0,
    on_update: Update | None = None,
    http: httpx.AsyncClient | None = None,
    connect: Connect = default_connect,
    token: str | None = None,
) -> PlanOutcome:
    """Run the whole flow against the app at `base_url` and return what it produced.

    Never raises for a failed step: the outcome's `status` is "failed" (with `error`, an
    ErrorResponse) or "timeout". `token` (a signed-in user's Entra token) is sent as a bearer
    token, which Easy Auth accepts in place of a browser session.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    outcome = PlanOutcome(status="failed", session_id=uuid.uuid4().hex)
    async with contextlib.AsyncExitStack() as stack:
        client = (
            http
            if http is not None
            else await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url,
                    timeout=30.0,
                    headers=headers,
                    transport=RetryAfterTransport(httpx.AsyncHTTPTransport()),
                )
            )
        )
        try:
            await asyncio.wait_for(
                _flow(client, strategy, category_id, poll_interval, on_update, connect, outcome),
                timeout,
            )
        except PlanFailed as failed:
            outcome.status, outcome.error = "failed", failed.error
        except TimeoutError:
            outcome.status = "timeout"
            outcome.error = _error(
                "TIMEOUT",
                f"the plan did not finish within {timeout:g} s",
                outcome.workflow_id or "",
            )
        except (httpx.HTTPError, OSError) as exc:
            outcome.status = "failed"
            outcome.error = _error("CONNECTION_ERROR", f"cannot reach {base_url}: {exc}")
        if outcome.workflow_id:
            try:
                await _fetch_results(client, outcome)
            except (httpx.HTTPError, OSError) as exc:
                logger.warning("fetching results failed: %s", exc)
    return outcome


async def _flow(
    client: httpx.AsyncClient,
    strategy: str,
    category_id: str | None,
    poll_interval: float,
    on_update: Update | None,
    connect: Connect,
    outcome: PlanOutcome,
) -> None:
    board = outcome.board
    notify = on_update or (lambda _: None)

    response = await client.post(
        f"{API}/extract-parameters", json={"strategy_description": strategy}
    )
    if response.status_code != 200:
        raise PlanFailed(_error_from(response, "extract-parameters"))
    extracted = response.json()
    outcome.field_sources = extracted.pop("field_sources", None) or {}
    outcome.field_notes = extracted.pop("field_notes", None) or {}
    outcome.parameters = extracted

    async def negotiate() -> str:
        answer = await client.get(f"{API}/negotiate", params={"session_id": outcome.session_id})
        if answer.status_code != 200:
            raise PlanFailed(_error_from(answer, "negotiate"))
        return answer.json()["url"]

    await negotiate()  # fail fast with the API's own error before any socket is opened
    stream = _Stream(negotiate, connect)
    pump = asyncio.create_task(stream.run())
    try:
        first = await asyncio.wait_for(stream.queue.get(), 15.0)
        if first is not _Stream.CONNECTED:
            raise PlanFailed(_error("WEBSOCKET_CONNECTION_ERROR", "unexpected first frame"))
        # The extraction's answer goes back as it came, its category included: run-workflow
        # plans the category the text names, or the default when it names none.
        body: dict[str, Any] = {"session_id": outcome.session_id, "parameters": outcome.parameters}
        if category_id:
            body["category_id"] = category_id
            outcome.field_sources["category_id"] = "given"
        # The key makes the request safe to repeat (a 503 retried, a lost answer).
        started = await client.post(
            f"{API}/run-workflow", json=body, headers={"Idempotency-Key": str(outcome.session_id)}
        )
        if started.status_code not in (200, 202):
            raise PlanFailed(_error_from(started, "run-workflow"))
        run = started.json()
        outcome.workflow_id = run["workflow_id"]
        if outcome.parameters is not None and run.get("category_id"):
            outcome.parameters["category_id"] = run["category_id"]
        notify(board)
        await _stream_until_finished(client, stream, poll_interval, notify, outcome)
    except TimeoutError as exc:
        if pump.done() or not stream.connections:
            raise PlanFailed(
                _error("WEBSOCKET_CONNECTION_ERROR", "could not open the WebSocket")
            ) from exc
        raise
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, PlanFailed):
            await pump


async def _stream_until_finished(
    client: httpx.AsyncClient,
    stream: _Stream,
    poll_interval: float,
    notify: Update,
    outcome: PlanOutcome,
) -> None:
    board = outcome.board
    next_poll = time.monotonic() + poll_interval
    while True:
        wait = max(0.0, next_poll - time.monotonic())
        try:
            item = await asyncio.wait_for(stream.queue.get(), wait)
        except TimeoutError:
            item = None
        if item is _Stream.CONNECTED or board.gap:
            await _catch_up(client, outcome)
        elif item is not None:
            _apply_frame(board, item)
            if board.gap:
                await _catch_up(client, outcome)
        notify(board)
        if board.finished:
            break
        if time.monotonic() >= next_poll:
            next_poll = time.monotonic() + poll_interval
            if await _poll(client, outcome) in TERMINAL_RUNTIME:
                await _catch_up(client, outcome)
                notify(board)
                break
    await _settle(client, outcome, poll_interval)


def _apply_frame(board: PlanBoard, frame: str | bytes) -> None:
    try:
        data = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        logger.warning("ignoring a non-JSON frame")
        return
    if isinstance(data, dict):
        board.apply(data)


async def _catch_up(client: httpx.AsyncClient, outcome: PlanOutcome) -> None:
    """Fetch what the WebSocket missed: everything after the last sequence received with
    none missing before it (messages already applied are skipped by `apply`)."""
    board = outcome.board
    response = await client.get(
        f"{API}/workflows/{outcome.workflow_id}/events", params={"after": board.delivered_through}
    )
    if response.status_code != 200:
        logger.warning("events endpoint answered %s", response.status_code)
        return
    events = response.json().get("events", [])
    for event in sorted(events, key=lambda e: e.get("sequence") or 0):
        board.apply(event)
    board.gap = False


async def _poll(client: httpx.AsyncClient, outcome: PlanOutcome) -> str | None:
    response = await client.get(f"{API}/workflows/{outcome.workflow_id}")
    if response.status_code != 200:
        return None
    outcome.workflow = response.json()
    outcome.runtime_status = runtime_status_of(outcome.workflow)
    return outcome.runtime_status


async def _settle(client: httpx.AsyncClient, outcome: PlanOutcome, poll_interval: float) -> None:
    """Wait briefly for the orchestration itself to end, take from the event log what the
    socket has not delivered yet, then decide the outcome.

    The last agent's `complete` already finishes the board, but its `agent_status completed`
    (and, on failure, `agent_status failed`) is published after it: every message is in the event
    log before the orchestration ends, so one catch-up after the end gets them all.
    """
    deadline = time.monotonic() + 10.0
    while (await _poll(client, outcome)) not in TERMINAL_RUNTIME and time.monotonic() < deadline:
        await asyncio.sleep(min(poll_interval, 0.5))
    await _catch_up(client, outcome)
    board = outcome.board
    failed = board.failed_agent
    if failed is not None:
        outcome.status = "failed"
        outcome.error = _error(
            failed.error_type or "AGENT_EXECUTION_ERROR",
            failed.error or f"{failed.name} did not finish",
            outcome.workflow_id or "",
            suggestions=failed.suggestions,
            agent_name=failed.name,
        )
        reported = (outcome.workflow or {}).get("error") or {}
        outcome.error["suggestions"] = list(reported.get("suggestions") or failed.suggestions)
    elif board.all_completed and outcome.runtime_status in (None, "completed", "running"):
        outcome.status = "completed"
    else:
        outcome.status = "failed"
        outcome.error = _error(
            "WORKFLOW_FAILED",
            f"the workflow ended {outcome.runtime_status or 'without finishing its agents'}",
            outcome.workflow_id or "",
            runtime_status=outcome.runtime_status,
        )


async def _fetch_results(client: httpx.AsyncClient, outcome: PlanOutcome) -> None:
    """The persisted results of every agent that completed, and the category's currency."""
    for agent in AGENTS:
        if outcome.board.agents[agent.name].status != "completed":
            continue
        path = "/api/" + agent.routes[0].format(workflow_id=outcome.workflow_id)
        # Per-store tables come a page at a time (bounded responses), then are put together.
        fetched = (
            await fetch_paged(client, path) if agent.key in PAGED_AGENTS else await client.get(path)
        )
        if isinstance(fetched, dict):
            outcome.results[RESULT_KEYS[agent.key]] = fetched
        elif fetched.status_code == 200:
            outcome.results[RESULT_KEYS[agent.key]] = fetched.json()
        else:
            logger.warning("%s answered %s", path, fetched.status_code)
    forecast = outcome.results.get("forecast")
    if forecast:
        response = await client.get("/api/categories")
        if response.status_code == 200:
            for category in response.json().get("categories", []):
                if category.get("category_id") == forecast.get("category_id"):
                    outcome.currency = category.get("currency") or outcome.currency
