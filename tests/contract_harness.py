"""TEST HARNESS ONLY: a small Functions app implementing the public API contract with fixed but
realistic data, plus a WebSocket endpoint speaking the raw Web PubSub client framing (one JSON
message per text frame), mounted on the real local host through its `configure` seam.

The planner and console tests drive the real host, the real planner and a real browser against
it until the integrated app (real orchestrator, Durable runtime, Web PubSub emulator) replaces
it; nothing outside tests imports this.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import azure.functions as func
from aiohttp import WSMsgType, web

from shared.http import http_endpoint, json_response, parse_body
from shared.results import (
    BacktestMetrics,
    ClusterAllocation,
    DemandResult,
    InventoryResult,
    MarkdownStep,
    PricingResult,
    ReplenishmentShipment,
    StoreAllocation,
    StoreForecast,
    WeekForecast,
)
from shared.schemas import (
    AgentStatusMessage,
    CompleteMessage,
    ErrorMessage,
    ExtractionRequest,
    ProgressMessage,
    RunWorkflowRequest,
    SeasonParameters,
)

WS_PATH = "/client/hubs/season_planning"


@dataclass
class Harness:
    """State shared by the harness routes and its WebSocket endpoint."""

    message_delay: float = 0.05
    drop_after: int | None = None
    fail_agent: str | None = None
    sockets: dict[str, set[web.WebSocketResponse]] = field(default_factory=dict)
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    drops: int = 0
    base_ws: str = ""

    def configure(self, app: web.Application) -> None:
        app.router.add_get(WS_PATH, self._websocket)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = request.query.get("session_id", "")
        self.sockets.setdefault(session, set()).add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.sockets[session].discard(ws)
        return ws

    async def publish(self, session_id: str, workflow_id: str, message: Any) -> None:
        log = self.events.setdefault(workflow_id, [])
        data = message.model_copy(
            update={
                "session_id": session_id,
                "workflow_id": workflow_id,
                "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                "sequence": len(log) + 1,
            }
        ).model_dump(exclude_none=True)
        log.append(data)
        for ws in list(self.sockets.get(session_id, ())):
            await ws.send_str(json.dumps(data))
        if self.drop_after is not None and len(log) == self.drop_after:
            self.drops += 1
            for ws in list(self.sockets.get(session_id, ())):
                await ws.close()

    async def run_workflow(self, session_id: str, workflow_id: str, params: SeasonParameters) -> None:
        self.status[workflow_id] = "Running"
        plan = realistic_results(params)
        for agent, key in (("Demand Agent", "forecast"), ("Inventory Agent", "inventory"), ("Pricing Agent", "pricing")):
            await self.publish(session_id, workflow_id, AgentStatusMessage(agent_name=agent, status="running"))
            for pct, text in ((15, "Loading context..."), (55, "Computing..."), (90, "Saving results...")):
                await asyncio.sleep(self.message_delay)
                await self.publish(session_id, workflow_id, ProgressMessage(agent_name=agent, progress=pct, message=text))
            if agent == self.fail_agent:
                await self.publish(
                    session_id, workflow_id,
                    ErrorMessage(agent_name=agent, error_message="Data not found", error_type="DATA_NOT_FOUND"),
                )
                await self.publish(session_id, workflow_id, AgentStatusMessage(agent_name=agent, status="failed"))
                self.status[workflow_id] = "Failed"
                return
            self.results.setdefault(workflow_id, {})[key] = plan[key].model_dump(mode="json")
            await self.publish(session_id, workflow_id, CompleteMessage(agent_name=agent, result=plan[key].summary()))
            await self.publish(session_id, workflow_id, AgentStatusMessage(agent_name=agent, status="completed"))
        self.status[workflow_id] = "Completed"

    def function_app(self) -> func.FunctionApp:
        app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
        tasks: set[asyncio.Task[None]] = set()

        @app.route(route="orchestrator/extract-parameters", methods=["POST"])
        @http_endpoint
        def extract(req: func.HttpRequest) -> func.HttpResponse:
            body = parse_body(req, ExtractionRequest)
            params = SeasonParameters(
                forecast_horizon_weeks=12,
                season_start_date=date(2025, 3, 3),
                replenishment_strategy="weekly",
                dc_holdback_percentage=0.45,
                confidence_score=0.92,
                extraction_reasoning=f"harness: {body.strategy_description[:40]}",
            )
            return json_response(params.model_dump(mode="json"))

        @app.route(route="orchestrator/negotiate", methods=["GET"])
        @http_endpoint
        def negotiate(req: func.HttpRequest) -> func.HttpResponse:
            session = req.params.get("session_id", "")
            host = req.headers.get("host", "")
            return json_response(
                {
                    "url": f"ws://{host}{WS_PATH}?session_id={session}&access_token=harness",
                    "token": "harness",
                    "expires_at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(),
                    "hub": "season_planning",
                    "group": f"session_{session}",
                }
            )

        @app.route(route="orchestrator/run-workflow", methods=["POST"])
        @http_endpoint
        async def run(req: func.HttpRequest) -> func.HttpResponse:
            body = parse_body(req, RunWorkflowRequest)
            workflow_id = uuid.uuid4().hex
            task = asyncio.create_task(self.run_workflow(body.session_id, workflow_id, body.parameters))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            return json_response(
                {
                    "status": "started",
                    "workflow_id": workflow_id,
                    "session_id": body.session_id,
                    "status_url": f"/api/orchestrator/workflows/{workflow_id}",
                },
                202,
            )

        @app.route(route="orchestrator/workflows/{workflow_id}", methods=["GET"])
        @http_endpoint
        def status(req: func.HttpRequest) -> func.HttpResponse:
            workflow_id = req.route_params["workflow_id"]
            return json_response(
                {"workflow_id": workflow_id, "runtime_status": self.status.get(workflow_id, "Pending")}
            )

        @app.route(route="orchestrator/workflows/{workflow_id}/events", methods=["GET"])
        @http_endpoint
        def events(req: func.HttpRequest) -> func.HttpResponse:
            workflow_id = req.route_params["workflow_id"]
            after = int(req.params.get("after", "0"))
            log = self.events.get(workflow_id, [])
            return json_response(
                {"workflow_id": workflow_id, "events": [e for e in log if e["sequence"] > after], "last_sequence": len(log)}
            )

        for route, key in (("forecasts", "forecast"), ("allocations", "inventory"), ("markdowns", "pricing")):
            getter = http_endpoint(self._result_getter(key))
            app.function_name(name=f"get_{route}")(
                app.route(route=f"{route}/{{workflow_id}}", methods=["GET"])(getter)
            )
        return app

    def _result_getter(self, key: str):
        def get(req: func.HttpRequest) -> func.HttpResponse:
            found = self.results.get(req.route_params["workflow_id"], {}).get(key)
            if found is None:
                return json_response({"error_type": "DATA_NOT_FOUND", "message": "no result"}, 404)
            return json_response(found)

        return get


def realistic_results(params: SeasonParameters) -> dict[str, Any]:
    """A 12-week seasonal forecast, 3 clusters of 50 stores, and a markdown plan."""
    weeks = params.week_starts()
    shape = [0.7, 0.85, 1.0, 1.15, 1.25, 1.3, 1.2, 1.05, 0.95, 0.85, 0.75, 0.65]
    by_week = []
    for i, start in enumerate(weeks):
        units = 1800 * shape[i % len(shape)]
        spread = 0.12 + 0.015 * i
        by_week.append(
            WeekForecast(
                week_start=start, units=round(units, 1), lower=round(units * (1 - spread), 1),
                upper=round(units * (1 + spread), 1), lower_95=round(units * (1 - 1.5 * spread), 1),
                upper_95=round(units * (1 + 1.5 * spread), 1),
            )
        )
    total = int(sum(w.units for w in by_week))
    stores = [f"S{n:03d}" for n in range(1, 51)]
    demand = DemandResult(
        category_id="womens_dresses", season_start_date=params.season_start_date,
        horizon_weeks=params.forecast_horizon_weeks, total_demand=total, forecast_by_week=by_week,
        store_forecast=[StoreForecast(store_id=s, share=1 / 50, units=total / 50) for s in stores],
        safety_stock_units=int(total * 0.2), safety_stock_pct=0.2, confidence=0.81,
        model_used="AutoTheta(52)", backtest=BacktestMetrics(wape=0.142, mase=0.83, seasonal_naive_wape=0.19, folds=3, horizon_weeks=12),
        explanation="Seasonal peak in weeks 5-6.",
    )
    manufacturing = int(total * 1.2)
    initial = int(manufacturing * (1 - params.dc_holdback_percentage))
    clusters = []
    for cid, (label, share, members) in enumerate(
        (("Fashion-forward urban", 0.45, stores[:18]), ("Mainstream suburban", 0.35, stores[18:38]), ("Value rural", 0.20, stores[38:]))
    ):
        units = int(initial * share)
        weights = [len(members) - k for k in range(len(members))]
        clusters.append(
            ClusterAllocation(
                cluster_id=cid, cluster_label=label, allocation_percentage=share, total_units=units,
                stores=[StoreAllocation(store_id=s, initial_allocation=int(units * w / sum(weights))) for s, w in zip(members, weights)],
            )
        )
    inventory = InventoryResult(
        manufacturing_qty=manufacturing, initial_allocation_total=initial,
        dc_holdback_total=manufacturing - initial, clusters=clusters,
        replenishment_schedule=[ReplenishmentShipment(week_number=i + 2, week_start=weeks[i + 1], units=400) for i in range(10)],
        silhouette_score=0.41, explanation="Three clusters by size, income and tier.",
    )
    pricing = PricingResult(
        full_price=79.0,
        markdowns=[
            MarkdownStep(week_number=w, week_start=weeks[w - 1], markdown_pct=p, price=round(79.0 * (1 - p), 2))
            for w, p in ((6, 0.0), (8, 0.2), (10, 0.3), (12, 0.4))
        ],
        checkpoint_week=6, projected_sell_through_at_checkpoint=0.48, expected_sell_through=0.86,
        expected_revenue=1_312_450.0, leftover_units=2_120, reasoning="Sell-through below target at week 6.",
    )
    return {"forecast": demand, "inventory": inventory, "pricing": pricing}
