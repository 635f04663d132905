"""Faults a live season must survive, injected into the real local stack: kill -9 between an
upload and its re-plan, two uploads at once, an upload before the orchestration waits, a late
week; and closing early. Each ends with the right versions and a gap-free message sequence."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.data.db import dispose_engine, get_engine
from shared.data.events import fetch_events
from tests.integration.test_seasons_live import (
    Served,
    as_csv,
    launch,
    planned,
    season_of,
    upload_csv,
    wait_versions,
    week_rows,
)
from tests.support.live_stack import FAST_SETTINGS, LiveStack, live_stack
from tests.support.serve_process import serving, start_serve

pytestmark = pytest.mark.integration


def season_messages(database_url: str, season_id: str) -> list[dict[str, Any]]:
    """The season's logged messages, after checking their sequence has no gap."""
    events = fetch_events(get_engine(database_url), season_id).events
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    return events


def plan_updates(events: list[dict[str, Any]]) -> list[int]:
    return [e["version"] for e in events if e["type"] == "plan_updated"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    settings = {**FAST_SETTINGS, "PRICING_AGENT_TIMEOUT_SECONDS": "90"}
    with live_stack(tmp_path_factory.mktemp("season-faults"), settings) as running:
        yield running


def test_an_upload_before_the_orchestration_waits_still_replans(stack: LiveStack):
    workflow_id = planned(stack, "early-upload")
    season_id = launch(stack, workflow_id)["season_id"]
    # At once: the season's first generation is still in its sync activity (no wait open), so
    # the doorbell is buffered; the generation's one wait takes it.
    season = {"original_plan": None, "category_id": None}
    while season["original_plan"] is None:
        season = season_of(stack, season_id)
    response = upload_csv(stack, season_id, as_csv(week_rows(stack, season, 1)))
    assert response.status_code == 202

    season = wait_versions(stack, season_id, 2, timeout=20)

    assert season["versions"][-1]["actuals_version"] == 1
    assert plan_updates(season_messages(stack.database_url, season_id)) == [2]


def test_two_uploads_at_once_end_in_one_plan_from_both(stack: LiveStack):
    workflow_id = planned(stack, "two-uploads")
    season_id = launch(stack, workflow_id)["season_id"]
    season = wait_versions(stack, season_id, 1)
    bodies = [as_csv(week_rows(stack, season, week)) for week in (1, 2)]
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda b=b: answers.append(upload_csv(stack, season_id, b)))
        for b in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(a.status_code for a in answers) == [202, 202]
    assert sorted(a.json()["actuals_version"] for a in answers) == [1, 2]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        season = season_of(stack, season_id)
        if season["versions"][-1]["actuals_version"] == 2:
            break
        time.sleep(0.1)
    latest = season["versions"][-1]
    assert latest["actuals_version"] == 2 and latest["variance"]["weeks_with_actuals"] == 2
    assert len(season["versions"]) in (2, 3)  # one re-plan per wake: one or two wakes
    versions = [v["version"] for v in season["versions"]]
    assert plan_updates(season_messages(stack.database_url, season_id)) == versions[1:]


def test_closing_early_completes_the_season_and_refuses_more_actuals(stack: LiveStack):
    workflow_id = planned(stack, "close-early")
    season_id = launch(stack, workflow_id)["season_id"]
    season = wait_versions(stack, season_id, 1)

    closed = httpx.post(f"{stack.base_url}/api/seasons/{season_id}/close", timeout=30)

    assert closed.status_code == 202, closed.text
    refused = upload_csv(stack, season_id, as_csv(week_rows(stack, season, 1)))
    assert refused.status_code == 409
    assert season_of(stack, season_id)["status"] == "closed"
    again = httpx.post(f"{stack.base_url}/api/seasons/{season_id}/close", timeout=30)
    assert again.status_code == 409


def test_kill_9_between_an_upload_and_its_replan_loses_nothing(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'stack.db'}"
    served = start_serve(tmp_path, database_url)
    try:
        stack = Served(served.base_url, database_url)
        workflow_id = planned(stack, "killed")
        season_id = launch(stack, workflow_id)["season_id"]
        season = wait_versions(stack, season_id, 1)
        response = upload_csv(stack, season_id, as_csv(week_rows(stack, season, 1)))
        assert response.status_code == 202
    finally:
        served.kill9()
    with serving(tmp_path, database_url) as restarted:
        stack = Served(restarted.base_url, database_url)
        season = wait_versions(stack, season_id, 2, timeout=60)
        time.sleep(1)
        season = season_of(stack, season_id)
        assert [v["version"] for v in season["versions"]] == [1, 2]
        assert season["versions"][-1]["actuals_version"] == 1
        assert plan_updates(season_messages(database_url, season_id)) == [2]
    dispose_engine(database_url)
