"""CSV import of stores, categories and weekly sales: ONE validated, all-or-nothing path.

`import_csv` is what the upload endpoint (POST /api/data/import) and, locally,
`python -m localdev load` call. It reads every file
as text, checks it completely (columns, types, ISO dates, weekday grid, negatives, duplicate keys,
references to stores), and only then writes everything in one transaction with `write_frames`,
which also bumps the data version so context caches in every process drop what they hold. A bad
file raises one `DataImportError` listing the offending rows and changes nothing.

Semantics of a write:
- stores and categories are upserted by id; ids not in the file are kept (other categories'
  sales may reference them);
- sales: with `replace=True` the file's categories are replaced as a whole (their old rows are
  deleted first); with `replace=False` rows are appended and a key already stored is an error;
- a category in the sales file that is neither stored nor in a categories file is created with
  DEFAULT_CATEGORY values and named in `ImportReport.warnings`, because pricing needs a price:
  supply a categories file to set the real economics.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, Row, bindparam, delete, insert, select, update
from sqlalchemy.sql.schema import Table

from shared.data import import_rules
from shared.data.columns import (
    ALIAS_SEPARATOR,
    ALIASES_MAX_LENGTH,
    CATEGORY_COLUMNS,
    DEFAULT_CURRENCY,
    DEFAULT_VENDOR_LEAD_WEEKS,
    MAX_LISTED_PROBLEMS,
    OPTIONAL_COLUMNS,
    SALES_COLUMNS,
    STORE_COLUMNS,
    split_aliases,
)
from shared.data.csv_safety import starts_like_formula
from shared.data.schema import create_schema
from shared.data.tables import Category, HistoricalSale, Store, bump_data_version
from shared.errors import InvalidParametersError
from shared.schemas import CATEGORY_ID_PATTERN

CsvSource = str | Path | bytes | IO[str] | IO[bytes]

DEFAULT_CATEGORY = {
    "full_price": 50.0,
    "unit_cost": 20.0,
    "salvage_fraction": 0.3,
    "price_elasticity": -2.0,
    "currency": DEFAULT_CURRENCY,
    "vendor_lead_weeks": DEFAULT_VENDOR_LEAD_WEEKS,
    "aliases": "",
}
INT32_MAX = 2**31 - 1
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CHUNK = 500


class DataImportError(InvalidParametersError):
    """The files were rejected; `details["problems"]` lists rows as {file, row, column, problem}."""


class ImportReport(BaseModel):
    stores: int = 0
    categories: int = 0
    categories_created: list[str] = []
    sales_rows: int = 0
    sales_categories: list[str] = []
    replaced: bool = True
    data_version: int = 0
    warnings: list[str] = []


@dataclass
class _Problems:
    """Problems found in one file: the total count and the first rows of each check."""

    file: str
    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def add(self, mask: pd.Series, column: str, problem: Any) -> int:
        """Record rows where `mask` is True; `problem` is a string or a row -> string function."""
        hits = int(mask.sum())
        if hits:
            for index in mask.index[mask.to_numpy()][:MAX_LISTED_PROBLEMS]:
                text = problem(index) if callable(problem) else problem
                self.items.append(
                    {"file": self.file, "row": int(index) + 2, "column": column, "problem": text}
                )
        self.count += hits
        return hits

    def header(self, problem: str, column: str = "") -> None:
        self.row(1, column, problem)

    def row(self, row: int, column: str, problem: str) -> None:
        if len(self.items) < MAX_LISTED_PROBLEMS:
            self.items.append({"file": self.file, "row": row, "column": column, "problem": problem})
        self.count += 1


def _show(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _read(
    source: CsvSource, name: str, columns: tuple[str, ...], problems: _Problems
) -> pd.DataFrame | None:
    """The file as a frame of strings with exactly `columns`, or None after recording why not."""
    try:
        data = _source_bytes(source)
    except FileNotFoundError as absent:
        problems.header(f"{name} file not found: {absent.filename}")
        return None
    text = data.decode("utf-8", errors="replace")
    # A file saved with another separator is one problem, named before its tabs could be read
    # as control characters inside fields.
    header = [c.strip() for c in text.lstrip("\ufeff").split("\n", 1)[0].split(",")]
    separator = _other_separator(header, columns)
    if separator is not None:
        problems.header(
            f"the columns are separated by {separator}, not commas: save the file as "
            "comma-separated CSV (expected header: " + ",".join(columns) + ")"
        )
        return None
    for row, column, problem in import_rules.character_problems(text):
        problems.row(row, column, problem)
    source = io.BytesIO(data)
    try:
        with warnings.catch_warnings():
            # A row with more fields than the header is an error, never silently truncated.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                source,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=True,
                skip_blank_lines=False,
                index_col=False,
                encoding="utf-8",
            )
    except pd.errors.EmptyDataError:
        problems.header("the file is empty; expected a header row: " + ",".join(columns))
        return None
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        problems.header(f"not a readable UTF-8 CSV file: {str(exc).strip()[:200]}")
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    for column, default in OPTIONAL_COLUMNS.get(name, {}).items():
        if column not in frame.columns:
            frame[column] = str(default)  # as the file would have it: every cell is read as text
    missing = [c for c in columns if c not in frame.columns]
    extra = [c for c in frame.columns if c not in columns]
    for column in missing:
        problems.header(f"missing column {column!r} (expected: {', '.join(columns)})", column)
    for column in extra:
        problems.header(f"unexpected column {column!r} (expected: {', '.join(columns)})", column)
    if len(set(frame.columns)) != len(frame.columns):
        problems.header("duplicate column names in the header")
    if missing or extra or len(set(frame.columns)) != len(frame.columns):
        return None
    if frame.empty:
        problems.header("the file has a header but no rows")
        return None
    return frame.loc[:, list(columns)]


OTHER_SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}
"""What a spreadsheet saves 'CSV' with in some locales and exports, named in the one error a
file separated by one of them gets (instead of a missing-column error per column)."""


def _other_separator(header: list[str], columns: tuple[str, ...]) -> str | None:
    """The separator a one-column header was really split by, when splitting it by that gives
    the expected columns' names; None otherwise."""
    if len(header) != 1:
        return None
    for separator, words in OTHER_SEPARATORS.items():
        names = [part.strip() for part in header[0].split(separator)]
        if len(names) > 1 and set(names) & set(columns):
            return words
    return None


