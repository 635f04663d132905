"""Reading and checking an upload of weekly actuals: accepted whole or refused whole, every
refused row named with its problems."""

from __future__ import annotations

from datetime import date

import pytest

from shared.errors import InvalidParametersError
from shared.season_actuals import check_rows, rows_from_csv, rows_from_json

WEEKS = [date(2025, 1, 6), date(2025, 1, 13)]
STORES = {"S1", "S2"}


def checked(rows):
    return check_rows(rows, week_starts=WEEKS, category_id="denim", known_stores=STORES)


def test_a_good_csv_with_optional_on_hand_is_read_whole():
    rows = rows_from_csv(
        "week_start_date,store_id,category_id,units_sold,on_hand\n"
        "2025-01-06,S1,denim,10,\n2025-01-06,S2,denim,7,33\n"
    )
    accepted = checked(rows)
    assert [(r.store_id, r.units_sold, r.on_hand) for r in accepted] == [
        ("S1", 10, None),
        ("S2", 7, 33),
    ]


def test_every_bad_row_is_named_and_nothing_is_accepted():
    rows = rows_from_json(
        {
            "rows": [
                {
                    "week_start_date": "2025-01-06",
                    "store_id": "S1",
                    "category_id": "denim",
                    "units_sold": 3,
                },
                {
                    "week_start_date": "2024-06-03",
                    "store_id": "S1",
                    "category_id": "denim",
                    "units_sold": 3,
                },
                {
                    "week_start_date": "2025-01-06",
                    "store_id": "S9",
                    "category_id": "other",
                    "units_sold": -1,
                },
                {
                    "week_start_date": "2025-01-06",
                    "store_id": "S1",
                    "category_id": "denim",
                    "units_sold": 4,
                },
                {
                    "week_start_date": "soon",
                    "store_id": "S2",
                    "category_id": "denim",
                    "units_sold": True,
                    "on_hand": "x",
                },
            ]
        }
    )
    with pytest.raises(InvalidParametersError) as refused:
        checked(rows)
    details = refused.value.details
    problems = {r["row"]: r["problems"] for r in details["refused_rows"]}
    assert sorted(problems) == [2, 3, 4, 5] and details["refused_count"] == 4
    assert problems[2] == ["week_start_date is not a week of this season"]
    assert problems[3] == [
        "unknown store_id",
        "category_id is not the season's (denim)",
        "units_sold is not a whole number >= 0",
    ]
    assert problems[4] == ["the same week and store appear twice"]
    assert "on_hand is not a whole number >= 0" in problems[5]


@pytest.mark.parametrize(
    "body",
    [[], {"rows": "x"}, {"rows": [1]}, {"nope": []}],
    ids=["list", "rows-text", "rows-numbers", "no-rows"],
)
def test_a_json_body_without_a_rows_list_of_objects_is_refused(body):
    with pytest.raises(InvalidParametersError):
        rows_from_json(body)


def test_a_csv_without_the_required_columns_or_rows_is_refused():
    with pytest.raises(InvalidParametersError) as missing:
        rows_from_csv("week_start_date,store_id\n2025-01-06,S1\n")
    assert missing.value.details["missing_columns"] == ["category_id", "units_sold"]
    with pytest.raises(InvalidParametersError):
        checked([])
