"""Workflow benchmark on the local Durable runtime.

Prints: runtime overhead per episode/activity step, payload sizes through the orchestrator
(input, largest activity input/result, custom status, output, whole history; target < 16 KB),
end-to-end time for one workflow and for N concurrent ones.

    python -m bench.bench_workflow                       # test activities (tests/durable_app.py)
    python -m bench.bench_workflow --app function_app:app --category CAT-1   # real agents
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from localdev.durable import DurableRuntime
from localdev.durable import history as h
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.schemas import SeasonParameters
from shared.settings import Settings

PAYLOAD_TARGET_BYTES = 16 * 1024
PARAMETERS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.45,
    "extraction_reasoning": "Spring season, weekly replenishment, 45 % held back at the DC.",
}


def _load_app(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or "app")


async def _run_one(rt: DurableRuntime, workflow_id: str, category: str) -> tuple[float, dict]:
    parameters = SeasonParameters.model_validate(PARAMETERS)
    payload = build_workflow_input(
        workflow_id, f"s-{workflow_id}", category, parameters, Settings()
    )
    start = time.perf_counter()
    await rt.start_new(ORCHESTRATOR_NAME, workflow_id, json.dumps(payload))
    status = await rt.wait_for(workflow_id, 600)
    return time.perf_counter() - start, status


def _sizes(history: list[dict[str, Any]], status: dict[str, Any]) -> dict[str, int]:
    def largest(kind: h.EventType, key: str) -> int:
        return max((len(e.get(key) or "") for e in history if e["EventType"] == kind), default=0)

    return {
        "orchestration input": len(status["input"] or ""),
        "largest activity input": largest(h.EventType.TASK_SCHEDULED, "Input"),
        "largest activity result": largest(h.EventType.TASK_COMPLETED, "Result"),
        "custom status": len(json.dumps(status["customStatus"])),
        "output": len(json.dumps(status["output"])),
        "whole history": len(json.dumps(history)),
    }


async def main(app_spec: str, category: str, runs: int, concurrent: int) -> None:
    app = _load_app(app_spec)
    with tempfile.TemporaryDirectory() as tmp:
        async with DurableRuntime(app, f"sqlite:///{Path(tmp) / 'bench.db'}") as rt:
            await _run_one(rt, "warm-up", category)
            timings, status = [], {}
            for n in range(runs):
                elapsed, status = await _run_one(rt, f"seq-{n}", category)
                timings.append(elapsed)
            history = await rt.history(f"seq-{runs - 1}")
            episodes = sum(e["EventType"] == h.EventType.ORCHESTRATOR_STARTED for e in history)
            steps = sum(e["EventType"] == h.EventType.TASK_SCHEDULED for e in history)
            median = statistics.median(timings)
            print(f"runtime status: {status['runtimeStatus']}")
            print(f"end-to-end, one workflow (median of {runs}): {median * 1000:.1f} ms")
            print(f"episodes per workflow: {episodes}, activity steps: {steps}, "
                  f"history events: {len(history)}")
            print(f"per episode (replay + persist + dispatch): {median / episodes * 1000:.2f} ms")
            print(f"per activity step: {median / steps * 1000:.2f} ms")
            for name, size in _sizes(history, status).items():
                flag = "ok" if size < PAYLOAD_TARGET_BYTES else "OVER TARGET"
                print(f"{name:>24}: {size:>7,} bytes  ({flag}, target < 16 KB)")
            start = time.perf_counter()
            results = await asyncio.gather(
                *(_run_one(rt, f"par-{n}", category) for n in range(concurrent))
            )
            wall = time.perf_counter() - start
            completed = sum(s["runtimeStatus"] == "Completed" for _, s in results)
            print(f"{concurrent} concurrent workflows: {wall * 1000:.0f} ms wall, "
                  f"{completed}/{concurrent} completed, "
                  f"{concurrent / wall:.1f} workflows/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="tests.durable_app:app")
    parser.add_argument("--category", default="CAT-1")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.app, args.category, args.runs, args.concurrent))
