"""The declarative base of the app's tables, and nothing else.

A leaf: it imports no module of the app, so shared/data/tables.py (every app table) and
shared/data/schema.py (which creates them) can both build on it without importing each other
or the engine module. The local Durable runtime's tables have a base of their own
(localdev/durable/store.py): which modules a process happens to have imported never changes the
app's schema.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """The metadata of every app table: shared/data/tables.py declares them all on it."""
