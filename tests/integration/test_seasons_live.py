"""Live seasons on the real local stack: a completed plan launched into a season, fed weekly
actuals over HTTP (CSV and JSON), re-planned by its long-lived orchestration, heard on the
owner's socket; and the faults a season must survive."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import numpy as np
import pytest
from sqlalchemy import select
from websockets.sync.client import connect

from activities.planning.units import largest_remainder
from shared.data.db import get_engine
from shared.data.events import fetch_events
from shared.data.tables import Store
from tests.support.live_stack import FAST_SETTINGS, LiveStack, live_stack
from tests.support.workflow_http import wait_finished

pytestmark = pytest.mark.integration

PARAMETERS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-06",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.3,
}
LIFT = 1.2


class Stack(Protocol):
    """What the helpers need of a running stack (in-process or `serve` in its own process)."""

    @property
    def base_url(self) -> str: ...

    @property
    def database_url(self) -> str: ...


@dataclass(frozen=True)
class Served:
    """A `python -m localdev serve` stack as the helpers see it."""

    base_url: str
    database_url: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    settings = {
        **FAST_SETTINGS,
        **{f"{agent}_AGENT_TIMEOUT_SECONDS": "90" for agent in ("DEMAND", "INVENTORY", "PRICING")},
    }
    with live_stack(tmp_path_factory.mktemp("seasons"), settings) as running:
        yield running


def planned(stack: Stack, session_id: str) -> str:
    body = {"session_id": session_id, "parameters": PARAMETERS}
    response = httpx.post(f"{stack.base_url}/api/orchestrator/run-workflow", json=body, timeout=30)
    assert response.status_code == 202, response.text
    workflow_id = response.json()["workflow_id"]
    assert wait_finished(stack.base_url, workflow_id, 240)["runtime_status"] == "Completed"
    return workflow_id


def season_of(stack: Stack, season_id: str) -> dict[str, Any]:
    response = httpx.get(f"{stack.base_url}/api/seasons/{season_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_versions(stack: Stack, season_id: str, count: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        season = season_of(stack, season_id)
        if len(season["versions"]) >= count:
            return season
        time.sleep(0.1)
    raise AssertionError(f"{season_id}: not {count} versions in {timeout} s: {season['versions']}")


def store_ids(stack: Stack) -> list[str]:
    with get_engine(stack.database_url).connect() as conn:
        return sorted(conn.scalars(select(Store.store_id)))


def week_rows(stack: Stack, season: dict[str, Any], week: int) -> list[dict[str, Any]]:
    """Week `week` sold LIFT times the original plan, split over every store."""
    original = season["original_plan"]["weeks"][week - 1]
    stores = store_ids(stack)
    total = round(original["forecast_units"] * LIFT)
    units = largest_remainder(total, np.array([1.0 + (i % 5) for i in range(len(stores))]))
    return [
        {
            "week_start_date": original["week_start"],
            "store_id": store,
            "category_id": season["category_id"],
            "units_sold": int(u),
        }
        for store, u in zip(stores, units, strict=True)
    ]


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    out.write("week_start_date,store_id,category_id,units_sold\n")
    for r in rows:
        out.write(f"{r['week_start_date']},{r['store_id']},{r['category_id']},{r['units_sold']}\n")
    return out.getvalue()


class Listener:
    """The owner's browser: every season message on the plan session's socket."""

    def __init__(self, stack: Stack, session_id: str) -> None:
        negotiated = httpx.get(
            f"{stack.base_url}/api/orchestrator/negotiate",
            params={"session_id": session_id},
            timeout=30,
        ).json()
        self.ws = connect(negotiated["url"], open_timeout=10)
        self.messages: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        time.sleep(0.2)  # the emulator joins the token's group right after the handshake

    def _run(self) -> None:
        try:
            for frame in self.ws:
                message = json.loads(frame)
                if message["type"] in ("plan_updated", "actuals_late"):
                    self.messages.append(message)
        except Exception:  # noqa: BLE001 - the socket closed at the end of the test
            return

    def versions(self) -> list[int]:
        return [m["version"] for m in self.messages if m["type"] == "plan_updated"]

    def close(self) -> None:
        self.ws.close()


def launch(stack: Stack, workflow_id: str) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.base_url}/api/seasons", json={"workflow_id": workflow_id}, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload_csv(stack: Stack, season_id: str, text: str) -> httpx.Response:
    return httpx.post(
        f"{stack.base_url}/api/seasons/{season_id}/actuals",
        content=text.encode(),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )


def test_six_weekly_uploads_each_give_a_new_version_heard_on_the_socket(stack):
    workflow_id = planned(stack, "season-live")
    listener = Listener(stack, "season-live")
    try:
        launched = launch(stack, workflow_id)
        season_id = launched["season_id"]
        again = httpx.post(
            f"{stack.base_url}/api/seasons", json={"workflow_id": workflow_id}, timeout=30
        )
        assert (again.status_code, again.json()["season_id"]) == (200, season_id)
        season = wait_versions(stack, season_id, 1)
        uploaded: dict[int, int] = {}
        for week in range(1, 7):
            rows = week_rows(stack, season, week)
            started = time.monotonic()
            response = upload_csv(stack, season_id, as_csv(rows))
            assert response.status_code == 202, response.text
            assert response.json()["duplicate"] is False
            season = wait_versions(stack, season_id, week + 1, timeout=20)
            assert time.monotonic() - started < 20
            uploaded[week] = sum(r["units_sold"] for r in rows)

        duplicate = upload_csv(stack, season_id, as_csv(week_rows(stack, season, 6)))
        assert duplicate.status_code == 202 and duplicate.json()["duplicate"] is True
        time.sleep(2)
        season = season_of(stack, season_id)
        assert [v["version"] for v in season["versions"]] == list(range(1, 8))

        # Plan against actual reconciles to the unit with the uploaded rows.
        by_week = {w["week_number"]: w for w in season["weeks_plan_against_actual"]}
        for week, units in uploaded.items():
            assert by_week[week]["actual_units"] == units
        assert by_week[7]["actual_units"] is None
        latest = season["versions"][-1]["variance"]
        assert latest["actual_units"] == sum(uploaded.values())
        assert latest["planned_units"] == sum(by_week[w]["original_units"] for w in uploaded)
        # Sold LIFT x the plan: the remaining weeks were re-forecast up.
        working = season["working_plan"]["weeks"]
        original = season["original_plan"]["weeks"]
        assert sum(w["forecast_units"] for w in working[6:]) > sum(
            w["forecast_units"] for w in original[6:]
        )

        deadline = time.monotonic() + 10
        while listener.versions() != list(range(2, 8)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert listener.versions() == list(range(2, 8))
        logged = fetch_events(get_engine(stack.database_url), season_id).events
        assert [e["sequence"] for e in logged] == list(range(1, len(logged) + 1))
    finally:
        listener.close()


def test_an_upload_with_bad_rows_is_refused_whole_and_names_them(stack):
    workflow_id = planned(stack, "season-bad")
    season_id = launch(stack, workflow_id)["season_id"]
    season = wait_versions(stack, season_id, 1)
    rows = week_rows(stack, season, 1)
    rows[3] = {**rows[3], "store_id": "NO-SUCH-STORE"}
    rows[5] = {**rows[5], "category_id": "not-this-category"}
    rows[7] = {**rows[7], "week_start_date": "2024-06-03"}

    response = httpx.post(
        f"{stack.base_url}/api/seasons/{season_id}/actuals", json={"rows": rows}, timeout=30
    )

    assert response.status_code == 422, response.text
    refused = response.json()["details"]["refused_rows"]
    assert [r["row"] for r in refused] == [4, 6, 8]
    assert "unknown store_id" in refused[0]["problems"]
    assert season_of(stack, season_id)["actuals_version"] == 0
