"""Reading and checking an upload of a live season's weekly actuals.

An upload is rows in the sales file's columns (`week_start_date,store_id,category_id,
units_sold`), with an optional `on_hand` (the store's counted stock at week end), as CSV text
or as JSON (`{"rows": [...]}`). It is accepted whole or refused whole: every row must be in one
of the season's weeks, of the season's category, for a known store, with whole units >= 0, and
no (week, store) twice; the 422 names each refused row (the first MAX_REPORTED of them).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from shared.data.seasons import ActualRow
from shared.errors import InvalidParametersError

REQUIRED_COLUMNS = ("week_start_date", "store_id", "category_id", "units_sold")
ON_HAND_COLUMN = "on_hand"
MAX_ROWS = 20_000
MAX_REPORTED = 50


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """The CSV's rows as dicts, or 422 when its header lacks a required column."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidParametersError(
            "The CSV lacks required columns",
            details={"missing_columns": missing, "required_columns": list(REQUIRED_COLUMNS)},
            suggestions=[f"Start the file with the header {','.join(REQUIRED_COLUMNS)}."],
        )
    return [dict(row) for row in reader]


def rows_from_json(body: Any) -> list[dict[str, Any]]:
    """`{"rows": [...]}` as a list of dicts, or 422."""
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise InvalidParametersError(
            "The JSON body must be an object with a `rows` list of objects",
            suggestions=['Send {"rows": [{"week_start_date": ..., "store_id": ..., ...}]}.'],
        )
    return rows


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
        return int(value.strip())
    return None


def check_rows(
    rows: list[dict[str, Any]],
    *,
    week_starts: list[date],
    category_id: str,
    known_stores: set[str],
) -> list[ActualRow]:
    """The validated rows, or one 422 naming every refused row (see the module docstring)."""
    if not rows:
        raise InvalidParametersError(
            "The upload has no rows", suggestions=["Send one week or more."]
        )
    if len(rows) > MAX_ROWS:
        raise InvalidParametersError(
            "Too many rows in one upload",
            details={"max_rows": MAX_ROWS, "received_rows": len(rows)},
            suggestions=["Upload one week at a time."],
        )
    weeks = set(week_starts)
    problems: list[dict[str, Any]] = []
    accepted: list[ActualRow] = []
    seen: set[tuple[date, str]] = set()
    for number, row in enumerate(rows, start=1):
        reasons: list[str] = []
        try:
            week = date.fromisoformat(str(row.get("week_start_date", "")).strip())
        except ValueError:
            week = None
            reasons.append("week_start_date is not a YYYY-MM-DD date")
        if week is not None and week not in weeks:
            reasons.append("week_start_date is not a week of this season")
        store = str(row.get("store_id", "")).strip()
        if store not in known_stores:
            reasons.append("unknown store_id")
        if str(row.get("category_id", "")).strip() != category_id:
            reasons.append(f"category_id is not the season's ({category_id})")
        units = _whole(row.get("units_sold"))
        if units is None:
            reasons.append("units_sold is not a whole number >= 0")
        raw_on_hand = row.get(ON_HAND_COLUMN)
        on_hand = None if raw_on_hand in (None, "") else _whole(raw_on_hand)
        if raw_on_hand not in (None, "") and on_hand is None:
            reasons.append("on_hand is not a whole number >= 0")
        if week is not None and (week, store) in seen:
            reasons.append("the same week and store appear twice")
        if reasons:
            problems.append(
                {
                    "row": number,
                    "week_start_date": str(row.get("week_start_date", ""))[:20],
                    "store_id": store[:64],
                    "problems": reasons,
                }
            )
            continue
        assert week is not None and units is not None
        seen.add((week, store))
        accepted.append(ActualRow(week, store, units, on_hand))
    if problems:
        raise InvalidParametersError(
            f"{len(problems)} of {len(rows)} rows were refused; nothing was recorded",
            details={"refused_rows": problems[:MAX_REPORTED], "refused_count": len(problems)},
            suggestions=["Correct the named rows and upload the file again."],
        )
    return accepted
