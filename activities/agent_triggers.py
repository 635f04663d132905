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

from typing import Any

import azure.durable_functions as df

from shared.agents import DEMAND, INVENTORY, PRICING, Agent
from shared.settings import get_settings

bp = df.Blueprint()


def _run(agent: Agent[Any], payload: dict[str, Any]) -> dict[str, Any]:
    from activities import agent_runs

    return agent_runs.run_agent_activity(agent, payload, get_settings())


@bp.activity_trigger(input_name="payload", activity=DEMAND.activity)
def demand_agent(payload: dict) -> dict:
    return _run(DEMAND, payload)


@bp.activity_trigger(input_name="payload", activity=INVENTORY.activity)
def inventory_agent(payload: dict) -> dict:
    return _run(INVENTORY, payload)


@bp.activity_trigger(input_name="payload", activity=PRICING.activity)
def pricing_agent(payload: dict) -> dict:
    return _run(PRICING, payload)