def _source_bytes(source: CsvSource) -> bytes:
    """The file's bytes, whichever way it was given (a path, bytes, a text or binary stream)."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | Path):
        return Path(source).read_bytes()
    content = source.read()
    return content.encode("utf-8") if isinstance(content, str) else content


def _text(
    frame: pd.DataFrame, column: str, problems: _Problems, max_len: int, pattern: str | None = None
) -> None:
    values = frame[column].str.strip()
    frame[column] = values
    problems.add(values == "", column, "must not be empty")
    # Checked once per distinct value: a sales file repeats each id over millions of rows.
    formulas = {value for value in pd.unique(values) if starts_like_formula(value)}
    problems.add(
        values.isin(formulas),
        column,
        lambda i: (
            f"{_show(values[i])} starts with {_show(values[i][0])}, which a spreadsheet "
            "runs as a formula"
        ),
    )
    problems.add(values.str.len() > max_len, column, f"longer than {max_len} characters")
    if pattern is not None:
        bad = (values != "") & ~values.str.fullmatch(pattern)
        problems.add(
            bad,
            column,
            lambda i: f"{_show(values[i])} may contain only letters, digits, '_', '.', '-'",
        )


def _number(
    frame: pd.DataFrame,
    column: str,
    problems: _Problems,
    *,
    integer: bool,
    low: float | None = None,
    low_inclusive: bool = True,
    high: float | None = None,
    high_inclusive: bool = True,
) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw.str.strip(), errors="coerce")
    kind = "an integer" if integer else "a number"
    not_number = values.isna() | ~np.isfinite(values)
    problems.add(not_number, column, lambda i: f"{_show(raw[i])} is not {kind}")
    ok = ~not_number
    if integer:
        fractional = ok & (values != np.floor(values))
        problems.add(fractional, column, lambda i: f"{_show(raw[i])} is not a whole number")
        ok &= ~fractional
        too_big = ok & (values.abs() > INT32_MAX)
        problems.add(too_big, column, lambda i: f"{_show(raw[i])} is too large")
        ok &= ~too_big
    if low is not None:
        below = ok & ((values < low) if low_inclusive else (values <= low))
        word = "at least" if low_inclusive else "greater than"
        problems.add(below, column, lambda i: f"{_show(raw[i])} must be {word} {low:g}")
    if high is not None:
        above = ok & ((values > high) if high_inclusive else (values >= high))
        word = "at most" if high_inclusive else "less than"
        problems.add(above, column, lambda i: f"{_show(raw[i])} must be {word} {high:g}")
    return values


def _duplicates(frame: pd.DataFrame, keys: list[str], problems: _Problems) -> None:
    dup = frame.duplicated(keys, keep="first")
    if dup.any():
        first = (
            pd.Series(frame.index, index=frame.index)
            .groupby([frame[k] for k in keys])
            .transform("min")
        )
        problems.add(dup, ",".join(keys), lambda i: f"duplicate of row {int(first[i]) + 2}")


def _existing_ids(conn: Connection, column: Any) -> set[str]:
    return set(conn.execute(select(column)).scalars())


def _validate_stores(frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    for column, max_len in (
        ("store_id", 64),
        ("store_name", 200),
        ("region", 64),
        ("location_tier", 16),
        ("store_format", 64),
    ):
        _text(frame, column, problems, max_len)
    size = _number(frame, "store_size_sqft", problems, integer=True, low=0, low_inclusive=False)
    income = _number(frame, "median_income", problems, integer=False, low=0, low_inclusive=False)
    _duplicates(frame, ["store_id"], problems)
    return frame.assign(store_size_sqft=size, median_income=income)


def _validate_categories(frame: pd.DataFrame, problems: _Problems) -> pd.DataFrame:
    _text(frame, "category_id", problems, 64, CATEGORY_ID_PATTERN)
    _text(frame, "name", problems, 200)
    _duplicates(frame, ["category_id"], problems)
    currency = frame["currency"].str.strip().str.upper()
    problems.add(
        ~currency.str.fullmatch(r"[A-Z]{3}"),
        "currency",
        lambda i: f"{_show(frame['currency'][i])} is not a three-letter ISO 4217 code such as USD",
    )
    aliases = _aliases(frame["aliases"], problems)
    return frame.assign(
        currency=currency,
        aliases=aliases,
        full_price=_number(
            frame, "full_price", problems, integer=False, low=0, low_inclusive=False
        ),
        unit_cost=_number(frame, "unit_cost", problems, integer=False, low=0),
        salvage_fraction=_number(frame, "salvage_fraction", problems, integer=False, low=0, high=1),
        price_elasticity=_number(
            frame, "price_elasticity", problems, integer=False, high=0, high_inclusive=False
        ),
        vendor_lead_weeks=_number(
            frame, "vendor_lead_weeks", problems, integer=True, low=0, high=52
        ),
    )


def _aliases(column: pd.Series, problems: _Problems) -> pd.Series:
    """A category's aliases as stored: trimmed, '|' between them; an alias a spreadsheet would
    run as a formula, or a list too long for the column, is a problem of its row."""
    lists = column.map(split_aliases)
    problems.add(
        lists.map(lambda items: any(starts_like_formula(a) for a in items)),
        "aliases",
        lambda i: f"{_show(column[i])} has an alias that a spreadsheet runs as a formula",
    )
    stored = lists.map(ALIAS_SEPARATOR.join)
    problems.add(
        stored.str.len() > ALIASES_MAX_LENGTH,
        "aliases",
        f"longer than {ALIASES_MAX_LENGTH} characters",
    )
    return stored


def _validate_sales(
    frame: pd.DataFrame, problems: _Problems, known_stores: set[str]
) -> pd.DataFrame:
    raw_dates = frame["week_start_date"].str.strip()
    dates = pd.to_datetime(raw_dates, format="%Y-%m-%d", errors="coerce")
    bad_date = ~raw_dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}") | dates.isna()
    problems.add(
        bad_date,
        "week_start_date",
        lambda i: f"{_show(raw_dates[i])} is not a date in YYYY-MM-DD format",
    )
    _text(frame, "store_id", problems, 64)
    _text(frame, "category_id", problems, 64, CATEGORY_ID_PATTERN)
    units = _number(frame, "units_sold", problems, integer=True, low=0)
    good_dates = dates[~bad_date]
    if not good_dates.empty:
        weekday = int(good_dates.dt.weekday.mode().iloc[0])
        off_grid = ~bad_date & (dates.dt.weekday != weekday)
        problems.add(
            off_grid,
            "week_start_date",
            lambda i: (
                f"{raw_dates[i]} is a {_WEEKDAYS[dates[i].weekday()]}; the other weeks "
                f"start on {_WEEKDAYS[weekday]} (weekly data)"
            ),
        )
    store_ids = frame["store_id"]
    unknown = (store_ids != "") & ~store_ids.isin(known_stores)
    problems.add(
        unknown,
        "store_id",
        lambda i: f"unknown store {_show(store_ids[i])}: not in the stores file or the database",
    )
    typed = frame.assign(week_start_date=dates, units_sold=units)
    _duplicates(
        typed.assign(week_start_date=raw_dates),
        ["category_id", "store_id", "week_start_date"],
        problems,
    )
    return typed


def _check_plausible(
    conn: Connection,
    frames: dict[str, pd.DataFrame | None],
    problems: dict[str, _Problems],
    *,
    replace: bool,
    now: datetime,
) -> None:
    """History that is what it says (shared/data/import_rules.py): no look-alike of a stored
    or listed id, sales weeks inside the plausible window and, when appending, on the
    category's stored weekday grid."""
    stores, categories, sales = frames["stores"], frames["categories"], frames["sales"]
    stored_categories = _existing_ids(conn, Category.category_id)
    if stores is not None:
        mask, says = import_rules.lookalikes(
            stores["store_id"], _existing_ids(conn, Store.store_id)
        )
        problems["stores"].add(mask, "store_id", says)
    if categories is not None:
        mask, says = import_rules.lookalikes(categories["category_id"], stored_categories)
        problems["categories"].add(mask, "category_id", says)
    if sales is None:
        return
    listed = set() if categories is None else set(categories["category_id"])
    mask, says = import_rules.lookalikes(sales["category_id"], stored_categories | listed)
    problems["sales"].add(mask, "category_id", says)
    dates = sales["week_start_date"]
    for mask, says in import_rules.out_of_window(dates, now):
        problems["sales"].add(mask, "week_start_date", says)
    if not replace:
        weekdays = import_rules.stored_weekdays(conn, sales["category_id"].unique())
        mask, says = import_rules.off_stored_grid(dates, sales["category_id"], weekdays)
        problems["sales"].add(mask, "week_start_date", says)


