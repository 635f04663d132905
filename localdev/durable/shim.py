"""What the Durable extension does with the actions an out-of-process orchestrator returns.

Facts taken from the extension (`Listener/OutOfProcOrchestrationShim.cs`,
`Listener/TaskOrchestrationShim.cs`, `ContextImplementations/DurableOrchestrationContext.cs`) and
the Durable Task Framework it runs on (`TaskOrchestrationContext.cs`,
`TaskOrchestrationExecutor.cs`, `RetryInterceptor.cs`):

- Every episode the extension replays the orchestration from the start: it re-issues the
  actions the worker returned and re-reads the whole history. Each issued task takes the next
  sequence number; a history event completes the open task with that number.
- Schema V2+ (the Python SDK's): `actions` is `[[a1, a2, ...]]`, one top-level action per yield.
  The shim issues a top-level action and AWAITS it before issuing the next one, so nothing after
  an unfinished action is scheduled, and the worker's `error` or `isDone` only takes effect once
  every top-level action has finished. WhenAny/WhenAll wrap exactly the children listed under
  `compoundActions` (the SDK leaves already-scheduled tasks out of a new compound action).
- A timer action with `isCanceled` is created (TimerCreated is still recorded and the timer
  still fires later, then is ignored) and its task ends at once as cancelled.
- CallActivityWithRetry: a failed attempt gets a delay timer (first interval x coefficient^n,
  capped by the max interval), then the next attempt; after the LAST failed attempt a timer due
  immediately is still created before the failure surfaces (kept for back-compat in DTFx).
- The orchestration completes or fails only when it has no open task left: an activity that
  lost a race keeps the instance Running until it ends (activities cannot be cancelled).
- A history TaskScheduled/TimerCreated that the replay did not issue is non-determinism and
  fails the instance.
- WaitForExternalEvent has no sequence number: it waits on the event's name, compared without
  case (the extension's dictionaries are OrdinalIgnoreCase). Waiters with one name form a stack
  (an EventRaised completes the newest); an event nobody waits for is queued per name, FIFO,
  and handed to the next wait with that name. An open wait does not hold the instance open.
- ContinueAsNew is fire-and-forget: it finishes at once and carries the next execution's input
  (the runtime starts that execution; the queued, unconsumed events are dropped, as the
  extension's `ContinueAsNew(input, preserveUnprocessedEvents: false)` does for Python).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localdev.durable import history as h

WHEN_ANY = 11
WHEN_ALL = 12
ACTIVITY = "activity"
TIMER = "timer"
EVENT = "event"
CONTINUE_AS_NEW = "continue_as_new"


class ShimError(Exception):
    """What the extension throws while replaying actions; it fails the instance."""


@dataclass
class Leaf:
    """One scheduled task: an activity attempt or a timer."""

    task_id: int
    kind: str
    name: str | None = None
    input: str | None = None
    fire_at: str | None = None
    done: bool = False
    failed: bool = False
    cancelled: bool = False
    owner: _Retry | None = None

    @property
    def finished(self) -> bool:
        return self.done or self.cancelled


@dataclass
class _Retry:
    """The extension's side of CallActivityWithRetry."""

    name: str
    input: str | None
    first_ms: float
    coefficient: float
    max_ms: float | None
    max_attempts: int
    attempts: int = 0
    current: Leaf | None = None
    finished: bool = False


@dataclass
class _Compound:
    any_of: bool
    children: list[Node]

    @property
    def finished(self) -> bool:
        states = [_finished(child) for child in self.children]
        return any(states) if self.any_of else all(states)


Node = Leaf | _Retry | _Compound


def _finished(node: Node) -> bool:
    return node.finished


@dataclass
class ShimOutcome:
    """The result of replaying one episode's actions against the history."""

    replayed_all: bool
    new_leaves: list[Leaf] = field(default_factory=list)
    open_leaves: list[Leaf] = field(default_factory=list)
    continue_as_new: Leaf | None = None
    """Set when the episode continued as new: the leaf's `input` is the next execution's."""


