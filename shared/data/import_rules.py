"""The import's plausibility rules: history that is what it says (docs/input-rules.md).

The CSV import (shared/data/csv_import.py) checks types and keys; these rules catch rows that
are well-formed yet cannot be real, each of which used to pass and then poison every plan:

- characters: a control character (NUL truncated a field in the CSV parser: `S0001\\x00junk`
  was credited to S0001) or an invisible one (zero-width, bidi controls: `ZWC` and `ZWC`+U+200B
  were two stores) in any field;
- dates: a week before EARLIEST_SALES_YEAR (a placeholder such as 1900-01-01 stretched the
  Demand agent's series over 6,500 weeks) or one that has not begun yet;
- grids: in append mode, weeks on another weekday than the category's stored weeks (a Sunday
  copy of a Monday history was read as a second, ten-times-larger history);
- look-alike ids: ids equal after NFKC normalisation and case folding (`S9` and full-width
  `Ｓ9`, `CASE1` and `case1`) name one thing, so a second spelling is refused, naming both.

Each check returns what csv_import records: a row mask (or row numbers) and the sentence for a
row, so the import keeps its one way of listing problems.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from shared.data.tables import HistoricalSale

EARLIEST_SALES_YEAR = 1990
"""Sales weeks before 1 January of this year are refused as placeholders (1900-01-01,
1970-01-01): point-of-sale weekly history of a store chain does not reach further back."""

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_REFUSED_CATEGORIES = {"Cc": "control", "Cf": "invisible", "Zl": "invisible", "Zp": "invisible"}
_LINE_END = "\r"
_CONTROL_NAMES = {"\x00": "NUL", "\t": "TAB", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE"}
_BOM = "\ufeff"

RowProblem = tuple[int, str, str]
"""(row number as the import counts it, header = 1; column name or ""; the problem)."""


def id_key(value: str) -> str:
    """What an id is compared by: NFKC-normalised and case-folded (Unicode's NFKC_Casefold
    shape), so width variants, compatibility forms and case name the same id."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def refused_character(text: str) -> tuple[str, str] | None:
    """The first control or invisible character in `text` as (kind, "U+XXXX (NAME)"), or None."""
    for char in text:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind is not None:
            name = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "control")
            return kind, f"U+{ord(char):04X} ({name})"
    return None


def character_problems(text: str) -> list[RowProblem]:
    """Rows of a CSV text with a control or invisible character in a field, before any parser
    sees them (the C parser stops a field at NUL). Line ends and a leading byte order mark are
    the file's framing, not field content. A clean file is judged by one C-speed scan
    (`isprintable`); only lines that fail it are looked at character by character."""
    text = text.removeprefix(_BOM)
    if text.replace("\r\n", "").replace("\n", "").isprintable():
        return []
    contents = [line.removesuffix(_LINE_END) for line in text.split("\n")]
    header = _fields(contents[0])
    problems: list[RowProblem] = []
    for number, content in enumerate(contents, start=1):
        if content.isprintable() or refused_character(content) is None:
            continue
        fields = _fields(content) or [content]
        for index, value in enumerate(fields):
            found = refused_character(value)
            if found is None:
                continue
            kind, char = found
            column = header[index].strip() if index < len(header) else ""
            problems.append(
                (
                    number,
                    column,
                    f"{value[:40]!r} holds the {kind} character {char}; ids and values must be "
                    "visible text (a spreadsheet or the CSV reader would cut or hide it)",
                )
            )
            break
    return problems


def _fields(line: str) -> list[str]:
    """One CSV line's fields; [] when the csv module cannot split it (a bare CR in it)."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def date_window(now: datetime) -> tuple[date, date]:
    """The first and last week start a sales row may carry when imported at `now`."""
    return date(EARLIEST_SALES_YEAR, 1, 1), now.date()


def out_of_window(dates: pd.Series, now: datetime) -> list[tuple[pd.Series, Callable[[Any], str]]]:
    """Masks (and their sentences) for weeks before the earliest year and weeks not yet begun."""
    earliest, latest = date_window(now)
    too_old = dates < pd.Timestamp(earliest)
    future = dates > pd.Timestamp(latest)
    return [
        (
            too_old,
            lambda i: (
                f"{dates[i].date().isoformat()} is before {EARLIEST_SALES_YEAR}: weeks before "
                f"{earliest.isoformat()} are taken for placeholders, not sales history"
            ),
        ),
        (
            future,
            lambda i: (
                f"{dates[i].date().isoformat()} is in the future: the week has not begun "
                f"(today is {latest.isoformat()})"
            ),
        ),
    ]


def stored_weekdays(conn: Connection, categories: Iterable[str]) -> dict[str, int]:
    """The weekday of each category's stored weeks (its first week's; the import keeps one grid
    per category), for the categories that have history."""
    wanted = sorted(set(categories))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(HistoricalSale.category_id, func.min(HistoricalSale.week_start_date))
            .where(HistoricalSale.category_id.in_(wanted[start : start + 500]))
            .group_by(HistoricalSale.category_id)
        ).all()
        found.update({str(c): pd.Timestamp(d).weekday() for c, d in rows if d is not None})
    return found


def off_stored_grid(
    dates: pd.Series, categories: pd.Series, weekdays: dict[str, int]
) -> tuple[pd.Series, Callable[[Any], str]]:
    """Rows whose week starts on another weekday than their category's stored weeks."""
    expected = categories.map(weekdays)
    mask = expected.notna() & dates.notna() & (dates.dt.weekday != expected)
    return (
        mask,
        lambda i: (
            f"{dates[i].date().isoformat()} is a {_WEEKDAYS[dates[i].weekday()]}; the stored weeks "
            f"of {categories[i]!r} start on {_WEEKDAYS[int(expected[i])]}: one category has one "
            "weekly grid (import with replace to change it)"
        ),
    )


def lookalikes(ids: pd.Series, stored: Iterable[str]) -> tuple[pd.Series, Callable[[Any], str]]:
    """Rows whose id equals another id only after NFKC and case folding: a stored one, or an
    earlier row's spelling in this file. The same spelling again is not a look-alike. Each
    distinct id is compared once (a sales file repeats its ids over millions of rows)."""
    stored_by_key: dict[str, str] = {}
    for value in stored:
        stored_by_key.setdefault(id_key(value), value)
    first_spelling: dict[str, tuple[str, Any]] = {}
    other: dict[str, str] = {}
    for index, value in ids.drop_duplicates().items():
        if value == "":
            continue
        key = id_key(value)
        known = stored_by_key.get(key)
        if known is not None and known != value:
            other[value] = f"the stored id {known!r}"
            continue
        spelling, row = first_spelling.setdefault(key, (value, index))
        if spelling != value:
            other[value] = f"{spelling!r} in row {int(row) + 2}"
    mask = ids.isin(list(other))
    return (
        mask,
        lambda i: (
            f"{ids[i]!r} looks like {other[ids[i]]}: ids are compared after Unicode "
            "normalisation (NFKC) and case folding, so both would name one thing; use the "
            "existing spelling"
        ),
    )
