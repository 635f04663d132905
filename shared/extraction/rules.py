"""Deterministic reading of season parameters, the way planners write them.

Patterns run in a fixed order over a working copy of the text; each match is blanked out once
used, so "every two weeks" is read as a replenishment cadence and never again as a two-week
season, and the digits of "1/1/2025" never become a holdback. Nothing here raises: problems
(a 30th of February, a monthly cadence) are recorded on the Draft and judged in combine.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

from shared.extraction.combine import Draft, Finding
from shared.extraction.seasons import Season, find_bare_year, find_season, no_year_note

_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_WORD_VALUES = {
    w: i
    for group in (_UNITS, _TEENS, _TENS)
    for i, w in zip(
        {_UNITS: range(1, 10), _TEENS: range(10, 20), _TENS: range(20, 100, 10)}[group],
        group.split("|"),
        strict=True,
    )
}
NUM = rf"(?:\b\d{{1,6}}|\b(?:{_TENS})(?:[\s-](?:{_UNITS}))?\b|\b(?:{_TEENS}|{_UNITS})\b)"
PCT = r"(?:\d{1,4}(?:\.\d{1,4})?|" + NUM + r")\s*(?:%|percent\b|per\s+cent\b|pct\b)"

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NOT_A_DAY = r"(?!\s*(?:-\s*)?(?:%|percent|weeks?\b|wks?\b|months?\b|units?\b|k\b|days?\b))"

_REPLENISH_WORDS = re.compile(
    r"replenish|restock|re-stock|shipment|ship|deliver|refill|reorder|re-order|top[\s-]?up|resupply"
)
_HOLDBACK_WORDS = re.compile(
    r"hold[\s-]?back|held|hold|reserve|keep|kept|retain|\bdc\b|distribution\s+cent(?:er|re)"
    r"|warehouse"
)
_CHECKPOINT_WORDS = re.compile(
    r"mark[\s-]?down|sell[\s-]?through|checkpoint|check|review|evaluate|assess"
)


def number(token: str) -> int:
    """'12', 'twelve' or 'twenty-six' as an int."""
    token = token.strip()
    if token.isdigit():
        return int(token)
    return sum(_WORD_VALUES[w] for w in re.split(r"[\s-]+", token) if w in _WORD_VALUES)


def _ratio(token: str) -> float:
    """'15', '15.5' or 'fifteen' (a percentage) as a fraction."""
    token = re.sub(r"\s*(?:%|per\s*cent|percent|pct)$", "", token.strip())
    value = float(token) if re.fullmatch(r"[\d.]+", token) else float(number(token))
    return round(value / 100.0, 6)


class _Text:
    """The original text plus a lower-case working copy whose used spans are blanked."""

    def __init__(self, text: str) -> None:
        dashes = str.maketrans(dict.fromkeys("‐‑‒–—−", "-"))
        cleaned = text.translate(dashes).replace("\u00a0", " ").replace("\u2019", "'")
        self.original = cleaned
        self.work = "".join(c.lower() if len(c.lower()) == 1 else c for c in cleaned)

    def find(self, pattern: str) -> Iterator[re.Match[str]]:
        yield from re.finditer(pattern, self.work)

    def take(self, match: re.Match[str], group: int = 0) -> str:
        start, end = match.span(group)
        self.blank((start, end))
        return self.original[start:end].strip()

    def blank(self, span: tuple[int, int]) -> None:
        """Spend a span of the working copy, so no later reading finds it again."""
        start, end = span
        self.work = self.work[:start] + " " * (end - start) + self.work[end:]

    def sentence(self, pos: int) -> str:
        """The sentence around `pos` in the working copy (a decimal point does not end one)."""
        start, end = 0, len(self.work)
        for b in re.finditer(r"[;!?\n]|\.(?=\s|$)", self.work):
            if b.start() < pos:
                start = b.end()
            else:
                end = b.start()
                break
        return self.work[start:end]

    def before(self, pos: int, width: int = 30) -> str:
        return self.work[max(0, pos - width) : pos]


def _add(draft: Draft, name: str, finding: Finding) -> None:
    """Keep the first (or first explicit) value; remember different ones as conflicts."""
    current = draft.findings.get(name)
    if current is None:
        draft.findings[name] = finding
        return
    if current.value == finding.value:
        return
    if current.inferred and not finding.inferred:
        draft.findings[name] = finding
        finding = current
    others = draft.conflicts.setdefault(name, [])
    if finding.value not in others:
        others.append(finding.value)


# ---- dates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DateMention:
    """A date as written: month/day with or without a year, or a `fixed` day resolved from
    today ('next Monday'); `is_end` when it follows an end cue ('through', 'until', '-').
    `weekday` (ordinal, weekday index; -1 = last) stands for the day in "the first Monday of
    September"; `week_of` for "the week of August 6": the Monday that week starts on."""

    pos: int
    source: str
    is_end: bool
    month: int
    day: int
    year: int | None
    fixed: date | None = None
    note: str | None = None
    year_note: str | None = None
    weekday: tuple[int, int] | None = None
    week_of: bool = False

    def on(self, year: int) -> date:
        """The day this mention names in `year` (ValueError when there is none)."""
        if self.weekday is not None:
            return nth_weekday(year, self.month, *self.weekday)
        day = date(year, self.month, self.day)
        return day - timedelta(days=day.weekday()) if self.week_of else day


