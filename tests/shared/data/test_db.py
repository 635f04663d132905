"""The connection pool of a server database, on a real PostgreSQL server: it never opens more
connections than its policy allows (the budget tests/test_infra.py checks against the template
rests on that), replaces connections older than the recycle age, and survives connections the
server dropped."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from shared.credentials import CachedToken
from shared.data.db import PoolPolicy, dispose_engine, entra_password, get_engine
from shared.settings import Settings

pytestmark = pytest.mark.real_component("PostgreSQL")


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select pg_backend_pid()")).scalar_one())


def _server_connections(admin_url: str, database: str) -> int:
    admin = get_engine(admin_url, pool=PoolPolicy(size=1, max_overflow=0))
    with admin.connect() as conn:
        return int(
            conn.execute(
                text("select count(*) from pg_stat_activity where datname = :db"),
                {"db": database},
            ).scalar_one()
        )


def test_the_pool_never_opens_more_than_size_plus_overflow(postgres_url, postgres_server_url):
    policy = PoolPolicy(size=2, max_overflow=1, timeout_seconds=0.5)
    engine = get_engine(postgres_url, pool=policy)
    database = engine.url.database
    assert database is not None
    held, release = [], threading.Event()

    def hold() -> None:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
            held.append(conn)
            release.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(policy.max_connections)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(held) < policy.max_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(held) == 3
        # A fourth caller waits for a free connection, then gives up: it never opens one.
        with pytest.raises(sqlalchemy.exc.TimeoutError), engine.connect():
            pass
        assert _server_connections(postgres_server_url, database) == 3
    finally:
        release.set()
        for thread in threads:
            thread.join(10)
        dispose_engine(postgres_url)


def test_connections_are_recycled_and_dropped_ones_replaced(postgres_url, postgres_server_url):
    engine = get_engine(postgres_url, pool=PoolPolicy(size=1, max_overflow=0, recycle_seconds=1))
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first  # reused while younger than the recycle age
        time.sleep(1.2)
        second = _backend_pid(engine)
        assert second != first
        # The server (or the network) drops the pooled connection: pre-ping notices and the
        # caller gets a fresh one instead of an error.
        admin = get_engine(postgres_server_url, pool=PoolPolicy(size=1, max_overflow=0))
        with admin.connect() as conn:
            conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": second})
        assert _backend_pid(engine) not in (first, second)
    finally:
        dispose_engine(postgres_url)


def test_the_policy_comes_from_settings_and_sizes_the_engine(postgres_url):
    settings = Settings(
        db_pool_size=3,
        db_max_overflow=2,
        db_pool_timeout_seconds=4,
        db_pool_pre_ping=False,
        db_pool_recycle_seconds=120,
        db_token_refresh_margin_seconds=600,
    )
    policy = PoolPolicy.from_settings(settings)
    assert policy == PoolPolicy(3, 2, 4.0, False, 120, 600) and policy.max_connections == 5
    engine = get_engine(postgres_url, pool=policy)
    try:
        pool = engine.pool
        assert (pool.size(), pool._max_overflow, pool._recycle, pool._pre_ping) == (  # type: ignore[attr-defined]
            3,
            2,
            120,
            False,
        )
    finally:
        dispose_engine(postgres_url)


def test_the_entra_token_is_fetched_again_within_the_margin():
    class Credential:
        calls = 0

        def get_token(self, *scopes, **kwargs):
            from azure.core.credentials import AccessToken

            Credential.calls += 1
            return AccessToken(f"token-{Credential.calls}", int(time.time()) + 900)

    password = entra_password(Credential(), margin=600)
    assert isinstance(password, CachedToken)
    assert password() == password() == "token-1"  # 15 minutes left, margin 10: still good
    too_close = entra_password(Credential(), margin=1000)
    assert too_close() == "token-2" and too_close() == "token-3"  # inside the margin: refetched
