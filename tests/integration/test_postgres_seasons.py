"""The live season's tables and rules on PostgreSQL: the checks tests/shared/data/test_seasons.py
runs on SQLite (one season per plan, uploads once by content, concurrent uploads serialised,
plan versions written once)."""

from __future__ import annotations

import pytest

from tests.shared.data.test_seasons import (
    check_a_plan_version_is_written_once,
    check_concurrent_uploads_each_count_once,
    check_one_season_per_plan,
    check_uploads_are_recorded_once_and_replace_their_weeks,
    seasons_engine,
)

pytestmark = pytest.mark.integration


def test_seasons_on_postgres(postgres_url):
    engine = seasons_engine(postgres_url)
    check_one_season_per_plan(engine)
    check_uploads_are_recorded_once_and_replace_their_weeks(engine)
    check_concurrent_uploads_each_count_once(engine)
    check_a_plan_version_is_written_once(engine)
