"""ContextAssembler: what each agent needs, read from the database and cached per process.

What is read: sums, not rows. The Demand and Pricing contexts take a category's units per week
and per store over a window (shared.data.sales_totals: the database's GROUP BY), so a plan at
50,000 stores reads 156 weekly rows and one row per store instead of 7.8 M sales rows.
`load_historical_sales` still reads the rows (typed columns, bounded cache) for callers that need
them.

Why a cache: an activity process runs many workflows over the same history; reading a category
once and answering later calls from memory keeps a cached assembly well under 1 ms. Why it is
still correct: the cache is keyed by database URL and data version. Every import bumps the
version in the database (see shared.data.tables), and every call first reads it with one
primary-key lookup (~0.1 ms on SQLite), so a re-import in ANY process is noticed on the next call;
an import in this process also clears the cache directly. On a remote database set
`version_check_seconds` > 0 to bound those round trips (a re-import elsewhere is then noticed
within that many seconds).

The cached DataFrames are shared between calls: treat them as read-only. They never leave the
activity process (contexts are not serialisable on purpose). This module is the data layer's
pandas side: HTTP functions import it at the point of use (see function_app), never at import.

Failures become the app's errors: no tables, no rows, an unknown category or too little history
-> DataNotFoundError with what exists and how to load data; a corrupt, locked or unreachable
database -> ContextAssemblyError (SQLite waits at most the 15 s busy timeout, never hangs).
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Engine, exists, inspect, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from activities.planning.contexts import (
    SEASON_WEEKS,
    SHARE_WINDOW_WEEKS,
    DemandContext,
    InventoryContext,
    PricingContext,
    SalesHistory,
    last_history_week,
)
from shared.data import sales_totals
from shared.data.columns import (
    CATEGORY_COLUMNS,
    DEFAULT_VENDOR_LEAD_WEEKS,
    MAX_LISTED_PROBLEMS,
    OPTIONAL_COLUMNS,
    SALES_COLUMNS,
    STORE_COLUMNS,
)
from shared.data.db import get_engine
from shared.data.tables import Category, HistoricalSale, Store, read_data_version
from shared.errors import (
    ContextAssemblyError,
    DatabaseUnavailableError,
    DataNotFoundError,
    InvalidParametersError,
    database_unavailable,
)
from shared.results import DemandResult, InventoryResult
from shared.schemas import SeasonParameters
from shared.settings import get_settings

REQUIRED_COLUMNS = {
    "stores": STORE_COLUMNS,
    "categories": tuple(c for c in CATEGORY_COLUMNS if c not in OPTIONAL_COLUMNS["categories"]),
    "historical_sales": SALES_COLUMNS,
    "data_versions": ("dataset", "version"),
}
"""The columns checked before a table is read: the import's columns, less the optional ones (a
file may leave them out; shared.data.schema.add_missing_columns adds them to an older database)."""
IMPORT_API = "`localdev load` (locally) or POST /api/data/import (a deployed app)"
"""How data gets in, named the way every refusal names it: the local command first, where a
planner running `make run` has one, then the HTTP route."""
IMPORT_HINT = (
    f"Import stores and weekly sales as CSV files with {IMPORT_API}, which needs the data-admin "
    "app role; locally, `localdev seed` loads the sample data."
)
_MAX_DERIVED = 64  # cached per-season frames per snapshot (bounded: seasons vary per request)
_FETCH_ROWS = 100_000
"""Rows converted to typed arrays at a time: the DBAPI hands rows over as Python tuples, and
converting them in chunks keeps those transient objects to one chunk's worth, never the whole
history's (at 50,000 stores x 156 weeks, 7.8 M rows of Python strings would take GBs)."""

logger = logging.getLogger(__name__)

_WEEKS_SQL = text(
    "SELECT week_start_date, COUNT(*) FROM historical_sales "
    "WHERE category_id = :category_id GROUP BY week_start_date ORDER BY week_start_date"
)
_SALES_SQL = text(
    "SELECT store_id, units_sold FROM historical_sales "
    "WHERE category_id = :category_id ORDER BY week_start_date, store_id"
)
_READ_ATTEMPTS = 3
_STORE = operator.itemgetter(0)
_UNITS = operator.itemgetter(1)


