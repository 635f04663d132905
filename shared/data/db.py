"""SQLAlchemy engines and sessions: nothing else (the tables and their schema are in
shared/data/tables.py and shared/data/schema.py).

One engine per database URL per process. SQLite gets WAL mode and a busy timeout so concurrent
activities (threads or processes) wait for each other instead of failing with "database is
locked"; any other URL (PostgreSQL, Azure SQL) is used as is.

Azure Database for PostgreSQL with Microsoft Entra authentication has no password: a URL whose
host is `*.postgres.database.azure.com` and that carries no password connects as the managed
identity (the URL's user is the identity's name), with an Entra access token as the password.
The token is fetched for each new pooled connection through SQLAlchemy's `do_connect` event and
cached until shortly before it expires (tokens live about an hour; connections outlive them,
which PostgreSQL allows: the password is checked only when a connection opens).

The pool of a server database is sized from settings (`PoolPolicy`): in Azure every instance of
the app has its own, so the connections a scaled-out app can open are bounded by instances x
(pool size + overflow), and tests/test_infra.py holds that product under the server's limit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from shared.credentials import (
    POSTGRES_SCOPE,
    REFRESH_MARGIN_SECONDS,
    CachedToken,
    default_credential,
)
from shared.data.lock_wait import current_lock_wait_ms
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_SECONDS = 10
AZURE_POSTGRES_HOST_SUFFIX = ".postgres.database.azure.com"

PasswordProvider = Callable[[], str]


@dataclass(frozen=True)
class PoolPolicy:
    """How many connections one process may hold and how they are kept healthy."""

    size: int = 5
    max_overflow: int = 10
    timeout_seconds: float = 30.0
    pre_ping: bool = True
    recycle_seconds: int = 180
    token_refresh_margin_seconds: int = REFRESH_MARGIN_SECONDS

    @property
    def max_connections(self) -> int:
        """The most connections this process opens at once."""
        return self.size + self.max_overflow

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolPolicy:
        return cls(
            size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            timeout_seconds=settings.db_pool_timeout_seconds,
            pre_ping=settings.db_pool_pre_ping,
            recycle_seconds=settings.db_pool_recycle_seconds,
            token_refresh_margin_seconds=settings.db_token_refresh_margin_seconds,
        )


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _apply_lock_wait(engine: Engine) -> None:
    """Give each checked-out connection the current context's lock wait; the statement runs
    only when the connection's wait differs from the wanted one. A server database also gets a
    connect timeout (the request's wait, at least libpq's 2 s minimum; else
    CONNECT_TIMEOUT_SECONDS): a black-holed server is an error in seconds, not a hang until the
    operating system gives up on TCP (unless the URL sets its own `connect_timeout`)."""
    sqlite = engine.dialect.name == "sqlite"

    if not sqlite:

        @event.listens_for(engine, "do_connect")
        def _bounded_connect(_dialect: Any, _record: Any, _cargs: Any, cparams: Any) -> None:
            wanted = current_lock_wait_ms()
            seconds = max(2, math.ceil(wanted / 1000)) if wanted else CONNECT_TIMEOUT_SECONDS
            cparams.setdefault("connect_timeout", seconds)

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        wanted = current_lock_wait_ms()
        if sqlite and wanted is None:
            wanted = SQLITE_BUSY_TIMEOUT_MS
        if record.info.get("lock_wait_ms", SQLITE_BUSY_TIMEOUT_MS if sqlite else None) == wanted:
            return
        cursor = dbapi_connection.cursor()
        if sqlite:
            cursor.execute(f"PRAGMA busy_timeout={int(wanted or 0)}")
        else:
            # Outside a transaction (checkout): the setting holds for the session.
            cursor.execute(f"SET lock_timeout = {int(wanted or 0)}")
            dbapi_connection.commit()
        cursor.close()
        record.info["lock_wait_ms"] = wanted


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def uses_entra_auth(url: URL) -> bool:
    """Azure Database for PostgreSQL reached without a password: Entra token authentication."""
    return (
        url.get_backend_name() == "postgresql"
        and url.password is None
        and (url.host or "").lower().endswith(AZURE_POSTGRES_HOST_SUFFIX)
    )


def _use_password_provider(engine: Engine, password: PasswordProvider) -> None:
    @event.listens_for(engine, "do_connect")
    def _fresh_password(_dialect: Any, _record: Any, _cargs: Any, cparams: Any) -> None:
        cparams["password"] = password()


def entra_password(
    credential: TokenCredential, margin: float = REFRESH_MARGIN_SECONDS
) -> PasswordProvider:
    """Entra access tokens for Azure Database for PostgreSQL, cached until `margin` seconds
    before they expire."""
    return CachedToken(credential, POSTGRES_SCOPE, margin=margin)


def get_engine(
    url: str, *, password: PasswordProvider | None = None, pool: PoolPolicy | None = None
) -> Engine:
    """The process-wide engine for `url`, created on first use.

    `password` is asked for the password of every new connection (e.g. `entra_password(...)`);
    without it, an Azure PostgreSQL URL without password uses the app's managed identity.
    `pool` sizes a server database's pool (default: from the settings). The first call for a
    URL decides: later calls get that engine whatever they pass.
    """
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = create_engine(
                    url,
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                        "check_same_thread": False,
                    },
                )
                _configure_sqlite(engine)
            else:
                policy = pool or PoolPolicy.from_settings(get_settings())
                engine = create_engine(
                    url,
                    pool_size=policy.size,
                    max_overflow=policy.max_overflow,
                    pool_timeout=policy.timeout_seconds,
                    pool_pre_ping=policy.pre_ping,
                    pool_recycle=policy.recycle_seconds,
                )
                if password is None and uses_entra_auth(make_url(url)):
                    password = entra_password(
                        default_credential(), policy.token_refresh_margin_seconds
                    )
                if password is not None:
                    _use_password_provider(engine, password)
            _apply_lock_wait(engine)
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close and forget the engine for `url` (tests use this between databases)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
