"""`season_workflow` as a plain generator against a mocked DurableOrchestrationContext, as the
Azure Durable Functions Python samples test orchestrators: the test plays the Durable
extension, sends each yielded task's result back (or throws its failure) and reads what the
orchestrator asked for. Milliseconds per test; tests/integration/test_workflow_runtime.py runs
the same orchestrator on the local Durable runtime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import azure.durable_functions as df

from orchestrator.workflow import (
    MAX_SUMMARY_BYTES,
    PUBLISH_ACTIVITY,
    UNEXPECTED_FAILURE,
    build_workflow_input,
    season_workflow,
)
from shared.activity_inputs import AgentTask
from shared.agents import AGENT_NAMES, AGENTS, DEMAND, INVENTORY, PRICING, Registry
from shared.errors import AgentExecutionError, AgentTimeoutError, DataNotFoundError
from shared.outcomes import AgentFailure, AgentOutcome, run_agent_step
from shared.schemas import SeasonParameters, WorkflowOutput, WorkflowStatus
from shared.settings import Settings
from tests.support import assortment_agent
from tests.support.assortment_agent import ASSORTMENT, WITH_ASSORTMENT

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
ACTIVITY_TIME = timedelta(seconds=2)
PARAMETERS = SeasonParameters.model_validate(
    {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-01",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.45,
    }
)
SUMMARIES: dict[str, dict[str, Any]] = {
    DEMAND.activity: {"total_demand": 1200, "model_used": "AutoETS"},
    INVENTORY.activity: {"manufacturing_qty": 1440, "clusters": 3},
    PRICING.activity: {"leftover_units": 144, "first_markdown_week": 9},
}
HANG = "hang"


@dataclass
class Task:
    """A task as the SDK hands it to the orchestrator: what was asked, and later its result."""

    kind: str
    name: str = ""
    input: Any = None
    fire_at: datetime = START
    result: Any = None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class AnyTask:
    tasks: list[Task]


def ok(summary: dict[str, Any]) -> dict[str, Any]:
    return AgentOutcome(summary=summary).model_dump(mode="json")


def failure(error_type: str, message: str, *, retryable: bool) -> dict[str, Any]:
    reported = AgentFailure(error_type=error_type, message=message, retryable=retryable)
    return AgentOutcome(failure=reported).model_dump(mode="json")


@dataclass
class Extension:
    """Plays the Durable extension for one run: each agent activity's attempts come out of
    `attempts` in order (an AgentOutcome, an Exception for a failed task, or HANG: the deadline
    timer wins), one of the app's agents with no script succeeds with its summary, any other
    agent of `agents` runs its own run function (as its activity would), and publishing
    succeeds unless `publish_fails`."""

    attempts: dict[str, list[Any]] = field(default_factory=dict)
    agents: Registry = AGENTS
    publish_fails: bool = False
    settings: Settings = field(default_factory=Settings)
    now: datetime = START
    scheduled: list[Task] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def context(self) -> MagicMock:
        context = MagicMock(spec=df.DurableOrchestrationContext)
        context.get_input.return_value = build_workflow_input(
            "wf-1",
            "session-1",
            "CAT-1",
            PARAMETERS,
            self.settings,
            owner_id="planner-1",
            agents=self.agents,
        )
        context.call_activity.side_effect = self._activity
        context.call_activity_with_retry.side_effect = self._activity_with_retry
        context.create_timer.side_effect = self._timer
        context.task_any.side_effect = AnyTask
        context.set_custom_status.side_effect = self.statuses.append
        type(context).current_utc_datetime = property(lambda _: self.now)
        return context

    def _activity(self, name: str, payload: Any) -> Task:
        return self._schedule(Task("activity", name, payload))

    def _activity_with_retry(self, name: str, retry: df.RetryOptions, payload: Any) -> Task:
        return self._schedule(Task("activity_with_retry", name, payload))

    def _timer(self, fire_at: datetime) -> Task:
        return self._schedule(Task("timer", fire_at=fire_at))

    def _schedule(self, task: Task) -> Task:
        self.scheduled.append(task)
        return task

    def reply(self, yielded: Any) -> tuple[str, Any]:
        """What the extension answers to a yielded task: ("send", value) or ("throw", exc)."""
        if isinstance(yielded, AnyTask):
            call, timer = yielded.tasks
            script = self.attempts.get(call.name)
            attempt = script.pop(0) if script else self._succeed(call)
            if attempt == HANG:
                self.now = timer.fire_at
                return "send", timer
            self.now += ACTIVITY_TIME
            call.result = attempt
            return "send", call
        if yielded.kind == "timer":
            self.now = yielded.fire_at
            return "send", None
        if self.publish_fails:
            return "throw", Exception("Activity function 'publish_message' failed: locked")
        return "send", {"sequences": []}

    def _succeed(self, call: Task) -> dict[str, Any]:
        if call.name in SUMMARIES:
            return ok(SUMMARIES[call.name])
        agent = next(a for a in self.agents if a.activity == call.name)
        run = agent.load_run()
        task = AgentTask.model_validate(call.input)
        return run_agent_step(
            agent.name, lambda: run(task, self.settings, lambda percent, message: None)
        )

    def run(self) -> Any:
        """Drive season_workflow to its end: its output, or the exception it raised."""
        workflow = season_workflow(self.context())
        action: str = "send"
        value: Any = None
        while True:
            try:
                yielded = workflow.send(value) if action == "send" else workflow.throw(value)
            except StopIteration as stop:
                return stop.value
            except Exception as exc:  # noqa: BLE001 - the orchestrator's failure is the result
                return exc
            action, value = self.reply(yielded)

    def calls(self, kind: str = "activity") -> list[Task]:
        return [t for t in self.scheduled if t.kind == kind]

    def published(self) -> list[dict[str, Any]]:
        return [t.input for t in self.calls("activity_with_retry")]


def batch(published: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(m["type"], m["agent_name"], m.get("status")) for m in published["messages"]]


def accepted(name: str) -> list[tuple[str, str, str | None]]:
    return [
        ("agent_status", name, "running"),
        ("complete", name, None),
        ("agent_status", name, "completed"),
    ]


def rejected(name: str) -> list[tuple[str, str, str | None]]:
    return [
        ("agent_status", name, "running"),
        ("error", name, None),
        ("agent_status", name, "failed"),
    ]


def announced(name: str) -> list[tuple[str, str, str | None]]:
    """An accepted agent's announcement: what the next agent's activity publishes first."""
    return [("complete", name, None), ("agent_status", name, "completed")]


def test_happy_path_runs_the_registry_chain_in_order_and_reports_each_agent():
    extension = Extension()

    output = extension.run()

    assert [t.name for t in extension.calls()] == [agent.activity for agent in AGENTS]
    # Each agent after the first gets the previous one's accepted result, to announce it.
    handed_over = [None] + [
        {"type": "complete", "agent_name": a.name, "result": SUMMARIES[a.activity]}
        for a in AGENTS[:-1]
    ]
    assert [t.input.get("accepted") for t in extension.calls()] == handed_over
    assert all(
        t.input
        == {
            "workflow_id": "wf-1",
            "session_id": "session-1",
            "owner_id": "planner-1",
            "category_id": "CAT-1",
            "parameters": PARAMETERS.model_dump(mode="json", exclude_none=True),
            "deadline": t.input["deadline"],
            **({"accepted": previous} if previous else {}),
        }
        for t, previous in zip(extension.calls(), handed_over, strict=True)
    )
    # Each attempt knows its agent's deadline: the moment its own race timer fires.
    assert [t.input["deadline"] for t in extension.calls()] == [
        timer.fire_at.isoformat() for timer in extension.calls("timer")
    ]
    assert [(s["status"], s["current_agent"], s["progress"]) for s in extension.statuses] == [
        ("running", "Demand Agent", 0),
        ("running", "Inventory Agent", 33),
        ("running", "Pricing Agent", 67),
        ("completed", None, 100),
    ]
    final = extension.statuses[-1]
    assert final["completed_agents"] == list(AGENT_NAMES)
    assert final["results"] == {a.name: SUMMARIES[a.activity] for a in AGENTS}
    assert "error" not in final
    # One publishing activity: the last agent's result, led by the one before (its activity
    # announced that already; the event log skips the repeat), closing the stream.
    assert [batch(p) for p in extension.published()] == [
        announced(INVENTORY.name) + accepted(PRICING.name)
    ]
    assert [p["close"] for p in extension.published()] == [True]
    complete = extension.published()[0]["messages"][3]
    assert complete["result"] == SUMMARIES[PRICING.activity]
    assert {p["owner_id"] for p in extension.published()} == {"planner-1"}
    assert {t.name for t in extension.calls("activity_with_retry")} == {PUBLISH_ACTIVITY}

    assert output == {
        "status": "completed",
        "workflow_id": "wf-1",
        "session_id": "session-1",
        "category_id": "CAT-1",
        "results": final["results"],
        "execution_log": [
            {
                "agent_name": name,
                "started_at": (START + n * ACTIVITY_TIME).isoformat(),
                "duration_ms": 2000,
                "status": "completed",
                "attempts": 1,
            }
            for n, name in enumerate(AGENT_NAMES)
        ],
    }
    WorkflowOutput.model_validate(output)
    assert final["execution_log"] == output["execution_log"]


def test_each_attempt_races_a_timer_for_the_agents_deadline_and_the_loser_is_cancelled():
    extension = Extension()

    extension.run()

    timers = extension.calls("timer")
    assert [t.fire_at for t in timers] == [
        START + n * ACTIVITY_TIME + timedelta(seconds=a.timeout(extension.settings))
        for n, a in enumerate(AGENTS)
    ]
    assert all(t.cancelled for t in timers)


def test_every_custom_status_is_a_valid_workflow_status():
    extension = Extension()

    extension.run()

    for status in extension.statuses:
        assert WorkflowStatus.model_validate(status).as_json() == status


def test_a_typed_failure_that_is_not_retryable_stops_the_chain_on_its_first_attempt():
    extension = Extension(
        attempts={
            INVENTORY.activity: [failure("DATA_NOT_FOUND", "Too little history", retryable=False)]
        }
    )

    error = extension.run()

    assert isinstance(error, DataNotFoundError)
    assert error.message == "Too little history"
    assert error.details == {"agent_name": "Inventory Agent", "attempts": 1}
    assert [t.name for t in extension.calls()] == [DEMAND.activity, INVENTORY.activity]
    status = extension.statuses[-1]
    assert status["status"] == "failed" and status["current_agent"] is None
    assert status["error"] == {
        "error_type": "DATA_NOT_FOUND",
        "message": "Too little history",
        "agent_name": "Inventory Agent",
    }
    assert status["completed_agents"] == ["Demand Agent"] and status["progress"] == 33
    assert status["execution_log"][-1] == {
        "agent_name": "Inventory Agent",
        "started_at": (START + ACTIVITY_TIME).isoformat(),
        "duration_ms": 2000,
        "status": "failed",
        "attempts": 1,
        "error_type": "DATA_NOT_FOUND",
    }
    # Demand's result leads the batch: announced by Inventory's activity in the normal case, it
    # must not be missing if that activity failed before recording it.
    assert [batch(p) for p in extension.published()] == [
        announced(DEMAND.name) + rejected(INVENTORY.name)
    ]
    assert extension.published()[-1]["messages"][0]["result"] == SUMMARIES[DEMAND.activity]
    assert extension.published()[-1]["close"] is False
    error_message = extension.published()[-1]["messages"][3]
    assert error_message["error_type"] == "DATA_NOT_FOUND"
    assert error_message["error_message"] == "Too little history"


def test_a_retryable_failure_is_retried_after_the_pause_and_can_then_succeed():
    settings = Settings(agent_retry_interval_ms=1500)
    extension = Extension(
        attempts={DEMAND.activity: [RuntimeError("worker died")]}, settings=settings
    )

    output = extension.run()

    assert output["status"] == "completed"
    assert [t.name for t in extension.calls()] == [
        DEMAND.activity,
        DEMAND.activity,
        INVENTORY.activity,
        PRICING.activity,
    ]
    pause = extension.calls("timer")[1]
    assert pause.fire_at == START + ACTIVITY_TIME + timedelta(milliseconds=1500)
    demand = output["execution_log"][0]
    assert demand["attempts"] == 2 and demand["status"] == "completed"
    assert demand["duration_ms"] == 2000 + 1500 + 2000


def test_a_locked_database_reported_by_the_agent_is_retried():
    locked = failure("CONTEXT_ASSEMBLY_ERROR", "The database stayed locked", retryable=True)
    extension = Extension(attempts={PRICING.activity: [locked, locked]})

    output = extension.run()

    assert output["execution_log"][-1]["attempts"] == 3
    assert len([t for t in extension.calls() if t.name == PRICING.activity]) == 3


def test_the_deadline_timer_winning_is_a_timeout():
    settings = Settings(demand_agent_timeout_seconds=0.3)
    extension = Extension(attempts={DEMAND.activity: [HANG]}, settings=settings)

    error = extension.run()

    assert isinstance(error, AgentTimeoutError)
    assert error.message == "Demand Agent did not finish within 0.3 s"
    assert error.details == {"agent_name": "Demand Agent", "timeout_seconds": 0.3, "attempts": 1}
    call, timer = extension.calls()[0], extension.calls("timer")[0]
    assert timer.cancelled is False and call.result is None
    status = extension.statuses[-1]
    assert status["error"] == {
        "error_type": "AGENT_TIMEOUT",
        "message": "Demand Agent did not finish within 0.3 s",
        "agent_name": "Demand Agent",
    }
    assert status["execution_log"][-1]["duration_ms"] == 300
    assert status["results"] == {} and status["completed_agents"] == []
    assert batch(extension.published()[-1]) == rejected("Demand Agent")
    assert [t.name for t in extension.calls()] == [DEMAND.activity]


def test_a_deadline_passing_before_the_next_agent_ran_still_announces_the_accepted_result():
    """The next agent's attempts never started, so Demand's `complete` was never published by
    them: the orchestrator's failure batch announces it before the error."""
    settings = Settings(inventory_agent_timeout_seconds=5)
    extension = Extension(attempts={INVENTORY.activity: [HANG]}, settings=settings)

    error = extension.run()

    assert isinstance(error, AgentTimeoutError)
    assert [batch(p) for p in extension.published()] == [
        announced(DEMAND.name) + rejected(INVENTORY.name)
    ]
    complete = extension.published()[0]["messages"][0]
    assert complete == {
        "type": "complete",
        "agent_name": DEMAND.name,
        "result": SUMMARIES[DEMAND.activity],
    }
    assert extension.statuses[-1]["completed_agents"] == [DEMAND.name]


