"""The season activity function the host registers (its body: activities/season_sync.py).

A module of its own for the reason activities/agent_triggers.py gives: the re-plan needs the
scientific stack, which loads with the first call, not with the app.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from orchestrator.season import SEASON_SYNC_ACTIVITY

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload", activity=SEASON_SYNC_ACTIVITY)
def season_sync(payload: dict[str, Any]) -> dict[str, Any]:
    from activities.season_sync import sync_season
    from shared.messaging.publisher import get_publisher
    from shared.settings import get_settings

    return sync_season(payload, get_settings(), get_publisher())
