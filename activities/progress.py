"""The progress callback every agent accepts, so the activity layer can stream milestones to the
browser without the agents knowing about Web PubSub."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[int, str], None]


def report(progress: ProgressFn | None, percent: int, message: str) -> None:
    """Call `progress` when one was given; agents stay usable (and testable) without one."""
    if progress is not None:
        progress(max(0, min(100, int(percent))), message)