def test_the_pause_before_a_retry_never_passes_the_deadline():
    settings = Settings(demand_agent_timeout_seconds=3, agent_retry_interval_ms=5000)
    extension = Extension(attempts={DEMAND.activity: [RuntimeError("boom")]}, settings=settings)

    error = extension.run()

    assert isinstance(error, AgentTimeoutError)
    assert extension.calls("timer")[-1].fire_at == START + timedelta(seconds=3)
    assert len(extension.calls()) == 1


def test_attempts_exhausted_keep_the_last_type_and_say_how_many_failed():
    settings = Settings(agent_max_attempts=3)
    extension = Extension(
        attempts={DEMAND.activity: [RuntimeError("x"), RuntimeError("y"), RuntimeError("z")]},
        settings=settings,
    )

    error = extension.run()

    assert isinstance(error, AgentExecutionError)
    assert error.message == f"Demand Agent failed after 3 attempt(s): {UNEXPECTED_FAILURE}"
    # What Durable records as the failure's text: the restated error's own message.
    assert str(error) == error.message
    assert len(extension.calls()) == 3
    assert extension.statuses[-1]["execution_log"][-1]["attempts"] == 3
    assert "RuntimeError" not in json.dumps(extension.statuses[-1])


def test_a_summary_over_the_size_limit_fails_the_agent_without_a_retry():
    big = {"notes": "x" * MAX_SUMMARY_BYTES}
    extension = Extension(attempts={DEMAND.activity: [ok(big)]})

    error = extension.run()

    size = len(json.dumps(big))
    assert isinstance(error, AgentExecutionError)
    assert error.message == (
        f"Demand Agent returned a summary of {size} bytes (at most {MAX_SUMMARY_BYTES} are allowed)"
    )
    assert error.details == {"agent_name": "Demand Agent", "summary_bytes": size}
    assert len(extension.calls()) == 1
    assert "x" * 100 not in json.dumps(extension.statuses)


