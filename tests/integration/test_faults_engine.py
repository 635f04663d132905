"""Faults injected from outside into the real local stack, as an operator would meet them.

The stack is `python -m localdev serve` in its own process (free ports, its own database),
driven over HTTP. The faults: kill -9 at several points of a workflow then a restart; the
database write-locked for 20 s mid-workflow (SQLite: another connection holding BEGIN IMMEDIATE;
PostgreSQL: LOCK TABLE on every table of the app, then every connection of the stack dropped).
The tests watch
the workflow only through its public API (the events endpoint), as a client would. A deterministic
variant of the lock fault drives the Durable runtime alone so that the episode itself is
certain to hit the lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import OperationalError

from localdev.durable import DurableRuntime, ManualClock
from localdev.durable import history as h
from localdev.durable.store import DurableBase
from orchestrator.workflow import ORCHESTRATOR_NAME
from shared.data.schema import APP_METADATA
from tests.support.durable_app import SCRIPT, app, season_input
from tests.support.postgres import postgres_server
from tests.support.serve_process import ServeProcess, serving, start_serve
from tests.support.sqlite_lock import hold_sqlite_write_lock
from tests.support.workflow_http import events_of, wait_finished

FINISH_SECONDS = 180.0
# Longer than SQLite's 15 s busy timeout, so blocked writes fail rather than wait it out;
# FAULT_LOCK_SECONDS shortens it for a quick local run (the suite keeps 20).
LOCK_SECONDS = float(os.environ.get("FAULT_LOCK_SECONDS", "20"))
# Every message of the workflow: per agent `running`, its progress milestones, `complete` and
# `completed`.
EXPECTED_EVENTS = 27
# Agent deadlines far beyond a restart on a loaded machine: these tests prove recovery (a restart
# after the deadline rightly ends the workflow AGENT_TIMEOUT).
TIMEOUTS = {
    "DEMAND_AGENT_TIMEOUT_SECONDS": "900",
    "INVENTORY_AGENT_TIMEOUT_SECONDS": "900",
    "PRICING_AGENT_TIMEOUT_SECONDS": "900",
}
BODY = {
    "session_id": "faults",
    "parameters": {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-01",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.45,
    },
}
IDEMPOTENCY_KEY = "engine-fault-suite"
RESULT_ROUTES = ("forecasts", "allocations", "markdowns")


def start_workflow(served: ServeProcess) -> str:
    response = httpx.post(
        f"{served.base_url}/api/orchestrator/run-workflow",
        json=BODY,
        headers={"Idempotency-Key": IDEMPOTENCY_KEY},
        timeout=30,
    )
    assert response.status_code in (200, 202), response.text
    return response.json()["workflow_id"]


def without_ids(value: Any) -> Any:
    """`value` without workflow ids (two databases, two runs: the only field that may differ)."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "workflow_id"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


@dataclass(frozen=True)
class Run:
    """What a finished workflow left behind, as clients see it."""

    status: dict[str, Any]
    results: dict[str, Any]
    events: list[dict[str, Any]]
    log: str


def collect(served: ServeProcess, workflow_id: str) -> Run:
    status = wait_finished(served.base_url, workflow_id, FINISH_SECONDS, poll=0.25)
    results = {}
    for route in RESULT_ROUTES:
        response = httpx.get(f"{served.base_url}/api/{route}/{workflow_id}", timeout=30)
        assert response.status_code == 200, (route, response.text)
        results[route] = response.json()
    return Run(status, results, events_of(served.base_url, workflow_id), served.log_text())


