"""ContextAssembler: what each agent needs, read from the database and cached per process.

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
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, exists, inspect, select, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from shared.data.csv_import import (
    CATEGORY_COLUMNS,
    MAX_LISTED_PROBLEMS,
    OPTIONAL_COLUMNS,
    SALES_COLUMNS,
    STORE_COLUMNS,
)
from shared.data.db import get_engine
from shared.data.tables import Category, HistoricalSale, Store, read_data_version
from shared.errors import ContextAssemblyError, DataNotFoundError, InvalidParametersError
from shared.results import DemandResult, InventoryResult
from shared.schemas import SeasonParameters

SEASON_WEEKS = 52
"""Weekly retail repeats yearly: the Demand agent's season length, and the least history (one
full season of weeks before the season start) a plan can be made from."""
REQUIRED_COLUMNS = {
    "stores": STORE_COLUMNS,
    "categories": tuple(c for c in CATEGORY_COLUMNS if c not in OPTIONAL_COLUMNS["categories"]),
    "historical_sales": SALES_COLUMNS,
    "data_versions": ("dataset", "version"),
}
"""The columns checked before a table is read: the import's columns, less the optional ones (a
file may leave them out; shared.data.tables.add_missing_columns adds them to an older database)."""
IMPORT_API = "POST /api/data/import"
IMPORT_HINT = (
    f"Import stores and weekly sales as CSV files with {IMPORT_API} (needs the data-admin app "
    "role); locally, `python -m localdev seed` loads the sample data."
)
_MAX_DERIVED = 64  # cached per-season frames per snapshot (bounded: seasons vary per request)

logger = logging.getLogger(__name__)

_SALES_SQL = text(
    "SELECT week_start_date, store_id, units_sold FROM historical_sales "
    "WHERE category_id = :category_id ORDER BY week_start_date, store_id"
)


def last_history_week(season_start: date) -> date:
    """The latest week start a plan for a season starting on `season_start` may learn from.

    A week counts as history only when all seven of its days come before the season starts, so
    a plan for a season already under way (or a past season replayed) never sees its own sales.
    The context assembler cuts the history here and the Demand agent applies the same cut to
    whatever it is given.
    """
    return season_start - timedelta(days=7)


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


class _Context(BaseModel):
    """Contexts carry DataFrames, so they live only inside the activity process."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    category_id: str
    parameters: SeasonParameters


class DemandContext(_Context):
    """History for one category.

    `sales`: one row per (week_start_date, store_id) with `units_sold`, weeks ascending,
    `week_start_date` as datetime64. `stores`: the stores table.
    """

    sales: pd.DataFrame
    stores: pd.DataFrame


class InventoryContext(_Context):
    """The stores to allocate to and the persisted demand forecast to allocate from."""

    stores: pd.DataFrame
    demand: DemandResult


class PricingContext(_Context):
    """Forecast and allocation for the season; `actual_sales` (week_start_date, units_sold) when
    the season is already under way."""

    demand: DemandResult
    inventory: InventoryResult
    actual_sales: pd.DataFrame | None = None


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


_cache: dict[str, _Snapshot] = {}
_lock = threading.RLock()
_assemblers: dict[str, ContextAssembler] = {}


