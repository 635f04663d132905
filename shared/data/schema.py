"""Creating and migrating the app's tables.

The tables are the ones shared/data/tables.py declares on `shared.data.base.Base`, imported
here explicitly: the schema is the same in every process, whatever else it has imported (the
local Durable runtime's tables are not among them; its store creates its own). `create_all`
creates what is missing and never alters a table, so a column added after a table's first
release is added in place by `add_missing_columns`.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, inspect, text

from shared.data.base import Base
from shared.data.columns import ALIASES_MAX_LENGTH, DEFAULT_CURRENCY, DEFAULT_VENDOR_LEAD_WEEKS
from shared.data.tables import Category

APP_METADATA = Base.metadata
"""Every app table and nothing else: shared/data/tables.py declared them all on the base when
this module imported it."""

_schema_ready: set[str] = set()
_schema_lock = threading.Lock()


def create_schema(engine: Engine) -> None:
    """Create every app table that is missing and migrate older ones; safe on every start."""
    with _schema_lock:  # create_all checks then creates: two threads would both create
        APP_METADATA.create_all(engine)
        add_missing_columns(engine)
    _schema_ready.add(str(engine.url))


def ensure_schema(engine: Engine) -> None:
    """`create_schema` once per database per process, for request paths that must not pay a
    schema check on every call."""
    if str(engine.url) not in _schema_ready:
        create_schema(engine)


ADDED_COLUMNS = {
    "currency": f"VARCHAR(3) NOT NULL DEFAULT '{DEFAULT_CURRENCY}'",
    "vendor_lead_weeks": f"INTEGER NOT NULL DEFAULT {int(DEFAULT_VENDOR_LEAD_WEEKS)}",
    "aliases": f"VARCHAR({ALIASES_MAX_LENGTH}) NOT NULL DEFAULT ''",
}
"""Columns of `categories` added after its first release, in the order they were added, with
the definition an existing table gets them by."""


def add_missing_columns(engine: Engine) -> None:
    """Columns added to existing tables after their first release, added in place (create_all
    never alters a table): a database seeded before `categories.currency` or
    `categories.vendor_lead_weeks` existed gets them, set to their defaults; one seeded before
    `categories.aliases` gets no aliases."""
    inspector = inspect(engine)
    if not inspector.has_table(Category.__tablename__):
        return
    present = {column["name"] for column in inspector.get_columns(Category.__tablename__)}
    for name, definition in ADDED_COLUMNS.items():
        if name not in present:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE categories ADD COLUMN {name} {definition}"))
