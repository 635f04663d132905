"""Spreadsheet formula injection (CSV injection), closed at both ends.

A spreadsheet opening a CSV runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and
some treat a leading tab or carriage return the same way), so imported text such as
`=HYPERLINK(...)` would become a live formula in a planner's download. OWASP's "CSV Injection"
guidance names these six characters. They are recognised after Unicode normalisation (NFKC)
and past leading spaces and invisible characters: a full-width `＝` or a zero-width space or
byte order mark before `=` is shown by a spreadsheet as, or trimmed to, the same formula.

- Import refuses such text (shared/data/csv_import.py), with the row and column: store ids,
  names, regions and category ids are identifiers and labels, none legitimately starts with a
  formula character, and rewriting them (prefixing a quote) would silently change ids that
  sales rows join on. What is stored is therefore never a formula.
- Export neutralises anyway, following OWASP: a text cell beginning with one of the characters
  gets a leading single quote, which spreadsheets show as text; cells are written by the csv
  module, which quotes separators and doubles embedded quotes. Numbers are left alone (a
  negative number is a number, not a formula).
"""

from __future__ import annotations

import unicodedata

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_SKIPPED_CATEGORIES = ("Cf", "Zs", "Zl", "Zp")


def _visible_start(text: str) -> str:
    """`text` from its first visible character on, NFKC-normalised."""
    normal = unicodedata.normalize("NFKC", text)
    for index, char in enumerate(normal):
        if unicodedata.category(char) not in _SKIPPED_CATEGORIES:
            return normal[index:]
    return ""


def starts_like_formula(text: str) -> bool:
    """Whether a spreadsheet may take `text` for a formula: as written, or once normalised
    and stripped of leading spaces and invisible characters."""
    return text.startswith(FORMULA_PREFIXES) or _visible_start(text).startswith(FORMULA_PREFIXES)


def neutralise_cell(text: str) -> str:
    """`text` as a spreadsheet shows it literally: a leading `'` when it starts like a formula."""
    return "'" + text if starts_like_formula(text) else text


def neutralised_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell neutralised (numbers and dates untouched)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(
                lambda value: neutralise_cell(value) if isinstance(value, str) else value
            )
    return safe
