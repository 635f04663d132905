"""Live seasons in the database: the season, its plan versions and its uploaded actuals.

The database is the season's truth; its orchestration only ever carries the season id. Rules:
- one season per plan: launching a plan again returns the season it already has;
- an upload is identified by its content (the sorted rows' SHA-256): the same rows again are
  the same upload and change nothing; a new upload replaces the weeks and stores it names and
  counts one more `actuals_version`, all in one transaction, so nothing is half-applied;
- plan version v is written once (insert-if-absent on (season, v)): a re-plan that runs again
  after a crash finds its version already there.

Every write starts with an UPDATE of the season row, which takes SQLite's write lock or the
row lock on a server database before anything is read: two uploads of one season queue, and
each sees the other's result.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.data.db import session_scope
from shared.data.tables import (
    SeasonActualRow,
    SeasonPlanVersionRow,
    SeasonRow,
    SeasonUploadRow,
)

if TYPE_CHECKING:
    import pandas as pd

OPEN, CLOSED, COMPLETED = "open", "closed", "completed"
SEASON_ID_PREFIX = "season-"


@dataclass(frozen=True)
class Season:
    season_id: str
    workflow_id: str
    owner_id: str
    session_id: str
    category_id: str
    parameters: dict[str, Any]
    status: str
    actuals_version: int
    created_at: datetime


@dataclass(frozen=True)
class ActualRow:
    """One validated row of an upload."""

    week_start_date: date
    store_id: str
    units_sold: int
    on_hand: int | None = None


@dataclass(frozen=True)
class UploadOutcome:
    upload_id: str
    duplicate: bool
    actuals_version: int


@dataclass(frozen=True)
class PlanVersion:
    version: int
    actuals_version: int
    plan: dict[str, Any]
    changes: dict[str, Any]
    variance: dict[str, Any]
    created_at: datetime


def season_id_for(workflow_id: str) -> str:
    """The season of a plan: a pure function of its workflow id, so a second launch (or a
    launch retried after a crash) names the same season and the same orchestration."""
    return f"{SEASON_ID_PREFIX}{workflow_id}"[:128]


def _season(row: SeasonRow) -> Season:
    return Season(
        season_id=row.season_id,
        workflow_id=row.workflow_id,
        owner_id=row.owner_id,
        session_id=row.session_id,
        category_id=row.category_id,
        parameters=json.loads(row.parameters),
        status=row.status,
        actuals_version=row.actuals_version,
        # SQLite hands datetimes back naive; they were written as UTC.
        created_at=row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC),
    )


def create_season(
    engine: Engine,
    *,
    workflow_id: str,
    owner_id: str,
    session_id: str,
    category_id: str,
    parameters: dict[str, Any],
    now: datetime,
) -> tuple[Season, bool]:
    """The plan's season, created if it has none; (season, created)."""
    season_id = season_id_for(workflow_id)
    try:
        with session_scope(engine) as session:
            existing = session.get(SeasonRow, season_id)
            if existing is not None:
                return _season(existing), False
            row = SeasonRow(
                season_id=season_id,
                workflow_id=workflow_id,
                owner_id=owner_id,
                session_id=session_id,
                category_id=category_id,
                parameters=json.dumps(parameters, sort_keys=True),
                status=OPEN,
                actuals_version=0,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _season(row), True
    except IntegrityError:  # a concurrent launch of the same plan won
        found = load_season(engine, season_id)
        if found is None:
            raise
        return found, False


def load_season(engine: Engine, season_id: str) -> Season | None:
    with session_scope(engine) as session:
        row = session.get(SeasonRow, season_id)
        return None if row is None else _season(row)


def list_seasons(engine: Engine, owner_id: str) -> list[Season]:
    """The owner's seasons, newest first."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(SeasonRow)
            .where(SeasonRow.owner_id == owner_id)
            .order_by(SeasonRow.created_at.desc(), SeasonRow.season_id)
        )
        return [_season(row) for row in rows]


def set_status(engine: Engine, season_id: str, status: str, now: datetime) -> bool:
    """Close or complete an open season; False when it was no longer open."""
    with engine.begin() as conn:
        result = conn.execute(
            update(SeasonRow)
            .where(SeasonRow.season_id == season_id, SeasonRow.status == OPEN)
            .values(status=status, closed_at=now)
        )
        return bool(result.rowcount)


def content_digest(rows: list[ActualRow]) -> str:
    """The upload's identity: SHA-256 of its rows in a canonical order and form."""
    canonical = sorted(
        (r.week_start_date.isoformat(), r.store_id, r.units_sold, r.on_hand) for r in rows
    )
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


def record_upload(
    engine: Engine, season_id: str, rows: list[ActualRow], now: datetime
) -> UploadOutcome:
    """Record an upload exactly once (see the module docstring); the rows must be validated."""
    digest = content_digest(rows)
    try:
        with session_scope(engine) as session:
            session.execute(
                update(SeasonRow)
                .where(SeasonRow.season_id == season_id)
                .values(actuals_version=SeasonRow.actuals_version + 1)
            )
            previous = session.execute(
                select(SeasonUploadRow.upload_id, SeasonUploadRow.actuals_version).where(
                    SeasonUploadRow.season_id == season_id,
                    SeasonUploadRow.content_sha256 == digest,
                )
            ).first()
            if previous is not None:
                session.rollback()
                return UploadOutcome(previous.upload_id, True, previous.actuals_version)
            version = session.execute(
                select(SeasonRow.actuals_version).where(SeasonRow.season_id == season_id)
            ).scalar_one()
            upload_id = uuid.uuid4().hex
            session.add(
                SeasonUploadRow(
                    upload_id=upload_id,
                    season_id=season_id,
                    content_sha256=digest,
                    rows=len(rows),
                    actuals_version=version,
                    received_at=now,
                )
            )
            for row in rows:
                session.execute(
                    delete(SeasonActualRow).where(
                        SeasonActualRow.season_id == season_id,
                        SeasonActualRow.week_start_date == row.week_start_date,
                        SeasonActualRow.store_id == row.store_id,
                    )
                )
            if rows:
                session.execute(
                    insert(SeasonActualRow),
                    [
                        {
                            "season_id": season_id,
                            "week_start_date": row.week_start_date,
                            "store_id": row.store_id,
                            "units_sold": row.units_sold,
                            "on_hand": row.on_hand,
                            "upload_id": upload_id,
                        }
                        for row in rows
                    ],
                )
            return UploadOutcome(upload_id, False, version)
    except IntegrityError:  # the same content won a race on a server database
        with session_scope(engine) as session:
            found = session.execute(
                select(SeasonUploadRow.upload_id, SeasonUploadRow.actuals_version).where(
                    SeasonUploadRow.season_id == season_id,
                    SeasonUploadRow.content_sha256 == digest,
                )
            ).one()
        return UploadOutcome(found.upload_id, True, found.actuals_version)


def season_actuals(engine: Engine, season_id: str) -> pd.DataFrame:
    """The season's actuals: week_start_date (date), store_id, units_sold, on_hand (or NaN).
    pandas loads here, not with the HTTP functions that import this module."""
    import pandas as pd

    with session_scope(engine) as session:
        rows = session.execute(
            select(
                SeasonActualRow.week_start_date,
                SeasonActualRow.store_id,
                SeasonActualRow.units_sold,
                SeasonActualRow.on_hand,
            )
            .where(SeasonActualRow.season_id == season_id)
            .order_by(SeasonActualRow.week_start_date, SeasonActualRow.store_id)
        ).all()
    return pd.DataFrame(rows, columns=["week_start_date", "store_id", "units_sold", "on_hand"])


def save_plan_version(
    engine: Engine,
    season_id: str,
    version: PlanVersion,
) -> bool:
    """Write plan version `version.version` unless it exists; True when this call wrote it."""
    try:
        with session_scope(engine) as session:
            if session.get(SeasonPlanVersionRow, (season_id, version.version)) is not None:
                return False
            session.add(
                SeasonPlanVersionRow(
                    season_id=season_id,
                    version=version.version,
                    actuals_version=version.actuals_version,
                    plan=json.dumps(version.plan),
                    changes=json.dumps(version.changes),
                    variance=json.dumps(version.variance),
                    created_at=version.created_at,
                )
            )
        return True
    except IntegrityError:
        return False


def plan_versions(engine: Engine, season_id: str, *, with_plans: bool = True) -> list[PlanVersion]:
    """The season's plan versions, oldest first (plans left empty without `with_plans`)."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(SeasonPlanVersionRow)
            .where(SeasonPlanVersionRow.season_id == season_id)
            .order_by(SeasonPlanVersionRow.version)
        )
        return [
            PlanVersion(
                version=row.version,
                actuals_version=row.actuals_version,
                plan=json.loads(row.plan) if with_plans else {},
                changes=json.loads(row.changes),
                variance=json.loads(row.variance),
                created_at=row.created_at,
            )
            for row in rows
        ]