def nth_weekday(year: int, month: int, ordinal: int, weekday: int) -> date:
    """The first (1) to fourth (4), or the last (-1), given weekday of a month."""
    if ordinal == -1:
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (ordinal - 1))


_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
_ORDINALS |= {"fourth": 4, "4th": 4, "last": -1}
_WEEK_OF = re.compile(r"\bweek\s+of\s+(?:the\s+)?$")


_END_CUE = re.compile(
    r"(?:\bthrough|\bthru|\buntil|\btill|\bto|\bending|\bends?|\bend\s+date|\bfinish\w*|-)"
    r"\s*(?:on\s+|is\s+|of\s+|at\s+)?$"
)


def _days_later(days: int) -> Callable[[date], date]:
    return lambda d: d + timedelta(days=days)


_FIRST_DAY_OF_NEXT: dict[str, Callable[[date], date]] = {
    "week": lambda d: d + timedelta(days=7 - d.weekday()),
    "month": lambda d: date(d.year + d.month // 12, d.month % 12 + 1, 1),
}


def _date_mentions(t: _Text, today: date) -> list[_DateMention]:
    found: list[_DateMention] = []

    def add(
        m: re.Match[str],
        month: int,
        day: int,
        year: int | None,
        *,
        fixed: date | None = None,
        note: str | None = None,
        weekday: tuple[int, int] | None = None,
    ) -> None:
        before = t.before(m.start())
        is_end = bool(_END_CUE.search(before))
        week_of = weekday is None and fixed is None and bool(_WEEK_OF.search(before))
        found.append(
            _DateMention(
                m.start(), t.take(m), is_end, month, day, year, fixed, note, None, weekday, week_of
            )
        )

    weekday = "|".join(_WEEKDAYS)
    ordinal = "|".join(_ORDINALS)
    for m in list(
        t.find(
            rf"\b(?:the\s+)?({ordinal})\s+({weekday})\s+(?:of|in)\s+({MONTH})\.?"
            r"(?:\s*,?\s*(\d{4})\b)?"
        )
    ):
        add(
            m,
            _MONTHS[m[3][:3]],
            1,
            int(m[4]) if m[4] else None,
            weekday=(_ORDINALS[m[1]], _WEEKDAYS.index(m[2])),
        )
    for m in list(t.find(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")):
        add(m, int(m[2]), int(m[3]), int(m[1]))
    for m in list(t.find(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")):
        year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        add(m, int(m[1]), int(m[2]), year)
    for m in list(
        t.find(
            rf"\b({MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:\s*,?\s*(\d{{4}})\b|{_NOT_A_DAY})"
        )
    ):
        add(m, _MONTHS[m[1][:3]], int(m[2]), int(m[3]) if m[3] else None)
    for m in list(
        t.find(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTH})\.?(?:\s*,?\s*(\d{{4}})\b)?")
    ):
        add(m, _MONTHS[m[2][:3]], int(m[1]), int(m[3]) if m[3] else None)
    for m in list(t.find(rf"\b({MONTH})\.?\s*,?\s+(\d{{4}})\b")):
        add(m, _MONTHS[m[1][:3]], 1, int(m[2]), note="day assumed to be the 1st")

    def relative(m: re.Match[str], resolve: Callable[[date], date], note: str) -> None:
        """A day resolved from today; none past the end of the calendar (an injected `today`
        in year 9999), where the mention is dropped rather than raising."""
        try:
            day = resolve(today)
        except (OverflowError, ValueError):
            return
        add(m, day.month, day.day, day.year, fixed=day, note=note)

    for m in list(t.find(rf"\b(?:next|this\s+coming|coming|this|on)\s+({weekday})\b")):
        ahead = (_WEEKDAYS.index(m[1]) - today.weekday() - 1) % 7 + 1
        relative(m, _days_later(ahead), f"resolved from today {today}")
    start_cue = r"\b(?:start\w*|from|begin\w*|launch\w*|kick\w*\s+off)"
    for m in list(t.find(rf"{start_cue}\s+(today|tomorrow)\b")):
        shift = 1 if m[1] == "tomorrow" else 0
        relative(m, _days_later(shift), f"resolved from today {today}")
    for m in list(t.find(r"\bnext\s+(week|month)\b")):
        relative(m, _FIRST_DAY_OF_NEXT[m[1]], f"the first day of next {m[1]}, from today {today}")
    return sorted(found, key=lambda d: d.pos)


def _when(
    m: _DateMention,
    today: date,
    field: str,
    draft: Draft,
    *,
    after: date | None = None,
    before: date | None = None,
) -> date | None:
    """The calendar date of a mention; a missing year comes from the other end of the season,
    else the next such date on or after today."""
    if m.fixed is not None:
        return m.fixed
    try:
        if m.year is not None:
            return m.on(m.year)
        if before is not None:
            day = m.on(before.year)
            return day if day <= before else m.on(before.year - 1)
        if after is not None:
            day = m.on(after.year)
            return day if day > after else m.on(after.year + 1)
        day = m.on(today.year)
        return day if day >= today else m.on(today.year + 1)
    except ValueError:
        draft.problems[field] = f"'{m.source}' is not a calendar date"
        return None


def _read_season(t: _Text) -> Season | None:
    """The season the text names, and the year it names (a season's, else a bare year's)."""
    season = None
    named = find_season(t.work, t.original)
    if named is not None:
        season, span = named
        t.blank(span)
    return season


def _with_year(t: _Text, season: Season | None, found: list[_DateMention]) -> Season | None:
    """A bare year ("March 3 of 2025", "2025 denim") gives a season without one its year."""
    if season is not None and season.year is not None:
        return season
    days = [(m.pos, m.pos + len(m.source)) for m in found if m.year is None and m.fixed is None]
    bare = find_bare_year(t.work, t.original, days)
    if bare is None:
        return season
    year, span = bare
    t.blank(span)
    if season is None:
        return year
    return Season(f"{season.label} {year.label}", season.kind, year.year)


def _dated_by(m: _DateMention, season: Season | None) -> _DateMention:
    """A day written without a year takes the named season's; a full date keeps its own year,
    noting when the season names another."""
    if season is None or season.year is None or m.fixed is not None:
        return m
    month_name = date(2000, m.month, 1).strftime("%B")
    if m.year is None:
        return replace(
            m, year=season.year_of(m.month), year_note=season.year_note(m.month, month_name)
        )
    if season.year_of(m.month) != m.year:
        return replace(
            m, year_note=f"the text also names {season.label}; the full date {m.source} wins"
        )
    return m


def _read_dates(t: _Text, draft: Draft, today: date) -> date | None:
    """Start date into the draft; the end date, if any, returned for the horizon. A season
    named without a day starts on its default day (inferred)."""
    season = _read_season(t)
    found = _date_mentions(t, today)
    season = _with_year(t, season, found)
    mentions = [_dated_by(m, season) for m in found]
    starts = [m for m in mentions if not m.is_end]
    ends = [m for m in mentions if m.is_end]
    start_m = starts[0] if starts else None
    end_m = ends[0] if ends else None
    start = end = None
    if start_m and end_m and start_m.year is None and start_m.fixed is None:
        end = _when(end_m, today, "season_end_date", draft)
        start = _when(start_m, today, "season_start_date", draft, before=end)
    else:
        if start_m:
            start = _when(start_m, today, "season_start_date", draft)
        if end_m:
            end = _when(end_m, today, "season_end_date", draft, after=start)
    if start is not None and start_m is not None:
        inferred = start_m.year is None or start_m.note is not None
        note = start_m.note or start_m.year_note
        if start_m.year is None and start_m.fixed is None:
            note = (
                no_year_note(start.year)
                if end_m is None or end_m.year is None
                else (f"year from the end date {end}")
            )
        if start_m.week_of and not _names_day(start, start_m):
            inferred = True
            note = "; ".join(filter(None, [_week_note(start, start_m), note]))
        _add(draft, "season_start_date", Finding(start, start_m.source, inferred, note))
        for other in starts[1:]:
            if other.year is not None and other.fixed is None:
                day = _when(other, today, "season_start_date", draft)
                if day is not None:
                    _add(draft, "season_start_date", Finding(day, other.source))
    elif start_m is None and season is not None:
        default = season.default_start(today)
        if default is not None:
            day, why = default
            _add(draft, "season_start_date", Finding(day, season.label, True, why))
    return end


def _names_day(monday: date, m: _DateMention) -> bool:
    return (monday.month, monday.day) == (m.month, m.day)


def _week_note(monday: date, m: _DateMention) -> str:
    """'the week of August 6, 2025 starts on Monday, August 4'."""
    return f"the week of {m.source} starts on Monday, {monday:%B} {monday.day}"


# ---- replenishment ---------------------------------------------------------------------------

_REPLENISHMENT = (
    (
        "none",
        False,
        r"\b(?:no|without|zero|not\s+any|never)\s+(?:\w+\s+)?(?:replenish\w*|restock\w*"
        r"|re-stock\w*|re-?orders?|reorder\w*|re-?supply|top[\s-]?ups?)",
    ),
    ("none", False, r"\b(?:don'?t|do\s+not|won'?t|will\s+not|never)\s+(?:re-?stock|replenish)\w*"),
    (
        "none",
        False,
        r"\b(?:one|single)(?:[\s-]+time)?[\s-]+(?:initial[\s-]+)?(?:allocation|buy"
        r"|drop|shipment|delivery)\b",
    ),
    ("none", False, r"\binitial\s+allocation\s+only\b|\ballocate\s+once\b"),
    ("none", False, r"\breplenish\w*\s*(?::|=|is|of)?\s*none\b"),
    ("bi-weekly", False, r"\bbi-?\s?weekly\b|\bfortnight(?:ly)?\b"),
    ("bi-weekly", False, r"\bevery\s+(?:two|2|other|second)\s+weeks?\b"),
    ("bi-weekly", True, r"\btwice\s+(?:a|per)\s+month\b|\btwice\s+monthly\b|\bsemi-?monthly\b"),
    (
        "weekly",
        None,
        r"\bweekly\b|\bevery\s+(?:single\s+)?week\b|\beach\s+week\b"
        r"|\bonce\s+(?:a|per)\s+week\b",
    ),
    ("monthly", None, r"\bmonthly\b|\bevery\s+month\b|\bonce\s+(?:a|per)\s+month\b"),
    ("daily", None, r"\bdaily\b|\bevery\s+day\b"),
    ("quarterly", None, r"\bquarterly\b"),
)


def _read_replenishment(t: _Text, draft: Draft) -> None:
    """A cadence word counts when it sits in a sentence about replenishment, or when it can
    only mean a cadence (bi-weekly, fortnightly, no replenishment). A bare 'weekly' counts as
    inferred; a cadence outside the contract (monthly) counts only next to replenishment words."""
    for value, inferred, pattern in _REPLENISHMENT:
        for m in list(t.find(pattern)):
            about_replenishment = bool(_REPLENISH_WORDS.search(t.sentence(m.start())))
            if value not in ("none", "bi-weekly", "weekly") and not about_replenishment:
                continue
            source = t.take(m)
            if value not in ("none", "bi-weekly", "weekly"):
                draft.problems["replenishment_strategy"] = (
                    f"'{source}' is not one of none, weekly, bi-weekly"
                )
                continue
            guess = (not about_replenishment) if inferred is None else inferred
            _add(draft, "replenishment_strategy", Finding(value, source, guess))


# ---- percentages: sell-through threshold, discounts, holdback --------------------------------

_SELL_THROUGH = r"sell[\s-]?through"
_BELOW = r"(?:below|under|less\s+than|lower\s+than|beneath|<)"


def _read_threshold(t: _Text, draft: Draft) -> None:
    patterns = (
        rf"{_SELL_THROUGH}\s+(?:rate\s+)?(?:is\s+|falls\s+|drops\s+|comes\s+in\s+|stays\s+|of\s+)?"
        rf"{_BELOW}\s*({PCT})",
        rf"{_BELOW}\s*({PCT})\s+{_SELL_THROUGH}",
        rf"{_SELL_THROUGH}\s+(?:threshold|target|trigger|floor)\s*(?:of|at|is|:|=)?\s*({PCT})",
    )
    for pattern in patterns:
        for m in list(t.find(pattern)):
            value = _ratio(m[1])
            _add(draft, "markdown_threshold", Finding(value, t.take(m)))
            if not 0.0 < value < 1.0:
                draft.problems["markdown_threshold"] = f"{value:.0%} is not between 0% and 100%"


def _drop_discounts(t: _Text) -> None:
    """'30% off' and 'a markdown of 30%' are price cuts, never a holdback. Only the percentage
    is blanked: the word 'markdown' still marks the sentence for the checkpoint reader."""
    for pattern in (
        rf"({PCT})\s*(?:off|discount|mark[\s-]?downs?|price\s+cut|reduction)\b",
        rf"\b(?:mark[\s-]?downs?|discount|price\s+cut)\s+(?:of\s+|by\s+|at\s+)?"
        rf"(?:up\s+to\s+)?({PCT})",
    ):
        for m in list(t.find(pattern)):
            t.take(m, 1)


def _read_holdback(t: _Text, draft: Draft) -> None:
    zero = (
        r"\b(?:no|zero|without(?:\s+a(?:ny)?)?)\s+(?:dc\s+|distribution[\s-]+cent(?:er|re)\s+"
        r"|warehouse\s+)?hold[\s-]?backs?\b",
        r"\b(?:don'?t|do\s+not|won'?t|will\s+not)\s+hold\s+(?:anything|any\s+\w+)?\s*back\b",
        r"\bhold\s+nothing\s+back\b|\bnothing\s+(?:is\s+)?(?:held|kept|reserved)\b",
        r"(?:\ball\b|\beverything\b|\b100\s*%)[^.;\n]{0,40}?\b(?:to|into|in|at)\s+"
        r"(?:the\s+)?stores\b",
    )
    for pattern in zero:
        for m in list(t.find(pattern)):
            _add(draft, "dc_holdback_percentage", Finding(0.0, t.take(m)))
    for m in list(t.find(rf"(?<![\d.]){PCT}")):
        sentence = t.sentence(m.start())
        window = t.work[max(0, m.start() - 60) : m.end() + 60]
        if _HOLDBACK_WORDS.search(window) and _HOLDBACK_WORDS.search(sentence):
            value = _ratio(m[0])
            _add(draft, "dc_holdback_percentage", Finding(value, t.take(m)))
            if value > 1.0:
                draft.problems["dc_holdback_percentage"] = f"{value:.0%} is more than 100%"
    for m in list(t.find(r"\bhold[\s-]?back\s+(?:of\s+)?(0?\.\d{1,4}|1\.0+)\b(?!\s*%)")):
        _add(draft, "dc_holdback_percentage", Finding(float(m[1]), t.take(m)))


# ---- checkpoint, unit target, horizon ---------------------------------------------------------


def _read_checkpoint(t: _Text, draft: Draft) -> None:
    for pattern in (rf"\bweek\s+(?:#\s*)?({NUM})", r"\b(\d{1,2})(?:st|nd|rd|th)\s+week\b"):
        for m in list(t.find(pattern)):
            if _CHECKPOINT_WORDS.search(t.sentence(m.start())):
                value = number(m[1])
                _add(draft, "markdown_checkpoint_week", Finding(value, t.take(m)))


_SCALE = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "mm": 1_000_000, "million": 1_000_000}


def _read_units(t: _Text, draft: Draft) -> None:
    pattern = (
        r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d{1,9}(?:\.\d{1,3})?|" + NUM + r")\s*"
        r"(million|thousand|mm|m|k)?\s*(?:total\s+)?(?:units?|pieces|pcs|items|eaches)\b"
    )
    for m in list(t.find(pattern)):
        raw = m[1].replace(",", "")
        base = float(raw) if re.fullmatch(r"[\d.]+", raw) else float(number(raw))
        value = round(base * _SCALE.get(m[2] or "", 1))
        _add(draft, "unit_target", Finding(value, t.take(m)))
        if not 1 <= value <= 100_000_000:
            draft.problems["unit_target"] = f"{value} units is outside 1-100,000,000"


_NOT_A_SEASON_BEFORE = re.compile(
    r"\b(?:every|each|after|in|within|first|last|other|per|hold(?:ing)?\s+back|reserve|keep"
    r"|retain)\s+(?:about\s+|the\s+)?$"
)
_NOT_A_SEASON_AFTER = (
    r"(?!\s+(?:of\s+(?:supply|cover|inventory|stock)|in\b|into\b|before\b|after\b|prior\b"
    r"|later\b|out\b|from\s+now\b|ago\b|of\s+the))"
)


_ONE = ("a", "an", "one", "the", "single", "full", "whole", "entire", "1")
_HORIZONS: tuple[tuple[str, Callable[[int], int], bool, str | None], ...] = (
    (rf"\b({NUM})\s*(?:-\s*)?(?:weeks?|wks?)\b", lambda n: n, False, None),
    (
        rf"\b({NUM}|an?|one)\s*(?:-\s*)?months?\b",
        lambda n: round(n * 13 / 3),
        True,
        "months converted at 13 weeks per 3 months",
    ),
    (
        rf"\b({NUM}|a|one|the|single)\s*(?:-\s*)?quarters?(?:[\s-]long)?\b",
        lambda n: 13 * n,
        True,
        "a quarter is 13 weeks",
    ),
    (r"\bhalf[\s-]+(?:a[\s-]+)?(year)\b", lambda n: 26, True, "half a year is 26 weeks"),
    (r"\b(a|one|1|full|whole|entire)[\s-]+year\b", lambda n: 52, True, "a year is 52 weeks"),
)


def _read_horizon(t: _Text, draft: Draft, end: date | None) -> None:
    """Season length in weeks: stated, converted from months/quarters/years, or computed from
    an end date. A stated length wins; an end date that disagrees with it is kept as a conflict."""
    for pattern, to_weeks, inferred, note in _HORIZONS:
        for m in list(t.find(pattern + _NOT_A_SEASON_AFTER)):
            if _NOT_A_SEASON_BEFORE.search(t.before(m.start())):
                continue
            if "quarter" in m[0] and re.match(r"\s+of\b", t.work[m.end() :]):
                continue
            count = 1 if m[1] in _ONE or m[1] == "year" else number(m[1])
            weeks = to_weeks(count)
            _add(draft, "forecast_horizon_weeks", Finding(weeks, t.take(m), inferred, note))
    start = draft.value("season_start_date")
    if end is None or start is None:
        return
    days = (end - start).days
    if days <= 0:
        draft.problems["season_end_date"] = f"the end date {end} is not after the start {start}"
        return
    weeks = round(days / 7)
    note = f"from the end date {end.isoformat()}" + (
        "" if days % 7 == 0 else f", {days} days rounded to {weeks} weeks"
    )
    _add(draft, "forecast_horizon_weeks", Finding(weeks, end.isoformat(), True, note))


def extract(text: str, today: date) -> Draft:
    """Read every parameter the text states; never raises."""
    draft = Draft(extractor="rules")
    t = _Text(text)
    end = _read_dates(t, draft, today)
    _read_replenishment(t, draft)
    _read_threshold(t, draft)
    _drop_discounts(t)
    _read_holdback(t, draft)
    _read_checkpoint(t, draft)
    _read_units(t, draft)
    _read_horizon(t, draft, end)
    return draft
