"""Retry as the app tells: a 503 or 429 with `Retry-After` means "busy now, ask again then".

The app answers a locked or unreachable database with 503 DATABASE_UNAVAILABLE, and a planner
with as many plans running as one may run (MAX_RUNNING_PLANS_PER_USER) with 429
TOO_MANY_RUNNING_PLANS, each with a `Retry-After` in seconds (shared/errors.py). The
command-line planner sends every request through this transport, which says why in words (the
answer's own message, as a warning) and waits that long and sends the request again, up to a
total wait; any other answer, or one without the header, goes to the caller as it came. Every
request the planner repeats is safe to repeat: reads, extraction, negotiate, and run-workflow
with its Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

logger = logging.getLogger(__name__)

MAX_TOTAL_WAIT_SECONDS = 120.0
MAX_ONE_WAIT_SECONDS = 30.0

Sleep = Callable[[float], Awaitable[None]]


RETRIED_STATUSES = (429, 503)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a 503 or 429 asks for (delta-seconds form, capped), or None when it asks none."""
    if response.status_code not in RETRIED_STATUSES:
        return None
    raw = response.headers.get("retry-after", "").strip()
    if not raw.isdigit():
        return None
    return min(float(raw), MAX_ONE_WAIT_SECONDS)


def _reason(response: httpx.Response) -> str:
    """Why the app asked to wait, in its own words (the ErrorResponse message)."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else f"The app is busy (HTTP {response.status_code})."


class RetryAfterTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; repeats a request the app answered 503 + Retry-After, after the
    wait it named, until `max_total_wait` seconds of waiting are spent."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        max_total_wait: float = MAX_TOTAL_WAIT_SECONDS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._max_total_wait = max_total_wait
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        waited = 0.0
        while True:
            response = await self._inner.handle_async_request(request)
            wait = retry_after_seconds(response)
            if wait is None or waited + wait > self._max_total_wait:
                return response
            await response.aread()
            await response.aclose()
            logger.warning("%s Retrying in %g s.", _reason(response), wait)
            await self._sleep(wait)
            waited += wait

    async def aclose(self) -> None:
        await self._inner.aclose()