def _cache_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def clear_context_cache(engine: Engine | None = None) -> None:
    """Drop what this process cached for `engine` (every database when None)."""
    with _lock:
        if engine is None:
            _cache.clear()
        else:
            _cache.pop(_cache_key(engine), None)


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
    ) -> None:
        self.engine = engine
        self.version_check_seconds = version_check_seconds
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
                    "`python -m localdev seed`)."
                ],
            )
        if "locked" in lowered or "busy" in lowered:
            return ContextAssemblyError(
                "The database stayed locked by another writer for longer than the busy timeout.",
                details=base,
                suggestions=["Retry when the running import or write has finished."],
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
                    "`python -m localdev seed --force`)."
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
        """All weeks of one category: week_start_date (datetime64), store_id, units_sold."""
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
            with self._database(f"reading sales of {category_id}"), self.engine.connect() as conn:
                result = conn.execute(_SALES_SQL, {"category_id": category_id})
                # The DBAPI rows directly: building 300k Row objects would triple the time.
                rows = result.cursor.fetchall()
                result.close()
            if not rows:
                raise _no_sales(category_id, {})
            table = np.array(rows, dtype=object)
            frame = pd.DataFrame(
                {
                    "week_start_date": table[:, 0].astype("datetime64[D]").astype("datetime64[ns]"),
                    "store_id": table[:, 1],
                    "units_sold": table[:, 2].astype(np.int64),
                }
            )
            with _lock:
                snap.sales[category_id] = frame
        return frame

    def _derived(self, snap: _Snapshot, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        value = snap.derived.get(key)
        if value is None:
            value = build()
            with _lock:
                if len(snap.derived) >= _MAX_DERIVED:
                    snap.derived.clear()
                snap.derived[key] = value
        return value

    def _history_before(self, category_id: str, season_start: date) -> pd.DataFrame:
        """The category's full weeks that end before the season starts, validated."""
        sales = self.load_historical_sales(category_id)
        cutoff = np.datetime64(last_history_week(season_start), "ns")
        if sales["week_start_date"].iloc[-1] <= cutoff:
            history = sales
        else:
            history = sales[sales["week_start_date"].to_numpy() <= cutoff].reset_index(drop=True)
        weeks = history["week_start_date"].nunique()
        if weeks < SEASON_WEEKS:
            first = sales["week_start_date"].iloc[0].date().isoformat()
            last = sales["week_start_date"].iloc[-1].date().isoformat()
            earliest = sales["week_start_date"].iloc[0].date() + timedelta(weeks=SEASON_WEEKS)
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
                    f"for {category_id!r} from before {first}.",
                    f"History ends with the week of {last}: a season up to two years later can "
                    "be planned.",
                ],
            )
        return history

    def _category_stores(self, category_id: str, sales: pd.DataFrame) -> pd.DataFrame:
        """The stores that sell the category, with their attributes."""
        stores = self.load_stores_data()
        if stores.empty:
            raise DataNotFoundError(
                "The stores table is empty.",
                details={"database": self.engine.url.get_backend_name()},
                suggestions=[IMPORT_HINT],
            )
        selling = pd.unique(sales["store_id"])
        unknown = sorted(set(selling) - set(stores["store_id"]))
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
        """Per-store weekly history before the season start, and the stores selling it."""
        snap = self._snapshot()
        sales, stores = self._derived(
            snap,
            ("demand", category_id, parameters.season_start_date),
            lambda: self._demand_frames(category_id, parameters.season_start_date),
        )
        return DemandContext(
            category_id=category_id, parameters=parameters, sales=sales, stores=stores
        )

    def _demand_frames(
        self, category_id: str, season_start: date
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        history = self._history_before(category_id, season_start)
        return history, self._category_stores(category_id, history)

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
            lambda: self._category_stores(category_id, self.load_historical_sales(category_id)),
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
                lambda: self._season_actuals(category_id, parameters),
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

    def _season_actuals(self, category_id: str, parameters: SeasonParameters) -> pd.DataFrame:
        """Stored weeks that fall mostly inside the season: a week starting up to three days
        before the season start is mostly its first week (a Monday week of a Wednesday season),
        and is not history (shared.data.context.last_history_week), so it counts as sold."""
        sales = self.load_historical_sales(category_id)
        start = np.datetime64(parameters.season_start_date - timedelta(days=3), "ns")
        weeks = parameters.forecast_horizon_weeks
        end = np.datetime64(parameters.season_start_date + timedelta(days=7 * weeks - 3), "ns")
        starts = sales["week_start_date"].to_numpy()
        inside = sales[(starts >= start) & (starts < end)]
        return inside.groupby("week_start_date", as_index=False)["units_sold"].sum()