def _read_sales(conn: Connection, category_id: str, known_stores: pd.Index) -> pd.DataFrame | None:
    """One category's history as typed columns (None when it has no rows): week_start_date
    datetime64[ns], store_id categorical over the stores table's ids (plus any unknown id, so
    the caller can name it), units_sold int64.

    Why this shape: a DBAPI row is Python objects, ~100 bytes a value, so 7.8 M rows (50,000
    stores x 156 weeks) read whole would peak at GBs and spend most of the load building and
    converting objects. The database counts the rows per week (one row per week comes back)
    and the week column is rebuilt from those counts; the stores and units come in chunks of
    `_FETCH_ROWS`, each turned into typed arrays before the next is read. Should an import
    land between the two reads (a database without snapshot reads), the counts and rows
    disagree and the read is repeated.
    """
    for _ in range(_READ_ATTEMPTS):
        weeks = conn.execute(_WEEKS_SQL, {"category_id": category_id}).all()
        if not weeks:
            return None
        stores, codes, units = _read_store_units(conn, category_id, known_stores)
        counts = np.fromiter((count for _, count in weeks), np.int64, len(weeks))
        if int(counts.sum()) == len(units):
            starts = pd.to_datetime([week for week, _ in weeks]).to_numpy("datetime64[ns]")
            return pd.DataFrame(
                {
                    "week_start_date": np.repeat(starts, counts),
                    "store_id": pd.Categorical.from_codes(codes, categories=stores),
                    "units_sold": units,
                }
            )
        conn.rollback()  # a new snapshot for the next attempt
    raise ContextAssemblyError(
        f"The sales of {category_id!r} kept changing while they were read.",
        details={"category_id": category_id},
        suggestions=["Retry when the running import has finished."],
    )


