"""The agent registry: each agent of the season chain spelled once, in chain order.

The chain (orchestrator/workflow.py), the activity functions (activities/agent_triggers.py),
result storage (shared/data/results_store.py), the result endpoints
(orchestrator/http/results.py) and the tests all take the agents from here, so adding or
renaming an agent is one edit. The module imports only pydantic models (shared/results.py):
the function app loads it, and must stay fast to import (tests/test_function_app_import_cost.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from shared.results import (
    DemandResult,
    DemandSummary,
    InventoryResult,
    InventorySummary,
    PricingResult,
    PricingSummary,
)

# Literals must be written out for type checkers; tests/shared/test_agents.py proves they list
# exactly the registry's agents, in chain order.
AgentName = Literal["Demand Agent", "Inventory Agent", "Pricing Agent"]
AgentKey = Literal["demand", "inventory", "pricing"]

ResultT = TypeVar("ResultT", bound=BaseModel)


@dataclass(frozen=True)
class Agent(Generic[ResultT]):
    """One agent: how people, the Durable host, the settings and the database name it.

    `name` is the display name in messages, the custom status and the execution log; `key`
    names its stored result (the `agent` column of agent_results); `routes` are the HTTP routes
    that serve that stored result (the first serves it whole)."""

    name: AgentName
    key: AgentKey
    activity: str
    timeout_setting: str
    result_model: type[ResultT]
    summary_model: type[BaseModel]
    routes: tuple[str, ...]


DEMAND: Agent[DemandResult] = Agent(
    name="Demand Agent",
    key="demand",
    activity="demand_agent",
    timeout_setting="demand_agent_timeout_seconds",
    result_model=DemandResult,
    summary_model=DemandSummary,
    routes=("forecasts/{workflow_id}",),
)
INVENTORY: Agent[InventoryResult] = Agent(
    name="Inventory Agent",
    key="inventory",
    activity="inventory_agent",
    timeout_setting="inventory_agent_timeout_seconds",
    result_model=InventoryResult,
    summary_model=InventorySummary,
    routes=("allocations/{workflow_id}", "stores/clusters"),
)
PRICING: Agent[PricingResult] = Agent(
    name="Pricing Agent",
    key="pricing",
    activity="pricing_agent",
    timeout_setting="pricing_agent_timeout_seconds",
    result_model=PricingResult,
    summary_model=PricingSummary,
    routes=("markdowns/{workflow_id}", "plans/{workflow_id}"),
)

AGENTS: tuple[Agent[Any], ...] = (DEMAND, INVENTORY, PRICING)
AGENT_NAMES: tuple[AgentName, ...] = tuple(agent.name for agent in AGENTS)
AGENT_KEYS: tuple[AgentKey, ...] = tuple(agent.key for agent in AGENTS)
