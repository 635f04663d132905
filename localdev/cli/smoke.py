"""`python -m localdev smoke URL`: prove a deployment answers as designed, one verdict per check.

azd runs it after every deploy (azure.yaml, hooks.postdeploy), anyone can run it against any base
URL, and `tests/integration/test_smoke.py` runs it against the local stack playing Easy Auth
(`serve --require-sign-in`), so it cannot rot. It checks what only the running app can show:
an API call without sign-in is a 401; forged X-MS-CLIENT-PRINCIPAL* headers sign nobody in; the
docs and OpenAPI pages answer; negotiate hands out a URL on the Web PubSub service's host; and
one small plan runs end to end with its messages arriving over the real Web PubSub socket.
Easy Auth guards every route, so the last three need a signed-in user's token (`--token`);
without one they are SKIP, not PASS. Exit status 1 when any check failed. The token and the
client access token in the negotiate URL are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from localdev.cli.planner import Connect, default_connect, run_plan
from shared.identity import APP_ROLES, principal_headers

HELP = "check a deployed (or local) app: sign-in, forged headers, docs, negotiate, one plan"
TOKEN_SETTING = "PLANNER_TOKEN"
WEBPUBSUB_SETTING = "WEBPUBSUB_ENDPOINT"
# Rules and language model alike read this fully; four weeks keep the plan small.
DEFAULT_STRATEGY = (
    "I need 2000 units over 4 weeks starting March 3, 2025. Weekly replenishment. 10% DC holdback."
)
FORGED_USER = "smoke-test-forged-user"

Outcome = Literal["PASS", "FAIL", "SKIP"]


@dataclass(frozen=True)
class Verdict:
    check: str
    outcome: Outcome
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Target:
    """What is checked and with what: the app's base URL, a signed-in user's token (None: the
    checks behind sign-in are skipped), the Web PubSub endpoint negotiate must point at (None:
    any host but the app's), the plan's text and its time limit."""

    base_url: str
    token: str | None = None
    webpubsub_endpoint: str | None = None
    strategy: str = DEFAULT_STRATEGY
    plan_timeout: float = 300.0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _needs_token(check: str) -> Verdict:
    return Verdict(
        check,
        "SKIP",
        "needs --token: Easy Auth answers every route 401 without a signed-in user",
        f"Sign in at <url>/.auth/login/aad, copy id_token from <url>/.auth/me, pass --token "
        f"(or set {TOKEN_SETTING}).",
    )


async def sign_in_required(client: httpx.AsyncClient, target: Target) -> Verdict:
    check = "sign-in required"
    answer = await client.get("/api/me")
    if answer.status_code == 401:
        return Verdict(check, "PASS", "GET /api/me without sign-in -> 401")
    return Verdict(
        check,
        "FAIL",
        f"GET /api/me without sign-in -> {answer.status_code}"
        + (f" to {answer.headers.get('location')}" if answer.is_redirect else ""),
        "App Service Authentication must require sign-in and answer 401: `az webapp auth show "
        "-g <group> -n <app>` should show requireAuthentication true and "
        "unauthenticatedClientAction Return401; `azd provision` reapplies infra/app/auth.bicep.",
    )


async def forged_principal_refused(client: httpx.AsyncClient, target: Target) -> Verdict:
    check = "forged principal refused"
    forged = principal_headers(FORGED_USER, "forged@example.com", APP_ROLES, "aad")
    answer = await client.get("/api/me", headers=forged)
    if answer.status_code == 401 and FORGED_USER not in answer.text:
        return Verdict(check, "PASS", "GET /api/me with forged X-MS-CLIENT-PRINCIPAL* -> 401")
    return Verdict(
        check,
        "FAIL",
        f"GET /api/me with forged X-MS-CLIENT-PRINCIPAL* headers -> {answer.status_code}"
        + (" as the forged user" if FORGED_USER in answer.text else ""),
        "Anyone can act as anyone: Easy Auth must be on in front of the app (it strips client "
        "X-MS-* headers); nothing may forward those headers to the app without it. Check "
        "`az webapp auth show` (platform.enabled true) and any proxy in front of the app.",
    )


async def docs_answer(client: httpx.AsyncClient, target: Target) -> Verdict:
    check = "docs and OpenAPI"
    if not target.token:
        return _needs_token(check)
    docs = await client.get("/api/docs/", headers=target.headers())
    spec = await client.get("/api/openapi.json", headers=target.headers())
    problems = []
    if docs.status_code != 200 or not docs.headers.get("content-type", "").startswith("text/html"):
        problems.append(f"/api/docs/ -> {docs.status_code} {docs.headers.get('content-type')}")
    paths: dict[str, Any] = {}
    version = "?"
    if spec.status_code == 200:
        with contextlib.suppress(ValueError):
            document = spec.json()
            paths, version = document.get("paths", {}), document.get("openapi", "?")
    if spec.status_code != 200 or "/api/orchestrator/run-workflow" not in paths:
        problems.append(f"/api/openapi.json -> {spec.status_code} without run-workflow")
    if problems:
        return Verdict(
            check,
            "FAIL",
            "; ".join(problems),
            "A 401 with --token: the token expired or is not for this app (get a fresh id_token "
            "from /.auth/me). A 404 or 500: the deployment package is incomplete; run "
            "`azd deploy` again and read the function app's log stream.",
        )
    return Verdict(
        check,
        "PASS",
        f"/api/docs/ 200 text/html; /api/openapi.json 200 (OpenAPI {version}, {len(paths)} paths)",
    )


def _expected_socket_host(target: Target) -> str | None:
    if not target.webpubsub_endpoint:
        return None
    return urlsplit(target.webpubsub_endpoint).netloc


async def negotiate_on_service_host(client: httpx.AsyncClient, target: Target) -> Verdict:
    check = "negotiate"
    if not target.token:
        return _needs_token(check)
    answer = await client.get(
        "/api/orchestrator/negotiate",
        params={"session_id": f"smoke-{uuid.uuid4().hex}"},
        headers=target.headers(),
    )
    fix = (
        "The app hands browsers a socket on the wrong service or none: check the WebPubSubEndpoint "
        "app setting against `azd env get-value WEBPUBSUB_ENDPOINT`, and that the runtime "
        "identity holds Web PubSub Service Owner on it (a 503 names the missing setting)."
    )
    if answer.status_code != 200:
        return Verdict(check, "FAIL", f"GET negotiate -> {answer.status_code}", fix)
    url = urlsplit(str(answer.json().get("url", "")))
    shown = f"{url.scheme}://{url.netloc}{url.path}"  # never the access token
    app = urlsplit(target.base_url)
    secure = app.scheme == "https"
    problems = []
    if url.scheme not in (("wss",) if secure else ("ws", "wss")):
        problems.append(f"scheme {url.scheme or 'none'}")
    if not url.path.startswith("/client/hubs/") or "access_token" not in parse_qs(url.query):
        problems.append("not a Web PubSub client URL with an access token")
    expected = _expected_socket_host(target)
    if expected is not None and url.netloc != expected:
        problems.append(f"host {url.netloc}, expected the service's {expected}")
    if expected is None and url.netloc == app.netloc:
        problems.append("on the app's own host")
    if problems:
        return Verdict(check, "FAIL", f"{shown}: " + ", ".join(problems), fix)
    where = "the service's host" if expected else "not the app's host"
    return Verdict(check, "PASS", f"{shown} ({where})")


class _RecordingSocket:
    """A WebSocket connection that keeps every frame it receives."""

    def __init__(self, socket: Any, frames: list[str | bytes]) -> None:
        self._socket = socket
        self._frames = frames

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        return self._receive()

    async def _receive(self) -> AsyncIterator[str | bytes]:
        async for frame in self._socket:
            self._frames.append(frame)
            yield frame


def recording(frames: list[str | bytes], connect: Connect = default_connect) -> Connect:
    """A `connect` for run_plan whose sockets record what the service delivered on them."""

    @contextlib.asynccontextmanager
    async def open_recording(url: str) -> AsyncIterator[_RecordingSocket]:
        async with connect(url) as socket:
            yield _RecordingSocket(socket, frames)

    return open_recording


def socket_sequences(frames: list[str | bytes], workflow_id: str) -> set[int]:
    """The sequence numbers of this workflow's messages among the frames a socket received."""
    sequences = set()
    for frame in frames:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(frame)
            if message.get("workflow_id") == workflow_id and message.get("sequence") is not None:
                sequences.add(int(message["sequence"]))
    return sequences


async def plan_end_to_end(client: httpx.AsyncClient, target: Target) -> Verdict:
    check = "plan end to end"
    if not target.token:
        return _needs_token(check)
    frames: list[str | bytes] = []
    started = time.monotonic()
    outcome = await run_plan(
        target.base_url,
        target.strategy,
        timeout=target.plan_timeout,
        connect=recording(frames),
        token=target.token,
    )
    seconds = time.monotonic() - started
    if not outcome.ok or outcome.workflow_id is None:
        error = outcome.error or {}
        return Verdict(
            check,
            "FAIL",
            f"{outcome.status}: {error.get('error_type', '?')}: {error.get('message', '')}",
            "Read the error type: PARAMETER_EXTRACTION_ERROR (503) is the language model "
            "(deployment name, the identity's Cognitive Services OpenAI User role); "
            "DATA_NOT_FOUND is an empty database (load data, README 'Loading data'); "
            "WEBSOCKET_CONNECTION_ERROR is Web PubSub; a timeout is the Durable task hub "
            "(storage roles). Application Insights has the plan's trace under its workflow id.",
        )
    logged = {int(m["sequence"]) for m in outcome.board.messages if m.get("sequence") is not None}
    delivered = socket_sequences(frames, outcome.workflow_id) & logged
    detail = (
        f"workflow {outcome.workflow_id} completed in {seconds:.0f} s; {len(delivered)} of "
        f"{len(logged)} messages arrived over the Web PubSub socket"
    )
    if not logged or delivered != logged:
        return Verdict(
            check,
            "FAIL",
            detail,
            "The plan ran but its messages came only from the event log: the app cannot send "
            "to Web PubSub (Web PubSub Service Owner role, WebPubSubEndpoint, the hub name) or "
            "the socket joined no group (negotiate's token). The function app's log names the "
            "failed send.",
        )
    return Verdict(check, "PASS", detail)


Check = Callable[[httpx.AsyncClient, Target], Awaitable[Verdict]]
CHECKS: tuple[Check, ...] = (
    sign_in_required,
    forged_principal_refused,
    docs_answer,
    negotiate_on_service_host,
    plan_end_to_end,
)


async def run_checks(target: Target, checks: tuple[Check, ...] = CHECKS) -> list[Verdict]:
    """Every check in order; one that cannot reach the app is a FAIL, not a crash."""
    verdicts = []
    async with httpx.AsyncClient(
        base_url=target.base_url, timeout=30.0, follow_redirects=False
    ) as client:
        for check in checks:
            try:
                verdicts.append(await check(client, target))
            except (httpx.HTTPError, OSError, ValueError) as exc:
                name = check.__name__.replace("_", " ")
                verdicts.append(
                    Verdict(
                        name,
                        "FAIL",
                        f"{type(exc).__name__}: {exc}",
                        "The app did not answer: check the URL "
                        "(`azd env get-value SERVICE_API_URI`) and that the app is running.",
                    )
                )
    return verdicts


def report(target: Target, verdicts: list[Verdict]) -> str:
    width = max(len(v.check) for v in verdicts)
    lines = [f"Smoke test of {target.base_url}"]
    for verdict in verdicts:
        lines.append(f"{verdict.outcome}  {verdict.check:<{width}}  {verdict.detail}")
        if verdict.outcome != "PASS" and verdict.fix:
            lines.append(f"      {'':<{width}}  what to do: {verdict.fix}")
    counts = {o: sum(v.outcome == o for v in verdicts) for o in ("PASS", "FAIL", "SKIP")}
    lines.append(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="the app's base URL, e.g. $(azd env get-value SERVICE_API_URI)")
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_SETTING) or None,
        help=f"a signed-in user's id_token (from <url>/.auth/me; default ${TOKEN_SETTING})",
    )
    parser.add_argument(
        "--webpubsub-endpoint",
        default=os.environ.get(WEBPUBSUB_SETTING) or None,
        help=f"the Web PubSub endpoint negotiate must point at (default ${WEBPUBSUB_SETTING})",
    )
    parser.add_argument("--strategy", default=DEFAULT_STRATEGY, help="the plan's text")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the plan may take")


def main(args: argparse.Namespace) -> int:
    target = Target(
        base_url=args.url.rstrip("/"),
        token=args.token,
        webpubsub_endpoint=args.webpubsub_endpoint,
        strategy=args.strategy,
        plan_timeout=args.timeout,
    )
    verdicts = asyncio.run(run_checks(target))
    print(report(target, verdicts), flush=True)
    return 1 if any(v.outcome == "FAIL" for v in verdicts) else 0
