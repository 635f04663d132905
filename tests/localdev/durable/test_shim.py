"""The replay shim on hand-made histories: which actions it schedules, which it waits on, and the
histories it refuses (as the Durable extension does)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localdev.durable import history as h
from localdev.durable.shim import ShimError, replay_actions

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _started():
    return [h.orchestrator_started(T0), h.execution_started(T0, "o", None)]


def _activity(name):
    return {"actionType": 0, "functionName": name, "input": None}


def _timer(cancelled=False):
    return {"actionType": 5, "fireAt": h.iso(T0), "isCanceled": cancelled}


def _any(*children):
    return {"actionType": 11, "compoundActions": list(children)}


def test_shim_awaits_top_level_actions_in_order():
    actions = [[_activity("a"), _activity("b")]]
    first = replay_actions(actions, _started())
    assert [(leaf.task_id, leaf.name) for leaf in first.new_leaves] == [(0, "a")]
    assert not first.replayed_all

    history = [*_started(), h.task_scheduled(T0, 0, "a", None)]
    history += [h.orchestrator_started(T0), h.task_completed(T0, 0, "1")]
    second = replay_actions(actions, history)
    assert [(leaf.task_id, leaf.name) for leaf in second.new_leaves] == [(1, "b")]


def test_shim_when_any_covers_only_its_listed_children():
    # the SDK's second race lists only the new activity: the earlier timer is not part of it
    actions = [[_any(_activity("a"), _timer()), _any(_activity("b"))]]
    history = [*_started(), h.task_scheduled(T0, 0, "a", None), h.timer_created(T0, 1, h.iso(T0))]
    history += [h.orchestrator_started(T0), h.task_failed(T0, 0, "r", "d")]
    history += [h.task_scheduled(T0, 2, "b", None)]
    history += [h.orchestrator_started(T0), h.timer_fired(T0, 1, h.iso(T0))]

    outcome = replay_actions(actions, history)

    assert not outcome.replayed_all
    assert [leaf.name for leaf in outcome.open_leaves] == ["b"]


def test_shim_cancelled_timer_ends_at_once_but_is_still_created():
    actions = [[_any(_activity("a"), _timer(cancelled=True)), _activity("b")]]
    outcome = replay_actions(actions, _started())

    assert [leaf.task_id for leaf in outcome.new_leaves] == [0, 1, 2]
    assert [leaf.task_id for leaf in outcome.open_leaves] == [0, 2]


def test_shim_rejects_a_history_the_replay_did_not_schedule():
    history = [*_started(), h.task_scheduled(T0, 0, "other", None)]
    with pytest.raises(ShimError, match="Non-Deterministic workflow detected"):
        replay_actions([[_activity("a")]], history)


def test_shim_rejects_unknown_actions_and_v1_payloads():
    with pytest.raises(ShimError, match="unexpected action type"):
        replay_actions([[{"actionType": 2, "functionName": "sub"}]], _started())
    with pytest.raises(ShimError, match="length 1 in outer layer"):
        replay_actions([[_activity("a")], [_activity("b")]], _started())
