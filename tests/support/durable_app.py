"""A test function app: the REAL orchestrator and workflow HTTP functions, plus test activities
under the contract names whose behaviour each test scripts (succeed, fail N times, always fail,
report a data error, hang past the deadline). The agent activities return their outcome
through the real `run_agent_step`, as the real ones do, and read the earlier agents' output
from what they stored, as the real ones reload it from the database. Like the real ones, each
agent activity first announces the previous agent's accepted result (handed over in its task)
and its own `running`; `published_messages` reads the announcements and the publishing
activity's batches as the event log records them (each message identity once). It exercises
the orchestrator and the local runtime, not the agents.

It also registers `retry_probe`, a small orchestrator using `call_activity_with_retry` and
`task_all`, so the runtime's handling of those actions is tested too, and `doorbell_probe` and
`generation_probe` for external events and continue-as-new.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict

from orchestrator.http.runs import bp as runs_bp
from orchestrator.workflow import bp as workflow_bp
from orchestrator.workflow import build_workflow_input
from shared.activity_inputs import AgentTask
from shared.data.events import message_key
from shared.errors import ContextAssemblyError, DataNotFoundError
from shared.outcomes import run_agent_step
from shared.schemas import SeasonParameters
from shared.settings import Settings

HANG_SECONDS = 10.0

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(workflow_bp)
app.register_functions(runs_bp)


class ScriptedSummary(BaseModel):
    """A test agent's summary: whatever fields the test activity reports."""

    model_config = ConfigDict(extra="allow")


@dataclass
class Script:
    """Per-test behaviour of the test activities and the record of their calls."""

    modes: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stored: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Every message an activity asked to record, in order, with its workflow id.
    recorded: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.release.set()
        with self.lock:
            self.modes.clear()
            self.calls.clear()
            self.stored.clear()
            self.failures.clear()
            self.recorded.clear()
        self.release = threading.Event()

    def set(self, activity: str, mode: str, times: int = 0, workflow_id: str = "*") -> None:
        """mode: "ok", "fail" (the first `times` calls fail), "fail_always", "data_error" (a
        DataNotFoundError, not retryable), "db_locked" (a ContextAssemblyError, retryable: the
        first `times` calls, every call when 0), "hang", "stalled" (an agent attempt that hangs
        before it records anything, as one whose start is delayed past its deadline)."""
        self.modes[(workflow_id, activity)] = (mode, times)

    def calls_to(self, activity: str, workflow_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                payload
                for name, payload in self.calls
                if name == activity
                and (workflow_id is None or _workflow_of(payload) == workflow_id)
            ]

    def stall(self, activity: str, payload: Any) -> None:
        """Hang here, before the attempt records anything, when the mode is "stalled"."""
        with self.lock:
            mode, _ = self.modes.get(
                (_workflow_of(payload), activity), self.modes.get(("*", activity), ("ok", 0))
            )
        if mode == "stalled":
            self.release.wait(HANG_SECONDS)

    def behave(self, activity: str, payload: Any) -> None:
        """Record the call, then fail or hang as scripted."""
        workflow_id = _workflow_of(payload)
        with self.lock:
            self.calls.append((activity, payload))
            mode, times = self.modes.get(
                (workflow_id, activity), self.modes.get(("*", activity), ("ok", 0))
            )
            failed_so_far = self.failures[(workflow_id, activity)]
            if (mode == "fail" and failed_so_far < times) or mode == "fail_always":
                self.failures[(workflow_id, activity)] += 1
                raise RuntimeError(f"{activity} failure #{failed_so_far + 1}")
            if mode == "db_locked" and (times == 0 or failed_so_far < times):
                self.failures[(workflow_id, activity)] += 1
                raise ContextAssemblyError("The database stayed locked by another writer.")
        if mode == "data_error":
            raise DataNotFoundError(
                f"{activity} found too little history",
                details={"weeks_found": 30},
                suggestions=["Load more history."],
            )
        if mode == "hang":
            self.release.wait(HANG_SECONDS)

    def record(self, workflow_id: str, messages: list[dict[str, Any]]) -> None:
        with self.lock:
            self.recorded.extend((workflow_id, message) for message in messages)

    def save(self, activity: str, payload: dict[str, Any], summary: dict[str, Any]) -> None:
        """Keep what an agent produced for its workflow (the real agents save to the database)."""
        with self.lock:
            self.stored[(_workflow_of(payload), activity)] = summary

    def load(self, activity: str, payload: dict[str, Any]) -> dict[str, Any]:
        """What an earlier agent of the same workflow produced."""
        with self.lock:
            return self.stored[(_workflow_of(payload), activity)]


