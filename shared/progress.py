"""The progress callback: how an agent reports `(percent, message)` while it runs.

One type for both ends: the agents take a `ProgressReporter` and call it through `report`; the
Web PubSub publisher (shared.messaging.publisher) builds one per agent run. It lives here, apart
from both, so the agents never import the messaging layer and stay usable without it.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressReporter = Callable[[int, str], None]


def report(progress: ProgressReporter | None, percent: int, message: str) -> None:
    """Call `progress` when one was given, with `percent` clamped to 0..100; agents stay usable
    (and testable) without one."""
    if progress is not None:
        progress(max(0, min(100, int(percent))), message)