def _already_stored(conn: Connection, sales: pd.DataFrame, problems: _Problems) -> None:
    """For append mode: rows whose key is already in the database."""
    cats = sorted(sales["category_id"].unique())
    rows: list[Row[str, str, date]] = []
    for chunk in _chunks(cats):
        rows.extend(
            conn.execute(
                select(
                    HistoricalSale.category_id,
                    HistoricalSale.store_id,
                    HistoricalSale.week_start_date,
                ).where(HistoricalSale.category_id.in_(chunk))
            ).all()
        )
    if not rows:
        return
    stored = pd.DataFrame(rows, columns=["category_id", "store_id", "week_start_date"])
    stored["week_start_date"] = pd.to_datetime(stored["week_start_date"])
    stored["_stored"] = True
    merged = sales[["category_id", "store_id", "week_start_date"]].merge(
        stored, how="left", on=["category_id", "store_id", "week_start_date"]
    )
    hit = pd.Series(merged["_stored"].eq(True).to_numpy(), index=sales.index)
    problems.add(
        hit,
        "category_id,store_id,week_start_date",
        "already stored; import with replace to overwrite the category",
    )


def _chunks(values: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def import_csv(
    engine: Engine,
    stores_csv: CsvSource | None = None,
    sales_csv: CsvSource | None = None,
    *,
    categories_csv: CsvSource | None = None,
    replace: bool = True,
    now: datetime | None = None,
) -> ImportReport:
    """Validate the given files completely, then write them all in one transaction.

    Raises DataImportError (422) listing up to 20 offending rows plus the total count; on error
    the database is unchanged.
    """
    if stores_csv is None and sales_csv is None and categories_csv is None:
        raise DataImportError(
            "Nothing to import: give a stores file, a sales file or both.",
            suggestions=[
                "Locally: `localdev load --stores stores.csv --sales sales.csv`; on a deployed "
                "app: POST /api/data/import with file fields stores, sales and/or categories."
            ],
        )
    create_schema(engine)
    all_problems: list[_Problems] = []

    def read(
        source: CsvSource | None, name: str, columns: tuple[str, ...]
    ) -> tuple[pd.DataFrame | None, _Problems]:
        problems = _Problems(name, [])
        all_problems.append(problems)
        return (None if source is None else _read(source, name, columns, problems)), problems

    stores_raw, store_problems = read(stores_csv, "stores", STORE_COLUMNS)
    categories_raw, category_problems = read(categories_csv, "categories", CATEGORY_COLUMNS)
    sales_raw, sales_problems = read(sales_csv, "sales", SALES_COLUMNS)

    with engine.connect() as conn:
        stores = None if stores_raw is None else _validate_stores(stores_raw, store_problems)
        categories = (
            None
            if categories_raw is None
            else _validate_categories(categories_raw, category_problems)
        )
        sales = None
        known_categories = _existing_ids(conn, Category.category_id)
        if sales_raw is not None:
            known_stores = _existing_ids(conn, Store.store_id)
            if stores is not None:
                known_stores |= set(stores["store_id"])
            sales = _validate_sales(sales_raw, sales_problems, known_stores)
        _check_plausible(
            conn,
            {"stores": stores, "categories": categories, "sales": sales},
            {"stores": store_problems, "categories": category_problems, "sales": sales_problems},
            replace=replace,
            now=now or datetime.now(UTC),
        )
        if sales is not None and not replace and sales_problems.count == 0:
            _already_stored(conn, sales, sales_problems)
    _raise_if_problems(all_problems)

    warnings: list[str] = []
    missing: list[str] = []
    if sales is not None:
        declared = known_categories | (
            set() if categories is None else set(categories["category_id"])
        )
        missing = sorted(set(sales["category_id"]) - declared)
        if missing:
            created = pd.DataFrame(
                [
                    {"category_id": c, "name": c.replace("_", " ").title(), **DEFAULT_CATEGORY}
                    for c in missing
                ]
            )
            categories = (
                created
                if categories is None
                else pd.concat([categories, created], ignore_index=True)
            )
            warnings.append(
                f"created categories {', '.join(missing)} with default economics "
                f"{DEFAULT_CATEGORY}; import a categories file to set their prices"
            )
    report = write_frames(
        engine, stores=stores, categories=categories, sales=sales, replace=replace, now=now
    )
    report.warnings = warnings
    report.categories_created = missing
    return report


def _raise_if_problems(all_problems: list[_Problems]) -> None:
    total = sum(p.count for p in all_problems)
    if total == 0:
        return
    items = sorted(
        (item for p in all_problems for item in p.items), key=lambda it: (it["file"], it["row"])
    )[:MAX_LISTED_PROBLEMS]
    shown = "; ".join(
        f"{it['file']} row {it['row']} {it['column']}: {it['problem']}" for it in items[:3]
    )
    raise DataImportError(
        f"Import rejected, nothing was changed: {total} problem(s) found. {shown}",
        details={
            "problem_count": total,
            "problems": items,
            "problems_by_file": {p.file: p.count for p in all_problems if p.count},
        },
        suggestions=[
            "Fix the rows listed (row 1 is the header) and import again.",
            "Expected columns - stores: "
            + ",".join(STORE_COLUMNS)
            + "; sales: "
            + ",".join(SALES_COLUMNS)
            + "; categories: "
            + ",".join(CATEGORY_COLUMNS),
        ],
    )


def _upsert(
    conn: Connection, table: Table, key: str, frame: pd.DataFrame, columns: tuple[str, ...]
) -> None:
    """Update rows whose key exists, insert the others (portable: no dialect-specific upsert)."""
    records = frame.loc[:, list(columns)].to_dict("records")
    ids = [r[key] for r in records]
    existing: set[str] = set()
    for chunk in _chunks(ids):
        existing |= set(conn.execute(select(table.c[key]).where(table.c[key].in_(chunk))).scalars())
    updates = [{**{f"v_{k}": v for k, v in r.items()}} for r in records if r[key] in existing]
    inserts = [r for r in records if r[key] not in existing]
    if updates:
        conn.execute(
            update(table)
            .where(table.c[key] == bindparam(f"v_{key}"))
            .values({c: bindparam(f"v_{c}") for c in columns if c != key}),
            updates,
        )
    if inserts:
        conn.execute(insert(table), inserts)


def _insert_sales(conn: Connection, sales: pd.DataFrame) -> None:
    """Bulk insert; SQLite takes the driver's executemany directly (about 4 µs a row)."""
    days = sales["week_start_date"].to_numpy().astype("datetime64[D]")
    cats = sales["category_id"].tolist()
    store_ids = sales["store_id"].tolist()
    units = sales["units_sold"].astype(np.int64).tolist()
    if conn.dialect.name == "sqlite":
        rows = list(zip(cats, store_ids, np.datetime_as_string(days).tolist(), units, strict=True))
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(
                "INSERT INTO historical_sales (category_id, store_id, week_start_date, units_sold) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
        finally:
            cursor.close()
        return
    dates = days.astype(object)
    step = 50_000
    for start in range(0, len(cats), step):
        conn.execute(
            insert(cast(Table, HistoricalSale.__table__)),
            [
                {"category_id": c, "store_id": s, "week_start_date": d, "units_sold": u}
                for c, s, d, u in zip(
                    cats[start : start + step],
                    store_ids[start : start + step],
                    dates[start : start + step],
                    units[start : start + step],
                    strict=True,
                )
            ],
        )


def write_frames(
    engine: Engine,
    *,
    stores: pd.DataFrame | None = None,
    categories: pd.DataFrame | None = None,
    sales: pd.DataFrame | None = None,
    replace: bool = True,
    now: datetime | None = None,
) -> ImportReport:
    """Write already-valid frames (table columns, typed) in one transaction; bump the version.

    The sample loader and `import_csv` both end here, so there is one write path.
    """
    from shared.data.context import clear_context_cache

    create_schema(engine)
    sales_categories = [] if sales is None else sorted(sales["category_id"].unique())
    if categories is not None:
        for column, default in OPTIONAL_COLUMNS["categories"].items():
            if column not in categories.columns:
                categories = categories.assign(**{column: default})
    with engine.begin() as conn:
        if categories is not None:
            _upsert(
                conn, cast(Table, Category.__table__), "category_id", categories, CATEGORY_COLUMNS
            )
        if stores is not None:
            _upsert(conn, cast(Table, Store.__table__), "store_id", stores, STORE_COLUMNS)
        if sales is not None:
            if replace:
                for chunk in _chunks(sales_categories):
                    conn.execute(
                        delete(HistoricalSale).where(HistoricalSale.category_id.in_(chunk))
                    )
            _insert_sales(conn, sales)
        version = bump_data_version(conn, now or datetime.now(UTC))
    clear_context_cache(engine)
    return ImportReport(
        stores=0 if stores is None else len(stores),
        categories=0 if categories is None else len(categories),
        sales_rows=0 if sales is None else len(sales),
        sales_categories=sales_categories,
        replaced=replace,
        data_version=version,
    )
