"""The season workflow: the Durable orchestrator that runs the agent chain, and its trigger.

The chain comes from the agent registry (shared/agents.py) through the orchestration input:
each agent's activity, timeout and retry policy, read from settings by the HTTP starter.

The orchestrator is replayed from its history many times, so everything in here is
deterministic: the only clock is `context.current_utc_datetime`, policies arrive in the
orchestration input (read from settings by the HTTP starter, never here), and every side effect
(running an agent, publishing progress) happens in an activity.

Per agent the planner's browser receives, in order: agent_status running and the agent's
progress messages (published by the agent's own activity), then complete + agent_status
completed, or error + agent_status failed. Who publishes the complete: once the orchestrator has
accepted an agent's summary it hands it (a CompleteMessage, the compact summary) to the NEXT
agent's activity in its AgentTask, and that activity records complete + completed before its own
running. Nothing is announced before the orchestrator accepted it (the next activity is only
scheduled after that), the order holds (the previous agent's last messages come before the next
agent's first), and a retried attempt records them again harmlessly (the event log identifies a
message by its content, shared/data/events.py). The orchestrator publishes, through its one
publishing activity, only what no later activity can: the last agent's complete + completed
(closing the stream), or a failure's error + agent_status failed. Each such batch starts with
the previous agent's complete + completed, because the failing agent's activity may never have
recorded them (its attempts did not start before the deadline, or failed before writing); the
event log skips them when they are already in. A termination (orchestrator/http/runs.py)
announces the accepted results the same way before its error.

On Azure every activity call, timer and orchestrator episode is a storage-queue round trip. A
happy-path workflow schedules 4 activities (the 3 agents and one publish) and 3 deadline timers
in 5 episodes: 9 round trips in sequence (the first episode, then per agent its dispatch and the
episode that reads its result, then the publish's dispatch and the last episode). It was 6
activities in 7 episodes (13 in sequence) when the orchestrator published each agent's complete
itself, and 12 activities + 12 timers when it published every status message, each raced
against a timer.

Timeout and retry: each agent gets ONE deadline (an absolute moment) covering all its attempts
and the pauses between them; each attempt races its own timer for that moment. Retries are an
explicit loop of `call_activity` + a back-off timer rather than
`call_activity_with_retry`, because only the loop lets the orchestrator (a) count attempts
exactly, for the execution log, (b) stop retrying the moment the deadline passes and (c) retry
only what may succeed: an activity reports the errors it understands as a typed AgentOutcome
failure (shared/outcomes.py); missing data or invalid parameters fail on the first attempt with
their own error_type and message, a locked database or an unexpected exception is retried.

How a failed run ends: the orchestrator records the failure in its custom status (status
"failed", the error, the finished agents' results and the execution log), publishes it, and
then raises the error. Durable marks the instance Failed and keeps the last custom status, so
`GET /workflows/{id}` shows runtimeStatus Failed AND what did finish. A late attempt (its
deadline passed) can still finish in the background; nothing it does is visible: the event log
is closed by the terminal `agent_status failed`, and result endpoints serve only results whose
`complete` message the orchestrator published.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.activity_inputs import AgentTask, PublishRequest
from shared.agents import AGENTS, AgentName, Registry
from shared.errors import AgentExecutionError, AgentTimeoutError, AppError
from shared.outcomes import AgentOutcome
from shared.schemas import (
    AgentStatusMessage,
    CompleteMessage,
    ErrorMessage,
    ExecutionLogEntry,
    SeasonParameters,
    Summary,
    WorkflowFailure,
    WorkflowOutput,
    WorkflowState,
    WorkflowStatus,
)
from shared.settings import Settings
from shared.telemetry import TraceContext, traced_orchestration

ORCHESTRATOR_NAME = "season_workflow"
PUBLISH_ACTIVITY = "publish_message"
# Publishing is a database write (delivery happens in the background): retried, with the
# agents' retry interval, over a database locked for tens of seconds; never raced against a timer.
PUBLISH_ATTEMPTS = 5
# The custom status carries every finished agent's summary, the execution log and the error, and
# the extension refuses a custom status over 16 KB of UTF-16 (about 8,700 ASCII characters):
# three summaries of this size plus the rest stay well under it (tests prove the worst case).
MAX_SUMMARY_BYTES = 2048
# Errors travel in the custom status too: an agent's message is cut to this length.
MAX_ERROR_CHARS = 300
UNEXPECTED_FAILURE = "it stopped with an unexpected error (the function log has the details)"


class AgentPolicy(BaseModel):
    """An agent's step as the orchestrator receives it: name, activity, timeout and retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_name: AgentName
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
    parameters: SeasonParameters
    chain: list[AgentPolicy] = Field(min_length=1)
    publish_retry_interval_ms: int = Field(ge=1)
    # Written by the HTTP starter when telemetry is on; copied into every activity input.
    trace: TraceContext | None = None

    @property
    def publish_retry(self) -> df.RetryOptions:
        return df.RetryOptions(self.publish_retry_interval_ms, PUBLISH_ATTEMPTS)


