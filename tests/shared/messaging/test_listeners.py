"""The listener window: when heartbeats may have someone to reach. A negotiate or a workflow start
extends it, nothing shortens it, and concurrent first callers all count."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from shared.data.db import dispose_engine, get_engine
from shared.messaging.listeners import expect_listeners, listeners_expected

NOW = datetime(2025, 11, 4, 10, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'listeners.db'}"
    yield get_engine(url)
    dispose_engine(url)


def test_a_later_caller_never_shortens_the_window(engine):
    expect_listeners(engine, NOW + 2 * HOUR)
    expect_listeners(engine, NOW + HOUR)
    assert listeners_expected(engine, NOW + HOUR + timedelta(minutes=30))


def test_concurrent_first_negotiates_all_count(engine):
    ends = [NOW + timedelta(minutes=m) for m in (5, 50, 20, 35, 10, 45, 15, 40)]
    threads = [threading.Thread(target=expect_listeners, args=(engine, end)) for end in ends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert listeners_expected(engine, NOW + timedelta(minutes=49))
    assert not listeners_expected(engine, NOW + timedelta(minutes=50))
