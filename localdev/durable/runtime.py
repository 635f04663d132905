"""A local Durable Functions runtime that drives the app's real orchestrator and activity functions.

It does what the Durable extension does for an out-of-process (Python) worker:
- builds the orchestration history and hands the registered orchestrator function the same
  JSON context the host sends, reads back `isDone`, `actions`, `output`, `customStatus` (or the
  failure the SDK raises with its `$OutOfProcData$` state),
- replays the returned actions the way the extension's out-of-process shim does (see
  `localdev.durable.shim`: top-level actions awaited in order, compound actions over their
  listed children, cancelled timers, retries, no completion while a task is open), rejects a
  custom status over the extension's 16 KB limit, and turns newly issued tasks into
  TaskScheduled / TimerCreated events and work: activities run in a thread pool (a hung
  activity occupies one thread, nothing else; its late result is appended to the history only
  while the instance still runs, as in Azure), timers fire from the clock (cancelled ones too,
  as Azure's do; the replay then ignores them),
- records an activity failure as the extension does: Reason "Activity function '<name>' failed:
  <worker message>" and Details the serialized exception (message and Python stack trace),
- appends each completion in a new episode and replays until done,
- accepts external events (`raise_event`, the extension's raiseEvent API) into a durable queue,
  appends each as EventRaised in its own episode, and starts a fresh execution (same instance id,
  history reset to the new input, queued events dropped) when the orchestrator continues as new;
  an activity result or timer of an older execution is ignored, as DTFx ignores them,
- persists history per episode, so a new runtime over the same database resumes unfinished
  instances without repeating what already completed; an episode that fails for an
  infrastructure reason (a locked or unreachable database) is retried with back-off, so no
  instance is left Running with nothing scheduled.

Many instances run at once: each has an asyncio driver task; episodes run in a small thread
pool (the database and the replay are blocking), activities in a larger one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions import meta
from azure.functions.durable_functions import (
    ActivityTriggerConverter,
    OrchestrationTriggerConverter,
)
from sqlalchemy import Engine

from localdev.durable import history as h
from localdev.durable.client_api import (
    client_binding_json,
    create_api_app,
    generate_system_key,
)
from localdev.durable.clock import Clock, SystemClock
from localdev.durable.shim import ACTIVITY, ShimError, replay_actions
from localdev.durable.store import (
    DurableStore,
    Instance,
    PendingEvent,
    UnknownOrchestratorError,
)
from localdev.host.functions import FunctionEntry, functions_of_type
from shared.data.db import get_engine
from shared.orchestration_version import may_run
from shared.runtime_status import FINISHED

logger = logging.getLogger(__name__)

MAX_CUSTOM_STATUS_KB = 16
EPISODE_RETRY_FIRST_SECONDS = 0.05
EPISODE_RETRY_MAX_SECONDS = 5.0
EXCEPTION_HRESULT = -2146233088
RPC_EXCEPTION = "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException"


DEFAULT_ACTIVITY_WORKERS = 16
DEFAULT_ORCHESTRATOR_WORKERS = 4


@dataclass(frozen=True)
class _Activity:
    task_id: int
    name: str
    input: str | None
    execution: int = 0


@dataclass(frozen=True)
class _Timer:
    timer_id: int
    fire_at: str
    execution: int = 0


@dataclass(frozen=True)
class _Completion:
    """Inbox message: a task or timer of one execution finished (`event` is its history
    event); dropped when the instance has continued as new since."""

    execution: int
    event: dict[str, Any]


@dataclass(frozen=True)
class _Start:
    """Inbox message: run the first episode (ExecutionStarted)."""


@dataclass(frozen=True)
class _Terminate:
    reason: str


Work = _Activity | _Timer


@dataclass
class _Live:
    """An instance the runtime is driving: its state, inbox, and work in flight."""

    instance: Instance
    inbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    timers: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    activities: set[asyncio.Task[None]] = field(default_factory=set)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    driver: asyncio.Task[None] | None = None


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def invoke_activity(
    entry: FunctionEntry | None, name: str, input_json: str | None
) -> tuple[bool, str | None, str, str]:
    """Run one activity the way the worker does: decode the input with the activity trigger's
    converter, call the user function, encode its return value. Returns (ok, result_json,
    reason, details)."""
    if entry is None:
        return False, None, f"The function '{name}' doesn't exist or is not an activity.", ""
    try:
        value = (
            None
            if input_json is None
            else ActivityTriggerConverter.decode(
                meta.Datum(type="json", value=input_json), trigger_metadata=None
            )
        )
        result = entry.user_function(**{entry.trigger["name"]: value})
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        encoded = ActivityTriggerConverter.encode(result, expected_type=None)
        return True, encoded.value, "", ""
    except Exception as exc:  # noqa: BLE001 - an activity failure becomes a TaskFailed event
        return False, None, *activity_failure(name, exc)


def _serialized_exception(class_name: str, message: str, inner: dict[str, Any] | None) -> dict:
    """A .NET exception as the extension's error converter writes it (Newtonsoft, type names)."""
    return {
        "$type": f"{class_name}, {class_name.rsplit('.', 1)[0]}",
        "ClassName": class_name,
        "Message": message,
        "Data": None,
        "InnerException": inner,
        "HelpURL": None,
        "StackTraceString": None,
        "RemoteStackTraceString": None,
        "RemoteStackIndex": 0,
        "ExceptionMethod": None,
        "HResult": EXCEPTION_HRESULT,
        "Source": None,
        "WatsonBuckets": None,
    }


