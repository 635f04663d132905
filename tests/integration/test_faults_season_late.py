"""A late week on the real local stack, with its own stack (a short lateness setting): the
season pushes `actuals_late` once per missing week, plans from the contiguous weeks only (a
missing week is unknown, never zero), and completes at its end with a gap-free sequence."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration.test_faults_seasons import season_messages
from tests.integration.test_seasons_live import (
    as_csv,
    launch,
    planned,
    season_of,
    upload_csv,
    wait_versions,
    week_rows,
)
from tests.support.live_stack import FAST_SETTINGS, live_stack

pytestmark = pytest.mark.integration

LATE_DAYS = 0.0002  # about 17 s: the launch of a past season starts every week's grace


def test_a_late_week_pushes_actuals_late_once_and_the_season_completes(tmp_path: Path):
    settings = {**FAST_SETTINGS, "SEASON_ACTUALS_LATE_DAYS": str(LATE_DAYS)}
    with live_stack(tmp_path, settings) as late_stack:
        workflow_id = planned(late_stack, "late-week")
        season_id = launch(late_stack, workflow_id)["season_id"]
        season = wait_versions(late_stack, season_id, 1)
        for week in (1, 2, 4):  # week 3 never comes
            body = as_csv(week_rows(late_stack, season, week))
            assert upload_csv(late_stack, season_id, body).status_code == 202
        deadline = time.monotonic() + 60
        while season_of(late_stack, season_id)["status"] == "open":
            assert time.monotonic() < deadline, "the season did not complete"
            time.sleep(0.5)

        season = season_of(late_stack, season_id)
        events = season_messages(late_stack.database_url, season_id)
        late_weeks = [e["week_number"] for e in events if e["type"] == "actuals_late"]
        assert late_weeks == [3, *range(5, 13)]
        latest = season["versions"][-1]
        assert latest["actuals_version"] == 3
        # A missing week is unknown, never zero: the plan is made from weeks 1-2 only.
        assert latest["variance"]["weeks_with_actuals"] == 2
        assert season["status"] == "completed"
