"""Seasons and years as merchants write them: "Spring 2025", "FW25", "SS26", "Q3 2025",
"summer '26", "first half of 2026", "Resort 2026", and a bare year next to a date.

A named season does two things for the rules extractor: it gives a day written without a year
its year ("Spring 2025 ... from March 3" is 2025-03-03), and, when the text names no day at all,
it gives the season a start on the season's default day (marked inferred). Two calendar facts
merchants rely on are kept here: a Fall/Winter (and Fall, Winter, Holiday) season's January to
June belong to the following year ("FW25 ... from January 5" is 2026-01-05), and a Resort
(cruise) collection reaches stores in the November before the year it is named for ("Resort
2026" starts in November 2025).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SeasonKind:
    """One kind of season: its name in answers, its default first day, and which months fall
    in another year than the one it is named for (`next_year_months` in the year after,
    `previous_year_months` in the year before)."""

    name: str
    month: int
    day: int
    next_year_months: range = range(0)
    previous_year_months: range = range(0)


_WINTER_TAIL = range(1, 7)
KINDS = {
    "spring": SeasonKind("Spring", 3, 1),
    "summer": SeasonKind("Summer", 6, 1),
    "spring/summer": SeasonKind("Spring/Summer", 2, 1),
    "pre-fall": SeasonKind("Pre-fall", 6, 1),
    "back to school": SeasonKind("Back to school", 7, 15),
    "fall": SeasonKind("Fall", 9, 1, _WINTER_TAIL),
    "fall/winter": SeasonKind("Fall/Winter", 8, 1, _WINTER_TAIL),
    "winter": SeasonKind("Winter", 12, 1, _WINTER_TAIL),
    "holiday": SeasonKind("Holiday", 11, 1, _WINTER_TAIL),
    "resort": SeasonKind("Resort", 11, 1, previous_year_months=range(7, 13)),
    "q1": SeasonKind("Q1", 1, 1),
    "q2": SeasonKind("Q2", 4, 1),
    "q3": SeasonKind("Q3", 7, 1),
    "q4": SeasonKind("Q4", 10, 1),
    "first half": SeasonKind("The first half", 1, 1),
    "second half": SeasonKind("The second half", 7, 1),
}
"""Default first days, documented in docs/extraction.md."""

_CODES = {
    "ss": "spring/summer",
    "sp": "spring",
    "su": "summer",
    "fw": "fall/winter",
    "aw": "fall/winter",
    "fa": "fall",
    "ho": "holiday",
    "hol": "holiday",
    "bts": "back to school",
    "h1": "first half",
    "h2": "second half",
}
_WORDS = {
    "spring": "spring",
    "summer": "summer",
    "fall": "fall",
    "autumn": "fall",
    "winter": "winter",
    "holiday": "holiday",
    "holidays": "holiday",
    "resort": "resort",
    "cruise": "resort",
    "prefall": "pre-fall",
}
SEASON_WORDS = frozenset(
    {*_WORDS, *_CODES, "pre", "back", "school", "q1", "q2", "q3", "q4", "season", "and", "of"}
)
"""Words that belong to a season's name (the product reader skips them)."""

_PAIR = r"\s*(?:/|-|&|and)\s*"
_NAMED = (
    rf"(spring{_PAIR}summer|(?:fall|autumn){_PAIR}winter|pre-?\s?fall|back[\s-]+to[\s-]+school"
    r"|spring|summer|(?:fall|autumn)(?!\s+(?:below|under|short|behind|back|off|by|to)\b)"
    r"|winter|holidays?|resort|cruise)"
)
_YEAR = r"(?:(\d{4})|'(\d{2}))"
_PATTERNS = (
    # "Spring 2025", "Fall/Winter 2025", "summer '26", "spring of 2025", "Spring 2025"
    re.compile(rf"\b{_NAMED}(?![a-z])(?:\s+(?:season\s+)?(?:of\s+)?{_YEAR}(?!\d))?"),
    # "2025 spring"
    re.compile(rf"\b(\d{{4}})\s+{_NAMED}\b"),
    # "FW25", "SS26", "AW 25", "HO25"
    re.compile(r"\b(ss|fw|aw|fa|ho|hol|sp|su|bts|h1|h2)\s?'?(\d{2}|\d{4})\b"),
    # "Q3 2025", "Q3 FY2025", "Q3"
    re.compile(r"\b(q[1-4])(?:\s+(?:of\s+)?(?:fy\s?)?(\d{4}))?\b"),
    # "first half of 2026", "H1 2026"
    re.compile(r"\b(first|second|1st|2nd)\s+half\s+(?:of\s+)?(\d{4})\b"),
)
_BARE_YEAR = re.compile(
    r"(?<![\d/.,$-])((?:19|20|21)\d{2})(?![\d/%-]|[.,]\d|\s*(?:%|percent|units?|pieces|pcs|items"
    r"|weeks?|wks?|days?|months?|k\b|dollars|usd))"
)


