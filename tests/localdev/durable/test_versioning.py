"""A deploy never breaks a running orchestration: orchestration versioning on the local runtime.

Two releases of one long-lived orchestrator, written with the real Durable SDK: release 1 does a
step, waits a week on a durable timer, does another; release 2 adds a step before the wait (the
kind of change that breaks the replay of every instance already waiting: its history has the
timer where the new code asks for a step). Release 2 keeps
release 1's path for instances stamped older than "2" (shared/orchestration_version.py). Each
"deploy" stops the runtime and starts the next release's on the same task hub, with that
release's host.json defaultVersion, as a Functions host restarts on new code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from localdev.durable import DurableRuntime, ManualClock
from localdev.durable import history as h
from localdev.stack import default_orchestration_version
from orchestrator.workflow import ORCHESTRATOR_NAME
from shared.orchestration_version import at_least, compare_versions, may_run

PROBE = "season_probe"
WEEK = timedelta(days=7)
HOST_JSON = Path(__file__).resolve().parents[3] / "host.json"
CALLS: list[str] = []


def _step(label: str) -> str:
    CALLS.append(label)
    return f"done: {label}"


def release_1(context: df.DurableOrchestrationContext) -> Any:
    me = context.instance_id
    first = yield context.call_activity("step", f"{me} reserve stock")
    yield context.create_timer(context.current_utc_datetime + WEEK)
    second = yield context.call_activity("step", f"{me} reorder")
    return [context.version, first, second]


def release_2(context: df.DurableOrchestrationContext) -> Any:
    me = context.instance_id
    first = yield context.call_activity("step", f"{me} reserve stock")
    if at_least(context.version, "2"):
        yield context.call_activity("step", f"{me} re-forecast")  # what release 2 adds
    yield context.create_timer(context.current_utc_datetime + WEEK)
    second = yield context.call_activity("step", f"{me} reorder")
    return [context.version, first, second]


def release_2_without_a_version_branch(context: df.DurableOrchestrationContext) -> Any:
    me = context.instance_id
    first = yield context.call_activity("step", f"{me} reserve stock")
    yield context.call_activity("step", f"{me} re-forecast")
    yield context.create_timer(context.current_utc_datetime + WEEK)
    second = yield context.call_activity("step", f"{me} reorder")
    return [context.version, first, second]


def release(orchestrator: Callable[..., Any]) -> df.DFApp:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.function_name(PROBE)(app.orchestration_trigger(context_name="context")(orchestrator))

    @app.function_name("step")
    @app.activity_trigger(input_name="label")
    def step(label: str) -> str:
        return _step(label)

    return app


RELEASE_1 = release(release_1)
RELEASE_2 = release(release_2)
RELEASE_2_NAIVE = release(release_2_without_a_version_branch)


@pytest.fixture
def hub(tmp_path):
    CALLS.clear()
    return f"sqlite:///{tmp_path}/hub.db", ManualClock(datetime(2025, 3, 3, tzinfo=UTC))


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def finished(runtime: DurableRuntime, instance_id: str) -> dict[str, Any]:
    status = await runtime.wait_for(instance_id, 10)
    assert status is not None, f"{instance_id} did not finish"
    return status


async def waiting_on_its_timer(runtime: DurableRuntime, instance_id: str) -> None:
    async def has_timer() -> bool:
        kinds = [e["EventType"] for e in await runtime.history(instance_id)]
        return h.EventType.TIMER_CREATED in kinds

    deadline = asyncio.get_running_loop().time() + 10
    while not await has_timer():
        assert asyncio.get_running_loop().time() < deadline, "never reached its timer"
        await asyncio.sleep(0.01)


async def started_and_paused(app: df.DFApp, version: str, hub: Any, instance_id: str) -> None:
    """Start `instance_id` on `app` (host.json defaultVersion `version`), let it reach its
    week-long timer, then stop the runtime: the release being replaced."""
    url, clock = hub
    async with DurableRuntime(app, url, clock=clock, default_version=version) as runtime:
        await runtime.start_new(PROBE, instance_id, json.dumps(None))
        await waiting_on_its_timer(runtime, instance_id)


async def test_an_orchestration_started_on_the_old_release_finishes_on_the_new(hub):
    url, clock = hub
    await started_and_paused(RELEASE_1, "1", hub, "season-old")
    assert CALLS == ["season-old reserve stock"]

    async with DurableRuntime(RELEASE_2, url, clock=clock, default_version="2") as runtime:
        await runtime.start_new(PROBE, "season-new", json.dumps(None))
        await waiting_on_its_timer(runtime, "season-new")
        clock.advance(WEEK.total_seconds() + 1)
        old = await finished(runtime, "season-old")
        new = await finished(runtime, "season-new")

    # The old instance replayed release 1's path on release 2's code and finished.
    assert old["runtimeStatus"] == "Completed"
    assert old["output"] == ["1", "done: season-old reserve stock", "done: season-old reorder"]
    # New instances are stamped "2" and take the new path.
    assert new["runtimeStatus"] == "Completed"
    assert new["output"] == ["2", "done: season-new reserve stock", "done: season-new reorder"]
    assert "season-new re-forecast" in CALLS and "season-old re-forecast" not in CALLS


async def test_the_same_change_without_a_version_branch_fails_the_running_instance(hub):
    """What versioning prevents: the replay finds a step the history does not have."""
    url, clock = hub
    await started_and_paused(RELEASE_1, "1", hub, "season-old")

    async with DurableRuntime(RELEASE_2_NAIVE, url, clock=clock, default_version="2") as runtime:
        clock.advance(WEEK.total_seconds() + 1)
        old = await finished(runtime, "season-old")

    assert old["runtimeStatus"] == "Failed"
    assert "Non-deterministic" in old["output"] or "non-determin" in old["output"].lower()
    assert "season-old reorder" not in CALLS


async def test_an_older_worker_leaves_a_newer_instance_untouched_until_a_newer_one_runs_it(hub):
    """Forward protection (CurrentOrOlder, Reject): a worker still on release 1 does not run an
    instance release 2 started; it stays as it was, and release 2 finishes it."""
    url, clock = hub
    await started_and_paused(RELEASE_2, "2", hub, "season-new")

    async with DurableRuntime(RELEASE_1, url, clock=clock, default_version="1") as old_worker:
        before = await old_worker.history("season-new")
        clock.advance(WEEK.total_seconds() + 1)
        await asyncio.sleep(0.3)
        assert await old_worker.history("season-new") == before
        status = await old_worker.get_status("season-new")
        assert status is not None and status["runtimeStatus"] == "Running"
    assert CALLS == ["season-new reserve stock", "season-new re-forecast"]

    async with DurableRuntime(RELEASE_2, url, clock=clock, default_version="2") as new_worker:
        done = await finished(new_worker, "season-new")
    assert done["runtimeStatus"] == "Completed"
    assert CALLS == ["season-new reserve stock", "season-new re-forecast", "season-new reorder"]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("1.0", "2.0", -1),  # Microsoft Learn's examples
        (None, "1.0", -1),
        (None, None, 0),
        ("", None, 0),
        ("v1-release", "v2-release", -1),
        ("2.10", "2.9", 1),  # as version numbers, not text
        ("1", "1.0", 0),
        ("V1", "v1", 0),  # text compares case-insensitively
    ],
)
def test_versions_compare_by_the_extensions_rules(a, b, expected):
    assert compare_versions(a, b) == expected
    assert compare_versions(b, a) == -expected


def test_current_or_older_and_the_branch_helper():
    assert may_run(None, "1") and may_run("1", "1") and may_run("1", "2")
    assert not may_run("2", "1")
    assert at_least("2", "2") and at_least("3", "2") and not at_least(None, "2")


def test_host_json_turns_versioning_on_with_the_documented_strategies():
    document = json.loads(HOST_JSON.read_text())
    durable = document["extensions"]["durableTask"]
    assert durable["defaultVersion"] == default_orchestration_version(HOST_JSON) == "1"
    assert durable["versionMatchStrategy"] == "CurrentOrOlder"
    assert durable["versionFailureStrategy"] == "Reject"
    # Orchestration versioning for non-.NET apps needs extension bundle 4.26.0 or later.
    assert document["extensionBundle"]["version"] == "[4.26.0, 5.0.0)"
    # The plan orchestrator's name is unversioned: versions live in the instance, not the name.
    assert ORCHESTRATOR_NAME == "season_workflow"
