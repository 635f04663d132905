"""The sample generator holds back its last weeks as weekly actuals files for a live season."""

from __future__ import annotations

import csv

from localdev.sample_data import generate_sample, hold_back, write_weekly_files


def test_held_back_weeks_leave_the_history_and_become_one_file_per_category_and_week(tmp_path):
    sample = generate_sample(stores=5, weeks=60, categories=2)
    kept, held = hold_back(sample, 3)

    weeks = sorted(sample.sales["week_start_date"].unique())
    assert kept.sales["week_start_date"].max() == weeks[-4]
    assert sorted(held["week_start_date"].unique()) == weeks[-3:]
    assert len(kept.sales) + len(held) == len(sample.sales)

    paths = write_weekly_files(held, tmp_path)

    assert len(paths) == 2 * 3
    with paths[0].open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["week_start_date", "store_id", "category_id", "units_sold"]
    assert len(rows) == 5 and len({r["category_id"] for r in rows}) == 1
    assert sum(int(r["units_sold"]) for f in paths for r in csv.DictReader(f.open())) == int(
        held["units_sold"].sum()
    )
