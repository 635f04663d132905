"""Workflow HTTP API: start, status and termination of `season_workflow` runs.

    POST /api/orchestrator/run-workflow                      start (202), or the existing run
                                                             for a repeated Idempotency-Key (200,
                                                             422 when its body differs)
    GET  /api/orchestrator/workflows/{workflow_id}           status, progress, log, results
    POST /api/orchestrator/workflows/{workflow_id}/terminate stop a stuck workflow

Every function needs the `planner` app role, and a workflow is visible only to the planner who
started it: anyone else gets the same 404 as for an id that does not exist
(shared/data/ownership.py).
The functions talk to Durable only through the `durableClient` binding, so they run unchanged
in Azure and on the local runtime (localdev.durable), which serves the same client HTTP API.
Settings, the engine, the category lookup and the publisher come from the HTTP functions' one
dependency seam (orchestrator/http/dependencies.py).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ValidationError

from orchestrator.http.admission import admitted
from orchestrator.http.dependencies import dependencies
from orchestrator.workflow import ORCHESTRATOR_NAME, build_workflow_input
from shared.agents import AGENTS, AgentName
from shared.data.events import complete_key, has_event
from shared.data.ownership import (
    KeyedRun,
    find_keyed_run,
    is_owner,
    record_workflow,
    request_fingerprint,
)
from shared.errors import (
    DataNotFoundError,
    DurableUnavailableError,
    InvalidParametersError,
    WorkflowFinishedError,
    WorkflowTerminatedError,
)
from shared.http import http_endpoint, json_response, parse_body, route_workflow_id
from shared.identity import PLANNER, authorize
from shared.messaging.listeners import note_listeners
from shared.messaging.publisher import utc_now
from shared.runtime_status import FINISHED
from shared.schemas import (
    AgentStatusMessage,
    CompleteMessage,
    ErrorMessage,
    RunWorkflowRequest,
    TerminateRequest,
    WorkflowStatus,
)
from shared.telemetry import orchestration_trace

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 128

bp = df.Blueprint()


# helpers ---------------------------------------------------------------------------------


def _links(public_base_url: str | None, workflow_id: str, session_id: str) -> dict[str, str]:
    """The run's URLs: under PUBLIC_BASE_URL when it is set, else paths relative to the host
    the client called. Never built from the request's Host header, which the caller controls."""
    base = f"{(public_base_url or '').rstrip('/')}/api/orchestrator"
    return {
        "status_url": f"{base}/workflows/{workflow_id}",
        "terminate_url": f"{base}/workflows/{workflow_id}/terminate",
        "events_url": f"{base}/workflows/{workflow_id}/events?after=0",
        "negotiate_url": f"{base}/negotiate?session_id={quote(session_id)}",
    }


def _idempotency_key(req: func.HttpRequest) -> str | None:
    key: str | None = req.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidParametersError(
            f"Invalid {IDEMPOTENCY_HEADER} header",
            details={"max_length": MAX_IDEMPOTENCY_KEY},
            suggestions=[f"Send 1-{MAX_IDEMPOTENCY_KEY} printable characters, e.g. a UUID."],
        )
    return key


async def _status_or_none(
    client: df.DurableOrchestrationClient, instance_id: str, show_input: bool = False
) -> df.DurableOrchestrationStatus | None:
    """The instance's status, or None when the task hub does not know it.

    The extension answers an unknown id with 404 and an empty body, which SDK 1.7 turns into a
    TypeError (it builds the status from `None`); a body-bearing 404 gives a falsy status.
    """
    try:
        status = await client.get_status(instance_id, show_input=show_input)
    except TypeError:
        return None
    except Exception as exc:  # transport failures become a 503, not a traceback
        raise DurableUnavailableError(
            "The orchestration service is unavailable", suggestions=["Retry in a few seconds."]
        ) from exc
    return status if status else None


def _not_found(workflow_id: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"Workflow '{workflow_id}' not found",
        details={"workflow_id": workflow_id},
        suggestions=["Check the workflow_id returned by POST /api/orchestrator/run-workflow."],
    )


def _runtime_status(status: df.DurableOrchestrationStatus) -> str:
    value = status.runtime_status
    return getattr(value, "value", None) or str(value)


