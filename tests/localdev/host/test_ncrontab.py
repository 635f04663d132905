"""Timer schedules as the Functions host reads them: six-field NCRONTAB, TimeSpan intervals and
%setting% references."""

from datetime import UTC, datetime

import pytest

from localdev.host.ncrontab import parse_schedule


def test_ncrontab_schedules():
    at = datetime(2025, 1, 1, 10, 7, 30, tzinfo=UTC)  # a Wednesday
    assert parse_schedule("0 */5 * * * *").next_after(at) == at.replace(minute=10, second=0)
    assert parse_schedule("*/15 * * * * *").next_after(at) == at.replace(second=45)
    assert parse_schedule("0 30 9 * * 1-5").next_after(at) == datetime(
        2025, 1, 2, 9, 30, tzinfo=UTC
    )
    assert parse_schedule("0 0 0 1 Mar *").next_after(at) == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_schedule("0 0 12 * * sun").next_after(at) == datetime(2025, 1, 5, 12, tzinfo=UTC)
    assert parse_schedule("00:05:00").next_after(at) == at.replace(minute=12)
    assert parse_schedule("%SCHED%", {"SCHED": "0 0 * * * *"}).next_after(at) == at.replace(
        hour=11, minute=0, second=0
    )
    for bad in ("* * * * *", "61 * * * * *", "*/0 * * * * *", "%MISSING%", "0 0 0 31 2 *"):
        with pytest.raises(ValueError):
            parse_schedule(bad, {}).next_after(at)
