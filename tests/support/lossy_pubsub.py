"""A Web PubSub service that loses one message: the fault between the publisher and the socket.

The emulator accepted the publisher's send (202) but never hands one chosen message to the
group's sockets, as a service that dropped a frame would. The message is in the event log all
the same (it is written before it is sent), so a client that notices the gap in `sequence` can
fetch it. Patches the emulator of a stack running in this process (tests/support/live_stack.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from localdev.webpubsub import server
from localdev.webpubsub.protocol import Payload

Chooser = Callable[[dict[str, Any]], bool]


@contextmanager
def losing_one_message(monkeypatch: pytest.MonkeyPatch, chosen: Chooser) -> Iterator[list[dict]]:
    """Within the block the emulator drops the first group message `chosen` accepts; yields the
    list the lost message is appended to."""
    lost: list[dict[str, Any]] = []
    deliver = server.deliver_all

    async def lossy(targets: Any, payload: Payload, **kwargs: Any) -> None:
        body = json.loads(payload.raw) if payload.data_type == "json" else None
        if kwargs.get("group") and isinstance(body, dict) and not lost and chosen(body):
            lost.append(body)
            return
        await deliver(targets, payload, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(server, "deliver_all", lossy)
        yield lost
