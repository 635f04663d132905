"""The per-workflow log of every progress message: gap-free sequence numbers, each message once.

Each message is written here before it is sent, so a client that missed frames (reconnect,
closed tab, service outage) can catch up from `GET .../events?after=<sequence>`.

Idempotency. A message's identity is derived from the workflow and its content
(`message_key`): one `agent_status` per agent and status, one `complete` and one `error` per
agent, one `progress` per agent and percentage. An activity that runs again (a retry, a restart
after a crash) publishes the same messages again; the log records each identity once
(insert-if-absent, backed by a unique constraint), so nothing is logged or delivered twice.
Three more rules keep what a client sees consistent whatever runs late:
- an agent's progress never goes backwards: a percentage at or below one already recorded for
  that agent is skipped (a retried attempt starts again from 5 %);
- an agent's `agent_status completed` is its last message: nothing more is recorded for it;
- `agent_status failed` closes the workflow's stream, as does a batch recorded with
  `close=True` (the last agent's completion): nothing is recorded for the workflow after its
  terminal message — not a timed-out attempt's progress, not the work of a terminated run;
- a batch (e.g. `error` + `agent_status failed`) is recorded in one transaction, so nothing
  can land between its messages.

The tables are `workflow_event_log` and `workflow_event_streams`, declared with the others in
shared/data/tables.py (earlier versions kept a log without message identities in
`workflow_events`; a database from then upgrades itself, since the new tables are simply
created next to the old ones).

Sequence numbers come from a one-row-per-workflow stream row that is updated as the
transaction's first statement: on SQLite that takes the write lock before anything is read
(concurrent writers queue on the busy timeout instead of reading a stale state), on a server
database it row-locks the stream. Either way two writers never get the same number, no number
is skipped, and the rules above see every earlier message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.data.db import session_scope
from shared.data.tables import WorkflowEvent, WorkflowEventStream

MAX_FETCH = 1000
_INSERT_ATTEMPTS = 3


@dataclass(frozen=True)
class EventPage:
    """Events after a given sequence, and the highest sequence the workflow has (0 if none)."""

    events: list[dict[str, Any]]
    last_sequence: int


SEASON_STREAM_AGENT = "season"
"""The `agent_name` column of a live season's messages (they belong to no agent)."""


def stream_agent(message: Mapping[str, Any]) -> str:
    """Whose part of the stream a message is: its agent, or the season for season messages."""
    return str(message.get("agent_name") or SEASON_STREAM_AGENT)


def message_key(message: Mapping[str, Any]) -> str:
    """A message's identity within its workflow, from its content (see the module docstring):
    a season's `plan_updated` once per version, `actuals_late` once per week."""
    kind = message["type"]
    if kind == "plan_updated":
        return f"{SEASON_STREAM_AGENT}/plan_updated/{int(message['version'])}"
    if kind == "actuals_late":
        return f"{SEASON_STREAM_AGENT}/actuals_late/{int(message['week_number'])}"
    agent = message["agent_name"]
    if kind == "agent_status":
        return f"{agent}/agent_status/{message['status']}"
    if kind == "progress":
        return f"{agent}/progress/{int(message['progress'])}"
    return f"{agent}/{kind}"


def complete_key(agent_name: str) -> str:
    """The key of an agent's `complete` message: its presence means the orchestrator accepted
    the agent's result (result endpoints serve nothing else)."""
    return message_key({"type": "complete", "agent_name": agent_name})


@dataclass
class _Stream:
    """What the rules need to know about a workflow's log, read under its lock."""

    last_sequence: int
    closed: bool
    keys: set[str]
    progress: dict[str, int]

    def admits(self, key: str, message: Mapping[str, Any]) -> bool:
        agent = stream_agent(message)
        if self.closed or key in self.keys or f"{agent}/agent_status/completed" in self.keys:
            return False
        if message["type"] == "progress":
            return int(message["progress"]) > self.progress.get(agent, -1)
        return True

    def add(self, key: str, message: Mapping[str, Any]) -> int:
        self.last_sequence += 1
        self.keys.add(key)
        if message["type"] == "progress":
            self.progress[message["agent_name"]] = int(message["progress"])
        if message["type"] == "agent_status" and message["status"] == "failed":
            self.closed = True
        return self.last_sequence