def _workflow_of(payload: Any) -> str:
    return str(payload.get("workflow_id", "")) if isinstance(payload, dict) else ""


SCRIPT = Script()


def _summary(activity: str, payload: dict[str, Any], **fields: Any) -> ScriptedSummary:
    summary = {**fields, "workflow_id": payload["workflow_id"]}
    SCRIPT.save(activity, payload, summary)
    return ScriptedSummary(**summary)


def _demand(payload: dict[str, Any]) -> ScriptedSummary:
    SCRIPT.behave("demand_agent", payload)
    weeks = payload["parameters"]["forecast_horizon_weeks"]
    return _summary(
        "demand_agent", payload, total_demand=100 * weeks, category_id=payload["category_id"]
    )


def _inventory(payload: dict[str, Any]) -> ScriptedSummary:
    SCRIPT.behave("inventory_agent", payload)
    demand = SCRIPT.load("demand_agent", payload)["total_demand"]
    return _summary("inventory_agent", payload, manufacturing_qty=round(demand * 1.2))


def _pricing(payload: dict[str, Any]) -> ScriptedSummary:
    SCRIPT.behave("pricing_agent", payload)
    units = SCRIPT.load("inventory_agent", payload)["manufacturing_qty"]
    return _summary("pricing_agent", payload, leftover_units=units // 10)


def _announce(agent_name: str, activity: str, payload: dict[str, Any]) -> None:
    """What the real agent activity publishes before it runs: the previous agent's accepted
    result, then its own `running`."""
    SCRIPT.stall(activity, payload)
    task = AgentTask.model_validate(payload)
    messages: list[dict[str, Any]] = []
    if task.accepted is not None:
        previous = task.accepted.agent_name
        messages.append(task.accepted.model_dump(mode="json", exclude_none=True))
        messages.append({"type": "agent_status", "agent_name": previous, "status": "completed"})
    messages.append({"type": "agent_status", "agent_name": agent_name, "status": "running"})
    SCRIPT.record(task.workflow_id, messages)


@app.activity_trigger(input_name="payload", activity="demand_agent")
def demand_agent(payload: dict[str, Any]) -> dict[str, Any]:
    _announce("Demand Agent", "demand_agent", payload)
    return run_agent_step("Demand Agent", lambda: _demand(payload))


@app.activity_trigger(input_name="payload", activity="inventory_agent")
def inventory_agent(payload: dict[str, Any]) -> dict[str, Any]:
    _announce("Inventory Agent", "inventory_agent", payload)
    return run_agent_step("Inventory Agent", lambda: _inventory(payload))


@app.activity_trigger(input_name="payload", activity="pricing_agent")
def pricing_agent(payload: dict[str, Any]) -> dict[str, Any]:
    _announce("Pricing Agent", "pricing_agent", payload)
    return run_agent_step("Pricing Agent", lambda: _pricing(payload))


@app.activity_trigger(input_name="payload", activity="publish_message")
def publish_message(payload: dict[str, Any]) -> dict[str, Any]:
    SCRIPT.behave("publish_message", payload)
    SCRIPT.record(_workflow_of(payload), payload["messages"])
    return {"sequences": []}


@app.activity_trigger(input_name="payload", activity="flaky_probe")
def flaky_probe(payload: dict[str, Any]) -> dict[str, Any]:
    SCRIPT.behave("flaky_probe", payload)
    return {"attempt": len(SCRIPT.calls_to("flaky_probe", payload["workflow_id"]))}


@app.activity_trigger(input_name="number", activity="echo_probe")
def echo_probe(number: int) -> int:
    return number * 10


@app.orchestration_trigger(context_name="context", orchestration="retry_probe")
def retry_probe(context: df.DurableOrchestrationContext):
    first = yield context.call_activity_with_retry(
        "flaky_probe", df.RetryOptions(20, 3), context.get_input()
    )
    both = yield context.task_all(
        [context.call_activity("echo_probe", 1), context.call_activity("echo_probe", 2)]
    )
    return {"first": first, "both": both}


@app.orchestration_trigger(context_name="context", orchestration="status_probe")
def status_probe(context: df.DurableOrchestrationContext):
    """Sets a custom status of the requested number of characters, then runs one activity."""
    context.set_custom_status({"text": "x" * context.get_input()})
    value = yield context.call_activity("echo_probe", 1)
    return value


@app.activity_trigger(input_name="number", activity="gate_probe")
def gate_probe(number: int) -> int:
    """Blocks until the test releases `SCRIPT.release`: events raised meanwhile arrive while
    the orchestrator waits for nothing."""
    SCRIPT.release.wait(HANG_SECONDS)
    return number


@app.orchestration_trigger(context_name="context", orchestration="doorbell_probe")
def doorbell_probe(context: df.DurableOrchestrationContext):
    """Optionally passes through `gate_probe` first, then waits `waits` times for "ring" and
    returns the payloads as received."""
    settings = context.get_input()
    if settings.get("gate"):
        yield context.call_activity("gate_probe", 1)
    received = []
    for _ in range(settings["waits"]):
        received.append((yield context.wait_for_external_event(settings.get("name", "ring"))))
    return received


@app.orchestration_trigger(context_name="context", orchestration="generation_probe")
def generation_probe(context: df.DurableOrchestrationContext):
    """One wait per generation, raced against a one-day timer, then continue-as-new; stops
    after `generations` and returns what each generation saw ("timer" or the payload)."""
    state = context.get_input()
    if state.get("gate") and not state["seen"]:
        yield context.call_activity("gate_probe", 1)
    ring = context.wait_for_external_event("ring")
    timer = context.create_timer(context.current_utc_datetime + timedelta(days=1))
    winner = yield context.task_any([ring, timer])
    if winner is ring:
        timer.cancel()
        state["seen"].append(ring.result)
    else:
        state["seen"].append("timer")
    if len(state["seen"]) >= state["generations"]:
        return state["seen"]
    context.continue_as_new(state)
    return None


PARAMETERS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.45,
}


def fast_settings(**overrides: Any) -> Settings:
    """Settings with test-sized retry pauses (timeouts stay 30 s unless overridden)."""
    return Settings(**{"agent_retry_interval_ms": 20, **overrides})


def season_input(workflow_id: str, settings: Settings | None = None) -> str:
    """The orchestrator's JSON input for a season of PARAMETERS in category CAT-1."""
    parameters = SeasonParameters.model_validate(PARAMETERS)
    return json.dumps(
        build_workflow_input(
            workflow_id, "s", "CAT-1", parameters, settings or fast_settings(), owner_id="planner-1"
        )
    )


def published_messages(workflow_id: str) -> list[dict[str, Any]]:
    """What the agent activities and the publishing activity recorded for `workflow_id`, in
    order, as the event log keeps them (shared/data/events.py): each message identity once,
    nothing after `agent_status failed`."""
    with SCRIPT.lock:
        recorded = [m for wid, m in SCRIPT.recorded if wid == workflow_id]
    seen: set[str] = set()
    messages: list[dict[str, Any]] = []
    for message in recorded:
        key = message_key(message)
        if key not in seen:
            seen.add(key)
            messages.append(message)
        if message.get("status") == "failed":
            break
    return messages
