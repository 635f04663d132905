"""The categories a strategy description may name: id, display name and aliases of every
category with sales history (what run-workflow accepts), read with one light query.

Why not the ContextAssembler: the extraction endpoint is the first call a planner makes and must
stay free of pandas (see docs/performance.md, cold start); this is a plain SQLAlchemy select.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from shared.data.columns import split_aliases
from shared.data.db import get_engine
from shared.data.tables import Category, HistoricalSale
from shared.errors import ContextAssemblyError
from shared.extraction.products import KnownCategory

logger = logging.getLogger(__name__)

_MISSING_TABLE = ("no such table", "does not exist", "undefined table")


def known_categories(database_url: str) -> list[KnownCategory]:
    """Categories with sales history, by id; empty when the schema is not there yet (a fresh
    database: the product is then not checked, and run-workflow says how to load data)."""
    has_sales = exists().where(HistoricalSale.category_id == Category.category_id)
    query = select(Category.category_id, Category.name, Category.aliases).where(has_sales)
    try:
        with get_engine(database_url).connect() as conn:
            rows = conn.execute(query.order_by(Category.category_id)).all()
    except SQLAlchemyError as exc:
        text = str(getattr(exc, "orig", exc)).lower()
        if any(marker in text for marker in _MISSING_TABLE):
            return []
        logger.warning("Reading the categories failed: %s", type(exc).__name__)
        raise ContextAssemblyError(
            "The categories could not be read from the database.",
            details={"action": "reading categories", "driver_error": type(exc).__name__},
            suggestions=["Retry in a few seconds."],
        ) from exc
    return [
        KnownCategory(category_id, name, split_aliases(aliases))
        for category_id, name, aliases in rows
    ]
