"""Whether anyone may be listening: the heartbeat timer sends only while someone might be.

A browser asks `negotiate` before it connects, and a workflow streams to the browser that started
it; both extend one shared "listeners expected until" moment in the database (now + the window,
`HEARTBEAT_WINDOW_MINUTES`, 60 by default: the client token's lifetime). The timer reads that one
row (a primary-key lookup) and sends nothing once it has passed, so an idle app makes no Web
PubSub calls. The row lives in the database because the instance that negotiated is rarely the
one whose timer fires (its table, `ListenerWindow`, is declared with the others in
shared/data/tables.py).

The extension is monotonic (`UPDATE ... WHERE until < new`), so concurrent callers never move it
backwards, and it is best effort: a database error is logged and the caller goes on (a planner
can still negotiate and run workflows; heartbeats resume with the next successful extension).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from shared.data.db import get_engine
from shared.data.schema import ensure_schema
from shared.data.tables import ListenerWindow
from shared.settings import Settings

logger = logging.getLogger(__name__)

WEB_PUBSUB = "web-pubsub"


def _utc(moment: datetime) -> datetime:
    """Stored moments are UTC; SQLite hands them back without a zone."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def note_listeners(settings: Settings, now: datetime) -> None:
    """A browser negotiated, or a workflow started, at `now`: heartbeats for the next window."""
    window = timedelta(minutes=settings.heartbeat_window_minutes)
    expect_listeners(get_engine(settings.database_url), now + window)


def expect_listeners(engine: Engine, until: datetime) -> None:
    """Someone may listen until `until` (never shortens an earlier promise)."""
    until = _utc(until)
    extend = update(ListenerWindow).where(
        ListenerWindow.channel == WEB_PUBSUB, ListenerWindow.until < until
    )
    try:
        ensure_schema(engine)
        with engine.begin() as conn:
            if conn.execute(extend.values(until=until)).rowcount:
                return
            exists = conn.execute(
                select(ListenerWindow.channel).where(ListenerWindow.channel == WEB_PUBSUB)
            ).first()
            if exists is None:
                conn.execute(insert(ListenerWindow).values(channel=WEB_PUBSUB, until=until))
    except IntegrityError:
        # Another caller created the row first: raise it if ours is later.
        try:
            with engine.begin() as conn:
                conn.execute(extend.values(until=until))
        except SQLAlchemyError as exc:
            logger.warning("Could not record expected listeners: %s", type(exc).__name__)
    except SQLAlchemyError as exc:
        logger.warning("Could not record expected listeners: %s", type(exc).__name__)


def listeners_expected(engine: Engine, now: datetime) -> bool:
    """Whether a negotiate or a workflow start promised listeners beyond `now`.

    An unreadable database reads as "nobody": a heartbeat is a courtesy, not worth failing or
    retrying for."""
    table = ListenerWindow.__table__
    try:
        ensure_schema(engine)
        with engine.connect() as conn:
            until = conn.execute(
                select(table.c.until).where(table.c.channel == WEB_PUBSUB)
            ).scalar()
    except SQLAlchemyError as exc:
        logger.warning("Listener window unreadable (%s): no heartbeat", type(exc).__name__)
        return False
    return until is not None and _utc(until) > _utc(now)