def chain_policies(settings: Settings, agents: Registry = AGENTS) -> list[AgentPolicy]:
    """The registry's chain with each agent's timeout and the shared retry policy from
    `settings`."""
    return [
        AgentPolicy(
            agent_name=agent.name,
            activity=agent.activity,
            timeout_seconds=agent.timeout(settings),
            max_attempts=settings.agent_max_attempts,
            retry_interval_ms=settings.agent_retry_interval_ms,
        )
        for agent in agents
    ]


def build_workflow_input(
    workflow_id: str,
    session_id: str,
    category_id: str,
    parameters: SeasonParameters,
    settings: Settings,
    *,
    owner_id: str,
    trace: TraceContext | None = None,
    agents: Registry = AGENTS,
) -> dict[str, Any]:
    """The JSON input the HTTP starter passes to `start_new` (settings are read here, not in
    the orchestrator, so a replay never sees a changed policy). `owner_id` travels with the
    run so that every message reaches only the owner's Web PubSub group; `agents` is the chain
    (the app's registry unless a test runs its own)."""
    return WorkflowInput(
        workflow_id=workflow_id,
        session_id=session_id,
        owner_id=owner_id,
        category_id=category_id,
        parameters=parameters,
        chain=chain_policies(settings, agents),
        publish_retry_interval_ms=settings.agent_retry_interval_ms,
        trace=trace,
    ).model_dump(mode="json", exclude_none=True)


@dataclass
class _Outcome:
    """What one attempt or one agent's run came to: its summary, or the error that stopped it
    (and whether another attempt could help)."""

    attempts: int
    result: Summary = field(default_factory=dict)
    error: AppError | None = None
    retryable: bool = False


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _failed(task: Any) -> bool:
    """`task_any` hands back the winner even when it failed; its result is then the exception."""
    return isinstance(task.result, Exception)


def _announce(
    context: df.DurableOrchestrationContext,
    run: WorkflowInput,
    messages: Sequence[BaseModel],
    close: bool = False,
) -> Generator[Any, Any, None]:
    """Publish the orchestrator's decision as one batch through the activity. The decision is
    in the custom status either way, so a publishing failure never fails the workflow. The
    request is built unvalidated for that reason: the activity validates it, and a request it
    refuses fails the publishing, not the workflow."""
    payload = PublishRequest.model_construct(
        workflow_id=run.workflow_id,
        session_id=run.session_id,
        owner_id=run.owner_id,
        messages=[m.model_dump(mode="json", exclude_none=True) for m in messages],
        close=close,
        trace=run.trace,
    ).model_dump(mode="json", exclude_none=True)
    try:
        yield context.call_activity_with_retry(PUBLISH_ACTIVITY, run.publish_retry, payload)
    except Exception:  # noqa: BLE001 - the SDK throws the failed task into the generator
        return


