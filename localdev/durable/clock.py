"""Clocks for the local runtime: wall time for real runs, a hand-driven one for tests.

The runtime takes every timestamp (OrchestratorStarted, which becomes the orchestrator's
`current_utc_datetime`) and every timer wait from its clock, so a test can fire a 30 s agent
deadline instantly by advancing a ManualClock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol

MANUAL_CLOCK_POLL_SECONDS = 0.005


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, moment: datetime) -> None: ...


class SystemClock:
    """UTC wall time; sleeps until the wall clock has really passed `moment`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        while (delay := (moment - self.now()).total_seconds()) > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """Time moves only when `advance` is called."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep_until(self, moment: datetime) -> None:
        while self._now < moment:
            await asyncio.sleep(MANUAL_CLOCK_POLL_SECONDS)
