"""Admission of a new plan: at most MAX_RUNNING_PLANS_PER_USER running per planner.

The database names the planner's plans that may be running (shared/data/admission.py); the
Durable runtime, the one truth about an instance, says which of them still are. One planner's
requests are admitted one at a time within this process (the count and the owner row are taken
under one lock), so a burst admits exactly the limit. Across instances (Azure scales out) two
instances may each admit one at the same moment: the limit can be exceeded by the number of
instances serving one planner at once, never more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import azure.durable_functions as df
from sqlalchemy import Engine

from shared.data.admission import open_plans, too_many_running
from shared.messaging.publisher import utc_now
from shared.runtime_status import FINISHED
from shared.settings import Settings

T = TypeVar("T")

_locks: dict[tuple[int, str], asyncio.Lock] = {}


def _lock(owner_id: str) -> asyncio.Lock:
    """One lock per planner and event loop (a worker has one loop; tests start several)."""
    key = (id(asyncio.get_running_loop()), owner_id)
    return _locks.setdefault(key, asyncio.Lock())


async def _still_running(client: df.DurableOrchestrationClient, workflow_id: str) -> bool:
    """Whether the runtime has not finished the plan; one it does not know yet is recorded
    and about to start, so it counts as running."""
    status = await client.get_status(workflow_id)
    runtime_status = getattr(status.runtime_status, "value", status.runtime_status)
    return runtime_status is None or str(runtime_status) not in FINISHED


async def admitted(
    client: df.DurableOrchestrationClient,
    engine: Engine,
    owner_id: str,
    settings: Settings,
    start: Callable[[], Awaitable[T]],
) -> T:
    """`start()` (which records the new plan) when the planner has fewer running plans than
    the limit; TooManyRunningPlansError (429 + Retry-After) otherwise, nothing recorded."""
    limit = settings.max_running_plans_per_user
    since = utc_now() - timedelta(seconds=settings.longest_plan_seconds())
    async with _lock(owner_id):
        candidates = await asyncio.to_thread(open_plans, engine, owner_id, since)
        if len(candidates) >= limit:
            states = await asyncio.gather(*(_still_running(client, w) for w in candidates))
            running = sum(states)
            if running >= limit:
                raise too_many_running(running, limit)
        return await start()
