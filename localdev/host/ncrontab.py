"""Timer schedules: six-field NCRONTAB expressions (sec min hour day month day-of-week), the
host's `hh:mm:ss` intervals, and `%SETTING%` indirection, as Azure Functions accepts them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_CRON_FIELDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@dataclass(frozen=True)
class Schedule:
    """A timer schedule: six NCRONTAB fields (sec min hour day month dow) or a fixed interval
    ("hh:mm:ss", which the host also accepts)."""

    fields: tuple[frozenset[int], ...] | None = None
    interval: timedelta | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after `moment` (UTC, whole seconds)."""
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        if self.interval is not None:
            return start - timedelta(seconds=1) + self.interval
        assert self.fields is not None
        seconds, minutes, hours, days, months, weekdays = self.fields
        t = start
        limit = start + timedelta(days=366 * 5)
        while t < limit:
            if t.month not in months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(
                    day=1
                )
            elif t.day not in days or (t.isoweekday() % 7) not in weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            elif t.hour not in hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
            elif t.minute not in minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
            elif t.second not in seconds:
                t += timedelta(seconds=1)
            else:
                return t
        raise ValueError("schedule never fires")


def parse_schedule(expression: str, environ: dict[str, str] | None = None) -> Schedule:
    """Parse a timer trigger schedule; `%NAME%` is resolved from app settings like the host.

    Fields accept `*`, `N`, `A-B`, lists `A,B`, steps `*/N` and `A-B/N`, and month/day names.
    Day of month and day of week must both match (NCRONTAB semantics).
    """
    text = expression.strip()
    setting = re.fullmatch(r"%([^%]+)%", text)
    if setting:
        env = os.environ if environ is None else environ
        if setting.group(1) not in env:
            raise ValueError(f"app setting {setting.group(1)} for the schedule is not set")
        text = env[setting.group(1)].strip()
    interval = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", text)
    if interval:
        d, h, m, s = (int(g or 0) for g in interval.groups())
        span = timedelta(days=d, hours=h, minutes=m, seconds=s)
        if span <= timedelta(0):
            raise ValueError(f"timer interval must be positive: {expression!r}")
        return Schedule(interval=span)
    parts = text.split()
    if len(parts) != 6:
        raise ValueError(
            f"NCRONTAB schedule needs 6 fields (sec min hour day month dow): {expression!r}"
        )
    fields = []
    for index, (part, (low, high)) in enumerate(zip(parts, _CRON_FIELDS, strict=True)):
        names = _MONTHS if index == 4 else _DAYS if index == 5 else None
        fields.append(frozenset(_cron_field(part, low, high, names)))
    return Schedule(fields=tuple(fields))


def _cron_field(part: str, low: int, high: int, names: list[str] | None) -> set[int]:
    def value(token: str) -> int:
        if names and token.lower()[:3] in names:
            return names.index(token.lower()[:3]) + (1 if names is _MONTHS else 0)
        number = int(token)
        if names is _DAYS and number == 7:
            number = 0
        if not low <= number <= high:
            raise ValueError(f"{token} outside {low}-{high}")
        return number

    result: set[int] = set()
    for item in part.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step must be >= 1: {item!r}")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = value(a), value(b)
        else:
            first = value(span)
            last = high if step_text else first
        result.update(range(first, last + 1, step))
    if not result:
        raise ValueError(f"empty cron field: {part!r}")
    return result
