"""Flood benchmark: one planner floods run-workflow while another plans (`python -m
bench.bench_flood [--requests 100] [--limit N] [--hop-delay-ms 0]`).

The whole local stack (host, Durable runtime, real agents, Web PubSub emulator) on a fresh
SQLite database with the default sample. At one moment planner "flooder" sends `--requests`
run-workflow calls at once and planner "other" starts one plan and polls its status until it
finishes. Printed: how many of the flood were accepted (202), refused (429
TOO_MANY_RUNNING_PLANS) or answered otherwise, how many accepted plans completed, and the other
planner's plan time (start to finished status) against a plan alone.

`--limit` sets MAX_RUNNING_PLANS_PER_USER (default: the setting's default); `--limit 1000`
shows the flood without admission (the "before" figure). Target: the other planner's plan
finishes within 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from localdev.host.server import LocalOptions, free_port, start_host
from localdev.stack import local_stack
from shared.identity import APP_ROLES, principal_headers
from shared.settings import Settings, get_settings

OTHER_PLAN_TARGET_S = 15.0
FINISHED = {"Completed", "Failed", "Terminated"}
STRATEGY = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)
FLOODER = principal_headers("flooder", "Flooder", APP_ROLES)
OTHER = principal_headers("other", "Other", APP_ROLES)


async def _start(client: httpx.AsyncClient, who: dict[str, str], parameters: Any) -> httpx.Response:
    body = {"session_id": uuid.uuid4().hex[:16], "parameters": parameters}
    return await client.post("/api/orchestrator/run-workflow", json=body, headers=who)


async def _finished(client: httpx.AsyncClient, who: dict[str, str], workflow_id: str) -> str:
    while True:
        status = await client.get(f"/api/orchestrator/workflows/{workflow_id}", headers=who)
        runtime_status = status.json().get("runtime_status")
        if runtime_status in FINISHED:
            return str(runtime_status)
        await asyncio.sleep(0.25)


async def _plan(
    client: httpx.AsyncClient, who: dict[str, str], parameters: Any
) -> tuple[str, float]:
    """One plan, start to finished status: its final runtime status and seconds."""
    started = time.monotonic()
    response = await _start(client, who, parameters)
    if response.status_code != 202:
        return f"HTTP {response.status_code}", time.monotonic() - started
    outcome = await _finished(client, who, response.json()["workflow_id"])
    return outcome, time.monotonic() - started


async def _measure(base_url: str, requests: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        extracted = await client.post(
            "/api/orchestrator/extract-parameters",
            json={"strategy_description": STRATEGY},
            headers=OTHER,
        )
        parameters = extracted.json()
        await _plan(client, OTHER, parameters)  # warm: first context load, model compilation
        alone_status, alone_s = await _plan(client, OTHER, parameters)
        flood = [_start(client, FLOODER, parameters) for _ in range(requests)]
        other = asyncio.ensure_future(_plan(client, OTHER, parameters))
        answers = await asyncio.gather(*flood)
        other_status, other_s = await other
        accepted = [r.json()["workflow_id"] for r in answers if r.status_code == 202]
        outcomes = await asyncio.gather(*(_finished(client, FLOODER, w) for w in accepted))
    statuses = Counter(r.status_code for r in answers)
    return {
        "requests": requests,
        "accepted": statuses.get(202, 0),
        "refused_429": statuses.get(429, 0),
        "other_answers": {k: v for k, v in statuses.items() if k not in (202, 429)},
        "completed": sum(1 for o in outcomes if o == "Completed"),
        "flood_outcomes": dict(Counter(outcomes)),
        "other_plan_status": other_status,
        "other_plan_s": round(other_s, 2),
        "alone_plan_status": alone_status,
        "alone_plan_s": round(alone_s, 2),
    }


async def _run_stack(
    requests: int, directory: Path, hop_delay_ms: float, workers: Workers
) -> dict[str, Any]:
    options = LocalOptions(
        port=free_port(),
        pubsub_port=free_port(),
        database_url=f"sqlite:///{directory / 'flood.db'}",
        developer=None,
        hop_delay_ms=hop_delay_ms,
        activity_workers=workers.activities,
        orchestrator_workers=workers.orchestrators,
    )
    async with start_host(options, plugins=local_stack(options)) as base_url:
        return await _measure(base_url, requests)


@dataclass(frozen=True)
class Workers:
    """The Durable runtime's worker threads (None: its defaults), as host.json sizes them."""

    activities: int | None = None
    orchestrators: int | None = None


def run(
    requests: int = 100,
    limit: int | None = None,
    hop_delay_ms: float = 0.0,
    workers: Workers = Workers(),
) -> dict[str, Any]:
    """Measure, print and return the figures."""
    os.environ["EXTRACTOR"] = "rules"
    if limit is not None:
        os.environ["MAX_RUNNING_PLANS_PER_USER"] = str(limit)
    get_settings.cache_clear()
    effective = Settings().max_running_plans_per_user
    with tempfile.TemporaryDirectory() as directory:
        figures = asyncio.run(_run_stack(requests, Path(directory), hop_delay_ms, workers))
    figures["max_running_plans_per_user"] = effective
    verdict = "ok" if figures["other_plan_s"] <= OTHER_PLAN_TARGET_S else "MISSED"
    print(
        f"flood of {requests} run-workflow calls by one planner "
        f"(MAX_RUNNING_PLANS_PER_USER={effective}, hop delay {hop_delay_ms:g} ms, activity "
        f"workers {workers.activities or 'default'}, orchestrator workers "
        f"{workers.orchestrators or 'default'})\n"
        f"  accepted (202)        {figures['accepted']}\n"
        f"  refused (429)         {figures['refused_429']}\n"
        f"  other answers         {figures['other_answers'] or 'none'}\n"
        f"  completed             {figures['completed']} of {figures['accepted']} accepted "
        f"{figures['flood_outcomes']}\n"
        f"  other planner's plan  {figures['other_plan_s']:.2f} s ({figures['other_plan_status']}; "
        f"target <= {OTHER_PLAN_TARGET_S:g} s: {verdict})\n"
        f"  a plan alone          {figures['alone_plan_s']:.2f} s ({figures['alone_plan_status']})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--limit", type=int, default=None, help="MAX_RUNNING_PLANS_PER_USER")
    parser.add_argument("--hop-delay-ms", type=float, default=0.0)
    parser.add_argument("--activity-workers", type=int, default=None)
    parser.add_argument("--orchestrator-workers", type=int, default=None)
    args = parser.parse_args()
    workers = Workers(args.activity_workers, args.orchestrator_workers)
    run(args.requests, args.limit, args.hop_delay_ms, workers)


if __name__ == "__main__":
    main()