def _run_agent(
    context: df.DurableOrchestrationContext, policy: AgentPolicy, agent_input: dict[str, Any]
) -> Generator[Any, Any, _Outcome]:
    """Attempt the agent until it succeeds, fails for good, runs out of attempts, or its
    deadline passes.

    The deadline is one absolute moment, but every attempt races its OWN timer for it: the SDK
    leaves an already-scheduled task out of a new `task_any`, and the extension awaits each
    yielded action in order, so a timer shared between attempts would not stop a later attempt
    that hangs. The losing timer is cancelled (an open timer keeps the instance from finishing),
    and the pause between attempts is a single timer that never ends after the deadline."""
    retry = policy.retry_options
    deadline = context.current_utc_datetime + timedelta(seconds=policy.timeout_seconds)
    attempt_input = {**agent_input, "deadline": deadline.isoformat()}
    attempts = 0
    while True:
        attempts += 1
        call = context.call_activity(policy.activity, attempt_input)
        timer = context.create_timer(deadline)
        winner = yield context.task_any([call, timer])
        if winner is timer:
            return _Outcome(attempts, error=_timeout(policy, attempts))
        timer.cancel()
        outcome = _attempt_outcome(policy, attempts, call)
        if outcome.error is None or not outcome.retryable:
            return outcome
        if attempts >= retry.max_number_of_attempts:
            return _exhausted(policy, attempts, outcome.error)
        pause = timedelta(milliseconds=retry.first_retry_interval_in_milliseconds)
        yield context.create_timer(min(context.current_utc_datetime + pause, deadline))
        if context.current_utc_datetime >= deadline:
            return _Outcome(attempts, error=_timeout(policy, attempts))


def _attempt_outcome(policy: AgentPolicy, attempts: int, call: Any) -> _Outcome:
    """Read one finished attempt: the summary, the typed failure the activity reported, or an
    unexpected failure (a failed task: retryable, and its text never reaches a client)."""
    details = {"agent_name": policy.agent_name, "attempts": attempts}
    if _failed(call):
        error = AgentExecutionError(UNEXPECTED_FAILURE, details=details)
        return _Outcome(attempts, error=error, retryable=True)
    try:
        outcome = AgentOutcome.model_validate(call.result)
    except ValidationError:
        error = AgentExecutionError(
            f"{policy.agent_name} returned an invalid outcome", details=details
        )
        return _Outcome(attempts, error=error)
    failure = outcome.failure
    if failure is not None:
        reported = failure.model_copy(
            update={"message": _short(failure.message), "details": {**failure.details, **details}}
        ).to_error()
        return _Outcome(attempts, error=reported, retryable=failure.retryable)
    return _check_summary(policy, attempts, outcome.summary)


def _exhausted(policy: AgentPolicy, attempts: int, error: AppError) -> _Outcome:
    """The last attempt's error, restated to say that every attempt failed."""
    message = _short(f"{policy.agent_name} failed after {attempts} attempt(s): {error.message}")
    return _Outcome(attempts, error=error.restated(message))


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
    if size > MAX_SUMMARY_BYTES:
        return _Outcome(
            attempts,
            error=AgentExecutionError(
                f"{policy.agent_name} returned a summary of {size} bytes "
                f"(at most {MAX_SUMMARY_BYTES} are allowed)",
                details={"agent_name": policy.agent_name, "summary_bytes": size},
            ),
        )
    return _Outcome(attempts, result=result)


def _status(
    run: WorkflowInput,
    state: WorkflowState,
    current_agent: AgentName | None,
    results: dict[AgentName, Summary],
    log: list[ExecutionLogEntry],
    error: WorkflowFailure | None = None,
) -> dict[str, Any]:
    """The custom status as JSON; always a non-empty dict (the SDK drops falsy custom
    statuses)."""
    status = WorkflowStatus(
        status=state,
        current_agent=current_agent,
        progress=round(100 * len(results) / len(run.chain)),
        completed_agents=list(results),
        results=results,
        execution_log=log,
    )
    if error is not None:
        status.error = error
    return status.as_json()