@dataclass(frozen=True)
class Season:
    """A season named in the text: `label` as written, its kind (None for a bare year) and its
    year (None when the text names none)."""

    label: str
    kind: SeasonKind | None
    year: int | None

    def year_of(self, month: int) -> int | None:
        """The calendar year of a day in `month` within this season."""
        if self.year is None:
            return None
        if self.kind is not None and month in self.kind.next_year_months:
            return self.year + 1
        if self.kind is not None and month in self.kind.previous_year_months:
            return self.year - 1
        return self.year

    def year_note(self, month: int, month_name: str) -> str:
        """Why a day of `month` got its year, in words."""
        year = self.year_of(month)
        if self.kind is not None and year != self.year:
            if self.kind.previous_year_months:
                return f"{self.label} reaches stores in {year}"
            return f"{month_name} of {self.label} falls in {year}"
        return f"year {year} from '{self.label}'"

    def default_start(self, today: date) -> tuple[date, str] | None:
        """The first day of a season named without a day, and why: its kind's default day in
        its year, or, when the text names no year, the next such day on or after today."""
        if self.kind is None:
            return None
        kind = self.kind
        why = f"{kind.name} starts on {date(2000, kind.month, kind.day):%B} {kind.day}"
        why += " when the text names no day"
        if self.year is not None:
            year = self.year_of(kind.month)
            assert year is not None
            return date(year, kind.month, kind.day), why
        start = date(today.year, kind.month, kind.day)
        if start < today:
            start = date(today.year + 1, kind.month, kind.day)
        return start, f"{why}; {no_year_note(start.year)}"


def no_year_note(year: int) -> str:
    """The reason given when a year was assumed."""
    return f"assumed {year}: the text names no year"


def _year(four: str | None, two: str | None) -> int | None:
    if four:
        return int(four)
    if two:
        return 2000 + int(two)
    return None


def _kind_of(written: str) -> SeasonKind:
    key = re.sub(r"\s+", " ", written.lower().replace("-", " ")).strip()
    if "spring" in key and "summer" in key:
        return KINDS["spring/summer"]
    if "winter" in key and ("fall" in key or "autumn" in key):
        return KINDS["fall/winter"]
    if "school" in key:
        return KINDS["back to school"]
    if "pre" in key and "fall" in key:
        return KINDS["pre-fall"]
    if key in _CODES:
        return KINDS[_CODES[key]]
    if key in KINDS:
        return KINDS[key]
    if key in ("first", "1st"):
        return KINDS["first half"]
    if key in ("second", "2nd"):
        return KINDS["second half"]
    return KINDS[_WORDS[key]]


def find_season(work: str, original: str) -> tuple[Season, tuple[int, int]] | None:
    """The first season named in the text, with its span (to be blanked by the caller);
    a season with a year beats one without."""
    found: list[tuple[int, Season, tuple[int, int]]] = []
    for index, pattern in enumerate(_PATTERNS):
        for m in pattern.finditer(work):
            label = original[m.start() : m.end()].strip()
            if index == 0:
                season = Season(label, _kind_of(m[1]), _year(m[2], m[3]))
            elif index == 1:
                season = Season(label, _kind_of(m[2]), int(m[1]))
            elif index == 2:
                year = int(m[2]) if len(m[2]) == 4 else 2000 + int(m[2])
                season = Season(label, _kind_of(m[1]), year)
            else:
                season = Season(label, _kind_of(m[1]), int(m[2]) if m[2] else None)
            found.append((m.start(), season, m.span()))
    if not found:
        return None
    found.sort(key=lambda item: (item[1].year is None, item[0]))
    _, season, span = found[0]
    return season, span


_NEAR = 12
"""How far (in characters) a bare year may stand from the day it dates ("March 3 of 2025")."""


def find_bare_year(
    work: str, original: str, days: list[tuple[int, int]]
) -> tuple[Season, tuple[int, int]] | None:
    """A year written on its own next to a day written without one (`days`: their spans), as
    in "March 3 of 2025", or leading the text ("2025 denim: ..."); a year elsewhere ("like
    2024's season") dates nothing."""
    for m in _BARE_YEAR.finditer(work):
        start, end = m.span()
        leads = not work[:start].strip(" :-")
        near = any(0 <= start - b <= _NEAR or 0 <= a - end <= _NEAR for a, b in days)
        if leads or near:
            return Season(original[start:end], None, int(m[1])), m.span()
    return None
