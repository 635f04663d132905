"""Durable history events and the orchestration-trigger payload, shaped as the extension sends them.

The Python SDK reads each event with `HistoryEvent(EventType, EventId, IsPlayed, Timestamp, **rest)`
and matches completions to tasks by `TaskScheduledId` (activities) or `TimerId` (timers). Task
ids are sequence numbers in the order the orchestrator first yields tasks, with the SDK's retry
bookkeeping (a retry timer, then a re-scheduled attempt) taking the next numbers when a
`CallActivityWithRetry` fails.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

# The extension's schema: upperSchemaVersion stays 1 (V2) for older SDKs, upperSchemaVersionNew
# announces V3; the long-timer settings are the Azure Storage provider's defaults.
UPPER_SCHEMA_VERSION = 1
UPPER_SCHEMA_VERSION_NEW = 2
MAXIMUM_SHORT_TIMER_DURATION = "6.00:00:00"
LONG_RUNNING_TIMER_INTERVAL = "3.00:00:00"


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    EVENT_RAISED = 15


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6


def iso(moment: datetime) -> str:
    """UTC timestamp with microseconds and a Z, as the SDK itself writes datetimes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(kind: EventType, moment: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": iso(moment),
        **fields,
    }


def orchestrator_started(moment: datetime) -> dict[str, Any]:
    return _event(EventType.ORCHESTRATOR_STARTED, moment)


def execution_started(
    moment: datetime, name: str, input_json: str | None, version: str | None = None
) -> dict[str, Any]:
    """`Version` is the orchestration version the instance is stamped with for good (the
    SDK's `context.version`); empty when versioning is off, as the extension writes it."""
    return _event(
        EventType.EXECUTION_STARTED,
        moment,
        Name=name,
        Input=input_json,
        Version=version or "",
    )


def instance_version(history: list[dict[str, Any]]) -> str | None:
    """The version an instance was stamped with (None: before versioning, or not started)."""
    for event in history:
        if event["EventType"] == EventType.EXECUTION_STARTED:
            return event.get("Version") or None
    return None


def task_scheduled(
    moment: datetime, task_id: int, name: str, input_json: str | None
) -> dict[str, Any]:
    return _event(EventType.TASK_SCHEDULED, moment, task_id, Name=name, Input=input_json)


def task_completed(moment: datetime, task_id: int, result_json: str | None) -> dict[str, Any]:
    return _event(EventType.TASK_COMPLETED, moment, TaskScheduledId=task_id, Result=result_json)


def task_failed(moment: datetime, task_id: int, reason: str, details: str) -> dict[str, Any]:
    return _event(
        EventType.TASK_FAILED, moment, TaskScheduledId=task_id, Reason=reason, Details=details
    )


def timer_created(moment: datetime, timer_id: int, fire_at: str) -> dict[str, Any]:
    return _event(EventType.TIMER_CREATED, moment, timer_id, FireAt=fire_at)


def timer_fired(moment: datetime, timer_id: int, fire_at: str) -> dict[str, Any]:
    return _event(EventType.TIMER_FIRED, moment, TimerId=timer_id, FireAt=fire_at)


def event_raised(moment: datetime, name: str, input_json: str | None) -> dict[str, Any]:
    """An external event as the extension records it: the payload under `Input`, no task id."""
    return _event(EventType.EVENT_RAISED, moment, Name=name, Input=input_json)


def execution_completed(moment: datetime, status: str, result: str | None) -> dict[str, Any]:
    return _event(EventType.EXECUTION_COMPLETED, moment, OrchestrationStatus=status, Result=result)


def execution_terminated(moment: datetime, reason: str) -> dict[str, Any]:
    return _event(EventType.EXECUTION_TERMINATED, moment, Input=reason)


def orchestration_context_json(
    instance_id: str, history: list[dict[str, Any]], new_from: int, input_json: str | None
) -> str:
    """The orchestration trigger payload: past events played, events from `new_from` on new."""
    events = [{**event, "IsPlayed": index < new_from} for index, event in enumerate(history)]
    return json.dumps(
        {
            "history": events,
            "input": input_json,
            "instanceId": instance_id,
            "isReplaying": new_from > 0,
            "parentInstanceId": None,
            "upperSchemaVersion": UPPER_SCHEMA_VERSION,
            "upperSchemaVersionNew": UPPER_SCHEMA_VERSION_NEW,
            "maximumShortTimerDuration": MAXIMUM_SHORT_TIMER_DURATION,
            "longRunningTimerIntervalDuration": LONG_RUNNING_TIMER_INTERVAL,
        }
    )


def flatten_actions(actions: Any) -> list[dict[str, Any]]:
    """The atomic actions in the order the orchestrator yielded them.

    Schema V1 sends a list of lists; V2+ a list holding one list whose compound actions
    (WhenAny/WhenAll) nest their children under `compoundActions`. Either way the depth-first
    order is the order task ids were assigned.
    """
    flat: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and "compoundActions" in node:
            walk(node["compoundActions"])
        elif isinstance(node, dict):
            flat.append(node)

    walk(actions or [])
    return flat


OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"


def parse_orchestrator_failure(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """Split the SDK's failure exception into (message, orchestrator state).

    When user code raises, the SDK raises `Exception(f"{error}{label}{state_json}")`; the host
    reads the state after the label (custom status, actions) and reports the message.
    """
    text = str(exc)
    message, _, state_text = text.partition(OUT_OF_PROC_LABEL)
    try:
        state = json.loads(state_text) if state_text else {}
    except json.JSONDecodeError:
        state = {}
    return message, state if isinstance(state, dict) else {}