def message_identity(event: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two logged messages the same message (sequence and time aside)."""
    return (
        event["type"],
        event.get("agent_name"),
        event.get("status"),
        event.get("progress"),
        event.get("message"),
        event.get("error_type"),
    )


# watching the workflow from outside -------------------------------------------------------


def wait_for_message(
    served: ServeProcess, workflow_id: str, kind: str, agent: str, timeout: float = 120.0
) -> list[tuple[str, str | None]]:
    """Poll the workflow's event log (the public events endpoint) until it holds a message of
    `kind` from `agent`; returns the (type, agent) of everything logged by then."""
    deadline = time.monotonic() + timeout
    seen: list[tuple[str, str | None]] = []
    after = 0
    with httpx.Client(base_url=served.base_url, timeout=30) as client:
        while time.monotonic() < deadline:
            response = client.get(
                f"/api/orchestrator/workflows/{workflow_id}/events", params={"after": after}
            )
            if response.status_code == 200:
                page = response.json()
                seen += [(e["type"], e.get("agent_name")) for e in page["events"]]
                after = page["last_sequence"]
                if (kind, agent) in seen:
                    return seen
            time.sleep(0.005)
    raise AssertionError(f"no {kind} from {agent} within {timeout} s: {seen}")


def app_tables() -> list[str]:
    """Every table the stack writes: the app's (data, results, event log) and the Durable task
    hub's."""
    return [
        table.name
        for metadata in (APP_METADATA, DurableBase.metadata)
        for table in metadata.sorted_tables
    ]


# kill -9 at several points, then restart --------------------------------------------------

KILL_POINTS = {
    "during_demand": ("progress", "Demand Agent"),
    "between_agents": ("complete", "Demand Agent"),
    "during_pricing": ("progress", "Pricing Agent"),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The same workflow, uninterrupted, on its own fresh database."""
    directory = tmp_path_factory.mktemp("reference")
    with serving(directory, f"sqlite:///{directory / 'stack.db'}", environment=TIMEOUTS) as served:
        return collect(served, start_workflow(served))


def killed_and_restarted(directory: Path, database_url: str, point: str) -> tuple[Run, list]:
    """Start the workflow, kill -9 the stack when the event log reaches `point`, restart the
    stack over the same database, and collect the finished run."""
    served = start_serve(directory, database_url, environment=TIMEOUTS)
    try:
        workflow_id = start_workflow(served)
        seen = wait_for_message(served, workflow_id, *KILL_POINTS[point])
        served.kill9()
    finally:
        served.stop()
    with serving(directory, database_url, environment=TIMEOUTS) as restarted:
        return collect(restarted, workflow_id), seen


@pytest.fixture(scope="module", params=sorted(KILL_POINTS))
def killed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp(f"kill-{request.param}")
    run, seen = killed_and_restarted(
        directory, f"sqlite:///{directory / 'stack.db'}", request.param
    )
    return request.param, run, seen


def assert_every_message_in_order(run: Run, reference: Run) -> None:
    """All of the uninterrupted run's messages, each once, in its order, numbered 1..N."""
    assert len(reference.events) == EXPECTED_EVENTS
    assert [message_identity(e) for e in run.events] == [
        message_identity(e) for e in reference.events
    ]
    assert [e["sequence"] for e in run.events] == list(range(1, EXPECTED_EVENTS + 1))


def assert_same_plan(run: Run, reference: Run) -> None:
    assert run.status["runtime_status"] == "Completed", run.status
    assert without_ids(run.results) == without_ids(reference.results)
    assert without_ids(run.status["results"]) == without_ids(reference.status["results"])
    assert [e["agent_name"] for e in run.status["execution_log"]] == [
        e["agent_name"] for e in reference.status["execution_log"]
    ]


def test_kill_9_then_restart_completes_with_the_same_plan_and_gap_free_events(killed, reference):
    point, run, seen = killed
    assert KILL_POINTS[point] in seen
    assert_same_plan(run, reference)
    sequences = [e["sequence"] for e in run.events]
    assert sequences == list(range(1, len(sequences) + 1))
    last = run.events[-1]
    assert (last["type"], last["agent_name"], last.get("status")) == (
        "agent_status",
        "Pricing Agent",
        "completed",
    )


def test_kill_9_then_restart_logs_every_message_exactly_once(killed, reference):
    _, run, _ = killed
    identities = [message_identity(e) for e in run.events]
    assert len(identities) == len(set(identities))
    assert identities == [message_identity(e) for e in reference.events]


# a write lock held for 20 s mid-workflow ---------------------------------------------------


def held_up_by_the_lock(run: Run) -> bool:
    """The workflow (about 2 s without faults) could not finish while the lock was held."""
    created = datetime.fromisoformat(run.status["created_time"])
    updated = datetime.fromisoformat(run.status["last_updated_time"])
    return (updated - created).total_seconds() >= LOCK_SECONDS


def test_a_20_second_sqlite_write_lock_mid_workflow_does_not_stop_it(tmp_path, reference):
    database = tmp_path / "stack.db"
    with serving(tmp_path, f"sqlite:///{database}", environment=TIMEOUTS) as served:
        workflow_id = start_workflow(served)
        wait_for_message(served, workflow_id, "agent_status", "Demand Agent")
        holder = hold_sqlite_write_lock(database, LOCK_SECONDS)
        holder.join()
        run = collect(served, workflow_id)

    assert held_up_by_the_lock(run)
    assert_same_plan(run, reference)
    assert_every_message_in_order(run, reference)


def lock_tables(conn: Connection, tables: list[str]) -> None:
    """Take every table's exclusive lock. The tables are locked one by one while the stack
    writes, so PostgreSQL may find a deadlock and cancel this statement: then try again."""
    statement = text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    for _ in range(20):
        savepoint = conn.begin_nested()
        try:
            conn.execute(statement)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "40P01":  # deadlock_detected
                raise
            savepoint.rollback()
            continue
        savepoint.commit()
        return
    raise AssertionError("could not lock the tables")


def test_a_20_second_postgres_table_lock_mid_workflow_does_not_stop_it(tmp_path, reference):
    """PostgreSQL writers wait for a lock instead of failing, so after holding it for 20 s the
    locker also drops every connection the stack has (blocked statements fail, as after a
    failover); the stack carries on from there."""
    with (
        postgres_server() as database_url,
        serving(tmp_path, database_url, environment=TIMEOUTS) as served,
    ):
        workflow_id = start_workflow(served)
        wait_for_message(served, workflow_id, "agent_status", "Demand Agent")
        locker = create_engine(database_url)
        with locker.connect() as conn, conn.begin():
            lock_tables(conn, app_tables())
            time.sleep(LOCK_SECONDS)
            dropped = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND datname = current_database()"
                )
            ).scalar_one()
        locker.dispose()
        run = collect(served, workflow_id)

    assert dropped > 0
    assert held_up_by_the_lock(run)
    assert_same_plan(run, reference)
    assert_every_message_in_order(run, reference)


