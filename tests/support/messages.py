"""The documented WebSocket message order, as an assertion shared by the tests that check it."""

from __future__ import annotations

from typing import Any


def assert_documented_order(
    messages: list[dict[str, Any]], agents: list[str], failed: str | None = None
) -> None:
    """Per agent: agent_status running -> progress (strictly rising) -> complete + agent_status
    completed, or, for the agent that `failed`, error + agent_status failed (after `running`
    and its progress, when it got to start); sequences gap-free from 1; nothing after the
    failed agent's `agent_status failed`."""
    assert [m["sequence"] for m in messages] == list(range(1, len(messages) + 1))
    assert {m["agent_name"] for m in messages} == set(agents)
    for name in agents:
        mine = [m for m in messages if m["agent_name"] == name]
        kinds = [(m["type"], m.get("status")) for m in mine]
        if name == failed:
            assert kinds[-2:] == [("error", None), ("agent_status", "failed")], kinds
            body = kinds[:-2]
            if body:
                assert body[0] == ("agent_status", "running"), kinds
        else:
            assert kinds[0] == ("agent_status", "running"), kinds
            assert kinds[-2:] == [("complete", None), ("agent_status", "completed")], kinds
            body = kinds[:-2]
        assert all(kind == ("progress", None) for kind in body[1:]), kinds
        progress = [m["progress"] for m in mine if m["type"] == "progress"]
        assert progress == sorted(set(progress)), progress
    if failed is not None:
        assert (messages[-1]["type"], messages[-1].get("status")) == ("agent_status", "failed")
