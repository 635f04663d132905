"""The live season: one long-lived orchestration per launched plan, one generation per wake.

A generation (DESIGN.md's facts on external events in SDK 1.7.0):
1. `season_sync` brings the season up to date with the database (activities/season_sync.py):
   re-plans when new actuals arrived, pushes `actuals_late`, or finds the season over;
2. when over, the orchestration completes with the closing summary;
3. otherwise it waits ONCE for the `actuals_uploaded` doorbell or the timer of the next
   deadline, whichever comes first, and continues as new.
Waiting once per generation and reading the database before every wait make an early,
duplicate, reordered or dropped doorbell harmless: SDK 1.7.0 hands a stale buffered event to
every later wait of the same name, and continue-as-new drops unconsumed events. Continuing as
new after every wake keeps the history to one generation (about ten events) and exposes only
the generation in flight to a deployment. Inputs, outputs and events carry the season id only.

The orchestrator's name, the activity's, the event's and the input's schema number are here
and nowhere else.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

import azure.durable_functions as df
from pydantic import BaseModel, ConfigDict

SEASON_ORCHESTRATOR = "season_orchestrator"
SEASON_SYNC_ACTIVITY = "season_sync"
ACTUALS_EVENT = "actuals_uploaded"
SEASON_INPUT_SCHEMA = 1

bp = df.Blueprint()


class SeasonRun(BaseModel):
    """The orchestration's input, the same in every generation."""

    model_config = ConfigDict(extra="forbid")

    season_id: str
    schema_version: int = SEASON_INPUT_SCHEMA


def season_input(season_id: str) -> dict[str, Any]:
    return SeasonRun(season_id=season_id).model_dump(mode="json")


def season_orchestrator(
    context: df.DurableOrchestrationContext,
) -> Generator[Any, Any, dict[str, Any] | None]:
    """One generation (see the module docstring); the function's name is the orchestrator's."""
    run = SeasonRun.model_validate(context.get_input())
    sync = yield context.call_activity_with_retry(
        SEASON_SYNC_ACTIVITY,
        df.RetryOptions(1000, 3),
        {"season_id": run.season_id, "now": context.current_utc_datetime.isoformat()},
    )
    context.set_custom_status({"season_id": run.season_id, "version": sync["version"]})
    if sync["finished"]:
        closing: dict[str, Any] = sync["closing"] or {"season_id": run.season_id}
        return closing
    doorbell = context.wait_for_external_event(ACTUALS_EVENT)
    timer = context.create_timer(datetime.fromisoformat(sync["wake_at"]))
    winner = yield context.task_any([doorbell, timer])
    if winner is doorbell:
        timer.cancel()
    context.continue_as_new(run.model_dump(mode="json"))
    return None


bp.orchestration_trigger(context_name="context", orchestration=SEASON_ORCHESTRATOR)(
    season_orchestrator
)
