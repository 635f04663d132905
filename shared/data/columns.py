"""The columns of the data files and tables the agents read: one leaf both sides import.

The CSV import (shared/data/csv_import.py) checks a file's header against these, and the context
assembler (shared/data/context.py) checks a database's tables against them before reading; the
tables (shared/data/tables.py) take their default currency from here. It imports nothing of the
app, so none of those modules needs another for a constant.
"""

from __future__ import annotations

DEFAULT_CURRENCY = "USD"
"""The ISO 4217 code of a category's prices when neither its file nor its row names one."""
DEFAULT_VENDOR_LEAD_WEEKS = 12
"""Weeks from vendor order to DC receipt when a category's file gives none: the plan contracts'
default (shared.results.DEFAULT_VENDOR_LEAD_WEEKS; a test holds the two equal)."""

STORE_COLUMNS = (
    "store_id",
    "store_name",
    "region",
    "store_size_sqft",
    "location_tier",
    "median_income",
    "store_format",
)
SALES_COLUMNS = ("week_start_date", "store_id", "category_id", "units_sold")
CATEGORY_COLUMNS = (
    "category_id",
    "name",
    "full_price",
    "unit_cost",
    "salvage_fraction",
    "price_elasticity",
    "currency",
    "vendor_lead_weeks",
    "aliases",
)
ALIAS_SEPARATOR = "|"
"""Between a category's aliases in its `aliases` column: "bikini|swimsuit|board shorts"."""
ALIASES_MAX_LENGTH = 500
# Columns a file may leave out, with the value every row then gets.
OPTIONAL_COLUMNS: dict[str, dict[str, object]] = {
    "categories": {
        "currency": DEFAULT_CURRENCY,
        "vendor_lead_weeks": DEFAULT_VENDOR_LEAD_WEEKS,
        "aliases": "",
    }
}


def split_aliases(text: str | None) -> tuple[str, ...]:
    """The aliases of an `aliases` cell, trimmed, empty ones dropped."""
    parts = (text or "").split(ALIAS_SEPARATOR)
    return tuple(alias.strip() for alias in parts if alias.strip())


MAX_LISTED_PROBLEMS = 20
"""The most offending rows or ids one error lists."""
