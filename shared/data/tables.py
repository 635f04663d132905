"""Every table of the app (SQLAlchemy 2.0 typed ORM on `shared.data.base.Base`) and the
data-version counter.

All of them are declared here, so importing this one module gives the whole schema whatever
else a process has imported; shared/data/schema.py creates and migrates them. The modules that
work on a table keep its functions: the event log's rules in shared/data/events.py, the listener
window's in shared/messaging/listeners.py, results in shared/data/results_store.py.

Every query the app runs against them is portable SQL (SQLite by default, PostgreSQL or Azure
SQL through `DATABASE_URL`). `data_versions` holds one counter per dataset; every import bumps
it inside the import's transaction, so a context cache in ANY process can tell with one
primary-key lookup whether what it holds is still current.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.data.base import Base
from shared.data.columns import ALIASES_MAX_LENGTH, DEFAULT_CURRENCY, DEFAULT_VENDOR_LEAD_WEEKS

SALES_DATASET = "sales"


class Store(Base):
    __tablename__ = "stores"

    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    store_name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64))
    store_size_sqft: Mapped[int] = mapped_column(Integer)
    location_tier: Mapped[str] = mapped_column(String(16))
    median_income: Mapped[float] = mapped_column(Float)
    store_format: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("store_size_sqft > 0", name="ck_stores_size_positive"),
        CheckConstraint("median_income > 0", name="ck_stores_income_positive"),
    )


class Category(Base):
    """A merchandise category with the economics the pricing agent needs.

    `full_price` is the base (unmarked) selling price; `salvage_fraction` the share of full price
    recovered for a unit left at season end; `price_elasticity` the prior for how demand responds
    to price (negative: a 10 % markdown lifts units by about -10 % x elasticity); `currency` the
    ISO 4217 code the prices are in (what the console and CLI show money in);
    `vendor_lead_weeks` the weeks from vendor order to DC receipt (the buy plan's order-by date);
    `aliases` the other words planners use for the category ("bikini|board shorts"), which a
    strategy description may name it by.
    """

    __tablename__ = "categories"

    category_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    full_price: Mapped[float] = mapped_column(Float)
    unit_cost: Mapped[float] = mapped_column(Float)
    salvage_fraction: Mapped[float] = mapped_column(Float)
    price_elasticity: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(
        String(3), default=DEFAULT_CURRENCY, server_default=DEFAULT_CURRENCY
    )
    vendor_lead_weeks: Mapped[int] = mapped_column(
        Integer,
        default=DEFAULT_VENDOR_LEAD_WEEKS,
        server_default=str(DEFAULT_VENDOR_LEAD_WEEKS),
    )
    aliases: Mapped[str] = mapped_column(String(ALIASES_MAX_LENGTH), default="", server_default="")

    __table_args__ = (
        CheckConstraint("full_price > 0", name="ck_categories_price_positive"),
        CheckConstraint("unit_cost >= 0", name="ck_categories_cost_nonnegative"),
        CheckConstraint(
            "salvage_fraction >= 0 AND salvage_fraction <= 1", name="ck_categories_salvage_range"
        ),
        CheckConstraint("price_elasticity < 0", name="ck_categories_elasticity_negative"),
        CheckConstraint(
            "vendor_lead_weeks >= 0 AND vendor_lead_weeks <= 52", name="ck_categories_lead_range"
        ),
    )


class HistoricalSale(Base):
    """Units sold per week, store and category; the week starts on `week_start_date`.

    The primary key (category_id, week_start_date, store_id) is the index for the one read
    pattern, "one category over time", and already returns rows in the order the agents want.
    On SQLite the table is WITHOUT ROWID, i.e. stored clustered in that order, so reading a
    category is one sequential range scan (3x faster than index + row lookups at 312k rows);
    other databases ignore the option.
    """

    __tablename__ = "historical_sales"

    category_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("categories.category_id"), primary_key=True
    )
    week_start_date: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("stores.store_id"), primary_key=True
    )
    units_sold: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("units_sold >= 0", name="ck_historical_sales_units_nonnegative"),
        {"sqlite_with_rowid": False},
    )


class AgentResultRow(Base):
    """An agent's full result (JSON text) under its workflow id; one row per agent."""

    __tablename__ = "agent_results"

    workflow_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(16), primary_key=True)
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(
            "agent IN ('demand', 'inventory', 'pricing')", name="ck_agent_results_agent"
        ),
    )