def _read_store_units(
    conn: Connection, category_id: str, known_stores: pd.Index
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """(store ids, a code into them per row, units per row) in week, store order.

    Codes come from a dict lookup per row (the cheapest map from a fresh Python string to an
    integer); a store missing from the stores table gets the next code, so it can be named."""
    positions = {store: code for code, store in enumerate(known_stores)}
    result = conn.execute(_SALES_SQL, {"category_id": category_id})
    cursor = result.cursor  # the DBAPI rows directly: Row objects would triple the time
    codes: list[np.ndarray] = []
    units: list[np.ndarray] = []
    try:
        while rows := cursor.fetchmany(_FETCH_ROWS):
            try:
                found = np.fromiter(map(positions.__getitem__, map(_STORE, rows)), np.int32)
            except KeyError:
                for store, _ in rows:
                    positions.setdefault(store, len(positions))
                found = np.fromiter(map(positions.__getitem__, map(_STORE, rows)), np.int32)
            codes.append(found)
            units.append(np.fromiter(map(_UNITS, rows), np.int64, len(rows)))
    finally:
        result.close()
    return (
        pd.Index(list(positions), dtype=object),
        np.concatenate(codes) if codes else np.zeros(0, np.int32),
        np.concatenate(units) if units else np.zeros(0, np.int64),
    )


def _no_tables(missing: list[str], details: dict[str, Any]) -> DataNotFoundError:
    """The schema is not there yet: the same answer whichever read noticed it."""
    return DataNotFoundError(
        f"The database has no sales data yet (tables missing: {', '.join(missing)}).",
        details={**details, "missing_tables": missing},
        suggestions=[IMPORT_HINT],
    )


def _no_sales(category_id: str, details: dict[str, Any]) -> DataNotFoundError:
    """A known category without weekly sales."""
    return DataNotFoundError(
        f"Category {category_id!r} has no sales history.",
        details={"category_id": category_id, **details},
        suggestions=[f"Import its sales with {IMPORT_API} (a sales file)."],
    )


class CategoryInfo(BaseModel):
    """A category's economics, as the pricing agent needs them."""

    model_config = ConfigDict(frozen=True)

    category_id: str
    name: str
    full_price: float
    unit_cost: float
    salvage_fraction: float
    price_elasticity: float
    currency: str = "USD"
    vendor_lead_weeks: int = DEFAULT_VENDOR_LEAD_WEEKS


@dataclass
class _Snapshot:
    """Everything read for one (database URL, data version); filled lazily."""

    version: int
    checked_at: float
    categories: dict[str, CategoryInfo] | None = None
    with_sales: list[str] | None = None
    stores: pd.DataFrame | None = None
    sales: dict[str, pd.DataFrame] = field(default_factory=dict)
    derived: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    building: dict[tuple[Any, ...], threading.Lock] = field(default_factory=dict)


_cache: dict[str, _Snapshot] = {}
_lock = threading.RLock()
_assemblers: dict[str, ContextAssembler] = {}
_sales_lru: OrderedDict[tuple[str, str], int] = OrderedDict()
"""Every category history held, (database key, category id) -> bytes, least recently used
first: what bounds the cache (see `_remember_sales`)."""


def _cache_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def clear_context_cache(engine: Engine | None = None) -> None:
    """Drop what this process cached for `engine` (every database when None)."""
    with _lock:
        if engine is None:
            _cache.clear()
            _sales_lru.clear()
        else:
            key = _cache_key(engine)
            _cache.pop(key, None)
            for held in [h for h in _sales_lru if h[0] == key]:
                del _sales_lru[held]


def cached_sales_bytes() -> int:
    """The bytes of category history this process holds (bounded: see `_remember_sales`)."""
    with _lock:
        return sum(_sales_lru.values())


def _forget(key: str, category_id: str) -> None:
    """Drop one category's history, and what was derived from it, from a snapshot."""
    snap = _cache.get(key)
    if snap is not None:
        snap.sales.pop(category_id, None)
        for derived in [d for d in snap.derived if d[1] == category_id]:
            del snap.derived[derived]


def _remember_sales(
    key: str, snap: _Snapshot, category_id: str, frame: pd.DataFrame, limit: int
) -> None:
    """Hold `frame` in the snapshot and evict the least recently used histories (of any
    database) until what is held fits `limit` bytes; the newest always stays, so a history
    larger than the limit is still planned, just not kept beside others."""
    size = int(frame.memory_usage(index=True, deep=True).sum())
    with _lock:
        snap.sales[category_id] = frame
        _sales_lru[(key, category_id)] = size
        _sales_lru.move_to_end((key, category_id))
        while sum(_sales_lru.values()) > limit and len(_sales_lru) > 1:
            (old_key, old_category), _ = _sales_lru.popitem(last=False)
            _forget(old_key, old_category)
            logger.info(
                "Context cache: dropped %s to stay within %d MiB", old_category, limit >> 20
            )


def get_assembler(database_url: str) -> ContextAssembler:
    """The process-wide assembler for `database_url` (its cache is shared by all instances)."""
    with _lock:
        assembler = _assemblers.get(database_url)
        if assembler is None:
            assembler = ContextAssembler(get_engine(database_url))
            _assemblers[database_url] = assembler
        return assembler


class ContextAssembler:
    """Reads and validates the data each agent needs; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        *,
        version_check_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        cache_limit_bytes: int | None = None,
    ) -> None:
        self.engine = engine
        self.version_check_seconds = version_check_seconds
        # The process's histories are held together, least recently used dropped first past
        # this many bytes (default: the CONTEXT_CACHE_MB setting).
        self.cache_limit_bytes = (
            get_settings().context_cache_mb * 2**20
            if cache_limit_bytes is None
            else cache_limit_bytes
        )
        self._clock = clock
        self._key = _cache_key(engine)
        self._where = engine.url.render_as_string(hide_password=True)

    # -- database access and error mapping -------------------------------------------------

    @contextmanager
    def _database(self, action: str) -> Iterator[None]:
        try:
            yield
        except (DataNotFoundError, ContextAssemblyError):
            raise
        except SQLAlchemyError as exc:
            raise self._diagnose(exc, action) from exc

    def _diagnose(self, exc: SQLAlchemyError, action: str) -> Exception:
        """Turn a driver error into DataNotFoundError (no schema) or ContextAssemblyError.

        The client sees the backend, the action and the driver's error class; the driver's text
        (hosts, users, file paths) goes only to the log, with any password masked."""
        orig = getattr(exc, "orig", exc)
        detail = str(orig).splitlines()[0][:200] if str(orig) else type(orig).__name__
        logger.warning("Database error while %s on %s: %s", action, self._where, detail)
        lowered = detail.lower()
        base = {
            "database": self.engine.url.get_backend_name(),
            "action": action,
            "driver_error": type(orig).__name__,
        }
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return ContextAssemblyError(
                "The database file is corrupt or is not a database.",
                details=base,
                suggestions=[
                    "Restore the database from a backup, or recreate it and import the data "
                    f"again with {IMPORT_API} (locally: delete the file and run "
                    "`localdev seed`)."
                ],
            )
        if "locked" in lowered or "busy" in lowered:
            return DatabaseUnavailableError(
                "The database stayed locked by another writer for longer than the busy timeout.",
                details=base,
                suggestions=["Retry when the running import or write has finished."],
            )
        if database_unavailable(exc):
            # Unreachable: looking for the tables would only wait a second time.
            return DatabaseUnavailableError(
                f"The database cannot be reached while {action}: {type(orig).__name__}.",
                details=base,
                suggestions=["Check DATABASE_URL and that the database server is running."],
            )
        try:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except SQLAlchemyError:
            tables = None
        if tables is not None:
            missing = [t for t in REQUIRED_COLUMNS if t not in tables]
            if missing:
                return _no_tables(missing, base)
        kind = (
            "unreachable"
            if isinstance(exc, DBAPIError) and exc.connection_invalidated
            else "failed"
        )
        return ContextAssemblyError(
            f"Reading the database {kind} while {action}: {type(orig).__name__}.",
            details=base,
            suggestions=["Check DATABASE_URL and that the database server is running."],
        )

    def _snapshot(self) -> _Snapshot:
        """The current snapshot; a new, empty one when the data version moved."""
        now = self._clock()
        with _lock:
            snap = _cache.get(self._key)
            if snap is not None and now - snap.checked_at < self.version_check_seconds:
                return snap
        with self._database("checking the data version"), self.engine.connect() as conn:
            version = read_data_version(conn)
        with _lock:
            snap = _cache.get(self._key)
            if snap is None or snap.version != version:
                snap = _Snapshot(version=version, checked_at=now)
                self._check_columns()
                _cache[self._key] = snap
            snap.checked_at = now
            return snap

    def _check_columns(self) -> None:
        with self._database("checking the schema"), self.engine.connect() as conn:
            inspector = inspect(conn)
            tables = set(inspector.get_table_names())
            missing_tables = [t for t in REQUIRED_COLUMNS if t not in tables]
            if missing_tables:
                raise _no_tables(missing_tables, {"database": self.engine.url.get_backend_name()})
            missing = {
                table: [
                    c
                    for c in columns
                    if c not in {col["name"] for col in inspector.get_columns(table)}
                ]
                for table, columns in REQUIRED_COLUMNS.items()
            }
        missing = {t: cols for t, cols in missing.items() if cols}
        if missing:
            raise ContextAssemblyError(
                "The database tables lack required columns.",
                details={
                    "database": self.engine.url.get_backend_name(),
                    "missing_columns": missing,
                },
                suggestions=[
                    "Migrate the tables to the documented columns, or recreate the schema and "
                    f"import the data again with {IMPORT_API} (locally: "
                    "`localdev seed --force`)."
                ],
            )

    # -- reference data --------------------------------------------------------------------

    def _categories(self, snap: _Snapshot) -> dict[str, CategoryInfo]:
        if snap.categories is None:
            with self._database("reading categories"), self.engine.connect() as conn:
                rows = (
                    conn.execute(select(*Category.__table__.columns).order_by(Category.category_id))
                    .mappings()
                    .all()
                )
                infos = {r["category_id"]: CategoryInfo.model_validate(dict(r)) for r in rows}
                with_sales = [
                    cid
                    for cid in infos
                    if conn.execute(
                        select(exists().where(HistoricalSale.category_id == cid))
                    ).scalar()
                ]
            snap.categories, snap.with_sales = infos, with_sales
        return snap.categories

    def list_categories(self) -> list[CategoryInfo]:
        """Categories that have sales history (the ones a workflow can run on), by id."""
        snap = self._snapshot()
        infos = self._categories(snap)
        return [infos[c] for c in snap.with_sales or []]

    def default_category_id(self) -> str:
        """The first category with history; what run-workflow uses when none is given."""
        categories = self.list_categories()
        if not categories:
            raise self._empty_error()
        return categories[0].category_id

    def require_category(self, category_id: str | None) -> str:
        """The category a workflow will plan: `category_id` when it has sales history, the
        default category when None; DataNotFoundError naming the categories that exist otherwise."""
        if category_id is None:
            return self.default_category_id()
        snap = self._snapshot()
        self._categories(snap)
        if category_id not in (snap.with_sales or []):
            raise self._unknown_category(category_id, snap)
        return category_id

    def category_info(self, category_id: str) -> CategoryInfo:
        snap = self._snapshot()
        infos = self._categories(snap)
        if category_id not in infos:
            raise self._unknown_category(category_id, snap)
        return infos[category_id]

    def _empty_error(self) -> DataNotFoundError:
        return DataNotFoundError(
            "The database holds no sales history.",
            details={"database": self.engine.url.get_backend_name()},
            suggestions=[IMPORT_HINT],
        )

    def _unknown_category(self, category_id: str, snap: _Snapshot) -> DataNotFoundError:
        available = list(snap.with_sales or [])
        if not available:
            return self._empty_error()
        return DataNotFoundError(
            f"Unknown category {category_id!r}; categories with sales history: "
            f"{', '.join(available)}.",
            details={"category_id": category_id, "available_categories": available},
            suggestions=[
                f"Use one of: {', '.join(available)}.",
                f"Import this category's sales with {IMPORT_API}.",
            ],
        )

    def load_stores_data(self) -> pd.DataFrame:
        """The stores table, sorted by store_id."""
        snap = self._snapshot()
        if snap.stores is None:
            with self._database("reading stores"), self.engine.connect() as conn:
                rows = conn.execute(select(*Store.__table__.columns).order_by(Store.store_id)).all()
            frame = pd.DataFrame(rows, columns=list(REQUIRED_COLUMNS["stores"]))
            snap.stores = frame.astype({"store_size_sqft": "int64", "median_income": "float64"})
        return snap.stores

    # -- sales -----------------------------------------------------------------------------

    def load_historical_sales(self, category_id: str) -> pd.DataFrame:
        """All weeks of one category: week_start_date (datetime64), store_id, units_sold.

        The rows, for a caller that needs them; the planning contexts read the database's sums
        instead (see the module docstring)."""
        snap = self._snapshot()
        frame = snap.sales.get(category_id)
        if frame is None:
            infos = self._categories(snap)
            if category_id not in (snap.with_sales or []):
                if category_id in infos:
                    raise _no_sales(
                        category_id, {"available_categories": list(snap.with_sales or [])}
                    )
                raise self._unknown_category(category_id, snap)
            known = pd.Index(self.load_stores_data()["store_id"])
            with self._database(f"reading sales of {category_id}"), self.engine.connect() as conn:
                frame = _read_sales(conn, category_id, known)
            if frame is None:
                raise _no_sales(category_id, {})
            _remember_sales(self._key, snap, category_id, frame, self.cache_limit_bytes)
        else:
            with _lock:
                if (self._key, category_id) in _sales_lru:
                    _sales_lru.move_to_end((self._key, category_id))
        return frame

    def _derived(self, snap: _Snapshot, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """`build()` cached in the snapshot under `key` (key[1] is the category: dropped with
        its history). Built once: callers arriving while it is being built wait for it rather
        than building it again (sixty plans starting together fit one forecast, not sixty)."""
        value = snap.derived.get(key)
        if value is not None:
            return value
        with _lock:
            gate = snap.building.setdefault(key, threading.Lock())
        with gate:
            value = snap.derived.get(key)
            if value is None:
                value = build()
                with _lock:
                    if len(snap.derived) >= _MAX_DERIVED:
                        snap.derived.clear()
                    snap.derived[key] = value
        with _lock:
            snap.building.pop(key, None)
        return value

    def _weekly(self, snap: _Snapshot, category_id: str) -> pd.DataFrame:
        """Units and rows per week over the whole stored history (sales_totals.weekly_totals),
        summed by the database once per data version: the Demand agent's weekly series, the
        Pricing agent's actuals and the row counts that size the store reads are all cut from
        it. DataNotFoundError for an unknown category or one without sales."""
        infos = self._categories(snap)
        if category_id not in (snap.with_sales or []):
            if category_id in infos:
                raise _no_sales(category_id, {"available_categories": list(snap.with_sales or [])})
            raise self._unknown_category(category_id, snap)

        def read() -> pd.DataFrame:
            with self._database(f"summing sales of {category_id}"), self.engine.connect() as conn:
                weekly = sales_totals.weekly_totals(conn, category_id)
            if weekly.empty:
                raise _no_sales(category_id, {})
            return weekly

        frame: pd.DataFrame = self._derived(snap, ("weekly", category_id), read)
        return frame

    def _weeks_before(self, snap: _Snapshot, category_id: str, season_start: date) -> pd.DataFrame:
        """The category's weekly sums for the full weeks that end before the season starts,
        validated: at least SEASON_WEEKS of them."""
        weekly = self._weekly(snap, category_id)
        cutoff = np.datetime64(last_history_week(season_start), "ns")
        # Weeks ascend, so the history is a leading slice.
        history = weekly.iloc[: int(weekly.index.searchsorted(cutoff, side="right"))]
        weeks = len(history)
        if weeks < SEASON_WEEKS:
            first = weekly.index[0].date().isoformat()
            last = weekly.index[-1].date().isoformat()
            earliest = weekly.index[0].date() + timedelta(weeks=SEASON_WEEKS)
            raise DataNotFoundError(
                f"Category {category_id!r} has {weeks} weeks of history before the season start "
                f"{season_start.isoformat()}; at least {SEASON_WEEKS} are needed (history: the "
                f"weeks of {first} to {last}).",
                details={
                    "category_id": category_id,
                    "weeks_found": weeks,
                    "weeks_required": SEASON_WEEKS,
                    "history_first_week": first,
                    "history_last_week": last,
                    "season_start_date": season_start.isoformat(),
                },
                suggestions=[
                    f"Start the season on or after {earliest.isoformat()}, or import history "
                    f"for {category_id!r} from before {first} with {IMPORT_API}.",
                    f"History ends with the week of {last}: a season up to two years later can "
                    "be planned.",
                ],
            )
        return history

    def _store_window(
        self, snap: _Snapshot, category_id: str, first_week: date, last_week: date
    ) -> pd.DataFrame:
        """Units and weeks present per store over a window of weeks (sales_totals.store_window),
        computed by the database once per data version and window: the store list's recent
        window and the store split's windows share it."""

        def read() -> pd.DataFrame:
            with (
                self._database(f"summing store sales of {category_id}"),
                self.engine.connect() as conn,
            ):
                return sales_totals.store_window(conn, category_id, first_week, last_week)

        window: pd.DataFrame = self._derived(
            snap, ("store_window", category_id, first_week, last_week), read
        )
        return window

    def _recent_window(self, weekly: pd.DataFrame) -> tuple[date, date]:
        """The last SHARE_WINDOW_WEEKS weeks of `weekly` (the Demand agent's share window)."""
        last = weekly.index[-1]
        return (last - pd.Timedelta(weeks=SHARE_WINDOW_WEEKS - 1)).date(), last.date()

    def _category_stores(
        self, snap: _Snapshot, category_id: str, weekly: pd.DataFrame
    ) -> pd.DataFrame:
        """The stores with sales of the category in the weeks of `weekly`, with their
        attributes: the stores of the recent window, and those that sold only before it."""
        stores = self.load_stores_data()
        if stores.empty:
            raise DataNotFoundError(
                "The stores table is empty.",
                details={"database": self.engine.url.get_backend_name()},
                suggestions=[IMPORT_HINT],
            )
        first, last = self._recent_window(weekly)
        recent = self._store_window(snap, category_id, first, last)
        starts = weekly.index.date
        earlier = weekly[starts < first]
        with self._database(f"finding the stores of {category_id}"), self.engine.connect() as conn:
            before = sales_totals.stores_only_before(
                conn,
                category_id,
                list(earlier.index.date),
                list(weekly.index.date[starts >= first]),
                known=set(recent.index),
                earlier_rows=int(earlier["rows"].sum()),
                stores_table_size=len(stores),
            )
        selling = {*recent.index, *before}
        unknown = sorted(selling - set(stores["store_id"]))
        if unknown:
            raise DataNotFoundError(
                f"{len(unknown)} store(s) with sales of {category_id!r} are missing from the "
                "stores table.",
                details={
                    "category_id": category_id,
                    "missing_store_ids": unknown[:MAX_LISTED_PROBLEMS],
                    "missing_count": len(unknown),
                },
                suggestions=[f"Import the stores file with {IMPORT_API} (a stores file)."],
            )
        return stores[stores["store_id"].isin(selling)].reset_index(drop=True)

    # -- contexts --------------------------------------------------------------------------

    def assemble_demand_context(
        self, category_id: str, parameters: SeasonParameters
    ) -> DemandContext:
        """The category's weekly sums before the season start (read as the database sums them,
        never as rows), and the stores selling it."""
        snap = self._snapshot()
        weekly, stores = self._derived(
            snap,
            ("demand", category_id, parameters.season_start_date),
            lambda: self._demand_frames(snap, category_id, parameters.season_start_date),
        )
        season = ("memo", category_id, parameters.season_start_date)
        return DemandContext(
            category_id=category_id,
            parameters=parameters,
            history=_DatabaseHistory(self, snap, category_id, weekly),
            stores=stores,
            memo=lambda key, build: self._derived(snap, (*season, *key), build),
        )

    def _demand_frames(
        self, snap: _Snapshot, category_id: str, season_start: date
    ) -> tuple[pd.Series, pd.DataFrame]:
        """Units per week before the season and the stores that sold in those weeks: what every
        plan of that season reuses."""
        history = self._weeks_before(snap, category_id, season_start)
        return history["units_sold"], self._category_stores(snap, category_id, history)

    def assemble_inventory_context(
        self, category_id: str, parameters: SeasonParameters, demand: DemandResult
    ) -> InventoryContext:
        """The stores to allocate to and the demand forecast to allocate."""
        if demand.category_id != category_id:
            raise ContextAssemblyError(
                f"The demand result is for {demand.category_id!r}, not {category_id!r}.",
                details={"category_id": category_id, "demand_category_id": demand.category_id},
            )
        snap = self._snapshot()
        stores = self._derived(
            snap,
            ("stores", category_id),
            lambda: self._category_stores(snap, category_id, self._weekly(snap, category_id)),
        )
        return InventoryContext(
            category_id=category_id, parameters=parameters, stores=stores, demand=demand
        )

    def assemble_pricing_context(
        self,
        category_id: str,
        parameters: SeasonParameters,
        demand: DemandResult,
        inventory: InventoryResult,
        actual_sales: pd.DataFrame | None = None,
    ) -> PricingContext:
        """Forecast and allocation; `actual_sales` defaults to stored sales inside the season.

        Stored weeks starting within [season start, season end) count as actuals, so a season
        already under way (or a past season replayed) is priced against what really sold.
        """
        self.category_info(category_id)
        if actual_sales is None:
            snap = self._snapshot()
            actual_sales = self._derived(
                snap,
                ("actuals", category_id, parameters.season_start_date, parameters.season_end_date),
                lambda: self._season_actuals(snap, category_id, parameters),
            )
            actual_sales = None if actual_sales.empty else actual_sales
        else:
            missing = {"week_start_date", "units_sold"} - set(actual_sales.columns)
            if missing:
                raise InvalidParametersError(
                    f"actual_sales lacks columns: {', '.join(sorted(missing))}.",
                    details={"missing_columns": sorted(missing)},
                )
        return PricingContext(
            category_id=category_id,
            parameters=parameters,
            demand=demand,
            inventory=inventory,
            actual_sales=actual_sales,
        )

    def _season_actuals(
        self, snap: _Snapshot, category_id: str, parameters: SeasonParameters
    ) -> pd.DataFrame:
        """Stored weeks that fall mostly inside the season: a week starting up to three days
        before the season start is mostly its first week (a Monday week of a Wednesday season),
        and is not history (activities.planning.contexts.last_history_week), so it counts as
        sold."""
        weekly = self._weekly(snap, category_id)["units_sold"]
        start = np.datetime64(parameters.season_start_date - timedelta(days=3), "ns")
        weeks = parameters.forecast_horizon_weeks
        end = np.datetime64(parameters.season_start_date + timedelta(days=7 * weeks - 3), "ns")
        starts = weekly.index.to_numpy()
        inside = weekly[(starts >= start) & (starts < end)]
        return inside.rename_axis("week_start_date").reset_index(name="units_sold")


class _DatabaseHistory(SalesHistory):
    """A category's history before a season as the database sums it: the weekly sums read with
    the context, store totals read (and cached by the assembler) when the agent asks for a
    window; never a window past the history's last week (the season's own sales)."""

    def __init__(
        self, assembler: ContextAssembler, snap: _Snapshot, category_id: str, weekly: pd.Series
    ) -> None:
        self._assembler = assembler
        self._snap = snap
        self._category_id = category_id
        self._weekly = weekly

    def weekly_totals(self) -> pd.Series:
        return self._weekly

    def store_window(self, first_week: date, last_week: date) -> pd.DataFrame:
        last = min(last_week, self._weekly.index[-1].date())
        return self._assembler._store_window(self._snap, self._category_id, first_week, last)
