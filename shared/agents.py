"""The agent registry: each agent of the season chain spelled once, in chain order.

An entry carries everything the rest of the app needs to know about its agent: its names (for
people, the Durable host and the database), its result and summary models, how to read its
timeout from Settings, the dotted path of its run function and the routes serving its result.
The chain (orchestrator/workflow.py), the activity functions (activities/agent_triggers.py),
running an agent (activities/agent_runs.py), result storage (shared/data/results_store.py),
the result endpoints (orchestrator/http/results.py), the message contracts (shared/schemas.py)
and the tests all take the agents from here, so adding an agent is one entry in `AGENTS` plus
the agent's own code (its result model and its run function).

Functions that walk the chain take a registry (`agents=`, defaulting to `AGENTS`), so a test can
run its own list of agents without patching anything. The module imports only pydantic models
(shared/results.py): the function app loads it, and must stay fast to import
(tests/test_function_app_import_cost.py); each run function is imported by its dotted path only
where an agent runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, WithJsonSchema

from shared.results import (
    DemandResult,
    DemandSummary,
    InventoryResult,
    InventorySummary,
    PricingResult,
    PricingSummary,
)

if TYPE_CHECKING:
    from shared.settings import Settings

ResultT = TypeVar("ResultT", bound=BaseModel)

# The display names of every agent defined in this process (the app's, and a test's own): what a
# message or status may name.
_DEFINED_NAMES: set[str] = set()

# What an agent's run function does with one activity call: run the agent for its task
# (shared.activity_inputs.AgentTask), settings and progress reporter, store its full result, and
# return its compact summary. The parameters are checked where it is called
# (activities/agent_runs.py): naming AgentTask here would tie the registry, the message schemas
# and the activity inputs in an import circle.
AgentRun = Callable[..., BaseModel]


@dataclass(frozen=True)
class Agent(Generic[ResultT]):
    """One agent: how people, the Durable host, the settings and the database name it, and
    where its code is.

    `name` is the display name in messages, the custom status and the execution log; `key`
    names its stored result (the `agent` column of agent_results); `activity` is the name of
    its activity function; `timeout` reads its deadline, in seconds, from Settings; `run` is the
    dotted path (`package.module.function`) of its run function, imported on its first call so
    that the function app does not load the scientific stack; `routes` are the HTTP routes that
    serve its stored result (the first serves it whole)."""

    name: str
    key: str
    activity: str
    result_model: type[ResultT]
    summary_model: type[BaseModel]
    timeout: Callable[[Settings], float]
    run: str
    routes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _DEFINED_NAMES.add(self.name)

    def load_run(self) -> AgentRun:
        """The run function `run` names (importing its module the first time)."""
        module, _, function = self.run.rpartition(".")
        loaded: AgentRun = getattr(importlib.import_module(module), function)
        return loaded


DEMAND: Agent[DemandResult] = Agent(
    name="Demand Agent",
    key="demand",
    activity="demand_agent",
    result_model=DemandResult,
    summary_model=DemandSummary,
    timeout=lambda settings: settings.demand_agent_timeout_seconds,
    run="activities.agent_runs.run_demand",
    routes=("forecasts/{workflow_id}",),
)
INVENTORY: Agent[InventoryResult] = Agent(
    name="Inventory Agent",
    key="inventory",
    activity="inventory_agent",
    result_model=InventoryResult,
    summary_model=InventorySummary,
    timeout=lambda settings: settings.inventory_agent_timeout_seconds,
    run="activities.agent_runs.run_inventory",
    routes=("allocations/{workflow_id}", "stores/clusters"),
)
PRICING: Agent[PricingResult] = Agent(
    name="Pricing Agent",
    key="pricing",
    activity="pricing_agent",
    result_model=PricingResult,
    summary_model=PricingSummary,
    timeout=lambda settings: settings.pricing_agent_timeout_seconds,
    run="activities.agent_runs.run_pricing",
    routes=("markdowns/{workflow_id}", "plans/{workflow_id}"),
)

Registry = Sequence[Agent[Any]]
AGENTS: tuple[Agent[Any], ...] = (DEMAND, INVENTORY, PRICING)
AGENT_NAMES: tuple[str, ...] = tuple(agent.name for agent in AGENTS)
AGENT_KEYS: tuple[str, ...] = tuple(agent.key for agent in AGENTS)


def _defined_agent(name: str) -> str:
    if name not in _DEFINED_NAMES:
        raise ValueError(f"{name!r} is not an agent; the agents are {', '.join(AGENT_NAMES)}")
    return name


# An agent's display name in the message and status contracts: the name of a defined agent (the
# app's, or one a test defines for a registry of its own; any other name is refused). The
# published API documents the app's agents, from the registry.
AgentName = Annotated[
    str,
    AfterValidator(_defined_agent),
    WithJsonSchema({"type": "string", "enum": list(AGENT_NAMES)}),
]
# An agent's stored-result key (the `agent` column of agent_results).
AgentKey = str
