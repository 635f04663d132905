"""The agent activity functions the host registers: `demand_agent`, `inventory_agent`,
`pricing_agent`.

Why a module of its own: the agents need pandas, statsforecast (statsmodels, scipy) and
scikit-learn, about 3 s of imports, while a fresh worker must answer the planner's first HTTP
calls (negotiate, extraction, status) in well under a second. So this blueprint imports only the
Durable SDK and settings, and each function imports activities.agent_runs where it runs:
the first agent call in a process pays for the scientific stack, once; every later call finds
the module already loaded.
"""

from __future__ import annotations

import azure.durable_functions as df

from shared.settings import get_settings

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload", activity="demand_agent")
def demand_agent(payload: dict) -> dict:
    from activities import agent_runs

    return agent_runs.run_agent_activity(
        "Demand Agent", agent_runs.run_demand, payload, get_settings()
    )


@bp.activity_trigger(input_name="payload", activity="inventory_agent")
def inventory_agent(payload: dict) -> dict:
    from activities import agent_runs

    return agent_runs.run_agent_activity(
        "Inventory Agent", agent_runs.run_inventory, payload, get_settings()
    )


@bp.activity_trigger(input_name="payload", activity="pricing_agent")
def pricing_agent(payload: dict) -> dict:
    from activities import agent_runs

    return agent_runs.run_agent_activity(
        "Pricing Agent", agent_runs.run_pricing, payload, get_settings()
    )
