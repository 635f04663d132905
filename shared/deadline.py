"""An agent attempt's deadline, checked by the work itself.

Why: the orchestrator abandons an attempt when the agent's deadline passes (its timer wins the
race), but an activity cannot be cancelled: without a check the abandoned attempt kept fitting
models for minutes, taking the CPU the next plans needed (146-175 s per attempt on a poisoned
history). The planning loops call a `Checkpoint` between units of work (one model fit, one
k-means fit, one agent step), each well under a second, so an attempt stops within a second of
its deadline and frees its worker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shared.errors import AgentTimeoutError

Checkpoint = Callable[[], None]
"""Raises DeadlinePassedError once the attempt's deadline has passed; returns otherwise."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DeadlinePassedError(AgentTimeoutError):
    """The attempt's deadline passed while it worked. Not retryable: the deadline covers all
    of the agent's attempts, so another attempt would start already late."""

    retryable = False


def deadline_checkpoint(deadline: datetime, clock: Clock = utc_now) -> Checkpoint:
    """A checkpoint for `deadline`, reading time from `clock` (a naive deadline is UTC, as the
    Durable SDK's clock is)."""
    if deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)

    def check() -> None:
        now = clock()
        if now >= deadline:
            raise DeadlinePassedError(
                "The agent stopped: its deadline passed while it was still working.",
                details={"deadline": deadline.isoformat(), "stopped_at": now.isoformat()},
                suggestions=[
                    "Plan again; if it keeps timing out, raise the agent's timeout setting "
                    "(DEMAND/INVENTORY/PRICING_AGENT_TIMEOUT_SECONDS) or shorten the history."
                ],
            )

    return check


def check(checkpoint: Checkpoint | None) -> None:
    """Call `checkpoint` when one was given: the planning functions stay usable without one."""
    if checkpoint is not None:
        checkpoint()
