"""No published constant key: the app has no default Web PubSub connection string, and the local
stack gives its emulator a fresh random access key on every start unless one is configured."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from localdev.host.server import LocalOptions
from localdev.stack import STACK_ENVIRONMENT, local_stack
from localdev.webpubsub.auth import ConnectionString
from shared.data.db import dispose_engine, get_engine
from shared.messaging.publisher import get_publisher
from shared.settings import Settings, get_settings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The variables the stack writes, restored afterwards (with the caches built on them)."""
    for name in STACK_ENVIRONMENT:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
    get_publisher.cache_clear()


def started_key(tmp_path, **options: Any) -> str:
    local_stack(
        LocalOptions(database_url=f"sqlite:///{tmp_path / 'stack.db'}", pubsub_port=8123, **options)
    )
    return ConnectionString.parse(get_settings().webpubsub_connection()).access_key


def test_the_app_has_no_default_connection_string(environment):
    with pytest.raises(ValueError, match="WebPubSubConnectionString"):
        Settings().webpubsub_connection()


def test_every_start_gives_the_emulator_a_new_random_key(tmp_path, environment):
    first, second = started_key(tmp_path), started_key(tmp_path)
    assert first != second
    assert all(len(base64.b64decode(key, validate=True)) == 32 for key in (first, second))
    endpoint = ConnectionString.parse(get_settings().webpubsub_connection()).endpoint
    assert endpoint == "http://127.0.0.1:8123"
    assert get_settings().easy_auth_enabled  # the local host plays App Service Authentication


def test_an_external_service_is_used_as_given(tmp_path, environment):
    given = "Endpoint=https://season.webpubsub.azure.com;AccessKey=given-key;Version=1.0;"
    assert started_key(tmp_path, pubsub_connection_string=given) == "given-key"
    assert get_settings().webpubsub_connection() == given


async def _started(start: Callable[[], Awaitable[None]]) -> None:
    await start()


@pytest.mark.parametrize("end", [date(2026, 3, 4), None])
def test_the_first_start_seeds_history_through_the_last_full_week(tmp_path, environment, end):
    url = f"sqlite:///{tmp_path / 'first.db'}"
    plugins = local_stack(LocalOptions(database_url=url, pubsub_port=8124, sample_end_date=end))
    database = next(s for s in plugins.services if s.name == "database")
    try:
        asyncio.run(_started(database.start))
        with get_engine(url).connect() as conn:
            first, last = conn.execute(
                text("SELECT MIN(week_start_date), MAX(week_start_date) FROM historical_sales")
            ).one()
    finally:
        dispose_engine(url)
    today = end or datetime.now(UTC).date()
    assert str(first) == "2022-01-03"
    assert str(last) == str(today - timedelta(days=today.weekday() + 7))