@dataclass
class _Replay:
    actions: list[dict[str, Any]]
    next_id: int = 0
    now: datetime | None = None
    leaves: dict[int, Leaf] = field(default_factory=dict)
    recorded: set[int] = field(default_factory=set)
    position: int = 0
    current: Node | None = None
    waiters: dict[str, list[Leaf]] = field(default_factory=dict)
    queued_events: dict[str, list[str | None]] = field(default_factory=dict)
    continue_as_new: Leaf | None = None

    def advance(self) -> None:
        """Issue top-level actions in order while the one being awaited has finished."""
        while self.current is None or _finished(self.current):
            if self.position >= len(self.actions):
                self.current = None
                return
            action = self.actions[self.position]
            self.position += 1
            self.current = self.issue(action)

    @property
    def replayed_all(self) -> bool:
        return self.current is None and self.position >= len(self.actions)

    def leaf(self, kind: str, **fields: Any) -> Leaf:
        leaf = Leaf(self.next_id, kind, **fields)
        self.next_id += 1
        self.leaves[leaf.task_id] = leaf
        return leaf

    def issue(self, action: dict[str, Any]) -> Node:
        kind = action.get("actionType")
        if kind == h.ActionType.CALL_ACTIVITY:
            return self.leaf(ACTIVITY, name=action["functionName"], input=action.get("input"))
        if kind == h.ActionType.CREATE_TIMER:
            timer = self.leaf(TIMER, fire_at=action["fireAt"])
            timer.cancelled = bool(action.get("isCanceled"))
            return timer
        if kind == h.ActionType.CALL_ACTIVITY_WITH_RETRY:
            options = action.get("retryOptions") or {}
            retry = _Retry(
                name=action["functionName"],
                input=action.get("input"),
                first_ms=float(options["firstRetryIntervalInMilliseconds"]),
                coefficient=float(options.get("backoffCoefficient") or 1),
                max_ms=options.get("maxRetryIntervalInMilliseconds"),
                max_attempts=int(options["maxNumberOfAttempts"]),
            )
            self.attempt(retry)
            return retry
        if kind == h.ActionType.WAIT_FOR_EXTERNAL_EVENT:
            return self.wait(str(action["externalEventName"]))
        if kind == h.ActionType.CONTINUE_AS_NEW:
            self.continue_as_new = Leaf(-1, CONTINUE_AS_NEW, input=action.get("input"), done=True)
            return self.continue_as_new
        if kind in (WHEN_ANY, WHEN_ALL):
            children = [self.issue(child) for child in action.get("compoundActions") or []]
            if kind == WHEN_ANY and not children:
                raise ShimError("The tasks argument contains no tasks.")
            return _Compound(kind == WHEN_ANY, children)
        raise ShimError(
            f"Received an unexpected action type from the out-of-proc function: '{kind}'."
        )

    def wait(self, name: str) -> Leaf:
        """A wait takes the oldest queued event with its name, or joins the name's waiters."""
        leaf = Leaf(-1, EVENT, name=name)
        queued = self.queued_events.get(name.casefold())
        if queued:
            leaf.input, leaf.done = queued.pop(0), True
        else:
            self.waiters.setdefault(name.casefold(), []).append(leaf)
        return leaf

    def raise_event(self, name: str, input_json: str | None) -> None:
        """An EventRaised completes the newest open wait with its name, or is queued."""
        waiting = self.waiters.get(name.casefold())
        if waiting:
            leaf = waiting.pop()
            leaf.input, leaf.done = input_json, True
        else:
            self.queued_events.setdefault(name.casefold(), []).append(input_json)

    def attempt(self, retry: _Retry) -> None:
        retry.attempts += 1
        retry.current = self.leaf(ACTIVITY, name=retry.name, input=retry.input, owner=retry)

    def retry_timer(self, retry: _Retry) -> None:
        assert self.now is not None
        if retry.attempts >= retry.max_attempts:
            delay_ms = 0.0
        else:
            delay_ms = retry.first_ms * retry.coefficient ** (retry.attempts - 1)
            if retry.max_ms:
                delay_ms = min(delay_ms, float(retry.max_ms))
        fire_at = h.iso(self.now + timedelta(milliseconds=delay_ms))
        retry.current = self.leaf(TIMER, fire_at=fire_at, owner=retry)

    def complete(self, task_id: int, failed: bool) -> None:
        """A completion event; one for a task no longer open is ignored, as DTFx does."""
        leaf = self.leaves.get(task_id)
        if leaf is None or leaf.finished:
            return
        leaf.done, leaf.failed = True, failed
        retry = leaf.owner
        if retry is None:
            return
        if leaf.kind == ACTIVITY and not failed:
            retry.finished = True
        elif leaf.kind == ACTIVITY:
            self.retry_timer(retry)
        elif retry.attempts >= retry.max_attempts:
            retry.finished = True
        else:
            self.attempt(retry)

    def record(self, event: dict[str, Any]) -> None:
        """A TaskScheduled/TimerCreated from an earlier episode must match an issued task."""
        task_id = event["EventId"]
        leaf = self.leaves.get(task_id)
        scheduled = event["EventType"] == h.EventType.TASK_SCHEDULED
        expected_kind = ACTIVITY if scheduled else TIMER
        if leaf is None or leaf.kind != expected_kind or (scheduled and leaf.name != event["Name"]):
            what = f"an activity task named '{event.get('Name')}'" if scheduled else "a timer"
            raise ShimError(
                f"Non-Deterministic workflow detected: A previous execution of this "
                f"orchestration scheduled {what} with sequence ID {task_id}, but the current "
                f"replay execution hasn't (yet?) scheduled this task. Was a change made to the "
                f"orchestrator code after this instance had already started running?"
            )
        self.recorded.add(task_id)


