"""Workflow benchmark on the local Durable runtime: `python -m bench.bench_workflow [--large]`.

Three measurements, each on a fresh SQLite database in a temporary directory:

1. Runtime overhead: the real orchestrator over instant test activities
   (tests/support/durable_app.py), so what is timed is the runtime itself: per episode (replay +
   persist + dispatch) and per activity step; then N workflows started at once.
2. The real app (function_app.app): the default sample (50 stores x 156 weeks x 3 categories),
   the specification's example ("I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly
   replenishment. 15% DC holdback.", read by the rules extractor), the real agents, publisher
   and Web PubSub emulator. The first run in a fresh process (numba compilation, first context
   load) and the median of `--runs` further runs, plus what passes through the orchestrator
   (input, largest activity input/result, custom status, output, whole history; target < 16 KB).
3. With `--large`: the real app once at 2,000 stores x 156 weeks, for the same payload sizes.

Targets: end-to-end < 2 s locally with real agents (the specification asks < 10 s); every
orchestrator payload < 16 KB (Durable offloads payloads over ~45 KB to blob storage).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypedDict

from localdev.durable import DurableRuntime
from localdev.durable import history as h
from localdev.sample_data import generate_sample, load_sample
from localdev.webpubsub import EmulatorThread
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.data.context import clear_context_cache, get_assembler
from shared.data.db import dispose_engine, get_engine
from shared.extraction import extract_parameters
from shared.messaging.publisher import get_publisher
from shared.schemas import SeasonParameters
from shared.settings import Settings, get_settings

PAYLOAD_TARGET_BYTES = 16 * 1024
END_TO_END_TARGET_S = 2.0
SPEC_TEXT = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)
SPEC_TODAY = date(2024, 11, 4)


class SampleSize(TypedDict):
    """The size of a generated sample (`generate_sample`'s arguments)."""

    stores: int
    weeks: int
    categories: int


DEFAULT_SAMPLE = SampleSize(stores=50, weeks=156, categories=3)
LARGE_SAMPLE = SampleSize(stores=2000, weeks=156, categories=1)
PUBSUB_KEY = "bench-workflow-access-key-0123456789abcdefg"
LARGE_TIMEOUT_SECONDS = "300"


def spec_parameters() -> SeasonParameters:
    """The specification's example, read the way the extract endpoint reads it without an LLM."""
    return extract_parameters(SPEC_TEXT, Settings(extractor="rules"), today=SPEC_TODAY)


def _load_app(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr or "app")


async def _run_one(
    rt: DurableRuntime,
    workflow_id: str,
    category: str,
    parameters: SeasonParameters,
    settings: Settings,
) -> tuple[float, dict[str, Any]]:
    payload = build_workflow_input(
        workflow_id, f"s-{workflow_id}", category, parameters, settings, owner_id="bench-planner"
    )
    start = time.perf_counter()
    await rt.start_new(ORCHESTRATOR_NAME, workflow_id, json.dumps(payload))
    status = await rt.wait_for(workflow_id, 900)
    if status is None:
        raise RuntimeError(f"workflow {workflow_id} has no status after it finished")
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


async def _measure(
    rt: DurableRuntime,
    category: str,
    parameters: SeasonParameters,
    settings: Settings,
    runs: int,
) -> dict[str, Any]:
    """A first run, then `runs` more: timings, step counts and payload sizes (numbers)."""
    first, status = await _run_one(rt, "first", category, parameters, settings)
    timings = []
    last, elapsed = "first", first
    for n in range(runs):
        last = f"run-{n}"
        elapsed, status = await _run_one(rt, last, category, parameters, settings)
        timings.append(elapsed)
    history = await rt.history(last)
    episodes = sum(e["EventType"] == h.EventType.ORCHESTRATOR_STARTED for e in history)
    steps = sum(e["EventType"] == h.EventType.TASK_SCHEDULED for e in history)
    median = statistics.median(timings) if timings else first
    output = status["output"] if isinstance(status["output"], dict) else {}
    agents_ms = {e["agent_name"]: e["duration_ms"] for e in output.get("execution_log", [])}
    return {
        "runtime_status": status["runtimeStatus"],
        "first_s": first,
        "median_s": median,
        "runs": len(timings),
        "episodes": episodes,
        "activity_steps": steps,
        "history_events": len(history),
        "per_episode_ms": median / episodes * 1000,
        "per_step_ms": median / steps * 1000,
        "agents_ms": agents_ms,
        "outside_agents_ms": elapsed * 1000 - sum(agents_ms.values()),
        "payload_bytes": _sizes(history, status),
    }


async def _concurrent(
    rt: DurableRuntime,
    count: int,
    category: str,
    parameters: SeasonParameters,
    settings: Settings,
) -> dict[str, Any]:
    start = time.perf_counter()
    results = await asyncio.gather(
        *(_run_one(rt, f"par-{n}", category, parameters, settings) for n in range(count))
    )
    wall = time.perf_counter() - start
    completed = sum(s["runtimeStatus"] == "Completed" for _, s in results)
    return {
        "workflows": count,
        "completed": completed,
        "wall_s": wall,
        "workflows_per_s": count / wall,
    }


@contextmanager
def _app_environment(database_url: str, extra: dict[str, str] | None = None) -> Iterator[None]:
    """App settings as the host would supply them (environment), with a live Web PubSub
    emulator, so the real activities read the benchmark's database and really publish."""
    with EmulatorThread(access_key=PUBSUB_KEY) as emulator:
        values = {
            "DATABASE_URL": database_url,
            "WebPubSubConnectionString": emulator.connection_string,
            **(extra or {}),
        }
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        get_settings.cache_clear()
        get_publisher.cache_clear()
        try:
            yield
        finally:
            if get_publisher.cache_info().currsize:
                get_publisher().close()
            get_publisher.cache_clear()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            get_settings.cache_clear()
            clear_context_cache()
            dispose_engine(database_url)


async def overhead(runs: int = 10, concurrent: int = 20) -> dict[str, Any]:
    """The runtime's own cost: the real orchestrator over instant test activities."""
    app = _load_app("tests.support.durable_app:app")
    parameters = spec_parameters()
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'overhead.db'}"
        async with DurableRuntime(app, url) as rt:
            figures = await _measure(rt, "CAT-1", parameters, settings, runs)
            figures["concurrent"] = await _concurrent(rt, concurrent, "CAT-1", parameters, settings)
        dispose_engine(url)
    return figures


