"""Sums of one category's weekly sales, computed by the database (SQLite and PostgreSQL alike).

Why: the Demand and Pricing agents read a category's history as sums (units per week, units per
store over a window), never row by row. Handing the rows to Python is the slow part of a plan at
retail scale: the DBAPI turns every row into Python objects at about 1 µs each, 7.8 M rows at
50,000 stores x 156 weeks. Summed by the database, 156 weekly rows and one row per store come
back instead (`GROUP BY`), and only the database touches the rows.

Each function is one query (two for `stores_with_sales`), takes an open connection and returns
typed pandas objects; the context assembler (shared/data/context.py) decides what to ask and
caches the answers per data version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Exists, exists, func, select
from sqlalchemy.orm import aliased

from shared.data.tables import HistoricalSale, Store

SEEK_TO_ROW_COST = 4
"""About how many rows a sorted `GROUP BY` scan reads in the time of one primary-key seek (SQLite,
measured at 50,000 stores: 1.9 µs a seek, 0.7 µs a row through the sorter, rounded up): where
`stores_with_sales` asks per store and where it scans."""


def weekly_totals(conn: Connection, category_id: str) -> pd.DataFrame:
    """Units and rows per week over every store, the whole stored history, weeks ascending:
    index `week_start_date` (datetime64[ns]), columns `units_sold` and `rows` (int64); empty
    when the category has no sales.

    The primary key starts (category_id, week_start_date), so the database reads the category
    in week order and sums as it goes (no sort)."""
    sale = HistoricalSale
    rows = conn.execute(
        select(sale.week_start_date, func.sum(sale.units_sold), func.count())
        .where(sale.category_id == category_id)
        .group_by(sale.week_start_date)
        .order_by(sale.week_start_date)
    ).all()
    weeks = pd.DatetimeIndex(
        pd.to_datetime([week for week, _, _ in rows]).to_numpy("datetime64[ns]"),
        name="week_start_date",
    )
    return pd.DataFrame(
        {
            "units_sold": np.fromiter((units for _, units, _ in rows), np.int64, len(rows)),
            "rows": np.fromiter((count for _, _, count in rows), np.int64, len(rows)),
        },
        index=weeks,
    )


def store_window(
    conn: Connection, category_id: str, first_week: date, last_week: date
) -> pd.DataFrame:
    """Per store over the weeks starting from `first_week` through `last_week` (inclusive):
    `units` (the sum) and `weeks` (the rows: one per store and week), int64, indexed by
    store_id (str), ascending; the stores with sales rows in those weeks only."""
    sale = HistoricalSale
    rows = conn.execute(
        select(sale.store_id, func.sum(sale.units_sold), func.count())
        .where(
            sale.category_id == category_id,
            sale.week_start_date >= first_week,
            sale.week_start_date <= last_week,
        )
        .group_by(sale.store_id)
        .order_by(sale.store_id)
    ).all()
    return pd.DataFrame(
        {
            "units": np.fromiter((units for _, units, _ in rows), np.int64, len(rows)),
            "weeks": np.fromiter((count for _, _, count in rows), np.int64, len(rows)),
        },
        index=pd.Index([store for store, _, _ in rows], dtype=object, name="store_id"),
    )


def _sold_in(category_id: str, weeks: Sequence[date]) -> Exists:
    """Whether the outer query's store has a sales row of the category in one of `weeks`."""
    row = aliased(HistoricalSale)
    return exists().where(
        row.category_id == category_id,
        row.week_start_date.in_(list(weeks)),
        row.store_id == Store.store_id,
    )


def stores_only_before(
    conn: Connection,
    category_id: str,
    earlier: Sequence[date],
    window: Sequence[date],
    *,
    known: set[str],
    earlier_rows: int,
    stores_table_size: int,
) -> list[str]:
    """The stores with a sales row in one of the `earlier` weeks and none in the `window`
    weeks, ascending. `known`: the stores with rows in the window (`store_window` over it);
    `earlier_rows`: how many sales rows the earlier weeks hold (`weekly_totals`).

    Why: a category's stores are the ones that sold it at any time, and a store that stopped
    selling (a closed store, a delisted line) is still one of them; the recent window found the
    others already. Two ways to the same answer, the cheaper one taken: ask per store of the
    stores table, by primary-key seeks (most stores are in the window and answer at the first
    seek), when a category sells in all or nearly all stores; otherwise read the earlier weeks'
    rows grouped by store. A store missing from the stores table is found only the second way
    (the schema's foreign key keeps such rows out of a database the app imported)."""
    if not earlier or earlier_rows == 0:
        return []
    unseen = max(stores_table_size - len(known), 0)
    seeks = unseen * (len(earlier) + len(window)) + len(known)
    if seeks * SEEK_TO_ROW_COST <= earlier_rows:
        if unseen == 0:
            return []  # every store of the stores table sold in the window
        sold_in = [_sold_in(category_id, weeks) for weeks in (earlier, window)]
        query = select(Store.store_id).where(sold_in[0])
        if window:
            query = query.where(~sold_in[1])
        found = conn.execute(query.order_by(Store.store_id)).scalars()
    else:
        sale = HistoricalSale
        found = conn.execute(
            select(sale.store_id)
            .where(sale.category_id == category_id, sale.week_start_date.in_(list(earlier)))
            .group_by(sale.store_id)
            .order_by(sale.store_id)
        ).scalars()
    return [store for store in found if store not in known]
