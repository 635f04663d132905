"""The season workflow: the agent chain as data and the Durable orchestrator that runs it.

The orchestrator is replayed from its history many times, so everything in here is
deterministic: the only clock is `context.current_utc_datetime`, policies arrive in the
orchestration input (read from settings by the HTTP starter, never here), and every side effect
(running an agent, publishing progress) happens in an activity.

Per agent the planner's browser receives, in order: agent_status running, the activity's own
progress messages, then complete + agent_status completed, or error + agent_status failed.

Timeout and retry: each agent gets ONE deadline (an absolute moment) covering all its attempts
and the pauses between them; each attempt races its own timer for that moment. Retries are an explicit loop of `call_activity` + a back-off timer rather than
`call_activity_with_retry`, because only the loop lets the orchestrator (a) count attempts
exactly, for the execution log, and (b) stop retrying the moment the deadline passes. The policy
itself is still a `df.RetryOptions` (first interval, max attempts).

How a failed run ends: the orchestrator records the failure in its custom status (status
"failed", the error, the finished agents' results and the execution log) and then raises the
AgentTimeoutError / AgentExecutionError. Durable marks the instance Failed and keeps the last
custom status, so `GET /workflows/{id}` shows runtimeStatus Failed AND what did finish.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import AgentExecutionError, AgentTimeoutError, OrchestratorError
from shared.schemas import AgentStatusMessage, CompleteMessage, ErrorMessage, SeasonParameters
from shared.settings import Settings

ORCHESTRATOR_NAME = "season_workflow"
PUBLISH_ACTIVITY = "publish_message"
PUBLISH_TIMEOUT_SECONDS = 15.0
# The custom status carries every finished agent's summary, the execution log and the error, and
# the extension refuses a custom status over 16 KB of UTF-16 (about 8,700 ASCII characters):
# three summaries of this size plus the rest stay well under it (tests prove the worst case).
MAX_SUMMARY_BYTES = 2048
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class AgentSpec:
    """One link of the chain: who it is, which activity runs it, which setting bounds it."""

    agent_name: str
    activity: str
    timeout_setting: str


CHAIN: tuple[AgentSpec, ...] = (
    AgentSpec("Demand Agent", "demand_agent", "demand_agent_timeout_seconds"),
    AgentSpec("Inventory Agent", "inventory_agent", "inventory_agent_timeout_seconds"),
    AgentSpec("Pricing Agent", "pricing_agent", "pricing_agent_timeout_seconds"),
)


class AgentPolicy(BaseModel):
    """An agent's step as the orchestrator receives it: name, activity, timeout and retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_name: str
    activity: str
    timeout_seconds: float = Field(gt=0)
    max_attempts: int = Field(ge=1, le=10)
    retry_interval_ms: int = Field(ge=1)

    @property
    def retry_options(self) -> df.RetryOptions:
        return df.RetryOptions(self.retry_interval_ms, self.max_attempts)


class WorkflowInput(BaseModel):
    """The orchestration input: ids, parameters and the policies, all small."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: str
    session_id: str
    owner_id: str = Field(min_length=1)
    category_id: str
    parameters: dict[str, Any]
    chain: list[AgentPolicy] = Field(min_length=1)
    publish_timeout_seconds: float = Field(PUBLISH_TIMEOUT_SECONDS, gt=0)


def chain_policies(settings: Settings) -> list[AgentPolicy]:
    """The chain with each agent's timeout and the shared retry policy from `settings`."""
    return [
        AgentPolicy(
            agent_name=spec.agent_name,
            activity=spec.activity,
            timeout_seconds=getattr(settings, spec.timeout_setting),
            max_attempts=settings.agent_max_attempts,
            retry_interval_ms=settings.agent_retry_interval_ms,
        )
        for spec in CHAIN
    ]


def build_workflow_input(
    workflow_id: str,
    session_id: str,
    category_id: str,
    parameters: SeasonParameters,
    settings: Settings,
    *,
    owner_id: str,
) -> dict[str, Any]:
    """The JSON input the HTTP starter passes to `start_new` (settings are read here, not in
    the orchestrator, so a replay never sees a changed policy). `owner_id` travels with the
    run so that every message reaches only the owner's Web PubSub group."""
    return WorkflowInput(
        workflow_id=workflow_id,
        session_id=session_id,
        owner_id=owner_id,
        category_id=category_id,
        parameters=parameters.model_dump(mode="json", exclude_none=True),
        chain=chain_policies(settings),
    ).model_dump(mode="json")


@dataclass
class _Outcome:
    """What one agent's run came to: its summary, or the error that stopped the chain."""

    attempts: int
    result: Any = None
    error: OrchestratorError | None = None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _failure_reason(task_result: Any) -> str:
    """The activity's failure text; the SDK turns a TaskFailed event into Exception(reason)."""
    return _short(str(task_result)) or "activity failed"


def _failed(task: Any) -> bool:
    """`task_any` hands back the winner even when it failed; its result is then the exception."""
    return isinstance(task.result, Exception)


def _publish(
    context: df.DurableOrchestrationContext, run: WorkflowInput, message: BaseModel
) -> Generator[Any, Any, None]:
    """Publish one WebSocket message through the activity; never fails or stalls the workflow."""
    payload = {
        "workflow_id": run.workflow_id,
        "session_id": run.session_id,
        "owner_id": run.owner_id,
        "message": message.model_dump(mode="json", exclude_none=True),
    }
    call = context.call_activity(PUBLISH_ACTIVITY, payload)
    deadline = context.create_timer(
        context.current_utc_datetime + timedelta(seconds=run.publish_timeout_seconds)
    )
    winner = yield context.task_any([call, deadline])
    if winner is call and not deadline.is_completed:
        deadline.cancel()