def _custom_status(status: df.DurableOrchestrationStatus) -> WorkflowStatus | None:
    """What the orchestrator reported, or None before its first report (or for a custom status
    it did not write)."""
    try:
        return WorkflowStatus.model_validate(status.custom_status)
    except ValidationError:
        return None


def _loads_maybe(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# functions -------------------------------------------------------------------------------


@bp.route(route="orchestrator/run-workflow", methods=["POST"])
@bp.durable_client_input(client_name="client")
@http_endpoint
async def run_workflow(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Validate, resolve the category, record the caller as owner, start `season_workflow`
    under a random id (or the id the caller's Idempotency-Key already maps to)."""
    resolved = dependencies()
    settings = resolved.settings()
    principal = authorize(req, PLANNER, settings)
    body = parse_body(req, RunWorkflowRequest)
    key = _idempotency_key(req)
    fingerprint = request_fingerprint(body)
    engine = resolved.engine()
    workflow_id = str(uuid.uuid4())
    previous_run = None
    if key is not None:
        previous = previous_run = await asyncio.to_thread(
            find_keyed_run, engine, principal.user_id, key
        )
        if previous is not None:
            _check_same_request(key, previous, fingerprint)
            existing = await _status_or_none(client, previous.workflow_id, show_input=True)
            if existing is not None:
                return _started(settings.public_base_url, existing, replayed=True)
            workflow_id = previous.workflow_id
    category_id = await asyncio.to_thread(resolved.check_category, body.category_id)
    record = functools.partial(
        record_workflow,
        engine,
        workflow_id=workflow_id,
        owner_id=principal.user_id,
        session_id=body.session_id,
        key=key,
        fingerprint=fingerprint,
    )
    if previous_run is None:  # a new plan, not the retry of one this key already started
        recorded = await admitted(
            client, engine, principal.user_id, settings, lambda: asyncio.to_thread(record)
        )
    else:
        recorded = await asyncio.to_thread(record)
    if key is not None:
        _check_same_request(key, recorded, fingerprint)
    workflow_id = recorded.workflow_id
    workflow_input = build_workflow_input(
        workflow_id,
        body.session_id,
        category_id,
        body.parameters,
        settings,
        owner_id=principal.user_id,
        trace=orchestration_trace(principal.user_id),
    )
    try:
        await client.start_new(ORCHESTRATOR_NAME, workflow_id, workflow_input)
    except Exception as exc:  # a concurrent duplicate or an unreachable hub
        existing = await _status_or_none(client, workflow_id, show_input=True)
        if key is not None and existing is not None:
            return _started(settings.public_base_url, existing, replayed=True)
        raise DurableUnavailableError(
            "The workflow could not be started", suggestions=["Retry in a few seconds."]
        ) from exc
    await asyncio.to_thread(note_listeners, settings, utc_now())
    payload = {
        "status": "started",
        "workflow_id": workflow_id,
        "session_id": body.session_id,
        "category_id": category_id,
        **_links(settings.public_base_url, workflow_id, body.session_id),
    }
    return json_response(payload, 202, {"Location": payload["status_url"]})


def _check_same_request(key: str, run: KeyedRun, fingerprint: str) -> None:
    """A reused Idempotency-Key must come with the request it was first used for."""
    if run.request_sha256 != fingerprint:
        raise InvalidParametersError(
            f"{IDEMPOTENCY_HEADER} '{key}' was already used with a different request body",
            details={"idempotency_key": key, "workflow_id": run.workflow_id},
            suggestions=[
                f"Send a new {IDEMPOTENCY_HEADER} for a different plan, or repeat the original "
                "request unchanged to get its workflow back."
            ],
        )


async def _owned(workflow_id: str, owner_id: str) -> None:
    """404 (the same as for an unknown id) unless `owner_id` started the workflow."""
    engine = dependencies().engine()
    if not await asyncio.to_thread(is_owner, engine, workflow_id, owner_id):
        raise _not_found(workflow_id)


def _started(
    public_base_url: str | None, status: df.DurableOrchestrationStatus, replayed: bool
) -> func.HttpResponse:
    started_input = _loads_maybe(status.input_) or {}
    session_id = str(started_input.get("session_id", ""))
    payload = {
        "status": "started",
        "workflow_id": status.instance_id,
        "session_id": session_id,
        "category_id": started_input.get("category_id"),
        "runtime_status": _runtime_status(status),
        "idempotent_replay": replayed,
        **_links(public_base_url, status.instance_id, session_id),
    }
    return json_response(payload, 200, {"Location": payload["status_url"]})


@bp.route(route="orchestrator/workflows/{workflow_id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@http_endpoint
async def get_workflow(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Runtime status plus what the orchestrator reported: progress, log, results, error."""
    principal = authorize(req, PLANNER, dependencies().settings())
    workflow_id = route_workflow_id(req)
    await _owned(workflow_id, principal.user_id)
    status = await _status_or_none(client, workflow_id, show_input=True)
    if status is None:
        raise _not_found(workflow_id)
    runtime_status = _runtime_status(status)
    custom = _custom_status(status)
    if runtime_status == "Terminated" and custom is not None:
        announced = await asyncio.to_thread(_announced_agents, workflow_id)
        custom = _as_announced(custom, announced)
    started_input = _loads_maybe(status.input_)
    started_input = started_input if isinstance(started_input, dict) else {}
    payload = {
        "workflow_id": status.instance_id,
        "session_id": started_input.get("session_id"),
        "category_id": started_input.get("category_id"),
        "runtime_status": runtime_status,
        **_reported(custom, runtime_status),
        "output": _final_output(runtime_status, status.output, custom),
        "created_time": status.created_time.isoformat() if status.created_time else None,
        "last_updated_time": (
            status.last_updated_time.isoformat() if status.last_updated_time else None
        ),
    }
    if runtime_status == "Terminated":
        payload["status"] = "terminated"
    return json_response(payload, 200)


UNEXPECTED_WORKFLOW_FAILURE = "The workflow stopped with an unexpected error."


def _announced_agents(workflow_id: str) -> set[str]:
    """The agents whose `complete` is in the workflow's event log: the results served."""
    engine = dependencies().engine()
    return {
        agent.name for agent in AGENTS if has_event(engine, workflow_id, complete_key(agent.name))
    }


def _as_announced(custom: WorkflowStatus, announced: set[str]) -> WorkflowStatus:
    """A terminated run as its closed event stream tells it. The orchestrator may accept an
    agent's result after the termination was announced (the terminate message queued behind
    the result, as on Azure): that agent stays stopped, as the stream and the result routes
    say, so no summary is shown for a result that is not served."""
    completed = [name for name in custom.completed_agents if name in announced]
    if completed == custom.completed_agents:
        return custom
    return custom.model_copy(
        update={
            "completed_agents": completed,
            "results": {name: s for name, s in custom.results.items() if name in announced},
            "execution_log": [
                entry
                for entry in custom.execution_log
                if entry.status != "completed" or entry.agent_name in announced
            ],
            "progress": round(100 * len(completed) / len(AGENTS)),
        }
    )


def _reported(custom: WorkflowStatus | None, runtime_status: str) -> dict[str, Any]:
    """The status fields of a workflow: what the orchestrator reported last, or, before its
    first report, the runtime status alone. No agent is current once the run has finished."""
    if custom is None:
        return {
            "status": runtime_status.lower(),
            "current_agent": None,
            "progress": 0,
            "completed_agents": [],
            "execution_log": [],
            "results": {},
            "error": None,
        }
    return {
        "status": custom.status,
        "current_agent": None if runtime_status in FINISHED else custom.current_agent,
        "progress": custom.progress,
        "completed_agents": custom.completed_agents,
        "execution_log": [entry.as_json() for entry in custom.execution_log],
        "results": custom.results,
        "error": None if custom.error is None else custom.error.as_json(),
    }


def _final_output(runtime_status: str, output: Any, custom: WorkflowStatus | None) -> Any:
    """The orchestrator's output once finished. A failed or terminated run has only an error
    string as Durable output, so the finished agents' results come from the custom status.
    Durable's failure text carries host prefixes ("Orchestrator function ... failed: ..."), so a
    failed run shows the orchestrator's own message for it (a terminated one, its reason)."""
    if runtime_status == "Completed":
        return output
    if runtime_status not in FINISHED:
        return None
    reported = _reported(custom, runtime_status)
    failure = output
    if runtime_status == "Failed":
        failure = custom.error.message if custom is not None and custom.error else None
    return {
        "status": runtime_status.lower(),
        "results": reported["results"],
        "execution_log": reported["execution_log"],
        "error": reported["error"],
        "failure": failure or UNEXPECTED_WORKFLOW_FAILURE,
    }


@bp.route(route="orchestrator/workflows/{workflow_id}/terminate", methods=["POST"])
@bp.durable_client_input(client_name="client")
@http_endpoint
async def terminate_workflow(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Terminate a running workflow and tell its browser (an `error` WORKFLOW_TERMINATED and
    `agent_status failed` for the agent that was running, which close its event stream: nothing
    the stopped agent still does is recorded or sent); 404 unknown or not the caller's, 409
    already finished."""
    principal = authorize(req, PLANNER, dependencies().settings())
    workflow_id = route_workflow_id(req)
    reason = _terminate_reason(req)
    await _owned(workflow_id, principal.user_id)
    status = await _status_or_none(client, workflow_id, show_input=True)
    if status is None:
        raise _not_found(workflow_id)
    runtime_status = _runtime_status(status)
    if runtime_status in FINISHED:
        raise WorkflowFinishedError(
            f"Workflow '{workflow_id}' already finished ({runtime_status})",
            details={"workflow_id": workflow_id, "runtime_status": runtime_status},
            suggestions=["Only pending or running workflows can be terminated."],
        )
    try:
        await client.terminate(workflow_id, reason)
    except Exception as exc:  # transport failure or the instance vanished
        raise DurableUnavailableError(
            "The workflow could not be terminated", suggestions=["Retry in a few seconds."]
        ) from exc
    await asyncio.to_thread(_announce_termination, status, reason, principal.user_id)
    return json_response(
        {"status": "terminating", "workflow_id": workflow_id, "reason": reason}, 202
    )


def _stopped_agent(custom: WorkflowStatus | None) -> AgentName:
    """The agent a termination stops: the current one unless it was already accepted, else the
    first agent of the chain that has not completed (the last when all have)."""
    completed = custom.completed_agents if custom is not None else []
    current = custom.current_agent if custom is not None else None
    if current is not None and current not in completed:
        return current
    waiting = [agent.name for agent in AGENTS if agent.name not in completed]
    return waiting[0] if waiting else AGENTS[-1].name


def _accepted_before(custom: WorkflowStatus | None, stopped: AgentName) -> list[BaseModel]:
    """`complete` + `agent_status completed` of every agent the orchestrator accepted before
    the stopped one. The next agent's activity announces an accepted result, so a termination
    before that activity started would leave it unannounced; the event log skips the ones
    already recorded."""
    if custom is None:
        return []
    chain = [agent.name for agent in AGENTS]
    messages: list[BaseModel] = []
    for name in chain[: chain.index(stopped)]:
        if name in custom.results:
            messages += CompleteMessage(agent_name=name, result=custom.results[name]).announcement()
    return messages


def _announce_termination(
    status: df.DurableOrchestrationStatus, reason: str, owner_id: str
) -> None:
    """Publish the terminal messages for the agent the termination stopped, to the owner's
    group. A publishing failure is logged: the workflow is terminated either way."""
    started_input = _loads_maybe(status.input_)
    session_id = started_input.get("session_id") if isinstance(started_input, dict) else None
    if not session_id:
        logger.warning(
            "workflow %s has no session id; termination not published", status.instance_id
        )
        return
    custom = _custom_status(status)
    agent_name = _stopped_agent(custom)
    error = WorkflowTerminatedError(f"The workflow was terminated: {reason}")
    messages: list[BaseModel] = [
        *_accepted_before(custom, agent_name),
        ErrorMessage(
            agent_name=agent_name, error_message=error.message, error_type=error.error_type
        ),
        AgentStatusMessage(agent_name=agent_name, status="failed"),
    ]
    try:
        dependencies().publisher().publish_all(
            messages,
            session_id=session_id,
            workflow_id=status.instance_id,
            owner_id=owner_id,
            close=True,
        )
    except Exception as exc:  # noqa: BLE001 - the termination itself has happened
        logger.warning(
            "termination of workflow %s not published: %s", status.instance_id, type(exc).__name__
        )


def _terminate_reason(req: func.HttpRequest) -> str:
    """The optional TerminateRequest body; no body, `{}` or no reason means the default."""
    default = "Terminated by user request"
    if not (req.get_body() or b"").strip():
        return default
    reason = parse_body(req, TerminateRequest).reason
    return (reason or "").strip() or default