def activity_failure(name: str, exc: BaseException) -> tuple[str, str]:
    """(Reason, Details) of the TaskFailed event the extension records for a Python activity.

    The worker reports "<ExceptionType>: <message>" and the stack; the host wraps them in an
    RpcException ("Result: Failure\nException: ...\nStack: ..."); the extension's friendly
    message is the text between "\nException:" and "\nStack:" (with its leading space), the
    Reason is "Activity function '<name>' failed: <friendly message>", and Details is the
    serialized exception with the RpcException inside."""
    worker_message = f"{type(exc).__name__}: {exc}"
    stack = "".join(traceback.format_exception(exc))
    friendly = f" {worker_message}"
    rpc = _serialized_exception(
        RPC_EXCEPTION, f"Result: Failure\nException: {worker_message}\nStack: {stack}", None
    )
    details = _serialized_exception("System.Exception", friendly, rpc)
    return f"Activity function '{name}' failed: {friendly}", json.dumps(
        details, separators=(",", ":")
    )


def custom_status_error(custom_status: Any) -> str | None:
    """The extension's refusal of a custom status whose compact JSON exceeds 16 KB of UTF-16
    (whole KB, rounded down), or None when it fits."""
    if custom_status is None:
        return None
    text = json.dumps(custom_status, separators=(",", ":"), ensure_ascii=False)
    size_kb = len(text.encode("utf-16-le")) // 1024
    if size_kb <= MAX_CUSTOM_STATUS_KB:
        return None
    return (
        "The UTF-16 size of the JSON-serialized payload must not exceed "
        f"{MAX_CUSTOM_STATUS_KB:,} KB. The current payload size is {size_kb:,} KB."
    )


def invoke_orchestrator(
    entry: FunctionEntry, context_json: str
) -> tuple[dict[str, Any], str | None]:
    """Call the registered orchestrator as the worker does; returns (state, error message)."""
    context = OrchestrationTriggerConverter.decode(
        meta.Datum(type="string", value=context_json), trigger_metadata=None
    )
    try:
        return json.loads(entry.user_function(**{entry.trigger["name"]: context})), None
    except Exception as exc:  # noqa: BLE001 - the SDK reports orchestrator failures by raising
        message, state = h.parse_orchestrator_failure(exc)
        return state, message or type(exc).__name__


