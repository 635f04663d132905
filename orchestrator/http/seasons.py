"""Live seasons HTTP API (docs/seasons.md): thin triggers over shared/data/seasons.py.

    POST /api/seasons                           launch a completed plan: 201 {season_id}
                                                (200 with the same season when launched before)
    GET  /api/seasons                           the caller's seasons
    GET  /api/seasons/{season_id}               versions, working plan, plan against actual
    POST /api/seasons/{season_id}/actuals       weekly actuals (text/csv or JSON): 202, recorded
                                                exactly once, then the season is told (id only)
    POST /api/seasons/{season_id}/close         close early: 202

Owner-only like every planner route: another planner's season is the same 404 as a missing one.
"""

from __future__ import annotations

import asyncio
import csv
import functools
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select

from orchestrator.http.dependencies import dependencies
from orchestrator.http.runs import _loads_maybe, _status_or_none
from orchestrator.season import ACTUALS_EVENT, SEASON_ORCHESTRATOR, season_input
from shared.data.ownership import is_owner
from shared.data.seasons import (
    CLOSED,
    OPEN,
    Season,
    create_season,
    list_seasons,
    load_season,
    plan_versions,
    record_upload,
    season_actuals,
    set_status,
)
from shared.data.tables import Store
from shared.errors import (
    DataNotFoundError,
    DurableUnavailableError,
    InvalidParametersError,
    RequestTooLargeError,
    WorkflowFinishedError,
)
from shared.http import MAX_BODY_BYTES, http_endpoint, json_response, parse_body, read_json
from shared.identity import PLANNER, authorize
from shared.schemas import SeasonParameters, WorkflowId
from shared.season_actuals import check_rows, rows_from_csv, rows_from_json
from shared.season_report import plan_against_actual

bp = df.Blueprint()

CSV = "text/csv"


class LaunchSeasonRequest(BaseModel):
    """`POST /api/seasons`: the completed plan to launch."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: WorkflowId


def _not_found(what: str, value: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"{what} '{value}' not found",
        details={what.lower().replace(" ", "_"): value},
        suggestions=["List your seasons with GET /api/seasons."],
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _owned_season(req: func.HttpRequest, owner_id: str) -> Season:
    season_id = req.route_params.get("season_id") or ""
    season = await asyncio.to_thread(load_season, dependencies().engine(), season_id[:200])
    if season is None or season.owner_id != owner_id:
        raise _not_found("Season", season_id[:140])
    return season


async def _ensure_running(client: df.DurableOrchestrationClient, season: Season) -> None:
    """Start the season's orchestration unless it runs (a launch retried after a crash)."""
    status = await _status_or_none(client, season.season_id)
    if status is not None:
        return
    try:
        await client.start_new(
            SEASON_ORCHESTRATOR, season.season_id, season_input(season.season_id)
        )
    except Exception as exc:
        if await _status_or_none(client, season.season_id) is None:
            raise DurableUnavailableError(
                "The season could not be started", suggestions=["Retry in a few seconds."]
            ) from exc


async def _ring(client: df.DurableOrchestrationClient, season: Season, upload_id: str) -> None:
    """Tell the season (its id only; the data is in the database). A season whose orchestration
    is missing is started, and reads the database first; one that finished needs no doorbell."""
    try:
        await client.raise_event(season.season_id, ACTUALS_EVENT, {"upload_id": upload_id})
    except Exception as exc:
        message = str(exc)
        if "is gone" in message:
            return
        if "No instance" in message:
            await _ensure_running(client, season)
            return
        raise DurableUnavailableError(
            "The upload is recorded but the season could not be told; it re-plans at its next "
            "timer",
            suggestions=["Upload the same file again to retry; it is not recorded twice."],
        ) from exc


def _season_item(season: Season) -> dict[str, Any]:
    parameters = SeasonParameters.model_validate(season.parameters)
    return {
        "season_id": season.season_id,
        "workflow_id": season.workflow_id,
        "session_id": season.session_id,
        "category_id": season.category_id,
        "status": season.status,
        "season_start_date": parameters.season_start_date.isoformat(),
        "weeks": parameters.forecast_horizon_weeks,
        "actuals_version": season.actuals_version,
        "created_at": season.created_at.isoformat(),
    }