def _run_agent(
    context: df.DurableOrchestrationContext, policy: AgentPolicy, agent_input: dict[str, Any]
) -> Generator[Any, Any, _Outcome]:
    """Attempt the agent until it succeeds, runs out of attempts, or its deadline passes.

    The deadline is one absolute moment, but every attempt races its OWN timer for it: the SDK
    leaves an already-scheduled task out of a new `task_any`, and the extension awaits each
    yielded action in order, so a timer shared between attempts would not stop a later attempt
    that hangs. The losing timer is cancelled (an open timer keeps the instance from finishing),
    and the pause between attempts is a single timer that never ends after the deadline."""
    retry = policy.retry_options
    deadline = context.current_utc_datetime + timedelta(seconds=policy.timeout_seconds)
    attempts = 0
    while True:
        attempts += 1
        call = context.call_activity(policy.activity, agent_input)
        timer = context.create_timer(deadline)
        winner = yield context.task_any([call, timer])
        if winner is timer:
            return _Outcome(attempts, error=_timeout(policy, attempts))
        timer.cancel()
        if not _failed(call):
            return _check_summary(policy, attempts, call.result)
        reason = _failure_reason(call.result)
        if attempts >= retry.max_number_of_attempts:
            return _Outcome(
                attempts,
                error=AgentExecutionError(
                    f"{policy.agent_name} failed after {attempts} attempt(s): {reason}",
                    details={"agent_name": policy.agent_name, "attempts": attempts},
                ),
            )
        pause = timedelta(milliseconds=retry.first_retry_interval_in_milliseconds)
        yield context.create_timer(min(context.current_utc_datetime + pause, deadline))
        if context.current_utc_datetime >= deadline:
            return _Outcome(attempts, error=_timeout(policy, attempts))


def _timeout(policy: AgentPolicy, attempts: int) -> AgentTimeoutError:
    return AgentTimeoutError(
        f"{policy.agent_name} did not finish within {policy.timeout_seconds:g} s",
        details={
            "agent_name": policy.agent_name,
            "timeout_seconds": policy.timeout_seconds,
            "attempts": attempts,
        },
    )


def _check_summary(policy: AgentPolicy, attempts: int, result: Any) -> _Outcome:
    """Only compact summaries may flow through the orchestrator (every replay re-reads them)."""
    size = len(json.dumps(result, default=str))
    if not isinstance(result, dict) or size > MAX_SUMMARY_BYTES:
        return _Outcome(
            attempts,
            error=AgentExecutionError(
                f"{policy.agent_name} returned an invalid summary "
                f"(a JSON object of at most {MAX_SUMMARY_BYTES} bytes is required)",
                details={"agent_name": policy.agent_name, "summary_bytes": size},
            ),
        )
    return _Outcome(attempts, result=result)


def _status(
    run: WorkflowInput,
    state: str,
    current_agent: str | None,
    results: dict[str, Any],
    log: list[dict[str, Any]],
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The custom status; always a non-empty dict (the SDK drops falsy custom statuses)."""
    status: dict[str, Any] = {
        "status": state,
        "current_agent": current_agent,
        "progress": round(100 * len(results) / len(run.chain)),
        "completed_agents": list(results),
        "results": results,
        "execution_log": log,
    }
    if error is not None:
        status["error"] = error
    return status


def season_workflow(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run Demand -> Inventory -> Pricing, each fed the previous summaries; stop at the first
    failure (see the module docstring for how failure is reported)."""
    run = WorkflowInput.model_validate(context.get_input())
    results: dict[str, Any] = {}
    log: list[dict[str, Any]] = []
    for policy in run.chain:
        name = policy.agent_name
        context.set_custom_status(_status(run, "running", name, results, log))
        yield from _publish(context, run, AgentStatusMessage(agent_name=name, status="running"))
        started = context.current_utc_datetime
        agent_input = {
            "workflow_id": run.workflow_id,
            "session_id": run.session_id,
            "owner_id": run.owner_id,
            "category_id": run.category_id,
            "parameters": run.parameters,
            "previous": dict(results),
        }
        outcome = yield from _run_agent(context, policy, agent_input)
        entry = {
            "agent_name": name,
            "started_at": started.isoformat(),
            "duration_ms": round(
                (context.current_utc_datetime - started).total_seconds() * 1000
            ),
            "status": "completed" if outcome.error is None else "failed",
            "attempts": outcome.attempts,
        }
        error = outcome.error
        if error is None:
            log.append(entry)
            results[name] = outcome.result
            complete = CompleteMessage(agent_name=name, result=outcome.result)
            yield from _publish(context, run, complete)
            done = AgentStatusMessage(agent_name=name, status="completed")
            yield from _publish(context, run, done)
            continue
        log.append({**entry, "error_type": error.error_type})
        failure = {"error_type": error.error_type, "message": error.message, "agent_name": name}
        context.set_custom_status(_status(run, "failed", name, results, log, failure))
        yield from _publish(
            context,
            run,
            ErrorMessage(agent_name=name, error_message=error.message, error_type=error.error_type),
        )
        yield from _publish(context, run, AgentStatusMessage(agent_name=name, status="failed"))
        raise error
    context.set_custom_status(_status(run, "completed", None, results, log))
    return {
        "status": "completed",
        "workflow_id": run.workflow_id,
        "session_id": run.session_id,
        "category_id": run.category_id,
        "results": results,
        "execution_log": log,
    }
