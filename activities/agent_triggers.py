"""The agent activity functions the host registers: one per agent of the registry
(shared/agents.py), named by its `activity`.

Why a module of its own: the agents need pandas, statsforecast (statsmodels, scipy) and
scikit-learn, about 3 s of imports, while a fresh worker must answer the planner's first HTTP
calls (negotiate, extraction, status) in well under a second. So this blueprint imports only the
Durable SDK, the registry and settings, and each function imports activities.agent_runs where it
runs: the first agent call in a process pays for the scientific stack, once; every later call
finds the module already loaded.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from shared.agents import DEMAND, INVENTORY, PRICING, Agent
from shared.settings import get_settings
from shared.telemetry import agent_span

logger = logging.getLogger(__name__)

bp = df.Blueprint()


def _run(agent: Agent[Any], payload: dict[str, Any]) -> dict[str, Any]:
    with agent_span(agent.name, payload) as finished:
        from activities import agent_runs

        outcome = agent_runs.run_agent_activity(agent, payload, get_settings())
        finished(outcome)
        # In Azure the line operators read per agent; with telemetry on it carries the trace.
        failure = outcome.get("failure")
        logger.info(
            "%s %s (workflow %s)",
            agent.name,
            f"failed: {failure.get('error_type')}" if failure else "completed",
            payload.get("workflow_id") if isinstance(payload, dict) else None,
        )
        return outcome


@bp.activity_trigger(input_name="payload", activity=DEMAND.activity)
def demand_agent(payload: dict) -> dict:
    return _run(DEMAND, payload)


@bp.activity_trigger(input_name="payload", activity=INVENTORY.activity)
def inventory_agent(payload: dict) -> dict:
    return _run(INVENTORY, payload)


@bp.activity_trigger(input_name="payload", activity=PRICING.activity)
def pricing_agent(payload: dict) -> dict:
    return _run(PRICING, payload)
