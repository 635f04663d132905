"""The documented examples (real output of `make run`, in docs/api.md and docs/identity.md), as
the OpenAPI and AsyncAPI documents show them. tests/orchestrator/http/test_contract.py holds each
to its model and to the docs' text, so an example can drift from neither."""

from __future__ import annotations

from typing import Any

STRATEGY = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)
EXTRACTION_REQUEST: dict[str, Any] = {"strategy_description": STRATEGY}

EXTRACTED: dict[str, Any] = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "season_end_date": "2025-03-26",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
    "extraction_reasoning": (
        "Rules extractor matched forecast_horizon_weeks=12 from '12 weeks'; "
        "season_start_date=2025-01-01 from 'Jan 1, 2025'; replenishment_strategy=weekly from "
        "'Weekly'; dc_holdback_percentage=0.15 from '15%'; unit_target=8000 from '8000 units'. "
        "season_end_date = start + 7 x 12 days = 2025-03-26. The text names no product: the run "
        "uses the default category."
    ),
    "confidence_score": 0.95,
    "markdown_checkpoint_week": None,
    "markdown_threshold": None,
    "unit_target": 8000,
    "category_id": None,
    "field_sources": {
        "forecast_horizon_weeks": "stated",
        "season_start_date": "stated",
        "replenishment_strategy": "stated",
        "dc_holdback_percentage": "stated",
        "season_end_date": "computed",
        "unit_target": "stated",
        "markdown_checkpoint_week": "not_mentioned",
        "markdown_threshold": "not_mentioned",
        "category_id": "not_mentioned",
    },
    "field_notes": {},
}

INCOMPLETE: dict[str, Any] = {
    "error_type": "PARAMETER_EXTRACTION_ERROR",
    "message": "The description does not say how long the season runs or when the season starts.",
    "details": {
        "missing_parameters": ["forecast_horizon_weeks", "season_start_date"],
        "extracted_parameters": {"replenishment_strategy": "weekly", "dc_holdback_percentage": 0.1},
        "extractor": "rules",
    },
    "suggestions": [
        "Say how long the season runs, e.g. '12 weeks' or 'through March 26, 2025'.",
        "Say when the season starts, e.g. 'starting Jan 1, 2025'.",
    ],
    "request_id": "demo-2",
}

FORBIDDEN: dict[str, Any] = {
    "error_type": "FORBIDDEN",
    "message": "This action needs the 'data-admin' app role",
    "details": {"required_role": "data-admin", "roles": ["planner"]},
    "suggestions": ["Ask an administrator to assign you the 'data-admin' app role."],
    "request_id": "965a90d8-…",
}

NEGOTIATED: dict[str, Any] = {
    "url": "ws://127.0.0.1:8080/client/hubs/season_planning?access_token=eyJhbGciOi…",
    "token": "eyJhbGciOi…",
    "expires_at": "2026-11-24T09:26:43.000Z",
    "hub": "season_planning",
    "group": "session-5f0c…",
}

IDEMPOTENCY_KEY = "plan-2025-q1"
RUN_REQUEST: dict[str, Any] = {"session_id": "demo-1", "parameters": EXTRACTED}

STARTED: dict[str, Any] = {
    "status": "started",
    "workflow_id": "e7c42a91-…",
    "session_id": "demo-1",
    "category_id": "denim",
    "status_url": "/api/orchestrator/workflows/e7c42a91-…",
    "terminate_url": "…/terminate",
    "events_url": "…/events?after=0",
    "negotiate_url": "…/negotiate?session_id=demo-1",
}

ME: dict[str, Any] = {
    "user_id": "local-developer",
    "name": "Local Developer",
    "identity_provider": "localdev",
    "roles": ["data-admin", "planner"],
}

# The WebSocket messages, one per type, by type.
MESSAGES: dict[str, dict[str, Any]] = {
    "agent_status": {"type": "agent_status", "agent_name": "Demand Agent", "status": "running"},
    "progress": {
        "type": "progress",
        "agent_name": "Demand Agent",
        "progress": 25,
        "message": "Backtesting 5 models on the last season...",
    },
    "complete": {
        "type": "complete",
        "agent_name": "Demand Agent",
        "result": {"total_demand": 26470, "model_used": "RobustSeasonal", "…": "…"},
    },
    "error": {
        "type": "error",
        "agent_name": "Inventory Agent",
        "error_message": "Inventory Agent did not finish within 30 s",
        "error_type": "AGENT_TIMEOUT",
    },
    "heartbeat": {"type": "heartbeat", "timestamp": "2025-11-04T10:30:00Z"},
    "plan_updated": {
        "type": "plan_updated",
        "season_id": "season-3f0c9a52-6d1e-4f7a-9a53-0d6c1e2b7a10",
        "version": 3,
        "variance": {
            "weeks_with_actuals": 2,
            "actual_units": 5120,
            "planned_units": 4800,
            "variance_pct": 6.7,
            "remaining_forecast_units": 27450,
        },
        "reason": "Weeks 1-2 sold 1.07x the forecast: the remaining weeks were re-forecast.",
    },
    "actuals_late": {
        "type": "actuals_late",
        "season_id": "season-3f0c9a52-6d1e-4f7a-9a53-0d6c1e2b7a10",
        "week_number": 4,
        "week_start": "2025-01-22",
        "days_late": 3,
    },
}