async def real_app(
    sample: SampleSize,
    runs: int,
    app_spec: str = "function_app:app",
    category: str | None = None,
    extra_settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The real app on a freshly seeded database of `sample` size."""
    app = _load_app(app_spec)
    parameters = spec_parameters()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'app.db'}"
        started = time.perf_counter()
        load_sample(get_engine(url), generate_sample(**sample))
        seeded = time.perf_counter() - started
        with _app_environment(url, extra_settings):
            chosen = get_assembler(url).require_category(category)
            async with DurableRuntime(app, url) as rt:
                figures = await _measure(rt, chosen, parameters, get_settings(), runs)
    return {"sample": sample, "category": chosen, "seed_s": seeded, **figures}


async def run_async(
    runs: int = 5,
    concurrent: int = 20,
    large: bool = False,
    app_spec: str = "function_app:app",
    category: str | None = None,
) -> dict[str, Any]:
    figures = {
        "overhead": await overhead(max(runs, 10), concurrent),
        "real": await real_app(DEFAULT_SAMPLE, runs, app_spec, category),
    }
    if large:
        timeouts = {
            f"{agent.upper()}_AGENT_TIMEOUT_SECONDS": LARGE_TIMEOUT_SECONDS
            for agent in ("demand", "inventory", "pricing")
        }
        figures["large"] = await real_app(LARGE_SAMPLE, 0, app_spec, category, timeouts)
    return figures


def run(
    runs: int = 5,
    concurrent: int = 20,
    large: bool = False,
    app_spec: str = "function_app:app",
    category: str | None = None,
) -> dict[str, Any]:
    """All workflow figures as numbers: {"overhead", "real", "large" (with `large`)}."""
    return asyncio.run(run_async(runs, concurrent, large, app_spec, category))


def _print_measure(title: str, figures: dict[str, Any]) -> None:
    print(f"{title}: runtime status {figures['runtime_status']}")
    print(f"  first run in this process: {figures['first_s'] * 1000:.0f} ms")
    if figures["runs"]:
        print(
            f"  end-to-end (median of {figures['runs']}): {figures['median_s'] * 1000:.1f} ms "
            f"(target < {END_TO_END_TARGET_S:.0f} s)"
        )
    if figures["agents_ms"]:
        print(
            "  last run, agents: "
            + ", ".join(f"{k} {v} ms" for k, v in figures["agents_ms"].items())
            + f"; outside the agents (runtime, publishing): "
            f"{figures['outside_agents_ms']:.0f} ms"
        )
    print(
        f"  episodes {figures['episodes']}, activity steps {figures['activity_steps']}, "
        f"history events {figures['history_events']}; per episode "
        f"{figures['per_episode_ms']:.2f} ms, per activity step {figures['per_step_ms']:.2f} ms"
    )
    for name, size in figures["payload_bytes"].items():
        flag = "ok" if size < PAYLOAD_TARGET_BYTES else "OVER TARGET"
        print(f"  {name:>24}: {size:>7,} bytes  ({flag}, target < 16 KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the app")
    parser.add_argument("--category", default=None, help="default: the first seeded category")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--large", action="store_true", help="also the real app at 2,000 stores")
    args = parser.parse_args()
    figures = run(args.runs, args.concurrent, args.large, args.app, args.category)
    _print_measure("Runtime overhead (instant test activities)", figures["overhead"])
    par = figures["overhead"]["concurrent"]
    print(
        f"  {par['workflows']} concurrent workflows: {par['wall_s'] * 1000:.0f} ms wall, "
        f"{par['completed']}/{par['workflows']} completed, {par['workflows_per_s']:.1f} "
        "workflows/s"
    )
    real = figures["real"]
    _print_measure(f"Real app, default sample ({real['category']}), spec example", real)
    if "large" in figures:
        large = figures["large"]
        _print_measure(f"Real app, 2,000 stores ({large['category']}), spec example", large)


if __name__ == "__main__":
    main()