def season_workflow(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run Demand -> Inventory -> Pricing (each activity reloads the earlier agents' full
    results from the database); stop at the first failure (see the module docstring for how
    failure is reported). The custom status always lists an agent among `completed_agents`
    before its `complete` message goes out. With telemetry on, the orchestration's span is
    recorded once it ended, never during a replay (shared/telemetry)."""
    run = WorkflowInput.model_validate(context.get_input())
    return (
        yield from traced_orchestration(context, run.trace, run.workflow_id, _chain(context, run))
    )


def _chain(
    context: df.DurableOrchestrationContext, run: WorkflowInput
) -> Generator[Any, Any, dict[str, Any]]:
    results: dict[AgentName, Summary] = {}
    log: list[ExecutionLogEntry] = []
    agent_input = AgentTask(
        workflow_id=run.workflow_id,
        session_id=run.session_id,
        owner_id=run.owner_id,
        category_id=run.category_id,
        parameters=run.parameters,
        trace=run.trace,
    ).model_dump(mode="json", exclude_none=True)
    # The accepted result not yet known to be announced: the next agent's activity announces it.
    accepted: CompleteMessage | None = None
    for index, policy in enumerate(run.chain):
        name = policy.agent_name
        context.set_custom_status(_status(run, "running", name, results, log))
        started = context.current_utc_datetime
        task_input = agent_input
        if accepted is not None:
            task_input = {
                **agent_input,
                "accepted": accepted.model_dump(mode="json", exclude_none=True),
            }
        outcome = yield from _run_agent(context, policy, task_input)
        entry = ExecutionLogEntry(
            agent_name=name,
            started_at=started.isoformat(),
            duration_ms=round((context.current_utc_datetime - started).total_seconds() * 1000),
            status="completed" if outcome.error is None else "failed",
            attempts=outcome.attempts,
        )
        # `running` before the decision in each batch: already recorded by the agent's activity
        # in the normal case (the event log skips it), it keeps the documented order when the
        # deadline passed before the activity even started.
        running = AgentStatusMessage(agent_name=name, status="running")
        # The previous agent's announcement leads this agent's batch: its activity made it in
        # the normal case (the event log skips the repeat), but an activity that never started
        # before the deadline, or failed before recording it, did not.
        earlier: list[BaseModel] = [*accepted.announcement()] if accepted is not None else []
        error = outcome.error
        if error is None:
            summary = outcome.result
            log.append(entry)
            results[name] = summary
            accepted = CompleteMessage(agent_name=name, result=summary)
            if index < len(run.chain) - 1:
                continue
            context.set_custom_status(_status(run, "completed", None, results, log))
            finished = [*earlier, running, *accepted.announcement()]
            yield from _announce(context, run, finished, close=True)
            continue
        entry.error_type = error.error_type
        log.append(entry)
        failure = WorkflowFailure(
            error_type=error.error_type, message=error.message, agent_name=name
        )
        if error.suggestions:
            failure.suggestions = [s[:300] for s in error.suggestions[:5]]
        context.set_custom_status(_status(run, "failed", None, results, log, failure))
        failed = [
            *earlier,
            running,
            ErrorMessage(
                agent_name=name,
                error_message=error.message,
                error_type=error.error_type,
                suggestions=failure.suggestions or None,
            ),
            AgentStatusMessage(agent_name=name, status="failed"),
        ]
        yield from _announce(context, run, failed)
        raise error
    return WorkflowOutput(
        status="completed",
        workflow_id=run.workflow_id,
        session_id=run.session_id,
        category_id=run.category_id,
        results=results,
        execution_log=log,
    ).as_json()


bp = df.Blueprint()
bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_NAME)(season_workflow)