def test_kill_9_then_restart_on_postgres(tmp_path, reference):
    with postgres_server() as database_url:
        run, seen = killed_and_restarted(tmp_path, database_url, "during_demand")

    assert KILL_POINTS["during_demand"] in seen
    assert_same_plan(run, reference)
    sequences = [e["sequence"] for e in run.events]
    assert sequences == list(range(1, len(sequences) + 1))


# the runtime alone: an episode that cannot save is retried --------------------------------


async def wait_until(predicate: Callable[[], Any], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_an_episode_that_hits_a_locked_history_store_is_retried_until_it_saves(
    tmp_path, caplog
):
    """The activity finishes while another connection holds the write lock, so the episode
    that records its result cannot save ("database is locked" after the 15 s busy timeout).
    The runtime keeps retrying with back-off and the workflow completes once the lock goes."""
    caplog.set_level(logging.WARNING, logger="localdev.durable.runtime")
    database = tmp_path / "hub.db"
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    SCRIPT.reset()
    SCRIPT.set("demand_agent", "hang")
    workflow_id = f"wf-lock-{uuid.uuid4().hex[:8]}"
    try:
        async with DurableRuntime(app, f"sqlite:///{database}", clock=clock) as rt:
            await rt.start_new(ORCHESTRATOR_NAME, workflow_id, season_input(workflow_id))
            assert await wait_until(lambda: SCRIPT.calls_to("demand_agent", workflow_id))
            holder = await asyncio.to_thread(hold_sqlite_write_lock, database, LOCK_SECONDS)
            SCRIPT.release.set()
            assert await wait_until(lambda: "database is locked" in caplog.text, 40)
            running = await rt.get_status(workflow_id)
            assert running is not None and running["runtimeStatus"] == "Running"
            await asyncio.to_thread(holder.join)
            status = await rt.wait_for(workflow_id, 30)
            history = await rt.history(workflow_id)
    finally:
        SCRIPT.reset()

    assert status is not None and status["runtimeStatus"] == "Completed"
    assert "_episode failed (OperationalError" in caplog.text
    kinds = [e["EventType"] for e in history]
    # the retried episode was saved once: one result for the agent, one ExecutionCompleted
    assert kinds.count(h.EventType.EXECUTION_COMPLETED) == 1
    demand = [e for e in history if e.get("Name") == "demand_agent"]
    assert len(demand) == 1
    completions = [e for e in history if e.get("TaskScheduledId") == demand[0]["EventId"]]
    assert len(completions) == 1
