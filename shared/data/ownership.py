"""Who owns which workflow, and which Idempotency-Key started which workflow.

Workflow ids are random (uuid4: 122 bits from the OS's CSPRNG), so nobody can compute another
planner's id; the owner row is written before the orchestration starts, so every endpoint that
takes a workflow id can answer "not yours" and "does not exist" identically with one primary-key
lookup. An Idempotency-Key is scoped to its owner: the same key from two planners starts two
workflows, and the fingerprint of the first request tells a retry (same body) from a reuse of
the key for something else (different body).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from pydantic import BaseModel
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from shared.data.schema import ensure_schema
from shared.data.tables import IdempotencyKeyRow, WorkflowOwnerRow
from shared.errors import ContextAssemblyError, database_unavailable, unavailable_database

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def _database_errors_documented(fn: Callable[P, R]) -> Callable[P, R]:
    """A database failure is the documented CONTEXT_ASSEMBLY_ERROR naming the error class only
    (URLs, hosts and paths stay in the log), never an INTERNAL_ERROR; a locked or unreachable
    database is the 503 DATABASE_UNAVAILABLE the client may retry."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            logger.warning("workflow records unavailable: %s", type(exc).__name__)
            if database_unavailable(exc):
                raise unavailable_database(exc) from None
            raise ContextAssemblyError(
                "The workflow records cannot be read",
                details={"error": type(exc).__name__},
                suggestions=["Check DATABASE_URL and that the database is reachable; retry."],
            ) from None

    return wrapper


@dataclass(frozen=True)
class KeyedRun:
    """The workflow an owner's Idempotency-Key started, and the fingerprint of that request."""

    workflow_id: str
    request_sha256: str


def request_fingerprint(request: BaseModel) -> str:
    """SHA-256 of the validated request as canonical JSON: key order and whitespace of the
    body the client sent do not matter, its values do."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@_database_errors_documented
def find_keyed_run(engine: Engine, owner_id: str, key: str) -> KeyedRun | None:
    ensure_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(
            select(IdempotencyKeyRow.workflow_id, IdempotencyKeyRow.request_sha256).where(
                (IdempotencyKeyRow.owner_id == owner_id)
                & (IdempotencyKeyRow.idempotency_key == key)
            )
        ).one_or_none()
    return None if row is None else KeyedRun(row.workflow_id, row.request_sha256)


@_database_errors_documented
def record_workflow(
    engine: Engine,
    *,
    workflow_id: str,
    owner_id: str,
    session_id: str,
    key: str | None = None,
    fingerprint: str = "",
    now: datetime | None = None,
) -> KeyedRun:
    """Record the owner (and the key) of a workflow about to start, in one transaction.

    Returns the run the key maps to: this one, or, when a concurrent request with the same key
    recorded first, that one (nothing is written then). Recording an already recorded workflow
    of the same owner again is a no-op, so a retried start is safe.
    """
    ensure_schema(engine)
    moment = now or datetime.now(UTC)
    try:
        with engine.begin() as conn:
            if key is not None:
                conn.execute(
                    insert(IdempotencyKeyRow).values(
                        owner_id=owner_id,
                        idempotency_key=key,
                        workflow_id=workflow_id,
                        request_sha256=fingerprint,
                        created_at=moment,
                    )
                )
            conn.execute(
                insert(WorkflowOwnerRow).values(
                    workflow_id=workflow_id,
                    owner_id=owner_id,
                    session_id=session_id,
                    created_at=moment,
                )
            )
    except IntegrityError:
        if key is not None:
            winner = find_keyed_run(engine, owner_id, key)
            if winner is not None and winner.workflow_id != workflow_id:
                return winner
        if owner_of(engine, workflow_id) != owner_id:
            raise
    return KeyedRun(workflow_id, fingerprint)


@_database_errors_documented
def owner_of(engine: Engine, workflow_id: str) -> str | None:
    ensure_schema(engine)
    with engine.connect() as conn:
        return conn.execute(
            select(WorkflowOwnerRow.owner_id).where(WorkflowOwnerRow.workflow_id == workflow_id)
        ).scalar_one_or_none()


def is_owner(engine: Engine, workflow_id: str, owner_id: str) -> bool:
    """Whether `owner_id` started `workflow_id` (False for unknown ids as for others' ids)."""
    return owner_of(engine, workflow_id) == owner_id
