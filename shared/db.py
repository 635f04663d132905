"""SQLAlchemy engine and the declarative base every table module builds on.

One engine per database URL per process. SQLite gets WAL mode and a busy timeout so concurrent
activities (threads or processes) wait for each other instead of failing with "database is
locked"; any other URL (PostgreSQL, Azure SQL) is used as is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000


class Base(DeclarativeBase):
    """Metadata shared by every table of the app, so `create_schema` creates them all."""


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def get_engine(url: str) -> Engine:
    """The process-wide engine for `url`, created on first use."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = create_engine(
                    url,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                )
                _configure_sqlite(engine)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close and forget the engine for `url` (tests use this between databases)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def create_schema(engine: Engine) -> None:
    """Create every app table that is missing; safe to call on every start."""
    import shared.events  # noqa: F401 - registers the event-log tables on Base
    import shared.listeners  # noqa: F401 - registers the heartbeat's listener window on Base
    import shared.tables  # noqa: F401 - registers the data and result tables on Base

    with _schema_lock:  # create_all checks then creates: two threads would both create
        Base.metadata.create_all(engine)
        shared.tables.add_missing_columns(engine)
    _schema_ready.add(str(engine.url))


_schema_ready: set[str] = set()
_schema_lock = threading.Lock()


def ensure_schema(engine: Engine) -> None:
    """`create_schema` once per database per process, for request paths that must not pay a
    schema check on every call."""
    if str(engine.url) not in _schema_ready:
        create_schema(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        with session.begin():
            yield session