def replay_actions(actions_payload: Any, history: list[dict[str, Any]]) -> ShimOutcome:
    """Replay the worker's actions against `history` as the extension does (schema V2+).

    Raises ShimError for what makes the extension fail the instance (a malformed action list,
    an unsupported action, non-determinism)."""
    if not isinstance(actions_payload, list) or len(actions_payload) != 1:
        size = len(actions_payload) if isinstance(actions_payload, list) else 0
        raise ShimError(
            "With OOProc schema V2, expected actions array to be of length 1 in outer layer "
            f"but got size: {size}"
        )
    replay = _Replay(list(actions_payload[0] or []))
    for event in history:
        kind = event["EventType"]
        if kind == h.EventType.ORCHESTRATOR_STARTED:
            replay.now = datetime.fromisoformat(event["Timestamp"])
        elif kind == h.EventType.EXECUTION_STARTED:
            replay.advance()
        elif kind in (h.EventType.TASK_SCHEDULED, h.EventType.TIMER_CREATED):
            replay.record(event)
        elif kind in (h.EventType.TASK_COMPLETED, h.EventType.TASK_FAILED):
            replay.complete(event["TaskScheduledId"], kind == h.EventType.TASK_FAILED)
            replay.advance()
        elif kind == h.EventType.TIMER_FIRED:
            replay.complete(event["TimerId"], failed=False)
            replay.advance()
        elif kind == h.EventType.EVENT_RAISED:
            replay.raise_event(str(event.get("Name") or ""), event.get("Input"))
            replay.advance()
    leaves = sorted(replay.leaves.values(), key=lambda leaf: leaf.task_id)
    return ShimOutcome(
        replayed_all=replay.replayed_all,
        new_leaves=[leaf for leaf in leaves if leaf.task_id not in replay.recorded],
        open_leaves=[leaf for leaf in leaves if not leaf.finished],
        continue_as_new=replay.continue_as_new,
    )