def test_a_summary_at_the_size_limit_is_accepted():
    fits = {"notes": "x" * (MAX_SUMMARY_BYTES - len(json.dumps({"notes": ""})))}
    extension = Extension(attempts={DEMAND.activity: [ok(fits)]})

    output = extension.run()

    assert output["results"]["Demand Agent"] == fits


def test_an_invalid_outcome_is_an_execution_error_without_a_retry():
    extension = Extension(attempts={DEMAND.activity: [{"summary": None, "failure": None}]})

    error = extension.run()

    assert isinstance(error, AgentExecutionError)
    assert error.message == "Demand Agent returned an invalid outcome"
    assert len(extension.calls()) == 1


def test_publishing_failures_never_fail_the_workflow():
    extension = Extension(publish_fails=True)

    output = extension.run()

    assert output["status"] == "completed" and len(extension.published()) == 1


def test_replaying_the_same_history_gives_the_same_actions():
    def actions(extension: Extension) -> list[tuple[Any, ...]]:
        extension.run()
        return [(t.kind, t.name, json.dumps(t.input), t.fire_at) for t in extension.scheduled]

    def script() -> dict[str, list[Any]]:
        return {INVENTORY.activity: [RuntimeError("once")]}

    first, second = Extension(attempts=script()), Extension(attempts=script())

    assert actions(first) == actions(second)
    assert first.statuses == second.statuses