def _locked_stream(
    session: Session, workflow_id: str, messages: Sequence[Mapping[str, Any]]
) -> _Stream:
    """Lock the workflow's stream row (creating it) and read, under the lock, what the rules
    need to judge `messages`: which of their identities (and their agents' completions) are
    already logged, and their agents' highest progress."""
    row = session.execute(
        update(WorkflowEventStream)
        .where(WorkflowEventStream.workflow_id == workflow_id)
        .values(last_sequence=WorkflowEventStream.last_sequence)
        .returning(WorkflowEventStream.last_sequence, WorkflowEventStream.closed)
    ).one_or_none()
    if row is None:
        session.execute(
            insert(WorkflowEventStream).values(
                workflow_id=workflow_id, last_sequence=0, closed=False
            )
        )
        return _Stream(0, False, set(), {})
    agents = {stream_agent(m) for m in messages}
    wanted = {message_key(m) for m in messages} | {
        f"{agent}/agent_status/completed" for agent in agents
    }
    keys = set(
        session.execute(
            select(WorkflowEvent.message_key).where(
                WorkflowEvent.workflow_id == workflow_id, WorkflowEvent.message_key.in_(wanted)
            )
        ).scalars()
    )
    progress: dict[str, int] = {}
    reporting = {m["agent_name"] for m in messages if m["type"] == "progress"}
    if reporting:
        highest = session.execute(
            select(WorkflowEvent.agent_name, func.max(WorkflowEvent.progress))
            .where(
                WorkflowEvent.workflow_id == workflow_id,
                WorkflowEvent.agent_name.in_(reporting),
                WorkflowEvent.progress.is_not(None),
            )
            .group_by(WorkflowEvent.agent_name)
        )
        progress = {agent: int(percent) for agent, percent in highest if percent is not None}
    return _Stream(row.last_sequence, bool(row.closed), keys, progress)


def record_events(
    engine: Engine,
    *,
    workflow_id: str,
    session_id: str,
    created_at: datetime,
    messages: Sequence[Mapping[str, Any]],
    build: Callable[[Mapping[str, Any], int], dict[str, Any]],
    close: bool = False,
) -> list[dict[str, Any]]:
    """Store, in one transaction and in order, each message the log admits; return those.

    `build(message, sequence) -> dict` makes the stored form once the number is known, so the
    stored payload and the one sent carry the same sequence. Messages already recorded, progress
    that would go backwards, and anything after the stream closed are skipped (see the module
    docstring). `close=True` closes the stream after this batch.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            with session_scope(engine) as session:
                stream = _locked_stream(session, workflow_id, messages)
                stored: list[dict[str, Any]] = []
                for message in messages:
                    key = message_key(message)
                    if not stream.admits(key, message):
                        continue
                    record = build(message, stream.add(key, message))
                    session.add(
                        WorkflowEvent(
                            workflow_id=workflow_id,
                            sequence=record["sequence"],
                            message_key=key,
                            agent_name=stream_agent(message),
                            progress=message.get("progress"),
                            session_id=session_id,
                            message_type=message["type"],
                            payload=json.dumps(record, separators=(",", ":")),
                            created_at=created_at,
                        )
                    )
                    stored.append(record)
                session.execute(
                    update(WorkflowEventStream)
                    .where(WorkflowEventStream.workflow_id == workflow_id)
                    .values(last_sequence=stream.last_sequence, closed=stream.closed or close)
                )
            return stored
        except IntegrityError:
            # Two first events of one workflow raced to create its stream row (server databases
            # only; SQLite serialises them): the loser retries and now finds the row.
            if attempt >= _INSERT_ATTEMPTS:
                raise


def fetch_events(
    engine: Engine, workflow_id: str, after: int = 0, limit: int = MAX_FETCH
) -> EventPage:
    """Messages with sequence > `after`, oldest first, at most `limit` of them."""
    with session_scope(engine) as session:
        last = session.execute(
            select(WorkflowEventStream.last_sequence).where(
                WorkflowEventStream.workflow_id == workflow_id
            )
        ).scalar_one_or_none()
        rows = session.execute(
            select(WorkflowEvent.payload)
            .where(WorkflowEvent.workflow_id == workflow_id, WorkflowEvent.sequence > after)
            .order_by(WorkflowEvent.sequence)
            .limit(limit)
        ).scalars()
        events = [json.loads(payload) for payload in rows]
    return EventPage(events=events, last_sequence=last or 0)


def has_event(engine: Engine, workflow_id: str, key: str) -> bool:
    """Whether the workflow's log holds the message with identity `key`."""
    with session_scope(engine) as session:
        return bool(
            session.execute(
                select(
                    exists().where(
                        WorkflowEvent.workflow_id == workflow_id, WorkflowEvent.message_key == key
                    )
                )
            ).scalar()
        )