class DurableRuntime:
    """The local task hub. Use `async with DurableRuntime(app, url) as runtime:` or
    `await runtime.start()` / `await runtime.stop()` on the event loop that serves requests."""

    def __init__(
        self,
        app: func.FunctionApp,
        database_url: str,
        *,
        clock: Clock | None = None,
        task_hub: str = "SeasonPlanningHub",
        activity_workers: int = DEFAULT_ACTIVITY_WORKERS,
        orchestrator_workers: int = DEFAULT_ORCHESTRATOR_WORKERS,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet_activities: frozenset[str] = frozenset(),
        hop_delay_seconds: float = 0.0,
        default_version: str | None = None,
    ) -> None:
        self.app = app
        # host.json's extensions.durableTask.defaultVersion: new instances are stamped with
        # it, and instances stamped newer are left for a newer worker (CurrentOrOlder, Reject;
        # shared/orchestration_version.py).
        self.default_version = default_version
        # On Azure every activity dispatch, timer message and orchestrator episode is a
        # storage-queue round trip (roughly 0.1-0.3 s); this adds that latency to each, so
        # Azure-shaped timing can be measured locally rather than guessed.
        self.hop_delay_seconds = hop_delay_seconds
        # Activities whose every call is routine (publishing): their outcomes log at DEBUG, the
        # others' at INFO, so the log shows one line per meaningful event.
        self.quiet_activities = quiet_activities
        self.database_url = database_url
        self.clock: Clock = clock or SystemClock()
        self.task_hub = task_hub
        self.host = host
        self.port = port
        self._activity_workers = activity_workers
        self._orchestrator_workers = orchestrator_workers
        self._orchestrators = {e.name: e for e in functions_of_type(app, "orchestrationTrigger")}
        self._activity_functions = {e.name: e for e in functions_of_type(app, "activityTrigger")}
        self._live: dict[str, _Live] = {}
        self._store: DurableStore | None = None
        self._activities: ThreadPoolExecutor | None = None
        self._episodes: ThreadPoolExecutor | None = None
        self._http: web.AppRunner | None = None
        self.base_url = ""
        # Kept in memory only: handed to the host inside the client binding, never printed.
        self._system_key = generate_system_key()

    # lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the task hub's tables, start the HTTP API, and resume every unfinished
        instance."""
        engine: Engine = get_engine(self.database_url)
        self._store = DurableStore(engine)
        await asyncio.to_thread(self._store.create_tables)
        self._activities = ThreadPoolExecutor(self._activity_workers, "durable-activity")
        self._episodes = ThreadPoolExecutor(self._orchestrator_workers, "durable-episode")
        self._http = web.AppRunner(create_api_app(self, self._system_key), access_log=None)
        await self._http.setup()
        site = web.TCPSite(self._http, self.host, self.port)
        await site.start()
        bound_port = self._http.addresses[0][1]
        self.base_url = f"http://{self.host}:{bound_port}"
        for instance_id in await asyncio.to_thread(self.store.unfinished):
            await self._resume(instance_id)

    async def stop(self) -> None:
        """Stop driving instances (their history stays in the database) and the HTTP API.
        Running activity threads are abandoned, not killed, exactly as a host shutdown would."""
        for live in list(self._live.values()):
            if live.driver is not None:
                live.driver.cancel()
            for task in [*live.timers.values(), *live.activities]:
                task.cancel()
        drivers = [live.driver for live in self._live.values() if live.driver is not None]
        await asyncio.gather(*drivers, return_exceptions=True)
        self._live.clear()
        if self._episodes is not None:
            await asyncio.to_thread(self._episodes.shutdown, wait=True)
        if self._activities is not None:
            self._activities.shutdown(wait=False, cancel_futures=True)
        if self._http is not None:
            await self._http.cleanup()
            self._http = None

    async def __aenter__(self) -> DurableRuntime:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def store(self) -> DurableStore:
        if self._store is None:
            raise RuntimeError("DurableRuntime.start() has not been awaited")
        return self._store

    def client_binding_json(self) -> str:
        """The `durableClient` binding value the host passes to HTTP starter functions."""
        return client_binding_json(self.task_hub, self.base_url, self._system_key)

    # client operations ---------------------------------------------------------------------

    async def start_new(
        self, name: str, instance_id: str | None = None, input_json: str | None = None
    ) -> str:
        """Create a Pending instance and start driving it; raises UnknownOrchestratorError or
        InstanceExistsError (an instance with that id is still running)."""
        if name not in self._orchestrators:
            raise UnknownOrchestratorError(name)
        instance_id = instance_id or uuid.uuid4().hex
        await asyncio.to_thread(self.store.create, instance_id, name, input_json, self.clock.now())
        logger.info("Workflow %s started (instance %s)", name, instance_id)
        await self._resume(instance_id)
        return instance_id

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_input: bool = True
    ) -> dict[str, Any] | None:
        """The instance status in the extension's HTTP API shape, or None when unknown."""
        instance = await asyncio.to_thread(self.store.load, instance_id, show_history)
        if instance is None:
            return None
        status: dict[str, Any] = {
            "name": instance.name,
            "instanceId": instance.instance_id,
            "runtimeStatus": instance.runtime_status,
            "input": instance.input if show_input else None,
            "customStatus": instance.custom_status,
            "output": instance.output,
            "createdTime": h.iso(instance.created_at),
            "lastUpdatedTime": h.iso(instance.updated_at),
        }
        if show_history:
            status["historyEvents"] = instance.history
        return status

    async def terminate(self, instance_id: str, reason: str) -> str:
        """'accepted' when the instance was running, 'gone' when it had finished, or
        'not_found'."""
        live = self._live.get(instance_id)
        if live is not None and live.instance.running:
            live.inbox.put_nowait(_Terminate(reason))
            return "accepted"
        instance = await asyncio.to_thread(self.store.load, instance_id, False)
        return "not_found" if instance is None else "gone"

    async def raise_event(self, instance_id: str, name: str, input_json: str | None) -> str:
        """Queue external event `name` for the instance (durably, before answering): 'accepted'
        while it runs, 'gone' once it finished, 'not_found' when unknown. Its episode appends it
        as EventRaised to the execution current then, as the extension does."""
        live = self._live.get(instance_id)
        if live is None or not live.instance.running:
            instance = await asyncio.to_thread(self.store.load, instance_id, False)
            if instance is None:
                return "not_found"
            if not instance.running:
                return "gone"
        event_id = await asyncio.to_thread(
            self.store.add_pending_event, instance_id, name, input_json
        )
        live = self._live.get(instance_id)
        if live is not None:
            live.inbox.put_nowait(PendingEvent(event_id, name, input_json))
        return "accepted"

    async def wait_for(self, instance_id: str, timeout: float) -> dict[str, Any] | None:
        """Wait (up to `timeout` s) for the instance to finish; returns its status."""
        live = self._live.get(instance_id)
        if live is not None:
            await asyncio.wait_for(live.finished.wait(), timeout)
        return await self.get_status(instance_id, show_history=False)

    async def history(self, instance_id: str) -> list[dict[str, Any]]:
        instance = await asyncio.to_thread(self.store.load, instance_id, True)
        return [] if instance is None else instance.history

    # driving instances ---------------------------------------------------------------------

    async def _resume(self, instance_id: str) -> None:
        instance = await self._retrying(self.store.load, instance_id, True)
        if instance is None or not instance.running:
            return
        version = h.instance_version(instance.history)
        if not may_run(version, self.default_version):
            logger.warning(
                "Instance %s is orchestration version %s, newer than this worker's %s: left "
                "untouched for a newer worker (versionFailureStrategy Reject)",
                instance_id,
                version,
                self.default_version,
            )
            return
        live = _Live(instance)
        self._live[instance_id] = live
        if not instance.history:
            live.inbox.put_nowait(_Start())
        else:
            self._dispatch(live, _outstanding(instance))
        for pending in await self._retrying(self.store.pending_events, instance_id):
            live.inbox.put_nowait(pending)
        live.driver = asyncio.create_task(self._drive(live), name=f"durable-{instance_id}")

    async def _retrying(self, operation: Any, *args: Any) -> Any:
        """Run a blocking store or episode operation in the episode pool until it succeeds,
        with back-off: the history store being locked or unreachable is transient, and giving
        up would leave the instance Running with nothing scheduled."""
        loop = asyncio.get_running_loop()
        delay = EPISODE_RETRY_FIRST_SECONDS
        while True:
            try:
                return await loop.run_in_executor(self._episodes, operation, *args)
            except Exception as exc:  # noqa: BLE001 - any failure here is retried, never fatal
                logger.warning(
                    "Durable runtime: %s failed (%s: %s); retrying in %.2f s",
                    getattr(operation, "__name__", "operation"),
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, EPISODE_RETRY_MAX_SECONDS)

    async def _drive(self, live: _Live) -> None:
        try:
            while live.instance.running:
                message = await live.inbox.get()
                if isinstance(message, _Completion) and (
                    message.execution != live.instance.execution
                ):
                    continue
                await self._hop()
                if isinstance(message, _Terminate):
                    live.instance = await self._retrying(self._terminate, live.instance, message)
                    break
                execution = live.instance.execution
                live.instance, work = await self._retrying(self._episode, live.instance, message)
                if live.instance.execution != execution:
                    for task in live.timers.values():
                        task.cancel()
                    live.timers.clear()
                self._dispatch(live, work)
        finally:
            for task in live.timers.values():
                task.cancel()
            live.timers.clear()
            live.finished.set()
            if self._live.get(live.instance.instance_id) is live:
                del self._live[live.instance.instance_id]

    def _dispatch(self, live: _Live, work: list[Work]) -> None:
        for item in work:
            if isinstance(item, _Activity):
                task = asyncio.create_task(self._run_activity(live, item))
                live.activities.add(task)
                task.add_done_callback(live.activities.discard)
            else:
                live.timers[item.timer_id] = asyncio.create_task(self._fire(live, item))

    async def _run_activity(self, live: _Live, activity: _Activity) -> None:
        loop = asyncio.get_running_loop()
        entry = self._activity_functions.get(activity.name)
        await self._hop()
        started = time.monotonic()
        ok, result, reason, details = await loop.run_in_executor(
            self._activities, invoke_activity, entry, activity.name, activity.input
        )
        elapsed_ms = (time.monotonic() - started) * 1000
        level = logging.DEBUG if activity.name in self.quiet_activities else logging.INFO
        if ok:
            logger.log(
                level,
                "Activity %s completed in %.0f ms (instance %s)",
                activity.name,
                elapsed_ms,
                live.instance.instance_id,
            )
        else:
            logger.log(
                max(level, logging.WARNING),
                "Activity %s failed in %.0f ms (instance %s): %s",
                activity.name,
                elapsed_ms,
                live.instance.instance_id,
                reason,
            )
        now = self.clock.now()
        if ok:
            event = h.task_completed(now, activity.task_id, result)
        else:
            event = h.task_failed(now, activity.task_id, reason, details)
        if live.instance.running:
            live.inbox.put_nowait(_Completion(activity.execution, event))

    async def _hop(self) -> None:
        """One queue round trip's latency (see `hop_delay_seconds`); nothing when it is 0."""
        if self.hop_delay_seconds > 0:
            await asyncio.sleep(self.hop_delay_seconds)

    async def _fire(self, live: _Live, timer: _Timer) -> None:
        await self.clock.sleep_until(_parse_time(timer.fire_at))
        await self._hop()
        live.timers.pop(timer.timer_id, None)
        if live.instance.running:
            event = h.timer_fired(self.clock.now(), timer.timer_id, timer.fire_at)
            live.inbox.put_nowait(_Completion(timer.execution, event))

    # one episode (runs in the episode thread pool) -----------------------------------------

    def _episode(self, instance: Instance, message: Any) -> tuple[Instance, list[Work]]:
        """Replay the orchestrator with `message` appended, decide, and persist. Works on a
        copy: the caller adopts the new state only once it is saved, so a failed save leaves
        the instance exactly as it was for the retry. When the orchestrator continues as new,
        the next execution's first episode runs at once and replaces the history in the same
        save (the old execution's unconsumed events go with it)."""
        now = self.clock.now()
        consumed_event: int | None = None
        if isinstance(message, _Start):
            first = [
                h.orchestrator_started(now),
                h.execution_started(now, instance.name, instance.input, self.default_version),
            ]
        elif isinstance(message, PendingEvent):
            consumed_event = message.event_id
            first = [h.orchestrator_started(now), h.event_raised(now, message.name, message.input)]
        else:
            first = [h.orchestrator_started(now), message.event]
        updated, appended, work, next_input = self._decide(instance, first, now)
        replace_history = False
        while next_input is not None:
            fresh = dataclasses.replace(
                updated, input=next_input, history=[], execution=updated.execution + 1
            )
            logger.info(
                "Workflow %s continued as new (instance %s, execution %d)",
                instance.name,
                instance.instance_id,
                fresh.execution,
            )
            start = [
                h.orchestrator_started(now),
                h.execution_started(now, instance.name, next_input, self.default_version),
            ]
            updated, appended, work, next_input = self._decide(fresh, start, now)
            replace_history = True
        self.store.save(
            updated, appended, consumed_event=consumed_event, replace_history=replace_history
        )
        if not updated.running:
            logger.info(
                "Workflow %s %s in %.2f s (instance %s)",
                instance.name,
                updated.runtime_status.lower(),
                (now - instance.created_at).total_seconds(),
                instance.instance_id,
            )
        return updated, work

    def _decide(
        self, instance: Instance, new_events: list[dict[str, Any]], now: datetime
    ) -> tuple[Instance, list[dict[str, Any]], list[Work], str | None]:
        """One replay: (the instance as it would be saved, the events it appends, the work to
        start, and the next execution's input when the orchestrator continued as new)."""
        status = "Running"
        replay = instance.history + new_events
        state, error = invoke_orchestrator(
            self._orchestrators[instance.name],
            h.orchestration_context_json(
                instance.instance_id, replay, len(instance.history), instance.input
            ),
        )
        custom_status = state.get("customStatus")
        output = instance.output
        decided: list[dict[str, Any]] = []
        work: list[Work] = []
        next_input: str | None = None
        failure = custom_status_error(custom_status)
        if failure is not None:
            custom_status = None
        else:
            try:
                outcome = replay_actions(state.get("actions"), replay)
            except ShimError as exc:
                failure = str(exc)
            else:
                for leaf in outcome.new_leaves:
                    if leaf.kind == ACTIVITY:
                        name = leaf.name or ""
                        decided.append(h.task_scheduled(now, leaf.task_id, name, leaf.input))
                        work.append(_Activity(leaf.task_id, name, leaf.input, instance.execution))
                    else:
                        fire_at = leaf.fire_at or ""
                        decided.append(h.timer_created(now, leaf.task_id, fire_at))
                        work.append(_Timer(leaf.task_id, fire_at, instance.execution))
                if outcome.replayed_all and not outcome.open_leaves:
                    if error is not None:
                        failure = error
                    elif outcome.continue_as_new is not None:
                        next_input = outcome.continue_as_new.input
                        work = []
                    elif state.get("isDone"):
                        status, output = "Completed", state.get("output")
        if failure is not None:
            status = "Failed"
            output = f"Orchestrator function '{instance.name}' failed: {failure}"
        if status in FINISHED:
            decided.append(h.execution_completed(now, status, json.dumps(output)))
            work = []
        updated = dataclasses.replace(
            instance,
            runtime_status=status,
            output=output,
            custom_status=custom_status,
            history=replay + decided,
            updated_at=now,
        )
        return updated, new_events + decided, work, next_input

    def _terminate(self, instance: Instance, message: _Terminate) -> Instance:
        now = self.clock.now()
        event = h.execution_terminated(now, message.reason)
        updated = dataclasses.replace(
            instance,
            runtime_status="Terminated",
            output=message.reason,
            history=[*instance.history, event],
            updated_at=now,
        )
        self.store.save(updated, [event])
        logger.info(
            "Workflow %s terminated (instance %s): %s",
            instance.name,
            instance.instance_id,
            message.reason,
        )
        return updated


def _outstanding(instance: Instance) -> list[Work]:
    """Work in flight when the runtime stopped, read back from the history: every scheduled
    task without a result runs again, every timer that has not fired is re-armed (cancelled
    ones too: Azure's still fire)."""
    done = {
        e["TaskScheduledId"]
        for e in instance.history
        if e["EventType"] in (h.EventType.TASK_COMPLETED, h.EventType.TASK_FAILED)
    }
    fired = {e["TimerId"] for e in instance.history if e["EventType"] == h.EventType.TIMER_FIRED}
    work: list[Work] = []
    for event in instance.history:
        if event["EventType"] == h.EventType.TASK_SCHEDULED and event["EventId"] not in done:
            work.append(_Activity(event["EventId"], event["Name"], event.get("Input")))
        elif event["EventType"] == h.EventType.TIMER_CREATED and event["EventId"] not in fired:
            work.append(_Timer(event["EventId"], event["FireAt"]))
    return work