def test_the_first_action_is_the_first_agents_race_against_its_deadline():
    """No I/O before the first yield: the input comes from the context, nothing else."""
    extension = Extension()
    context = extension.context()
    workflow = season_workflow(context)

    first = next(workflow)

    assert isinstance(first, AnyTask)
    assert [(t.kind, t.name) for t in first.tasks] == [
        ("activity", DEMAND.activity),
        ("timer", ""),
    ]
    context.get_input.assert_called_once_with()
    assert extension.statuses == [extension.statuses[0]]
    assert extension.statuses[0]["current_agent"] == DEMAND.name


def test_a_fourth_agent_in_a_registry_of_its_own_runs_end_to_end():
    """One registry entry (tests/support/assortment_agent.py) puts an agent in the chain: its
    activity is called after Pricing with the same task, its own timeout sets its deadline, its
    run function (found by its dotted path) produces the summary, and it is reported like the
    app's agents."""
    extension = Extension(agents=WITH_ASSORTMENT)

    output = extension.run()

    assert [t.name for t in extension.calls()] == [a.activity for a in WITH_ASSORTMENT]
    last_timer = extension.calls("timer")[-1]
    assert last_timer.fire_at == START + 3 * ACTIVITY_TIME + timedelta(
        seconds=assortment_agent.TIMEOUT_SECONDS
    )
    weeks = PARAMETERS.forecast_horizon_weeks
    expected = {"styles": assortment_agent.STYLES_PER_WEEK * weeks, "weeks": weeks}
    assert output["results"] == {
        **{a.name: SUMMARIES[a.activity] for a in AGENTS},
        ASSORTMENT.name: expected,
    }
    assert [s["progress"] for s in extension.statuses] == [0, 25, 50, 75, 100]
    assert extension.statuses[-1]["completed_agents"] == [a.name for a in WITH_ASSORTMENT]
    # Each agent's activity announced the result before it; the orchestrator publishes only the
    # last one's, led by Pricing's, closing the stream.
    handed_over = [t.input.get("accepted") for t in extension.calls()]
    assert [m and m["agent_name"] for m in handed_over] == [None, *AGENT_NAMES]
    published = extension.published()
    assert [batch(p) for p in published] == [announced(PRICING.name) + accepted(ASSORTMENT.name)]
    assert [p["close"] for p in published] == [True]
    assert published[-1]["messages"][3]["result"] == expected
    WorkflowOutput.model_validate(output)