class WorkflowOwnerRow(Base):
    """Who started a workflow: every read of it (status, events, results) checks this row."""

    __tablename__ = "workflow_owners"

    workflow_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(256), index=True)
    session_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyKeyRow(Base):
    """An owner's Idempotency-Key, the workflow it started and a fingerprint of its request."""

    __tablename__ = "idempotency_keys"

    owner_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(128))
    request_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DataVersion(Base):
    """A counter per dataset, bumped by every import (see module docstring)."""

    __tablename__ = "data_versions"

    dataset: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkflowEventStream(Base):
    """A workflow's stream: the last sequence number and whether its terminal message is in
    (the rules that keep it are in shared/data/events.py)."""

    __tablename__ = "workflow_event_streams"

    workflow_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    closed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class WorkflowEvent(Base):
    """One progress message of a workflow's event log, under its gap-free sequence number and
    its content-derived identity (shared/data/events.py)."""

    __tablename__ = "workflow_event_log"
    __table_args__ = (
        UniqueConstraint("workflow_id", "sequence", name="uq_event_log_sequence"),
        UniqueConstraint("workflow_id", "message_key", name="uq_event_log_message_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    message_key: Mapped[str] = mapped_column(String(128), nullable=False)
    agent_name: Mapped[str] = mapped_column(String(64), nullable=False)
    progress: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_id: Mapped[str] = mapped_column(String(64), nullable=False)
    message_type: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ListenerWindow(Base):
    """Until when someone may listen on a channel (shared/messaging/listeners.py)."""

    __tablename__ = "listener_windows"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SeasonRow(Base):
    """A plan launched into a live season (shared/data/seasons.py keeps its rules): one per
    plan, owned by the plan's owner. `actuals_version` counts the uploads that changed the
    season's actuals; a plan version records which count it was planned from."""

    __tablename__ = "seasons"

    season_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(128), unique=True)
    owner_id: Mapped[str] = mapped_column(String(256), index=True)
    session_id: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    actuals_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed', 'completed')", name="ck_seasons_status"),
    )


class SeasonPlanVersionRow(Base):
    """One version of a season's plan: 1 is the plan as launched, each later one a re-plan
    from `actuals_version`'s actuals. `plan` is the working plan (JSON), `changes` what changed
    and why, `variance` the plan-against-actual summary the `plan_updated` message carried."""

    __tablename__ = "season_plan_versions"

    season_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("seasons.season_id"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    actuals_version: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str] = mapped_column(Text)
    changes: Mapped[str] = mapped_column(Text)
    variance: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeasonUploadRow(Base):
    """One accepted upload of weekly actuals, identified by its content: the same rows again
    are the same upload (unique per season and content digest)."""

    __tablename__ = "season_uploads"
    __table_args__ = (
        UniqueConstraint("season_id", "content_sha256", name="uq_season_uploads_content"),
    )

    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    season_id: Mapped[str] = mapped_column(String(128), ForeignKey("seasons.season_id"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    actuals_version: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeasonActualRow(Base):
    """A season's actual units sold per week and store (the latest upload of that week and
    store wins), with the store's counted on-hand at week end when the upload gave one."""

    __tablename__ = "season_actuals"

    season_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("seasons.season_id"), primary_key=True
    )
    week_start_date: Mapped[date] = mapped_column(Date, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    units_sold: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int | None] = mapped_column(Integer, nullable=True)
    upload_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        CheckConstraint("units_sold >= 0", name="ck_season_actuals_units_nonnegative"),
        CheckConstraint("on_hand IS NULL OR on_hand >= 0", name="ck_season_actuals_on_hand"),
    )


def read_data_version(conn: Connection, dataset: str = SALES_DATASET) -> int:
    """The dataset's current version; 0 before the first import."""
    value = conn.execute(
        select(DataVersion.version).where(DataVersion.dataset == dataset)
    ).scalar_one_or_none()
    return int(value or 0)


def bump_data_version(conn: Connection, now: datetime, dataset: str = SALES_DATASET) -> int:
    """Increment the dataset's version inside the caller's transaction; returns the new value."""
    result = conn.execute(
        update(DataVersion)
        .where(DataVersion.dataset == dataset)
        .values(version=DataVersion.version + 1, updated_at=now)
    )
    if result.rowcount == 0:
        conn.execute(insert(DataVersion).values(dataset=dataset, version=1, updated_at=now))
    return read_data_version(conn, dataset)