@bp.route(route="seasons", methods=["POST"])
@bp.durable_client_input(client_name="client")
@http_endpoint
async def launch_season(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Launch a completed plan into a live season (one season per plan)."""
    resolved = dependencies()
    principal = authorize(req, PLANNER, resolved.settings())
    body = parse_body(req, LaunchSeasonRequest)
    engine = resolved.engine()
    if not await asyncio.to_thread(is_owner, engine, body.workflow_id, principal.user_id):
        raise _not_found("Workflow", body.workflow_id)
    status = await _status_or_none(client, body.workflow_id, show_input=True)
    if status is None:
        raise _not_found("Workflow", body.workflow_id)
    runtime_status = getattr(status.runtime_status, "value", str(status.runtime_status))
    started_input = _loads_maybe(status.input_)
    started = started_input if isinstance(started_input, dict) else {}
    if runtime_status != "Completed" or not started:
        raise InvalidParametersError(
            "Only a completed plan can be launched into a season",
            details={"workflow_id": body.workflow_id, "runtime_status": runtime_status},
            suggestions=["Wait for the plan to complete, then launch it."],
        )
    season, created = await asyncio.to_thread(
        functools.partial(
            create_season,
            engine,
            workflow_id=body.workflow_id,
            owner_id=principal.user_id,
            session_id=str(started["session_id"]),
            category_id=str(started["category_id"]),
            parameters=started["parameters"],
            now=_now(),
        )
    )
    if season.status == OPEN:
        await _ensure_running(client, season)
    return json_response(_season_item(season), 201 if created else 200)


@bp.route(route="seasons", methods=["GET"])
@http_endpoint
async def list_my_seasons(req: func.HttpRequest) -> func.HttpResponse:
    """The caller's seasons, newest first."""
    principal = authorize(req, PLANNER, dependencies().settings())
    seasons = await asyncio.to_thread(list_seasons, dependencies().engine(), principal.user_id)
    return json_response({"seasons": [_season_item(s) for s in seasons]})


def _season_detail(engine: Engine, season: Season) -> dict[str, Any]:
    versions = plan_versions(engine, season.season_id)
    parameters = SeasonParameters.model_validate(season.parameters)
    starts = {start: i + 1 for i, start in enumerate(parameters.week_starts())}
    actuals = season_actuals(engine, season.season_id)
    by_week: dict[int, int] = {}
    for week_start, units in actuals.groupby("week_start_date")["units_sold"].sum().items():
        if week_start in starts:
            by_week[starts[week_start]] = int(units)
    weeks = plan_against_actual(versions[0].plan, versions[-1].plan, by_week) if versions else []
    return {
        **_season_item(season),
        "versions": [
            {
                "version": v.version,
                "actuals_version": v.actuals_version,
                "created_at": v.created_at.isoformat(),
                "changes": v.changes,
                "variance": v.variance,
            }
            for v in versions
        ],
        "original_plan": versions[0].plan if versions else None,
        "working_plan": versions[-1].plan if versions else None,
        "weeks_plan_against_actual": [w.model_dump(mode="json") for w in weeks],
    }


@bp.route(route="seasons/{season_id}", methods=["GET"])
@http_endpoint
async def get_season(req: func.HttpRequest) -> func.HttpResponse:
    """A season: its versions, the working plan and plan against actual by week."""
    principal = authorize(req, PLANNER, dependencies().settings())
    season = await _owned_season(req, principal.user_id)
    detail = await asyncio.to_thread(_season_detail, dependencies().engine(), season)
    return json_response(detail)


def _known_stores(engine: Engine, store_ids: set[str]) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(Store.store_id).where(Store.store_id.in_(store_ids))))


def _upload_rows(req: func.HttpRequest) -> list[dict[str, Any]]:
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == CSV:
        raw = req.get_body() or b""
        if len(raw) > MAX_BODY_BYTES:
            raise RequestTooLargeError(
                "Request body too large",
                details={"max_bytes": MAX_BODY_BYTES, "received_bytes": len(raw)},
                suggestions=["Upload one week at a time."],
            )
        try:
            return rows_from_csv(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InvalidParametersError(
                "The CSV could not be read", details={"reason": str(exc)[:200]}
            ) from None
    return rows_from_json(read_json(req))


@bp.route(route="seasons/{season_id}/actuals", methods=["POST"])
@bp.durable_client_input(client_name="client")
@http_endpoint
async def upload_actuals(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Record weekly actuals exactly once (all rows or none), then ring the season."""
    principal = authorize(req, PLANNER, dependencies().settings())
    season = await _owned_season(req, principal.user_id)
    if season.status != OPEN:
        raise WorkflowFinishedError(
            f"Season '{season.season_id}' is {season.status}: it takes no more actuals",
            details={"season_id": season.season_id, "status": season.status},
        )
    rows = _upload_rows(req)
    engine = dependencies().engine()
    stores = {str(row.get("store_id", "")).strip() for row in rows}
    known = await asyncio.to_thread(_known_stores, engine, stores)
    checked = check_rows(
        rows,
        week_starts=SeasonParameters.model_validate(season.parameters).week_starts(),
        category_id=season.category_id,
        known_stores=known,
    )
    outcome = await asyncio.to_thread(record_upload, engine, season.season_id, checked, _now())
    await _ring(client, season, outcome.upload_id)
    return json_response(
        {
            "season_id": season.season_id,
            "upload_id": outcome.upload_id,
            "duplicate": outcome.duplicate,
            "actuals_version": outcome.actuals_version,
            "rows": len(checked),
        },
        202,
    )


@bp.route(route="seasons/{season_id}/close", methods=["POST"])
@bp.durable_client_input(client_name="client")
@http_endpoint
async def close_season(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Close a season early: it re-plans no more and completes with its closing summary."""
    principal = authorize(req, PLANNER, dependencies().settings())
    season = await _owned_season(req, principal.user_id)
    closed = await asyncio.to_thread(
        set_status, dependencies().engine(), season.season_id, CLOSED, _now()
    )
    if not closed:
        raise WorkflowFinishedError(
            f"Season '{season.season_id}' is already {season.status}",
            details={"season_id": season.season_id, "status": season.status},
        )
    await _ring(client, season, "close")
    return json_response({"season_id": season.season_id, "status": CLOSED}, 202)
