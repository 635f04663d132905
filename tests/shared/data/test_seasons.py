"""The live season's tables and rules (shared/data/seasons.py) on SQLite; the same checks run on
PostgreSQL in tests/integration/test_postgres_seasons.py."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

from sqlalchemy import Engine

from shared.data.db import get_engine
from shared.data.schema import create_schema
from shared.data.seasons import (
    ActualRow,
    PlanVersion,
    create_season,
    load_season,
    plan_versions,
    record_upload,
    save_plan_version,
    season_actuals,
)

NOW = datetime(2025, 2, 1, tzinfo=UTC)
WEEK = date(2025, 1, 6)


def seasons_engine(url: str) -> Engine:
    engine = get_engine(url)
    create_schema(engine)
    return engine


def launched(engine: Engine, workflow_id: str = "wf-1") -> str:
    season, _ = create_season(
        engine,
        workflow_id=workflow_id,
        owner_id="planner-1",
        session_id="session-1",
        category_id="denim",
        parameters={"forecast_horizon_weeks": 12},
        now=NOW,
    )
    return season.season_id


def check_one_season_per_plan(engine: Engine) -> None:
    first = launched(engine)
    again, created = create_season(
        engine,
        workflow_id="wf-1",
        owner_id="planner-1",
        session_id="session-1",
        category_id="denim",
        parameters={},
        now=NOW,
    )
    assert (again.season_id, created) == (first, False)


def check_uploads_are_recorded_once_and_replace_their_weeks(engine: Engine) -> None:
    season_id = launched(engine, "wf-2")
    rows = [ActualRow(WEEK, "S1", 10), ActualRow(WEEK, "S2", 5, on_hand=40)]
    first = record_upload(engine, season_id, rows, NOW)
    again = record_upload(engine, season_id, list(reversed(rows)), NOW)
    correction = record_upload(engine, season_id, [ActualRow(WEEK, "S1", 12)], NOW)

    assert (first.duplicate, again.duplicate, correction.duplicate) == (False, True, False)
    assert again.upload_id == first.upload_id
    assert (first.actuals_version, correction.actuals_version) == (1, 2)
    stored = season_actuals(engine, season_id).set_index("store_id")
    assert stored.loc["S1", "units_sold"] == 12 and stored.loc["S2", "on_hand"] == 40
    season = load_season(engine, season_id)
    assert season is not None and season.actuals_version == 2


def check_concurrent_uploads_each_count_once(engine: Engine) -> None:
    season_id = launched(engine, "wf-3")
    outcomes = []
    uploads = [[ActualRow(WEEK, f"S{i}", i)] for i in range(6)] * 2

    def upload(rows: list[ActualRow]) -> None:
        outcomes.append(record_upload(engine, season_id, rows, NOW))

    threads = [threading.Thread(target=upload, args=(rows,)) for rows in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(not o.duplicate for o in outcomes) == 6
    assert sorted(o.actuals_version for o in outcomes if not o.duplicate) == list(range(1, 7))
    assert len(season_actuals(engine, season_id)) == 6


def check_a_plan_version_is_written_once(engine: Engine) -> None:
    season_id = launched(engine, "wf-4")
    version = PlanVersion(1, 0, {"weeks": []}, {"reason": "launched"}, {}, NOW)

    assert save_plan_version(engine, season_id, version) is True
    assert save_plan_version(engine, season_id, version) is False
    assert [v.version for v in plan_versions(engine, season_id)] == [1]


def test_seasons_on_sqlite(tmp_path):
    engine = seasons_engine(f"sqlite:///{tmp_path / 'seasons.db'}")
    check_one_season_per_plan(engine)
    check_uploads_are_recorded_once_and_replace_their_weeks(engine)
    check_concurrent_uploads_each_count_once(engine)
    check_a_plan_version_is_written_once(engine)
